import { Testing } from '../../stacks/infra/cdktf';
import { AWS_REGIONS, awsPartition } from '../../stacks/infra/config/regions';
import { regionNodeSizing } from '../../stacks/infra/config/region-sizing';
import { estimateMonthlyCost } from '../../stacks/checks/cost/cost-estimate';
import { resourcesFromSynth } from '../../stacks/checks/policy/policy-resources';
import {
  ECR_REPOSITORIES,
  PlatformStack,
  type PlatformStackProps,
  REGION_VPC_CIDRS,
} from '../../stacks/infra/stack-kinds/platform-stack';
import type { PlatformOutputs } from '../../stacks/infra/stack-contracts';
import { regionSettings, regionSettingsFixture } from '../../tools/synth/platform-settings';
import { locationFixture, S3_BACKEND } from '../support/stacks/platform-fixtures';
import { locationsOf, sampleLocation } from '../support/stacks/sample-locations';
import { addressOf, type Block, parsePolicy, refTo, resourceAt, resourcesOfType, stripVolatile, synthJson } from '../support/stacks/synth-json';

describe('PlatformStack', () => {
  const app = Testing.app();
  /** The region's settings from the committed platform.yaml (a fixture section for other regions) unless given. */
  const build = (id: string, props: Omit<PlatformStackProps, 'settings'> & Partial<Pick<PlatformStackProps, 'settings'>>) =>
    new PlatformStack(app, id, { settings: regionSettings(props.region), ...props });

  const stack = build('platform-ap-southeast-1', { region: 'ap-southeast-1', locations: locationsOf('ap-southeast-1'), backend: S3_BACKEND });
  const json = synthJson(stack);
  const output = (name: string): unknown => json.output?.[name]?.value;

  describe('defaults', () => {
    test('matches the snapshot for ap-southeast-1', () => {
      expect(stripVolatile(json)).toMatchSnapshot();
    });

    test('tags every resource with the stack and the platform cost centre', () => {
      expect(json.provider?.aws).toEqual([
        {
          region: 'ap-southeast-1',
          default_tags: [{ tags: { 'cost-center': 'cc-0001-platform', owner: 'platform-team', stack: 'platform-ap-southeast-1', 'managed-by': 'cdktf' } }],
        },
      ]);
    });

    test('keeps state in S3 under the stack id, with a lock file', () => {
      expect(json.terraform?.backend).toEqual({
        s3: {
          bucket: 'test-state-bucket',
          region: 'ap-southeast-1',
          key: 'restaurant-platform/platform-ap-southeast-1/terraform.tfstate',
          encrypt: true,
          use_lockfile: true,
        },
      });
    });

    test('reads nothing from AWS: no data sources, no references to one', () => {
      expect(json.data).toBeUndefined();
      expect(JSON.stringify(json)).not.toMatch(/\bdata\.[a-z_]+\./);
    });

    test('outputs every platform value by resource name, none of them sensitive', () => {
      expect(Object.keys(json.output ?? {}).sort()).toEqual([
        'alertmanagerRoleArn',
        'clusterAutoscalerRoleArn',
        'clusterCertificateAuthorityData',
        'clusterEndpoint',
        'clusterName',
        'clusterSecurityGroupId',
        'databaseSubnetIds',
        'ecrApiRepositoryUrl',
        'ecrWsRepositoryUrl',
        'loadBalancerControllerRoleArn',
        'nodeGroupNames',
        'oidcIssuerHostPath',
        'oidcProviderArn',
        'privateSubnetIds',
        'publicSubnetIds',
        'pullThroughCacheEcrPublicUrl',
        'pullThroughCacheKubernetesUrl',
        'pullThroughCacheQuayUrl',
        'vpcCidrBlock',
        'vpcId',
      ]);
      expect(Object.values((json.output ?? {}) as Record<string, Block>).filter((o) => o.sensitive)).toEqual([]);
    });
  });

  describe('behaviour', () => {
    test('spans the union of the locations\' zones with the region\'s /16', () => {
      // kanchanaburi-resort uses a, b and c; sukhumvit-cafe a and b.
      expect(resourceAt(json, stack, 'network/vpc').cidr_block).toBe('10.10.0.0/16');
      const zones = Object.values(resourcesOfType(json, 'aws_subnet')).map((s) => s.availability_zone);
      expect([...new Set(zones)].sort()).toEqual(['ap-southeast-1a', 'ap-southeast-1b', 'ap-southeast-1c']);
      expect(zones).toHaveLength(9);
    });

    test('creates one node group per zone of the region, in its zone\'s private subnet, sized from the region\'s locations', () => {
      const { perZone } = regionNodeSizing(locationsOf('ap-southeast-1'));
      expect(Object.keys(resourcesOfType(json, 'aws_eks_node_group'))).toHaveLength(3);
      for (const zone of ['a', 'b', 'c']) {
        expect(resourceAt(json, stack, `node-group/node-group-${zone}`)).toMatchObject({
          node_group_name: `restaurant-ap-southeast-1-general-${zone}`,
          subnet_ids: [refTo(stack, `network/private-subnet-${zone}`, 'id')],
          scaling_config: { min_size: perZone.minSize, desired_size: perZone.desiredSize, max_size: perZone.maxSize },
        });
      }
      expect(output('nodeGroupNames')).toEqual(['a', 'b', 'c'].map((z) => refTo(stack, `node-group/node-group-${z}`, 'node_group_name')));
    });

    test('the cost estimate prices every zone\'s node group at its starting size, one line each', () => {
      const nodeLines = estimateMonthlyCost(resourcesFromSynth(json as never), 'ap-southeast-1').lines.filter((l) => l.item.startsWith('EKS node'));
      // m6i.xlarge at $0.232/h in ap-southeast-1, one node per zone to start: 0.232 * 730.
      expect(nodeLines).toEqual(
        ['a', 'b', 'c'].map((z) => ({ item: `EKS node group restaurant-ap-southeast-1-general-${z}: 1 x m6i.xlarge (desired; autoscaled)`, monthlyUsd: 169.36 })),
      );
    });


    test('implements PlatformOutputs with references to its resources', () => {
      const contract: PlatformOutputs = stack;
      expect(contract.region).toBe('ap-southeast-1');
      expect(output('clusterSecurityGroupId')).toBe(refTo(stack, 'cluster/cluster', 'vpc_config[0].cluster_security_group_id'));
      expect(output('clusterCertificateAuthorityData')).toBe(refTo(stack, 'cluster/cluster', 'certificate_authority[0].data'));
      expect(output('oidcIssuerHostPath')).toBe(`\${replace(${addressOf(stack, 'cluster/cluster')}.identity[0].oidc[0].issuer, "https://", "")}`);
      expect(output('oidcProviderArn')).toBe(refTo(stack, 'irsa/provider', 'arn'));
      expect(output('privateSubnetIds')).toEqual(['a', 'b', 'c'].map((z) => refTo(stack, `network/private-subnet-${z}`, 'id')));
      expect(output('databaseSubnetIds')).toEqual(['a', 'b', 'c'].map((z) => refTo(stack, `network/database-subnet-${z}`, 'id')));
      expect(output('ecrApiRepositoryUrl')).toBe(refTo(stack, 'registry/repository-api', 'repository_url'));
      expect(output('ecrWsRepositoryUrl')).toBe(refTo(stack, 'registry/repository-ws', 'repository_url'));
      expect(output('clusterName')).toBe(refTo(stack, 'cluster/cluster', 'name'));
    });

    test('caches third-party images from ECR Public, registry.k8s.io and Quay, and outputs where pods pull them from', () => {
      expect(Object.values(resourcesOfType(json, 'aws_ecr_pull_through_cache_rule')).map((r) => r.upstream_registry_url)).toEqual(['public.ecr.aws', 'registry.k8s.io', 'quay.io']);
      const contract: PlatformOutputs = stack;
      for (const [key, outputName] of [['ecrPublic', 'pullThroughCacheEcrPublicUrl'], ['kubernetes', 'pullThroughCacheKubernetesUrl'], ['quay', 'pullThroughCacheQuayUrl']] as const) {
        const rule = `image-cache/rule-${key}`;
        expect(output(outputName)).toBe(`${refTo(stack, rule, 'registry_id')}.dkr.ecr.ap-southeast-1.amazonaws.com/${refTo(stack, rule, 'ecr_repository_prefix')}`);
        expect(contract.pullThroughCacheUrls[key]).toBe(stack.imageCache.urls[key]);
      }
    });

    test("lets the nodes' role fill the pull-through cache on a first pull, beside the managed ECR read policy", () => {
      const grant = resourceAt(json, stack, 'image-cache/grant-pull-node-group-role');
      expect(grant.role).toBe(refTo(stack, 'node-group/role', 'name'));
      expect(parsePolicy(grant.policy).Statement[0].Action).toEqual(['ecr:CreateRepository', 'ecr:BatchImportUpstreamImage']);
      expect(Object.values(resourcesOfType(json, 'aws_iam_role_policy_attachment')).map((a) => a.policy_arn)).toContain(
        'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly',
      );
    });

    test('names the cluster and ECR repositories', () => {
      expect(resourceAt(json, stack, 'cluster/cluster').name).toBe('restaurant-ap-southeast-1');
      expect(Object.values(resourcesOfType(json, 'aws_ecr_repository')).map((r) => r.name)).toEqual(Object.values(ECR_REPOSITORIES));
    });

    test('installs CoreDNS and the EBS CSI driver (with its IRSA role) once every zone has nodes', () => {
      const nodeGroups = ['a', 'b', 'c'].map((z) => addressOf(stack, `node-group/node-group-${z}`));
      expect(resourceAt(json, stack, 'cluster/addon-coredns').depends_on).toEqual(nodeGroups);
      expect(resourceAt(json, stack, 'cluster/addon-aws-ebs-csi-driver')).toMatchObject({
        depends_on: nodeGroups,
        service_account_role_arn: refTo(stack, 'ebs-csi-driver-role', 'arn'),
      });
    });

    test('creates IRSA roles for the AWS Load Balancer Controller and the cluster autoscaler, and outputs them', () => {
      const subjectOf = (pathSuffix: string): string => {
        const trust = parsePolicy(resourceAt(json, stack, pathSuffix).assume_role_policy);
        return Object.values(trust.Statement[0].Condition.StringEquals)[0] as string;
      };
      expect(resourceAt(json, stack, 'load-balancer-controller-role/role').name).toBe('restaurant-ap-southeast-1-aws-load-balancer-controller');
      expect(subjectOf('load-balancer-controller-role/role')).toBe('system:serviceaccount:kube-system:aws-load-balancer-controller');
      expect(resourceAt(json, stack, 'cluster-autoscaler-role/role').name).toBe('restaurant-ap-southeast-1-cluster-autoscaler');
      expect(subjectOf('cluster-autoscaler-role/role')).toBe('system:serviceaccount:kube-system:cluster-autoscaler');

      expect(Object.keys(stack.controllerRoles).sort()).toEqual(['clusterAutoscalerRoleArn', 'loadBalancerControllerRoleArn']);
      expect(output('loadBalancerControllerRoleArn')).toBe(refTo(stack, 'load-balancer-controller-role/role', 'arn'));
      expect(output('clusterAutoscalerRoleArn')).toBe(refTo(stack, 'cluster-autoscaler-role/role', 'arn'));
    });

    test('creates the IRSA role of Alertmanager, trusting exactly monitoring/kube-prometheus-stack-alertmanager, publishing to the region\'s alert topics, and outputs it', () => {
      const role = resourceAt(json, stack, 'alertmanager-role/role');
      expect(role.name).toBe('restaurant-ap-southeast-1-alertmanager');
      const trust = parsePolicy(role.assume_role_policy);
      expect(trust.Statement).toHaveLength(1);
      expect(trust.Statement[0].Principal).toEqual({ Federated: refTo(stack, 'irsa/provider', 'arn') });
      const issuer = '${replace(' + refTo(stack, 'cluster/cluster', 'identity[0].oidc[0].issuer').slice(2, -1) + ', "https://", "")}';
      expect(trust.Statement[0].Condition).toEqual({
        StringEquals: { [`${issuer}:sub`]: 'system:serviceaccount:monitoring:kube-prometheus-stack-alertmanager', [`${issuer}:aud`]: 'sts.amazonaws.com' },
      });

      const account = '${element(split(":", ' + refTo(stack, 'irsa/provider', 'arn').slice(2, -1) + '), 4)}';
      const policy = parsePolicy(resourceAt(json, stack, 'alertmanager-role/policy').policy);
      expect(policy.Statement.map((st: { Resource: string }) => st.Resource)).toEqual([
        `arn:aws:sns:ap-southeast-1:${account}:*-alerts`,
        `arn:aws:kms:ap-southeast-1:${account}:key/*`,
      ]);
      expect(output('alertmanagerRoleArn')).toBe(refTo(stack, 'alertmanager-role/role', 'arn'));
    });

    test('lets the cluster autoscaler scale only this cluster\'s node groups', () => {
      const policy = parsePolicy(resourceAt(json, stack, 'cluster-autoscaler-role/policy').policy);
      expect(policy.Statement[0].Condition).toEqual({
        StringEquals: { [`aws:ResourceTag/k8s.io/cluster-autoscaler/${refTo(stack, 'cluster/cluster', 'name')}`]: 'owned' },
      });
    });

    describe('endpoint access and access entries from platform.yaml', () => {
      const settings = regionSettings('ap-southeast-1');
      const clusterSecurityGroup = refTo(stack, 'cluster/cluster', 'vpc_config[0].cluster_security_group_id');

      test('the committed ap-southeast-1 section is what the stack is built from', () => {
        expect(settings.clusterEndpointAccess).toEqual({ cidrs: ['10.100.0.0/22'], securityGroupIds: ['sg-0a1b2c3d4e5f67890'] });
        expect(settings.clusterAccess.map((e) => e.access)).toEqual(['admin', 'view']);
      });

      test('admits each runner network and security group to the private endpoint on 443, one described rule each', () => {
        const rules = Object.values(resourcesOfType(json, 'aws_vpc_security_group_ingress_rule'));
        expect(rules).toEqual([
          {
            security_group_id: clusterSecurityGroup,
            cidr_ipv4: '10.100.0.0/22',
            ip_protocol: 'tcp',
            from_port: 443,
            to_port: 443,
            description: 'Kubernetes API of EKS cluster restaurant-ap-southeast-1 from 10.100.0.0/22',
          },
          {
            security_group_id: clusterSecurityGroup,
            referenced_security_group_id: 'sg-0a1b2c3d4e5f67890',
            ip_protocol: 'tcp',
            from_port: 443,
            to_port: 443,
            description: 'Kubernetes API of EKS cluster restaurant-ap-southeast-1 from sg-0a1b2c3d4e5f67890',
          },
        ]);
      });

      test('gives every listed principal an access entry with its access policy, cluster-wide', () => {
        const clusterName = refTo(stack, 'cluster/cluster', 'name');
        const entries = Object.entries(resourcesOfType(json, 'aws_eks_access_entry'));
        expect(entries.map(([, e]) => e)).toEqual(
          settings.clusterAccess.map((e) => ({ cluster_name: clusterName, principal_arn: e.principalArn, type: 'STANDARD' })),
        );
        const associations = Object.values(resourcesOfType(json, 'aws_eks_access_policy_association'));
        expect(associations).toEqual(
          settings.clusterAccess.map((e, i) => ({
            cluster_name: clusterName,
            principal_arn: `\${aws_eks_access_entry.${entries[i]![0]}.principal_arn}`,
            policy_arn: `arn:aws:eks::aws:cluster-access-policy/${e.access === 'admin' ? 'AmazonEKSClusterAdminPolicy' : 'AmazonEKSViewPolicy'}`,
            access_scope: { type: 'cluster' },
          })),
        );
      });

      test('keeps the cluster on access entries only, with no implicit admin for its creator', () => {
        expect(resourceAt(json, stack, 'cluster/cluster').access_config).toEqual({
          authentication_mode: 'API',
          bootstrap_cluster_creator_admin_permissions: false,
        });
      });

      test('follows the settings it is given: IPv6 ranges, no security groups, one admin', () => {
        const other = build('platform-us-east-1', {
          region: 'us-east-1',
          locations: [locationFixture(sampleLocation('sukhumvit-cafe'), { region: 'us-east-1', availabilityZones: ['us-east-1a', 'us-east-1b'] })],
          backend: S3_BACKEND,
          settings: regionSettingsFixture('us-east-1', { cidrs: ['10.100.0.0/22', '2001:db8:100::/48'] }),
        });
        const otherJson = synthJson(other);
        const rules = Object.values(resourcesOfType(otherJson, 'aws_vpc_security_group_ingress_rule'));
        expect(rules.map((r) => [r.cidr_ipv4 ?? r.cidr_ipv6, r.from_port, r.to_port])).toEqual([
          ['10.100.0.0/22', 443, 443],
          ['2001:db8:100::/48', 443, 443],
        ]);
        expect(Object.values(resourcesOfType(otherJson, 'aws_eks_access_policy_association')).map((a) => a.policy_arn)).toEqual([
          'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy',
        ]);
      });
    });

    test('gives eu-west-2 its own range and only its own zones, with a node group in each', () => {
      const london = build('platform-eu-west-2', { region: 'eu-west-2', locations: locationsOf('eu-west-2'), backend: S3_BACKEND });
      const londonJson = synthJson(london);
      expect(resourceAt(londonJson, london, 'network/vpc').cidr_block).toBe('10.20.0.0/16');
      expect(Object.values(resourcesOfType(londonJson, 'aws_subnet')).every((s) => String(s.availability_zone).startsWith('eu-west-2'))).toBe(true);
      const groups = Object.values(resourcesOfType(londonJson, 'aws_eks_node_group'));
      expect(groups.map((g) => g.node_group_name)).toEqual(['a', 'b', 'c'].map((z) => `restaurant-eu-west-2-general-${z}`));
    });

    test('REGION_VPC_CIDRS gives every known region a distinct /16', () => {
      const cidrs = Object.keys(AWS_REGIONS).map((region) => REGION_VPC_CIDRS[region]);
      expect(cidrs.every((c) => /^10\.\d+\.0\.0\/16$/.test(c ?? ''))).toBe(true);
      expect(new Set(cidrs).size).toBe(Object.keys(AWS_REGIONS).length);
    });

    test.each([
      ['ap-southeast-1', 'aws'],
      ['cn-north-1', 'aws-cn'],
      ['us-gov-west-1', 'aws-us-gov'],
    ])('awsPartition(%s) is %s', (region, partition) => {
      expect(awsPartition(region)).toBe(partition);
    });
  });

  describe('errors', () => {
    test('fails when the settings are another region\'s', () => {
      expect(() =>
        build('platform-eu-west-1', {
          region: 'eu-west-1',
          locations: [locationFixture(sampleLocation('london-shoreditch'), { region: 'eu-west-1', availabilityZones: ['eu-west-1a', 'eu-west-1b'] })],
          backend: S3_BACKEND,
          settings: regionSettings('eu-west-2'),
        }),
      ).toThrow('settings.region must be "eu-west-1" (the stack\'s region), got "eu-west-2" (stack "platform-eu-west-1")');
    });

    test('fails when the id is not platform-<region>', () => {
      expect(() => build('platform', { region: 'ap-southeast-1', locations: locationsOf('ap-southeast-1'), backend: S3_BACKEND })).toThrow(
        'id must be "platform-ap-southeast-1" (platform-<region>; it names the state file), got "platform"',
      );
    });

    test('fails when the region has no VPC range', () => {
      expect(() => build('platform-sa-east-1', { region: 'sa-east-1', locations: [], backend: S3_BACKEND })).toThrow(
        'region must be one of ap-northeast-1, ap-southeast-1, ap-southeast-2, ap-southeast-7, eu-central-1, eu-west-1, eu-west-2, us-east-1, us-west-2 ' +
          '(regions with a VPC range in REGION_VPC_CIDRS), got "sa-east-1" (stack "platform-sa-east-1")',
      );
    });

    test('fails when no location is given', () => {
      expect(() => build('platform-ap-southeast-7', { region: 'ap-southeast-7', locations: [], backend: S3_BACKEND })).toThrow(
        'locations must list at least one location of ap-southeast-7, got none (stack "platform-ap-southeast-7")',
      );
    });

    test('fails when a location belongs to another region', () => {
      const locations = [sampleLocation('sukhumvit-cafe'), sampleLocation('london-shoreditch')];
      expect(() => build('platform-ap-southeast-2', { region: 'ap-southeast-2', locations, backend: S3_BACKEND })).toThrow(
        'locations[0].region must be "ap-southeast-2" (the stack\'s region), got "ap-southeast-1" (location "sukhumvit-cafe", stack "platform-ap-southeast-2")',
      );
    });

    test('fails when the region\'s locations need more nodes than allowed', () => {
      // Each error test uses its own region: a stack that fails validation stays in the App.
      const huge = locationFixture(sampleLocation('sukhumvit-cafe'), {
        region: 'us-west-2',
        availabilityZones: ['us-west-2a', 'us-west-2b'],
        api: { maxReplicas: 100, cpuRequestMillicores: 8000 },
      });
      expect(() => build('platform-us-west-2', { region: 'us-west-2', locations: [huge], backend: S3_BACKEND })).toThrow(
        /^node groups of region "us-west-2" would need 274 nodes/,
      );
    });
  });
});
