import {
  CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS,
  CLUSTER_AUTOSCALER_SCALING_ACTIONS,
  CLUSTER_AUTOSCALER_SERVICE_ACCOUNT,
  ClusterAutoscalerRole,
  type ClusterAutoscalerRoleProps,
  clusterAutoscalerDiscoveryTagKeys,
  clusterAutoscalerPolicy,
} from '../../stacks/infra/constructs/cluster-autoscaler-role';
import { clusterWithIrsa, constructStacks } from '../support/stacks/platform-fixtures';
import { expectIrsaTrust, parsePolicy, refTo, resourceAt, synthJson } from '../support/stacks/synth-json';

describe('ClusterAutoscalerRole', () => {
  const newStack = constructStacks();

  function build(props: Partial<Omit<ClusterAutoscalerRoleProps, 'oidcProvider' | 'cluster'>> = {}) {
    const stack = newStack();
    const { cluster, oidcProvider } = clusterWithIrsa(stack);
    const role = new ClusterAutoscalerRole(stack, 'ca', { oidcProvider, cluster, roleName: 'restaurant-test-cluster-autoscaler', ...props });
    return { stack, role };
  }

  const { stack, role } = build();
  const json = synthJson(stack);
  const trust = parsePolicy(resourceAt(json, stack, 'ca/role').assume_role_policy);
  const inline = resourceAt(json, stack, 'ca/policy');
  const policy = parsePolicy(inline.policy);
  const clusterName = refTo(stack, 'cluster/cluster', 'name');

  describe('defaults', () => {
    test('trusts exactly kube-system/cluster-autoscaler through the cluster\'s OIDC provider', () => {
      expect(CLUSTER_AUTOSCALER_SERVICE_ACCOUNT).toEqual({ namespace: 'kube-system', name: 'cluster-autoscaler' });
      expectIrsaTrust(trust, stack, { namespace: 'kube-system', name: 'cluster-autoscaler' });
      expect(role.serviceAccount).toBe(CLUSTER_AUTOSCALER_SERVICE_ACCOUNT);
    });

    test('names the role and attaches its policy inline', () => {
      expect(resourceAt(json, stack, 'ca/role').name).toBe('restaurant-test-cluster-autoscaler');
      expect(inline).toMatchObject({ name: 'cluster-autoscaler', role: refTo(stack, 'ca/role', 'id') });
    });
  });

  describe('behaviour', () => {
    test('changes capacity only of Auto Scaling groups tagged as owned by this cluster', () => {
      expect(policy.Statement[0]).toEqual({
        Sid: 'ScaleOnlyThisClustersNodeGroups',
        Effect: 'Allow',
        Action: ['autoscaling:SetDesiredCapacity', 'autoscaling:TerminateInstanceInAutoScalingGroup'],
        Resource: '*',
        Condition: { StringEquals: { [`aws:ResourceTag/k8s.io/cluster-autoscaler/${clusterName}`]: 'owned' } },
      });
    });

    test('may describe node groups, instance types and launch templates, and change nothing else', () => {
      expect(policy.Statement).toHaveLength(2);
      expect(policy.Statement[1]).toEqual({ Sid: 'DescribeNodeGroups', Effect: 'Allow', Action: [...CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS], Resource: '*' });
      expect(CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS).toEqual(
        expect.arrayContaining(['autoscaling:DescribeAutoScalingGroups', 'ec2:DescribeLaunchTemplateVersions', 'ec2:DescribeInstanceTypes', 'eks:DescribeNodegroup']),
      );
      const writes = CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS.filter((a) => !/:(Describe|Get)/.test(a));
      expect(writes).toEqual([]);
    });

    test('clusterAutoscalerPolicy scopes scaling by the tag EKS gives the cluster\'s node groups', () => {
      expect(clusterAutoscalerDiscoveryTagKeys('restaurant-eu-west-2')).toEqual([
        'k8s.io/cluster-autoscaler/enabled',
        'k8s.io/cluster-autoscaler/restaurant-eu-west-2',
      ]);
      const literal = JSON.parse(clusterAutoscalerPolicy('restaurant-eu-west-2'));
      expect(literal.Statement[0].Action).toEqual([...CLUSTER_AUTOSCALER_SCALING_ACTIONS]);
      expect(literal.Statement[0].Condition).toEqual({ StringEquals: { 'aws:ResourceTag/k8s.io/cluster-autoscaler/restaurant-eu-west-2': 'owned' } });
    });

    test('trusts another service account when given one', () => {
      const other = build({ serviceAccount: { namespace: 'autoscaling', name: 'ca' } });
      const otherTrust = parsePolicy(resourceAt(synthJson(other.stack), other.stack, 'ca/role').assume_role_policy);
      expect(Object.values(otherTrust.Statement[0].Condition.StringEquals)).toContain('system:serviceaccount:autoscaling:ca');
    });
  });

  describe('errors', () => {
    test('fails when the role name is longer than IAM allows', () => {
      const roleName = `restaurant-${'x'.repeat(60)}`;
      expect(() => build({ roleName })).toThrow(`roleName must be 1-64 letters, digits or +=,.@_- characters, got "${roleName}" (service account role "ca/role")`);
    });

    test('fails when the service account name is not a Kubernetes name', () => {
      expect(() => build({ serviceAccount: { namespace: 'kube-system', name: 'Cluster_Autoscaler' } })).toThrow(
        'serviceAccount.name must be a Kubernetes service account name (lowercase DNS subdomain, at most 253 characters), got "Cluster_Autoscaler" (service account role "ca/role")',
      );
    });
  });
});
