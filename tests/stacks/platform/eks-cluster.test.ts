import { TerraformOutput, type TerraformStack } from '../../../stacks/cdktf';
import {
  EKS_ADDON_VERSIONS,
  EKS_CONTROL_PLANE_LOG_TYPES,
  EKS_KUBERNETES_VERSION,
  EksCluster,
  type EksClusterProps,
} from '../../../stacks/constructs/eks-cluster';
import { LogsKmsKey } from '../../../stacks/constructs/logs-kms-key';
import { Network } from '../../../stacks/constructs/network';
import { constructStacks } from './fixtures';
import { addressOf, parsePolicy, refTo, resourceAt, resourcesOfType, synthJson } from './synth-json';

describe('EksCluster', () => {
  const newStack = constructStacks();

  function build(props: Partial<Omit<EksClusterProps, 'network' | 'logKey'>> = {}): { stack: TerraformStack; cluster: EksCluster } {
    const stack = newStack();
    const logKey = new LogsKmsKey(stack, 'logs-key', { aliasName: 'test/logs', region: 'ap-southeast-1' });
    const network = new Network(stack, 'network', {
      name: 'restaurant-test',
      region: 'ap-southeast-1',
      cidrBlock: '10.10.0.0/16',
      availabilityZones: ['ap-southeast-1a', 'ap-southeast-1b'],
      flowLogKey: logKey,
    });
    const cluster = new EksCluster(stack, 'cluster', { name: 'restaurant-test', network, logKey, ...props });
    return { stack, cluster };
  }

  const { stack, cluster } = build();
  const json = synthJson(stack);
  const eks = resourceAt(json, stack, 'cluster/cluster');

  describe('defaults', () => {
    test(`pins Kubernetes ${EKS_KUBERNETES_VERSION} on standard support`, () => {
      expect(eks).toMatchObject({ name: 'restaurant-test', version: EKS_KUBERNETES_VERSION, upgrade_policy: { support_type: 'STANDARD' } });
    });

    test('enables all five control-plane log types into an encrypted group kept 90 days', () => {
      expect(eks.enabled_cluster_log_types).toEqual(['api', 'audit', 'authenticator', 'controllerManager', 'scheduler']);
      expect(EKS_CONTROL_PLANE_LOG_TYPES).toHaveLength(5);
      expect(resourceAt(json, stack, 'cluster/control-plane-log-group')).toMatchObject({
        name: '/aws/eks/restaurant-test/cluster',
        retention_in_days: 90,
        kms_key_id: refTo(stack, 'logs-key/key', 'arn'),
      });
      expect(eks.depends_on).toContain(addressOf(stack, 'cluster/control-plane-log-group'));
    });

    test('envelope-encrypts Secrets with a dedicated rotating key the cluster role may use', () => {
      expect(eks.encryption_config).toEqual({ resources: ['secrets'], provider: { key_arn: refTo(stack, 'cluster/secrets-key', 'arn') } });
      expect(resourceAt(json, stack, 'cluster/secrets-key')).toMatchObject({ enable_key_rotation: true });
      const keyUse = parsePolicy(resourceAt(json, stack, 'cluster/role-secrets-key-policy').policy);
      expect(keyUse.Statement[0]).toMatchObject({
        Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ListGrants', 'kms:DescribeKey'],
        Resource: refTo(stack, 'cluster/secrets-key', 'arn'),
      });
    });

    test('serves the API on a private endpoint only, from the private subnets', () => {
      expect(eks.vpc_config).toEqual({
        endpoint_private_access: true,
        endpoint_public_access: false,
        subnet_ids: [refTo(stack, 'network/private-subnet-a', 'id'), refTo(stack, 'network/private-subnet-b', 'id')],
      });
    });

    test('authenticates through access entries and manages its own add-ons', () => {
      expect(eks.access_config).toEqual({ authentication_mode: 'API', bootstrap_cluster_creator_admin_permissions: true });
      expect(eks.bootstrap_self_managed_addons).toBe(false);
      expect(resourceAt(json, stack, 'cluster/role-cluster-policy').policy_arn).toBe('arn:aws:iam::aws:policy/AmazonEKSClusterPolicy');
    });
  });

  describe('behaviour', () => {
    test('installs vpc-cni (with network policies) and kube-proxy at the pinned versions', () => {
      const versions = EKS_ADDON_VERSIONS[EKS_KUBERNETES_VERSION]!;
      expect(resourceAt(json, stack, 'cluster/addon-vpc-cni')).toMatchObject({
        addon_name: 'vpc-cni',
        addon_version: versions['vpc-cni'],
        configuration_values: '{"enableNetworkPolicy":"true"}',
        resolve_conflicts_on_create: 'OVERWRITE',
        resolve_conflicts_on_update: 'OVERWRITE',
      });
      expect(resourceAt(json, stack, 'cluster/addon-kube-proxy')).toMatchObject({ addon_version: versions['kube-proxy'] });
      expect(cluster.networkAddons).toHaveLength(2);
    });

    test('addAddon pins the version, and passes the role and dependencies', () => {
      const other = build();
      other.cluster.addAddon('coredns', { dependsOn: [other.cluster.networkAddons[0]!], serviceAccountRoleArn: 'arn:aws:iam::111122223333:role/x' });
      const otherJson = synthJson(other.stack);
      expect(resourceAt(otherJson, other.stack, 'cluster/addon-coredns')).toMatchObject({
        addon_version: EKS_ADDON_VERSIONS[EKS_KUBERNETES_VERSION]!.coredns,
        service_account_role_arn: 'arn:aws:iam::111122223333:role/x',
        depends_on: [addressOf(other.stack, 'cluster/addon-vpc-cni')],
      });
    });

    test('exposes the outputs the platform contract needs as references', () => {
      const other = build();
      new TerraformOutput(other.stack, 'security-group', { value: other.cluster.clusterSecurityGroupId });
      new TerraformOutput(other.stack, 'ca', { value: other.cluster.certificateAuthorityData });
      new TerraformOutput(other.stack, 'issuer', { value: other.cluster.oidcIssuerUrl });
      const outputs = synthJson(other.stack).output!;
      const address = addressOf(other.stack, 'cluster/cluster');
      expect(outputs['security-group']!.value).toBe(`\${${address}.vpc_config[0].cluster_security_group_id}`);
      expect(outputs.ca!.value).toBe(`\${${address}.certificate_authority[0].data}`);
      expect(outputs.issuer!.value).toBe(`\${${address}.identity[0].oidc[0].issuer}`);
    });

    test('publicAccessCidrs opens a public endpoint to those ranges only', () => {
      const open = build({ publicAccessCidrs: ['203.0.113.0/24'] });
      const openJson = synthJson(open.stack);
      expect(resourceAt(openJson, open.stack, 'cluster/cluster').vpc_config).toMatchObject({
        endpoint_private_access: true,
        endpoint_public_access: true,
        public_access_cidrs: ['203.0.113.0/24'],
      });
    });

    test('uses the given partition for managed policies', () => {
      const china = build({ partition: 'aws-cn' });
      expect(resourceAt(synthJson(china.stack), china.stack, 'cluster/role-cluster-policy').policy_arn).toBe(
        'arn:aws-cn:iam::aws:policy/AmazonEKSClusterPolicy',
      );
    });

    test('creates no data sources', () => {
      expect(json.data).toBeUndefined();
      expect(Object.keys(resourcesOfType(json, 'aws_eks_cluster'))).toHaveLength(1);
    });
  });

  describe('errors', () => {
    test('fails when kubernetesVersion has no pinned add-ons', () => {
      expect(() => build({ kubernetesVersion: '1.29' })).toThrow(
        'kubernetesVersion must be one of 1.34 (versions with pinned add-ons in EKS_ADDON_VERSIONS), got "1.29" (EKS cluster "cluster")',
      );
    });

    test('fails when publicAccessCidrs opens the endpoint to the internet', () => {
      expect(() => build({ publicAccessCidrs: ['0.0.0.0/0'] })).toThrow(
        'publicAccessCidrs must not open the API endpoint to the whole internet, got "0.0.0.0/0" (EKS cluster "cluster")',
      );
    });

    test.each(['203.0.113.0', '203.0.113.0/33', '2001:db8::/32'])('fails when publicAccessCidrs holds "%s"', (cidr) => {
      expect(() => build({ publicAccessCidrs: [cidr] })).toThrow(
        `publicAccessCidrs must hold IPv4 CIDR blocks such as 203.0.113.0/24, got "${cidr}" (EKS cluster "cluster")`,
      );
    });

    test('fails when the name is not a valid cluster name', () => {
      expect(() => build({ name: '-restaurant' })).toThrow(
        'name must be 1-100 letters, digits, - or _ starting with a letter or digit, got "-restaurant" (EKS cluster "cluster")',
      );
    });
  });
});
