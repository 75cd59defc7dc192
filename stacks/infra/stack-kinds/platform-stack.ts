/**
 * `platform-<region>`: what a region's locations share. A VPC over the union of their availability
 * zones, the EKS cluster and one node group per zone (sized from the locations' HPA bounds), the
 * IAM OIDC provider for IRSA, the IRSA roles of the controllers the addons stack installs (AWS Load
 * Balancer Controller, cluster autoscaler) and of Alertmanager (publishes to the locations' alert
 * topics), the ECR repositories of the api and ws images and the ECR pull-through cache of
 * third-party images. From the region's platform settings: who reaches the private EKS endpoint
 * (ingress on the cluster security group) and who may act in the cluster (EKS access entries).
 *
 * Nothing here reads AWS at synth or plan time (no data sources): zones come from the location
 * files, the VPC range from REGION_VPC_CIDRS, and the account id, where a policy needs it, from
 * the ARN of a resource the stack creates.
 */
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import type { Construct } from 'constructs';
import { applyBackend, type BackendConfig } from '../backend';
import { TerraformOutput, TerraformStack } from '../cdktf';
import type { Location } from '../config/location';
import type { HostedZone, RegionPlatformSettings } from '../config/platform-settings';
import { regionNodeSizing, type RegionNodeSizing } from '../config/region-sizing';
import { awsPartition } from '../config/regions';
import { AlertmanagerRole } from '../constructs/alertmanager-role';
import { arnAccountId } from '../constructs/app-service-role';
import { ClusterAutoscalerRole } from '../constructs/cluster-autoscaler-role';
import { ContainerRegistry } from '../constructs/container-registry';
import { EksCluster } from '../constructs/eks-cluster';
import { EksNodeGroup } from '../constructs/eks-node-group';
import { ExternalDnsRole } from '../constructs/external-dns-role';
import { ImagePullThroughCache, UPSTREAM_REGISTRIES, type PullThroughCacheUrls } from '../constructs/image-pull-through-cache';
import { IrsaOidcProvider, type ServiceAccountRef } from '../constructs/irsa-oidc-provider';
import { LoadBalancerControllerRole } from '../constructs/load-balancer-controller-role';
import { LogsKmsKey } from '../constructs/logs-kms-key';
import { Network } from '../constructs/network';
import type { ClusterControllerRoles, PlatformOutputs } from '../stack-contracts';
import { PLATFORM_COST_TAGS, stackTags } from '../tags';

export interface PlatformStackProps {
  readonly region: string;
  /** Every location of `region`; at least one. */
  readonly locations: readonly Location[];
  readonly backend: BackendConfig;
  /**
   * The region's section of the platform settings (`platform.yaml`): who reaches the private
   * EKS API (cluster security group ingress on 443) and who may act in the cluster (access entries).
   */
  readonly settings: RegionPlatformSettings;
  /**
   * Route 53 zones that hold the API host names of the region's locations (`apiHostedZones` of
   * the platform settings): ExternalDNS, installed by the addons stack, gets a role that may
   * change records in exactly these.
   * @default [] - no ExternalDNS role; the API names are pointed at the NLBs by hand
   */
  readonly apiHostedZones?: readonly HostedZone[];
}

/**
 * The /16 of each region's VPC. Ranges never overlap, so regions can be peered or joined by a
 * transit gateway later. Never change an entry (that replaces the VPC and everything in it); add
 * one when onboarding the first location of a new region.
 */
export const REGION_VPC_CIDRS: Readonly<Record<string, string>> = {
  'ap-southeast-1': '10.10.0.0/16',
  'ap-southeast-7': '10.11.0.0/16',
  'ap-southeast-2': '10.12.0.0/16',
  'ap-northeast-1': '10.13.0.0/16',
  'eu-west-2': '10.20.0.0/16',
  'eu-west-1': '10.21.0.0/16',
  'eu-central-1': '10.22.0.0/16',
  'us-east-1': '10.30.0.0/16',
  'us-west-2': '10.31.0.0/16',
};

/** Repositories of the images this repo builds, by the key the outputs use. */
export const ECR_REPOSITORIES = { api: 'restaurant/api', ws: 'restaurant/ws' } as const;

export function platformStackId(region: string): string {
  return `platform-${region}`;
}

/** Names derived from the region, the only value that identifies a platform stack. */
export function platformResourceName(region: string): string {
  return `restaurant-${region}`;
}

export class PlatformStack extends TerraformStack implements PlatformOutputs {
  readonly region: string;
  readonly vpcId: string;
  readonly vpcCidrBlock: string;
  readonly privateSubnetIds: readonly string[];
  readonly databaseSubnetIds: readonly string[];
  readonly clusterName: string;
  readonly clusterEndpoint: string;
  readonly clusterCertificateAuthorityData: string;
  readonly clusterSecurityGroupId: string;
  readonly oidcProviderArn: string;
  readonly oidcIssuerHostPath: string;
  readonly ecrRepositoryUrls: { readonly api: string; readonly ws: string };
  readonly pullThroughCacheUrls: PullThroughCacheUrls;
  /** IRSA role ARNs of the controllers the addons stack installs (its `controllerRoles` prop). */
  readonly controllerRoles: ClusterControllerRoles;
  readonly alertmanagerRoleArn: string;

  readonly network: Network;
  readonly cluster: EksCluster;
  readonly nodeGroup: EksNodeGroup;
  readonly oidcProvider: IrsaOidcProvider;
  readonly loadBalancerControllerRole: LoadBalancerControllerRole;
  readonly clusterAutoscalerRole: ClusterAutoscalerRole;
  readonly alertmanagerRole: AlertmanagerRole;
  /** Present when the region's API names have hosted zones (`apiHostedZones`). */
  readonly externalDnsRole?: ExternalDnsRole;
  readonly registry: ContainerRegistry;
  /** ECR pull-through cache of the public registries third-party images come from. */
  readonly imageCache: ImagePullThroughCache;
  /** The zone node groups' bounds and the demand they were derived from. */
  readonly nodeSizing: RegionNodeSizing;

  constructor(scope: Construct, id: string, props: PlatformStackProps) {
    super(scope, id);
    const cidrBlock = validate(id, props);
    const { region } = props;
    const name = platformResourceName(region);
    const partition = awsPartition(region);
    const tags = { ...PLATFORM_COST_TAGS, ...stackTags(id) };

    applyBackend(this, id, props.backend);
    new AwsProvider(this, 'aws', { region, defaultTags: [{ tags }] });

    // The union of the locations' zones: the network's subnets and the node groups follow it.
    this.nodeSizing = regionNodeSizing(props.locations);

    const logKey = new LogsKmsKey(this, 'logs-key', { aliasName: `${name}/logs`, region });
    this.network = new Network(this, 'network', {
      name,
      region,
      cidrBlock,
      availabilityZones: this.nodeSizing.zones,
      flowLogKey: logKey,
      kubernetesClusterName: name,
    });

    this.cluster = new EksCluster(this, 'cluster', { name, network: this.network, logKey, partition });
    // The addons and app stacks talk to this cluster's private endpoint as the deploy role, from
    // the runner's or VPN's network: without these, only the cluster creator inside the VPC could.
    this.cluster.allowEndpointAccessFrom(props.settings.clusterEndpointAccess);
    for (const { principalArn, access } of props.settings.clusterAccess) this.cluster.grantAccess(principalArn, access);
    // One managed node group per zone (`node-group-<zone letter>` inside this construct, which
    // keeps its id, role and launch template): the cluster autoscaler can then grow the zone a
    // pending pod needs, such as one bound to a zonal EBS volume.
    this.nodeGroup = new EksNodeGroup(this, 'node-group', {
      cluster: this.cluster,
      name: `${name}-general`,
      network: this.network,
      sizing: this.nodeSizing.perZone,
      instanceTags: tags,
    });
    const nodeGroups = this.nodeGroup.zoneGroups.map((g) => g.resource);
    this.oidcProvider = new IrsaOidcProvider(this, 'irsa', { cluster: this.cluster });

    // CoreDNS and the EBS CSI controller are Deployments: they need nodes before EKS reports them
    // active. The EBS CSI driver provisions the gp3 volumes the monitoring stack asks for.
    this.cluster.addAddon('coredns', { dependsOn: nodeGroups });
    const ebsCsiRole = this.oidcProvider.createServiceAccountRole(this, 'ebs-csi-driver-role', {
      roleName: `${name}-ebs-csi-driver`,
      serviceAccount: { namespace: 'kube-system', name: 'ebs-csi-controller-sa' },
      managedPolicies: ['service-role/AmazonEBSCSIDriverPolicy'],
    });
    this.cluster.addAddon('aws-ebs-csi-driver', { serviceAccountRoleArn: ebsCsiRole.arn, dependsOn: nodeGroups });

    // Roles of the controllers the addons stack installs with Helm: the AWS Load Balancer
    // Controller provisions the app stacks' Network Load Balancers, the cluster autoscaler resizes
    // the zones' node groups when the HPAs add pods that do not fit.
    this.loadBalancerControllerRole = new LoadBalancerControllerRole(this, 'load-balancer-controller-role', {
      oidcProvider: this.oidcProvider,
      roleName: `${name}-aws-load-balancer-controller`,
    });
    this.clusterAutoscalerRole = new ClusterAutoscalerRole(this, 'cluster-autoscaler-role', {
      oidcProvider: this.oidcProvider,
      cluster: this.cluster,
      roleName: `${name}-cluster-autoscaler`,
    });

    const apiHostedZones = props.apiHostedZones ?? [];
    this.externalDnsRole =
      apiHostedZones.length > 0
        ? new ExternalDnsRole(this, 'external-dns-role', {
            oidcProvider: this.oidcProvider,
            hostedZones: apiHostedZones,
            roleName: `${name}-external-dns`,
            partition,
          })
        : undefined;

    // Alertmanager notifies the locations' people through their alert topics (the data stacks');
    // the account is the one that owns the cluster's OIDC provider, as in the data stacks.
    this.alertmanagerRole = new AlertmanagerRole(this, 'alertmanager-role', {
      oidcProvider: this.oidcProvider,
      roleName: `${name}-alertmanager`,
      region,
      accountId: arnAccountId(this.oidcProvider.arn),
    });

    this.registry = new ContainerRegistry(this, 'registry', { repositories: ECR_REPOSITORIES, keyAliasName: `${name}/ecr` });
    // Third-party images (nginx, its exporter) come through the region's ECR, not anonymously
    // from Docker Hub; the nodes' role pulls them, so it may fill the cache on a first pull.
    this.imageCache = new ImagePullThroughCache(this, 'image-cache', { region, partition });
    this.imageCache.grantPull(this.nodeGroup.role);

    this.region = region;
    this.vpcId = this.network.vpc.id;
    this.vpcCidrBlock = this.network.vpc.cidrBlock;
    this.privateSubnetIds = this.network.privateSubnets.map((s) => s.id);
    this.databaseSubnetIds = this.network.databaseSubnets.map((s) => s.id);
    this.clusterName = this.cluster.name;
    this.clusterEndpoint = this.cluster.endpoint;
    this.clusterCertificateAuthorityData = this.cluster.certificateAuthorityData;
    this.clusterSecurityGroupId = this.cluster.clusterSecurityGroupId;
    this.oidcProviderArn = this.oidcProvider.arn;
    this.oidcIssuerHostPath = this.oidcProvider.issuerHostPath;
    this.ecrRepositoryUrls = {
      api: this.registry.repository('api').repositoryUrl,
      ws: this.registry.repository('ws').repositoryUrl,
    };
    this.pullThroughCacheUrls = this.imageCache.urls;
    this.controllerRoles = {
      loadBalancerControllerRoleArn: this.loadBalancerControllerRole.arn,
      clusterAutoscalerRoleArn: this.clusterAutoscalerRole.arn,
      ...(this.externalDnsRole ? { externalDnsRoleArn: this.externalDnsRole.arn } : {}),
    };
    this.alertmanagerRoleArn = this.alertmanagerRole.arn;

    const outputs: Record<string, { value: string | readonly string[]; description: string }> = {
      vpcId: { value: this.vpcId, description: 'VPC of the region' },
      vpcCidrBlock: { value: this.vpcCidrBlock, description: 'Address range of the VPC' },
      publicSubnetIds: { value: this.network.publicSubnets.map((s) => s.id), description: 'Public subnets, one per zone (load balancers, NAT)' },
      privateSubnetIds: { value: this.privateSubnetIds, description: 'Private subnets, one per zone (nodes, pods)' },
      databaseSubnetIds: { value: this.databaseSubnetIds, description: 'Database subnets, one per zone (no route out of the VPC)' },
      clusterName: { value: this.clusterName, description: 'EKS cluster name' },
      clusterEndpoint: { value: this.clusterEndpoint, description: 'EKS API endpoint (private)' },
      clusterCertificateAuthorityData: { value: this.clusterCertificateAuthorityData, description: 'EKS cluster CA, base64 PEM' },
      clusterSecurityGroupId: { value: this.clusterSecurityGroupId, description: 'EKS-managed security group of the control plane and nodes' },
      nodeGroupNames: { value: nodeGroups.map((g) => g.nodeGroupName), description: 'Managed node group names, one per zone' },
      oidcProviderArn: { value: this.oidcProviderArn, description: 'IAM OIDC provider for IRSA' },
      oidcIssuerHostPath: { value: this.oidcIssuerHostPath, description: 'OIDC issuer without https://, for IRSA trust policies' },
      ecrApiRepositoryUrl: { value: this.ecrRepositoryUrls.api, description: 'ECR repository of the api image' },
      ecrWsRepositoryUrl: { value: this.ecrRepositoryUrls.ws, description: 'ECR repository of the ws image' },
      ...Object.fromEntries(
        (Object.keys(UPSTREAM_REGISTRIES) as (keyof PullThroughCacheUrls)[]).map((key) => [
          `pullThroughCache${key[0]!.toUpperCase()}${key.slice(1)}Url`,
          { value: this.pullThroughCacheUrls[key], description: `ECR pull-through cache of ${UPSTREAM_REGISTRIES[key].url} (registry and prefix of cached images)` },
        ]),
      ),
      loadBalancerControllerRoleArn: {
        value: this.controllerRoles.loadBalancerControllerRoleArn,
        description: `IRSA role of the AWS Load Balancer Controller (${serviceAccountPath(this.loadBalancerControllerRole.serviceAccount)})`,
      },
      clusterAutoscalerRoleArn: {
        value: this.controllerRoles.clusterAutoscalerRoleArn,
        description: `IRSA role of the cluster autoscaler (${serviceAccountPath(this.clusterAutoscalerRole.serviceAccount)})`,
      },
      alertmanagerRoleArn: {
        value: this.alertmanagerRoleArn,
        description: `IRSA role of Alertmanager, publishes to the region's location alert topics (${serviceAccountPath(this.alertmanagerRole.serviceAccount)})`,
      },
    };
    if (this.externalDnsRole) {
      outputs.externalDnsRoleArn = {
        value: this.externalDnsRole.arn,
        description: `IRSA role of ExternalDNS, changes records in ${apiHostedZones.map((z) => z.domain).join(', ')} (${serviceAccountPath(this.externalDnsRole.serviceAccount)})`,
      };
    }
    for (const [outputId, output] of Object.entries(outputs)) {
      // None is secret: the CA certificate is public, the endpoint is private by network.
      new TerraformOutput(this, outputId, { value: output.value, description: output.description });
    }
  }
}

function serviceAccountPath(serviceAccount: ServiceAccountRef): string {
  return `${serviceAccount.namespace}/${serviceAccount.name}`;
}

/** Checks the props before anything is built; returns the region's VPC range. */
function validate(id: string, props: PlatformStackProps): string {
  const expectedId = platformStackId(props.region);
  if (id !== expectedId) {
    throw new Error(`id must be "${expectedId}" (platform-<region>; it names the state file), got "${id}"`);
  }
  const cidrBlock = REGION_VPC_CIDRS[props.region];
  if (!cidrBlock) {
    throw new Error(
      `region must be one of ${Object.keys(REGION_VPC_CIDRS).sort().join(', ')} (regions with a VPC range in REGION_VPC_CIDRS), got "${props.region}" (stack "${id}")`,
    );
  }
  if (props.locations.length === 0) {
    throw new Error(`locations must list at least one location of ${props.region}, got none (stack "${id}")`);
  }
  if (props.settings.region !== props.region) {
    throw new Error(`settings.region must be "${props.region}" (the stack's region), got "${props.settings.region}" (stack "${id}")`);
  }
  props.locations.forEach((location, i) => {
    if (location.region !== props.region) {
      throw new Error(
        `locations[${i}].region must be "${props.region}" (the stack's region), got "${location.region}" (location "${location.id}", stack "${id}")`,
      );
    }
  });
  return cidrBlock;
}
