import { TerraformOutput, type TerraformStack } from '../../stacks/infra/cdktf';
import {
  EKS_ACCESS_POLICIES,
  EKS_ADDON_VERSIONS,
  EKS_CONTROL_PLANE_LOG_TYPES,
  EKS_KUBERNETES_VERSION,
  EksCluster,
  type EksClusterProps,
} from '../../stacks/infra/constructs/eks-cluster';
import { constructStacks, testCluster } from '../support/stacks/platform-fixtures';
import { addressOf, parsePolicy, refTo, resourceAt, resourcesOfType, synthJson } from '../support/stacks/synth-json';

describe('EksCluster', () => {
  const newStack = constructStacks();

  function build(props: Partial<Omit<EksClusterProps, 'network' | 'logKey'>> = {}): { stack: TerraformStack; cluster: EksCluster } {
    const stack = newStack();
    const { cluster } = testCluster(stack, { availabilityZones: ['ap-southeast-1a', 'ap-southeast-1b'], cluster: props });
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
      expect(eks.access_config).toEqual({ authentication_mode: 'API', bootstrap_cluster_creator_admin_permissions: false });
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

    test('admits nobody to the endpoint and grants nobody access until asked', () => {
      expect(resourcesOfType(json, 'aws_vpc_security_group_ingress_rule')).toEqual({});
      expect(resourcesOfType(json, 'aws_eks_access_entry')).toEqual({});
    });
  });

  describe('allowEndpointAccessFrom', () => {
    const admitted = build();
    const rules = admitted.cluster.allowEndpointAccessFrom({
      cidrs: ['10.100.0.0/22', '2001:db8:100::/48'],
      securityGroupIds: ['sg-0a1b2c3d4e5f67890', 'sg-12345678'],
    });
    const admittedJson = synthJson(admitted.stack);
    const securityGroup = refTo(admitted.stack, 'cluster/cluster', 'vpc_config[0].cluster_security_group_id');

    test('adds one HTTPS ingress rule per source to the cluster security group, and returns them', () => {
      expect(rules).toHaveLength(4);
      const bodies = Object.values(resourcesOfType(admittedJson, 'aws_vpc_security_group_ingress_rule'));
      expect(bodies).toHaveLength(4);
      for (const body of bodies) {
        expect(body).toMatchObject({ security_group_id: securityGroup, ip_protocol: 'tcp', from_port: 443, to_port: 443 });
      }
    });

    test.each([
      ['10.100.0.0/22', { cidr_ipv4: '10.100.0.0/22' }],
      ['2001:db8:100::/48', { cidr_ipv6: '2001:db8:100::/48' }],
      ['sg-0a1b2c3d4e5f67890', { referenced_security_group_id: 'sg-0a1b2c3d4e5f67890' }],
      ['sg-12345678', { referenced_security_group_id: 'sg-12345678' }],
    ])('admits %s with a rule that names the cluster and the source', (source, target) => {
      expect(resourceAt(admittedJson, admitted.stack, `cluster/endpoint-access-${source.replace(/\//g, '--')}`)).toEqual({
        security_group_id: securityGroup,
        description: `Kubernetes API of EKS cluster restaurant-test from ${source}`,
        ip_protocol: 'tcp',
        from_port: 443,
        to_port: 443,
        ...target,
      });
    });

    test('names each rule by its source, so removing one source leaves the other rules in place', () => {
      const fewer = build();
      const [kept] = fewer.cluster.allowEndpointAccessFrom({ cidrs: ['2001:db8:100::/48'] });
      const sameSource = rules.find((rule) => rule.node.id === kept!.node.id)!;
      expect(kept!.node.id).toBe('endpoint-access-2001:db8:100::--48');
      expect(sameSource.friendlyUniqueId.replace(/^construct-test-\d+_/, '')).toBe(kept!.friendlyUniqueId.replace(/^construct-test-\d+_/, ''));
      expect(rules.indexOf(sameSource)).toBe(1);
    });
  });

  describe('grantAccess', () => {
    const granted = build();
    const admin = granted.cluster.grantAccess('arn:aws:iam::111122223333:role/platform-deploy', 'admin');
    const viewer = granted.cluster.grantAccess('arn:aws:iam::111122223333:user/ops/oncall-lead', 'view');
    const grantedJson = synthJson(granted.stack);
    const clusterName = refTo(granted.stack, 'cluster/cluster', 'name');

    test('creates a standard access entry and one cluster-wide policy association per principal', () => {
      expect(Object.values(resourcesOfType(grantedJson, 'aws_eks_access_entry'))).toEqual([
        { cluster_name: clusterName, principal_arn: 'arn:aws:iam::111122223333:role/platform-deploy', type: 'STANDARD' },
        { cluster_name: clusterName, principal_arn: 'arn:aws:iam::111122223333:user/ops/oncall-lead', type: 'STANDARD' },
      ]);
      const associations = Object.values(resourcesOfType(grantedJson, 'aws_eks_access_policy_association'));
      expect(associations).toHaveLength(2);
      expect(associations.every((a) => a.cluster_name === clusterName && a.access_scope.type === 'cluster')).toBe(true);
    });

    test.each([
      ['admin', 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy'],
      ['view', 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy'],
    ] as const)('associates %s with %s, after the entry exists', (level, policyArn) => {
      const grant = level === 'admin' ? admin : viewer;
      const body = Object.values(resourcesOfType(grantedJson, 'aws_eks_access_policy_association')).find((a) => a.policy_arn === policyArn)!;
      expect(body).toEqual({
        cluster_name: clusterName,
        principal_arn: `\${aws_eks_access_entry.${grant.entry.friendlyUniqueId}.principal_arn}`,
        policy_arn: policyArn,
        access_scope: { type: 'cluster' },
      });
      expect(EKS_ACCESS_POLICIES[level]).toBe(policyArn.split('/')[1]);
    });

    test.each([
      ['aws-cn', 'arn:aws-cn:iam::111122223333:role/platform-deploy', 'arn:aws-cn:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy'],
      ['aws-us-gov', 'arn:aws-us-gov:iam::111122223333:role/platform-deploy', 'arn:aws-us-gov:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy'],
    ])('uses the %s partition in the policy ARN', (partition, principalArn, policyArn) => {
      const other = build({ partition });
      other.cluster.grantAccess(principalArn, 'admin');
      const associations = Object.values(resourcesOfType(synthJson(other.stack), 'aws_eks_access_policy_association'));
      expect(associations.map((a) => a.policy_arn)).toEqual([policyArn]);
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

    test.each([
      ['0.0.0.0/0', 'must not admit every address: the EKS API endpoint is private so that only the deploy runner, VPN or bastion reach it; list their ranges'],
      ['::/0', 'must not admit every address: the EKS API endpoint is private so that only the deploy runner, VPN or bastion reach it; list their ranges'],
      ['10.100.0.1/22', 'must be a network address as AWS writes it (10.100.0.0/22)'],
      ['10.100.0.0', 'must be an IPv4 or IPv6 CIDR block such as 10.100.0.0/22'],
    ])('fails when an endpoint access CIDR is %s', (cidr, problem) => {
      expect(() => build().cluster.allowEndpointAccessFrom({ cidrs: [cidr] })).toThrow(`endpoint access cidrs ${problem}, got "${cidr}" (EKS cluster "cluster")`);
    });

    test('fails when an endpoint access security group id is malformed', () => {
      expect(() => build().cluster.allowEndpointAccessFrom({ securityGroupIds: ['sg-0A1B'] })).toThrow(
        'endpoint access securityGroupIds must be a security group id (sg- followed by 8 or 17 lowercase hex digits), got "sg-0A1B" (EKS cluster "cluster")',
      );
    });

    test('fails when a source is admitted twice', () => {
      const { cluster: twice } = build();
      twice.allowEndpointAccessFrom({ cidrs: ['10.100.0.0/22'] });
      expect(() => twice.allowEndpointAccessFrom({ cidrs: ['10.100.0.0/22'] })).toThrow(
        'endpoint access must admit each source once, got "10.100.0.0/22" again (EKS cluster "cluster")',
      );
    });

    test.each([
      [
        'arn:aws:sts::111122223333:assumed-role/platform-deploy/ci-run-42',
        "must be the IAM role's ARN (arn:aws:iam::111122223333:role/platform-deploy, with the role's path if it has one), not an assumed-role session of it",
      ],
      ['arn:aws:iam::111122223333:role/*', 'must name exactly one IAM role or user, without wildcards (EKS access entries take exact ARNs)'],
      ['arn:aws:iam::111122223333:root', 'must be the ARN of an IAM role or user (arn:<partition>:iam::<12-digit account>:role/<name> or :user/<name>)'],
    ])('fails when granting access to %s', (principalArn, problem) => {
      expect(() => build().cluster.grantAccess(principalArn, 'admin')).toThrow(`principalArn ${problem}, got "${principalArn}" (EKS cluster "cluster")`);
    });

    test('fails when the principal is in another partition than the cluster', () => {
      expect(() => build().cluster.grantAccess('arn:aws-cn:iam::111122223333:role/platform-deploy', 'admin')).toThrow(
        'principalArn must be in the cluster\'s partition "aws", got "arn:aws-cn:iam::111122223333:role/platform-deploy" (EKS cluster "cluster")',
      );
    });

    test('fails when a source or principal is a Terraform reference (it would name a construct id)', () => {
      const { cluster: withRefs } = build();
      expect(() => withRefs.allowEndpointAccessFrom({ securityGroupIds: [withRefs.clusterSecurityGroupId] })).toThrow(
        /^endpoint access sources must be literal values, not Terraform references \(each names its rule's construct id\), got "\$\{TfToken\[TOKEN\.\d+\]\}" \(EKS cluster "cluster"\)$/,
      );
      expect(() => withRefs.grantAccess(withRefs.role.arn, 'admin')).toThrow(
        /^principalArn must be a literal ARN, not a Terraform reference \(it names the entry's construct id\), got "\$\{TfToken\[TOKEN\.\d+\]\}" \(EKS cluster "cluster"\)$/,
      );
    });

    test('fails when a principal is granted access twice', () => {
      const { cluster: twice } = build();
      twice.grantAccess('arn:aws:iam::111122223333:role/platform-deploy', 'view');
      expect(() => twice.grantAccess('arn:aws:iam::111122223333:role/platform-deploy', 'admin')).toThrow(
        'principalArn must be granted access once (EKS takes one access entry per principal), got "arn:aws:iam::111122223333:role/platform-deploy" again (EKS cluster "cluster")',
      );
    });

    test('fails when the name is not a valid cluster name', () => {
      expect(() => build({ name: '-restaurant' })).toThrow(
        'name must be 1-100 letters, digits, - or _ starting with a letter or digit, got "-restaurant" (EKS cluster "cluster")',
      );
    });
  });
});
