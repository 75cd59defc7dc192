/**
 * The managed node groups of an EKS cluster: one per availability zone of the network, each in its
 * zone's private subnet, sharing one node role and one launch template. One group per zone lets the
 * cluster autoscaler grow the zone a pending pod needs (a pod bound to a zonal EBS volume fits in
 * no other); a group spanning zones is one Auto Scaling group that picks the zone itself. The
 * launch template requires IMDSv2 and encrypts the gp3 root volume; the node role carries only the
 * standard worker, CNI and ECR-read policies (workloads get their own roles through IRSA).
 */
import { EksNodeGroup as EksNodeGroupResource } from '@cdktf/provider-aws/lib/eks-node-group';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { LaunchTemplate } from '@cdktf/provider-aws/lib/launch-template';
import { Construct } from 'constructs';
import { Token } from '../cdktf';
import type { NodeGroupSizing } from '../config/region-sizing';
import type { EksCluster } from './eks-cluster';
import type { Network } from './network';

export interface EksNodeGroupProps {
  readonly cluster: EksCluster;
  /** One node group per zone of the network, in that zone's private subnet (never a public one). */
  readonly network: Network;
  /** Instance types and the bounds of each zone's group, from `regionNodeSizing(...).perZone`. */
  readonly sizing: NodeGroupSizing;
  /**
   * Prefix of the node group names (`<name>-<zone letter>`, unique in the cluster); also names
   * the node role and launch template.
   */
  readonly name: string;
  /**
   * Tags for the EC2 instances and volumes: provider default tags do not reach what the node
   * group's Auto Scaling group launches, and cost allocation needs them there.
   * @default {}
   */
  readonly instanceTags?: Readonly<Record<string, string>>;
  /** @default 50 */
  readonly rootVolumeGiB?: number;
  /** @default 'AL2023_x86_64_STANDARD' */
  readonly amiType?: string;
}

/**
 * The managed policies every EKS worker needs. The only other grant to the nodes is the ECR
 * pull-through cache's first pull (`ImagePullThroughCache.grantPull`, which the platform stack
 * gives this role): `AmazonEC2ContainerRegistryReadOnly` reads cached images but cannot create
 * their repositories or import them from upstream.
 */
export const NODE_MANAGED_POLICIES = ['AmazonEKSWorkerNodePolicy', 'AmazonEKS_CNI_Policy', 'AmazonEC2ContainerRegistryReadOnly'] as const;

/** The node group of one availability zone. */
export interface ZoneNodeGroup {
  readonly zone: string;
  readonly resource: EksNodeGroupResource;
}

export class EksNodeGroup extends Construct {
  /** One per zone of the network, in zone order. */
  readonly zoneGroups: readonly ZoneNodeGroup[];
  readonly role: IamRole;
  readonly launchTemplate: LaunchTemplate;

  constructor(scope: Construct, id: string, props: EksNodeGroupProps) {
    super(scope, id);
    const instanceTags = props.instanceTags ?? {};
    const rootVolumeGiB = props.rootVolumeGiB ?? 50;
    const amiType = props.amiType ?? 'AL2023_x86_64_STANDARD';
    validate(id, props, rootVolumeGiB);
    const { cluster, sizing } = props;

    this.role = new IamRole(this, 'role', {
      name: `${props.name}-eks-node`,
      description: `Nodes of EKS node group ${props.name}`,
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      }),
    });
    const attachments = NODE_MANAGED_POLICIES.map(
      (policy) =>
        new IamRolePolicyAttachment(this, `role-${policy}`, {
          role: this.role.name,
          policyArn: `arn:${cluster.partition}:iam::aws:policy/${policy}`,
        }),
    );

    this.launchTemplate = new LaunchTemplate(this, 'launch-template', {
      name: `${props.name}-eks-node`,
      description: `Nodes of EKS node group ${props.name}: IMDSv2 only, encrypted gp3 root volume`,
      updateDefaultVersion: true,
      metadataOptions: {
        httpEndpoint: 'enabled',
        httpTokens: 'required',
        // One hop: pods (one network hop further) cannot reach instance metadata and so cannot
        // borrow the node role; they use IRSA. Host-network agents (VPC CNI) still reach it.
        httpPutResponseHopLimit: 1,
        instanceMetadataTags: 'disabled',
      },
      blockDeviceMappings: [
        {
          // Root device of the EKS AL2023 AMIs.
          deviceName: '/dev/xvda',
          ebs: {
            volumeType: 'gp3',
            volumeSize: rootVolumeGiB,
            encrypted: 'true',
            deleteOnTermination: 'true',
          },
        },
      ],
      tagSpecifications: ['instance', 'volume', 'network-interface'].map((resourceType) => ({
        resourceType,
        tags: { ...instanceTags, Name: `${props.name}-eks-node` },
      })),
    });

    // Ids and names come from the zone letter (as the network's subnets do), never from a zone's
    // position: adding a zone adds its group and leaves the others alone.
    this.zoneGroups = props.network.zoneSubnets.map(({ zone, private: subnet }) => {
      const letter = zone.slice(-1);
      const resource = new EksNodeGroupResource(this, `node-group-${letter}`, {
        clusterName: cluster.name,
        nodeGroupName: `${props.name}-${letter}`,
        nodeRoleArn: this.role.arn,
        subnetIds: [subnet.id],
        // Follows the control plane: a version bump upgrades the nodes right after it.
        version: cluster.resource.version,
        amiType,
        capacityType: 'ON_DEMAND',
        instanceTypes: [...sizing.instanceTypes],
        launchTemplate: { id: this.launchTemplate.id, version: Token.asString(this.launchTemplate.latestVersion) },
        scalingConfig: { minSize: sizing.minSize, desiredSize: sizing.desiredSize, maxSize: sizing.maxSize },
        updateConfig: { maxUnavailablePercentage: 33 },
        nodeRepairConfig: { enabled: true },
        // Nodes only join once their role can do so and the network add-ons are there to make them Ready.
        dependsOn: [...attachments, ...cluster.networkAddons],
        // No autoscaler tags here: EKS tags the group's Auto Scaling group itself with
        // `k8s.io/cluster-autoscaler/enabled` and `k8s.io/cluster-autoscaler/<cluster>` (tags of this
        // resource would not reach the Auto Scaling group anyway); see `cluster-autoscaler-role.ts`.
        lifecycle: {
          // The cluster autoscaler owns the current size; an apply must not undo its scaling.
          ignoreChanges: ['scaling_config[0].desired_size'],
        },
      });
      return { zone, resource };
    });
  }
}

function validate(id: string, props: EksNodeGroupProps, rootVolumeGiB: number): void {
  const { minSize, desiredSize, maxSize, instanceTypes } = props.sizing;
  if (instanceTypes.length === 0) {
    throw new Error(`sizing.instanceTypes must list at least one instance type, got none (node group "${id}")`);
  }
  if (!(Number.isInteger(minSize) && minSize >= 1 && minSize <= desiredSize && desiredSize <= maxSize)) {
    throw new Error(
      `sizing must satisfy 1 <= minSize <= desiredSize <= maxSize, got ${minSize} / ${desiredSize} / ${maxSize} (node group "${id}")`,
    );
  }
  if (!Number.isInteger(rootVolumeGiB) || rootVolumeGiB < 20 || rootVolumeGiB > 1000) {
    throw new Error(`rootVolumeGiB must be an integer 20..1000, got ${rootVolumeGiB} (node group "${id}")`);
  }
}
