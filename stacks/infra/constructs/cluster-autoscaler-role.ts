/**
 * The IRSA role of the cluster autoscaler, which the addons stack installs. The autoscaler adds
 * nodes when pods (the HPAs' extra replicas) cannot be scheduled and removes underused ones, by
 * changing the desired capacity of the node group's Auto Scaling group within its min and max.
 *
 * Permissions: the least-privilege policy of the autoscaler's AWS documentation
 * (kubernetes/autoscaler, `cluster-autoscaler/cloudprovider/aws/README.md`, "IAM Policy"):
 * describe calls on `*` (they support no resource scoping), and the two calls that change
 * capacity only on Auto Scaling groups tagged `k8s.io/cluster-autoscaler/<cluster>` = `owned`.
 *
 * Those tags need no code: for managed node groups EKS itself puts
 * `k8s.io/cluster-autoscaler/enabled` = `true` and `k8s.io/cluster-autoscaler/<cluster>` = `owned`
 * on the Auto Scaling group it creates (tags given to the node group resource, by contrast, are
 * not propagated to it). The chart's default auto-discovery looks for exactly these two keys.
 */
import type { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { Construct } from 'constructs';
import type { EksCluster } from './eks-cluster';
import type { IrsaOidcProvider, ServiceAccountRef } from './irsa-oidc-provider';

/** Where the chart's service account lives; the chart's release goes into the same namespace. */
export const CLUSTER_AUTOSCALER_SERVICE_ACCOUNT: ServiceAccountRef = { namespace: 'kube-system', name: 'cluster-autoscaler' };

/** The tag keys EKS puts on a managed node group's Auto Scaling group, and auto-discovery matches. */
export function clusterAutoscalerDiscoveryTagKeys(clusterName: string): readonly [string, string] {
  return ['k8s.io/cluster-autoscaler/enabled', `k8s.io/cluster-autoscaler/${clusterName}`];
}

/** Read-only calls the autoscaler makes to find node groups and model their nodes. */
export const CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS = [
  'autoscaling:DescribeAutoScalingGroups',
  'autoscaling:DescribeAutoScalingInstances',
  'autoscaling:DescribeLaunchConfigurations',
  'autoscaling:DescribeScalingActivities',
  'autoscaling:DescribeTags',
  'ec2:DescribeImages',
  'ec2:DescribeInstanceTypes',
  'ec2:DescribeLaunchTemplateVersions',
  'ec2:GetInstanceTypesFromInstanceRequirements',
  // Labels and taints of managed node groups, for scaling a group up from zero nodes.
  'eks:DescribeNodegroup',
] as const;

/** The only calls that change capacity; allowed on this cluster's groups alone. */
export const CLUSTER_AUTOSCALER_SCALING_ACTIONS = ['autoscaling:SetDesiredCapacity', 'autoscaling:TerminateInstanceInAutoScalingGroup'] as const;

/** The autoscaler's policy for the cluster named `clusterName` (a name or a token). */
export function clusterAutoscalerPolicy(clusterName: string): string {
  const [, ownedTagKey] = clusterAutoscalerDiscoveryTagKeys(clusterName);
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ScaleOnlyThisClustersNodeGroups',
        Effect: 'Allow',
        Action: [...CLUSTER_AUTOSCALER_SCALING_ACTIONS],
        Resource: '*',
        Condition: { StringEquals: { [`aws:ResourceTag/${ownedTagKey}`]: 'owned' } },
      },
      {
        Sid: 'DescribeNodeGroups',
        Effect: 'Allow',
        Action: [...CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS],
        Resource: '*',
      },
    ],
  });
}

export interface ClusterAutoscalerRoleProps {
  /** The cluster's IRSA provider; the role trusts its issuer. */
  readonly oidcProvider: IrsaOidcProvider;
  /** The cluster whose node groups the autoscaler may resize (and no other). */
  readonly cluster: EksCluster;
  /** IAM role name, unique in the account (so include the region). */
  readonly roleName: string;
  /**
   * The autoscaler's service account; must match the chart's `rbac.serviceAccount.name` and release namespace.
   * @default CLUSTER_AUTOSCALER_SERVICE_ACCOUNT
   */
  readonly serviceAccount?: ServiceAccountRef;
}

export class ClusterAutoscalerRole extends Construct {
  readonly role: IamRole;
  readonly policy: IamRolePolicy;
  readonly serviceAccount: ServiceAccountRef;

  constructor(scope: Construct, id: string, props: ClusterAutoscalerRoleProps) {
    super(scope, id);
    this.serviceAccount = props.serviceAccount ?? CLUSTER_AUTOSCALER_SERVICE_ACCOUNT;

    this.role = props.oidcProvider.createServiceAccountRole(this, 'role', {
      roleName: props.roleName,
      serviceAccount: this.serviceAccount,
    });
    this.policy = new IamRolePolicy(this, 'policy', {
      name: 'cluster-autoscaler',
      role: this.role.id,
      policy: clusterAutoscalerPolicy(props.cluster.name),
    });
  }

  get arn(): string {
    return this.role.arn;
  }
}
