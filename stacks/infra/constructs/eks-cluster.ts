/**
 * The EKS control plane of a region: private API endpoint, every control-plane log type in an
 * encrypted log group, Kubernetes Secrets envelope-encrypted with a dedicated KMS key, access
 * managed through EKS access entries (no aws-auth ConfigMap), and the managed add-ons pinned per
 * Kubernetes version.
 *
 * Operators and the deploy pipeline reach the API through the VPC (VPN or a bastion/CI runner in a
 * private subnet): the endpoint is not on the internet unless `publicAccessCidrs` opens it. Who
 * may connect is granted with `allowEndpointAccessFrom` (the cluster security group admits them
 * on 443), who may act with `grantAccess` (an EKS access entry and policy per principal).
 */
import { EksAccessEntry } from '@cdktf/provider-aws/lib/eks-access-entry';
import { EksAccessPolicyAssociation } from '@cdktf/provider-aws/lib/eks-access-policy-association';
import { EksAddon } from '@cdktf/provider-aws/lib/eks-addon';
import { EksCluster as EksClusterResource } from '@cdktf/provider-aws/lib/eks-cluster';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import { Construct } from 'constructs';
import { Token } from '../cdktf';
import { arnPartition, endpointCidrProblem, iamPrincipalArnProblem, parseCidr, SECURITY_GROUP_ID_PATTERN, SECURITY_GROUP_ID_RULE } from '../config/aws-identifiers';
import { CLUSTER_ACCESS_LEVELS, type ClusterAccessLevel } from '../config/platform-settings';
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

/** Who may open connections to the private API endpoint (the deploy runner, a VPN, a bastion). */
export interface EndpointAccessSources {
  /** IPv4 or IPv6 network blocks, never `0.0.0.0/0` or `::/0`. @default [] */
  readonly cidrs?: readonly string[];
  /** Security groups whose members may connect (in this VPC or a peered one). @default [] */
  readonly securityGroupIds?: readonly string[];
}

/** What `grantAccess` creates for one principal. */
export interface ClusterAccessGrant {
  readonly entry: EksAccessEntry;
  readonly policyAssociation: EksAccessPolicyAssociation;
}

/** EKS access policies by access level; `arn:<partition>:eks::aws:cluster-access-policy/<name>`. */
export const EKS_ACCESS_POLICIES: Readonly<Record<ClusterAccessLevel, string>> = {
  admin: 'AmazonEKSClusterAdminPolicy',
  view: 'AmazonEKSViewPolicy',
};

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
  /** The cluster's name as given (the resource's `name` is a token), for messages and descriptions. */
  private readonly clusterName: string;
  private readonly grantedPrincipals = new Set<string>();
  private readonly admittedSources = new Set<string>();

  constructor(scope: Construct, id: string, props: EksClusterProps) {
    super(scope, id);
    const kubernetesVersion = props.kubernetesVersion ?? EKS_KUBERNETES_VERSION;
    const partition = props.partition ?? 'aws';
    const controlPlaneLogRetentionDays = props.controlPlaneLogRetentionDays ?? 90;
    const publicAccessCidrs = props.publicAccessCidrs ?? [];
    validate(id, props.name, kubernetesVersion, publicAccessCidrs);
    this.kubernetesVersion = kubernetesVersion;
    this.partition = partition;
    this.clusterName = props.name;

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
        // No hidden admin: every identity with access, the deploy role that creates the cluster
        // included, has an access entry from platform.yaml (grantAccess), created in the same
        // apply as the cluster. With the creator's implicit entry, listing the deploy role would
        // fail (EKS refuses a second entry for a principal, ResourceInUseException) and not
        // listing it would leave its access invisible in the settings. Fixed at creation.
        bootstrapClusterCreatorAdminPermissions: false,
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

  /**
   * Lets the given networks and security groups open HTTPS connections to the private API
   * endpoint: one ingress rule on the cluster security group per source. EKS also puts that group
   * on every managed node (and so on pod addresses), so the sources reach port 443 there too: list
   * the operators' own networks only, never a shared range.
   *
   * Each rule's construct id is its source, the identity AWS gives the rule too: adding or removing
   * a source creates or deletes that one rule, where index ids would rewrite every later rule
   * (and collide with the rule being removed: AWS refuses duplicate rules).
   */
  allowEndpointAccessFrom(sources: EndpointAccessSources): VpcSecurityGroupIngressRule[] {
    const cidrs = sources.cidrs ?? [];
    const securityGroupIds = sources.securityGroupIds ?? [];
    const where = `(EKS cluster "${this.node.id}")`;
    for (const source of [...cidrs, ...securityGroupIds]) {
      if (Token.isUnresolved(source)) {
        throw new Error(`endpoint access sources must be literal values, not Terraform references (each names its rule's construct id), got "${source}" ${where}`);
      }
    }
    for (const cidr of cidrs) {
      const problem = endpointCidrProblem(cidr);
      if (problem) throw new Error(`endpoint access cidrs ${problem}, got "${cidr}" ${where}`);
    }
    for (const groupId of securityGroupIds) {
      if (!SECURITY_GROUP_ID_PATTERN.test(groupId)) {
        throw new Error(`endpoint access securityGroupIds must be ${SECURITY_GROUP_ID_RULE}, got "${groupId}" ${where}`);
      }
    }
    for (const source of [...cidrs, ...securityGroupIds]) {
      if (this.admittedSources.has(source)) throw new Error(`endpoint access must admit each source once, got "${source}" again ${where}`);
      this.admittedSources.add(source);
    }

    const rule = (source: string, target: { cidrIpv4?: string; cidrIpv6?: string; referencedSecurityGroupId?: string }) =>
      new VpcSecurityGroupIngressRule(this, `endpoint-access-${source}`, {
        securityGroupId: this.clusterSecurityGroupId,
        description: `Kubernetes API of EKS cluster ${this.clusterName} from ${source}`,
        ipProtocol: 'tcp',
        fromPort: 443,
        toPort: 443,
        ...target,
      });
    return [
      ...cidrs.map((cidr) => {
        const parsed = parseCidr(cidr);
        return rule(cidr, parsed.ok && parsed.cidr.family === 6 ? { cidrIpv6: cidr } : { cidrIpv4: cidr });
      }),
      ...securityGroupIds.map((groupId) => rule(groupId, { referencedSecurityGroupId: groupId })),
    ];
  }

  /**
   * Gives an IAM role or user access to the cluster: an access entry and the EKS access policy of
   * `level`, cluster-wide. The construct ids hold the principal ARN, which is also what EKS keys
   * the entry by (changing it replaces the entry anyway), so one principal's change leaves the
   * others alone. The creator has no implicit entry (`bootstrapClusterCreatorAdminPermissions`
   * is false), so the deploy role is granted here like everyone else.
   */
  grantAccess(principalArn: string, level: ClusterAccessLevel): ClusterAccessGrant {
    const where = `(EKS cluster "${this.node.id}")`;
    if (!(CLUSTER_ACCESS_LEVELS as readonly string[]).includes(level)) {
      throw new Error(`access level must be one of ${CLUSTER_ACCESS_LEVELS.join(', ')}, got "${level}" ${where}`);
    }
    if (Token.isUnresolved(principalArn)) {
      throw new Error(`principalArn must be a literal ARN, not a Terraform reference (it names the entry's construct id), got "${principalArn}" ${where}`);
    }
    const problem = iamPrincipalArnProblem(principalArn);
    if (problem) throw new Error(`principalArn ${problem}, got "${principalArn}" ${where}`);
    if (arnPartition(principalArn) !== this.partition) {
      throw new Error(`principalArn must be in the cluster's partition "${this.partition}", got "${principalArn}" ${where}`);
    }
    if (this.grantedPrincipals.has(principalArn)) {
      throw new Error(`principalArn must be granted access once (EKS takes one access entry per principal), got "${principalArn}" again ${where}`);
    }
    this.grantedPrincipals.add(principalArn);

    const entry = new EksAccessEntry(this, `access-entry-${principalArn}`, {
      clusterName: this.resource.name,
      principalArn,
      type: 'STANDARD',
    });
    const policyAssociation = new EksAccessPolicyAssociation(this, `access-policy-${principalArn}`, {
      clusterName: this.resource.name,
      // The entry's attribute, not the input string: the association waits for the entry.
      principalArn: entry.principalArn,
      policyArn: `arn:${this.partition}:eks::aws:cluster-access-policy/${EKS_ACCESS_POLICIES[level]}`,
      accessScope: { type: 'cluster' },
    });
    return { entry, policyAssociation };
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
