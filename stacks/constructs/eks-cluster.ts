/**
 * The EKS control plane of a region: private API endpoint, every control-plane log type in an
 * encrypted log group, Kubernetes Secrets envelope-encrypted with a dedicated KMS key, access
 * managed through EKS access entries (no aws-auth ConfigMap), and the managed add-ons pinned per
 * Kubernetes version.
 *
 * Operators and the deploy pipeline reach the API through the VPC (VPN or a bastion/CI runner in a
 * private subnet): the endpoint is not on the internet unless `publicAccessCidrs` opens it.
 */
import { EksAddon } from '@cdktf/provider-aws/lib/eks-addon';
import { EksCluster as EksClusterResource } from '@cdktf/provider-aws/lib/eks-cluster';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { Construct } from 'constructs';
import type { LogsKmsKey } from './logs-kms-key';
import type { Network } from './network';

export type EksAddonName = 'vpc-cni' | 'kube-proxy' | 'coredns' | 'aws-ebs-csi-driver';

/**
 * Add-on builds per Kubernetes version. Upgrading the cluster means adding a row here first (check
 * with `aws eks describe-addon-versions --kubernetes-version <v> --addon-name <name>`), so a version
 * bump can never pair the control plane with add-ons built for another release.
 */
export const EKS_ADDON_VERSIONS: Readonly<Record<string, Readonly<Record<EksAddonName, string>>>> = {
  '1.34': {
    'vpc-cni': 'v1.20.4-eksbuild.2',
    'kube-proxy': 'v1.34.0-eksbuild.2',
    coredns: 'v1.12.3-eksbuild.1',
    'aws-ebs-csi-driver': 'v1.51.0-eksbuild.1',
  },
};

/**
 * 1.34 is in EKS standard support until late 2026; 1.32 left it in March 2026, after which EKS
 * bills extended support at six times the control-plane price.
 */
export const EKS_KUBERNETES_VERSION = '1.34';

/** Every control-plane log type: audit and authenticator logs are the ones incidents need. */
export const EKS_CONTROL_PLANE_LOG_TYPES = ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'] as const;

/** Cluster Service addresses; outside every VPC range in the platform's address plan (10.0.0.0/8). */
export const EKS_SERVICE_IPV4_CIDR = '172.20.0.0/16';

/** Anything Terraform can order after: resources, data sources, modules. */
export interface Dependable {
  readonly fqn: string;
}

export interface EksClusterProps {
  /** Cluster name; also prefixes the cluster's IAM role, KMS alias and log group. */
  readonly name: string;
  /** The control plane's network interfaces go into the network's private subnets. */
  readonly network: Network;
  /** Encrypts the control-plane log group. */
  readonly logKey: LogsKmsKey;
  /**
   * Partition of managed-policy ARNs (`aws`, `aws-cn`, `aws-us-gov`).
   * @default 'aws'
   */
  readonly partition?: string;
  /**
   * Must have a row in EKS_ADDON_VERSIONS.
   * @default EKS_KUBERNETES_VERSION
   */
  readonly kubernetesVersion?: string;
  /** @default 90 */
  readonly controlPlaneLogRetentionDays?: number;
  /**
   * Escape hatch for operators without VPN: CIDRs that may reach a public API endpoint (still
   * authenticated by IAM). Never `0.0.0.0/0`.
   * @default [] - no public endpoint
   */
  readonly publicAccessCidrs?: readonly string[];
}

export interface EksAddonOptions {
  /** IAM role for the add-on's service account (IRSA). @default - the node role's permissions */
  readonly serviceAccountRoleArn?: string;
  /** The add-on's configuration schema values. @default - the add-on's defaults */
  readonly configuration?: Readonly<Record<string, unknown>>;
  /** Add-ons whose pods need nodes must wait for the node group. @default [] */
  readonly dependsOn?: readonly Dependable[];
}

const CLUSTER_NAME_PATTERN = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;
const IPV4_CIDR_PATTERN = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/([0-9]|[12]\d|3[0-2])$/;

export class EksCluster extends Construct {
  readonly resource: EksClusterResource;
  readonly role: IamRole;
  /** Envelope-encrypts Kubernetes Secrets in etcd; dedicated so its use shows up alone in CloudTrail. */
  readonly secretsKey: KmsKey;
  readonly kubernetesVersion: string;
  readonly partition: string;
  /** vpc-cni and kube-proxy: nodes are not Ready without them, so node groups wait for these. */
  readonly networkAddons: readonly EksAddon[];

  constructor(scope: Construct, id: string, props: EksClusterProps) {
    super(scope, id);
    const kubernetesVersion = props.kubernetesVersion ?? EKS_KUBERNETES_VERSION;
    const partition = props.partition ?? 'aws';
    const controlPlaneLogRetentionDays = props.controlPlaneLogRetentionDays ?? 90;
    const publicAccessCidrs = props.publicAccessCidrs ?? [];
    validate(id, props.name, kubernetesVersion, publicAccessCidrs);
    this.kubernetesVersion = kubernetesVersion;
    this.partition = partition;

    this.role = new IamRole(this, 'role', {
      name: `${props.name}-eks-cluster`,
      description: `EKS control plane of ${props.name}`,
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'eks.amazonaws.com' }, Action: ['sts:AssumeRole', 'sts:TagSession'] }],
      }),
    });
    const clusterPolicy = new IamRolePolicyAttachment(this, 'role-cluster-policy', {
      role: this.role.name,
      policyArn: `arn:${partition}:iam::aws:policy/AmazonEKSClusterPolicy`,
    });

    this.secretsKey = new KmsKey(this, 'secrets-key', {
      description: `Envelope encryption of Kubernetes Secrets in EKS cluster ${props.name}`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
    });
    new KmsAlias(this, 'secrets-key-alias', { name: `alias/${props.name}/eks-secrets`, targetKeyId: this.secretsKey.keyId });
    // The default key policy lets the account's IAM policies grant use of the key; this one does.
    const secretsKeyUse = new IamRolePolicy(this, 'role-secrets-key-policy', {
      name: 'use-secrets-key',
      role: this.role.id,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ListGrants', 'kms:DescribeKey'],
            Resource: this.secretsKey.arn,
          },
        ],
      }),
    });

    // Created before the cluster so EKS writes into it instead of making one that never expires.
    const logGroup = props.logKey.createLogGroup(this, 'control-plane-log-group', {
      name: `/aws/eks/${props.name}/cluster`,
      retentionDays: controlPlaneLogRetentionDays,
    });

    this.resource = new EksClusterResource(this, 'cluster', {
      name: props.name,
      version: kubernetesVersion,
      roleArn: this.role.arn,
      enabledClusterLogTypes: [...EKS_CONTROL_PLANE_LOG_TYPES],
      vpcConfig: {
        subnetIds: props.network.privateSubnets.map((s) => s.id),
        endpointPrivateAccess: true,
        endpointPublicAccess: publicAccessCidrs.length > 0,
        ...(publicAccessCidrs.length > 0 ? { publicAccessCidrs: [...publicAccessCidrs] } : {}),
      },
      encryptionConfig: { resources: ['secrets'], provider: { keyArn: this.secretsKey.arn } },
      accessConfig: {
        // Access entries only: cluster access is IAM-managed and visible in the EKS API, not in a
        // ConfigMap anyone with kube-system write access could edit.
        authenticationMode: 'API',
        // Whoever creates the cluster (the deploy role) administers it, so the addons stack can
        // install charts right after. Other admins get access entries.
        bootstrapClusterCreatorAdminPermissions: true,
      },
      kubernetesNetworkConfig: { ipFamily: 'ipv4', serviceIpv4Cidr: EKS_SERVICE_IPV4_CIDR },
      // Managed add-ons below replace the self-managed defaults, so nothing is installed twice.
      bootstrapSelfManagedAddons: false,
      // STANDARD: at the end of standard support EKS upgrades the cluster rather than billing
      // extended support; upgrades are planned here before that date.
      upgradePolicy: { supportType: 'STANDARD' },
      dependsOn: [clusterPolicy, secretsKeyUse, logGroup],
    });

    this.networkAddons = [
      // NetworkPolicies of the app stack are enforced by the VPC CNI's network-policy agent.
      this.addAddon('vpc-cni', { configuration: { enableNetworkPolicy: 'true' } }),
      this.addAddon('kube-proxy'),
    ];
  }

  get name(): string {
    return this.resource.name;
  }

  get endpoint(): string {
    return this.resource.endpoint;
  }

  /** Base64 PEM, as EKS returns it. */
  get certificateAuthorityData(): string {
    return this.resource.certificateAuthority.get(0).data;
  }

  /** Created by EKS and attached to the control plane and every managed node. */
  get clusterSecurityGroupId(): string {
    return this.resource.vpcConfig.clusterSecurityGroupId;
  }

  /** `https://oidc.eks.<region>.amazonaws.com/id/<id>`. */
  get oidcIssuerUrl(): string {
    return this.resource.identity.get(0).oidc.get(0).issuer;
  }

  /** Installs an EKS managed add-on at the version pinned for this cluster's Kubernetes version. */
  addAddon(addonName: EksAddonName, options: EksAddonOptions = {}): EksAddon {
    return new EksAddon(this, `addon-${addonName}`, {
      clusterName: this.resource.name,
      addonName,
      addonVersion: EKS_ADDON_VERSIONS[this.kubernetesVersion]![addonName],
      // The code is the source of truth: settings changed by hand are overwritten.
      resolveConflictsOnCreate: 'OVERWRITE',
      resolveConflictsOnUpdate: 'OVERWRITE',
      ...(options.serviceAccountRoleArn ? { serviceAccountRoleArn: options.serviceAccountRoleArn } : {}),
      ...(options.configuration ? { configurationValues: JSON.stringify(options.configuration) } : {}),
      ...(options.dependsOn ? { dependsOn: [...options.dependsOn] } : {}),
    });
  }
}

function validate(id: string, name: string, kubernetesVersion: string, publicAccessCidrs: readonly string[]): void {
  if (!CLUSTER_NAME_PATTERN.test(name)) {
    throw new Error(`name must be 1-100 letters, digits, - or _ starting with a letter or digit, got "${name}" (EKS cluster "${id}")`);
  }
  if (!EKS_ADDON_VERSIONS[kubernetesVersion]) {
    throw new Error(
      `kubernetesVersion must be one of ${Object.keys(EKS_ADDON_VERSIONS).join(', ')} (versions with pinned add-ons in EKS_ADDON_VERSIONS), got "${kubernetesVersion}" (EKS cluster "${id}")`,
    );
  }
  for (const cidr of publicAccessCidrs) {
    if (!IPV4_CIDR_PATTERN.test(cidr)) {
      throw new Error(`publicAccessCidrs must hold IPv4 CIDR blocks such as 203.0.113.0/24, got "${cidr}" (EKS cluster "${id}")`);
    }
    if (cidr.endsWith('/0')) {
      throw new Error(`publicAccessCidrs must not open the API endpoint to the whole internet, got "${cidr}" (EKS cluster "${id}")`);
    }
  }
}
