import type { TerraformStack } from '../../stacks/infra/cdktf';
import type { NodeGroupSizing } from '../../stacks/infra/config/region-sizing';
import { EksNodeGroup, type EksNodeGroupProps, NODE_MANAGED_POLICIES } from '../../stacks/infra/constructs/eks-node-group';
import { constructStacks, testCluster } from '../support/stacks/platform-fixtures';
import { addressOf, refTo, resourceAt, resourcesOfType, synthJson } from '../support/stacks/synth-json';

const SIZING: NodeGroupSizing = { instanceTypes: ['m6i.xlarge', 'm5.xlarge'], minSize: 3, desiredSize: 3, maxSize: 7 };

describe('EksNodeGroup', () => {
  const newStack = constructStacks();

  function build(props: Partial<Omit<EksNodeGroupProps, 'cluster'>> = {}): { stack: TerraformStack; nodeGroup: EksNodeGroup } {
    const stack = newStack();
    const { network, cluster } = testCluster(stack, { availabilityZones: ['ap-southeast-1a', 'ap-southeast-1b'] });
    const nodeGroup = new EksNodeGroup(stack, 'node-group', {
      cluster,
      name: 'restaurant-test-general',
      network,
      sizing: SIZING,
      instanceTags: { 'cost-center': 'cc-test' },
      ...props,
    });
    return { stack, nodeGroup };
  }

  const { stack, nodeGroup } = build();
  const json = synthJson(stack);
  const group = resourceAt(json, stack, 'node-group/node-group-a');
  const template = resourceAt(json, stack, 'node-group/launch-template');

  describe('defaults', () => {
    test('on-demand AL2023 nodes, following the cluster version', () => {
      expect(group).toMatchObject({
        ami_type: 'AL2023_x86_64_STANDARD',
        capacity_type: 'ON_DEMAND',
        instance_types: ['m6i.xlarge', 'm5.xlarge'],
        version: refTo(stack, 'cluster/cluster', 'version'),
        node_repair_config: { enabled: true },
      });
    });

    test('one node group per zone, each in its zone\'s private subnet only, named by the zone letter', () => {
      expect(Object.keys(resourcesOfType(json, 'aws_eks_node_group'))).toHaveLength(2);
      expect(['a', 'b'].map((z) => resourceAt(json, stack, `node-group/node-group-${z}`)).map((g) => [g.node_group_name, g.subnet_ids])).toEqual([
        ['restaurant-test-general-a', [refTo(stack, 'network/private-subnet-a', 'id')]],
        ['restaurant-test-general-b', [refTo(stack, 'network/private-subnet-b', 'id')]],
      ]);
      expect(nodeGroup.zoneGroups.map((g) => [g.zone, g.resource.node.id])).toEqual([
        ['ap-southeast-1a', 'node-group-a'],
        ['ap-southeast-1b', 'node-group-b'],
      ]);
    });

    test('every zone\'s group shares the one node role and launch template', () => {
      const groups = Object.values(resourcesOfType(json, 'aws_eks_node_group'));
      expect(new Set(groups.map((g) => g.node_role_arn))).toEqual(new Set([refTo(stack, 'node-group/role', 'arn')]));
      expect(new Set(groups.map((g) => JSON.stringify(g.launch_template))).size).toBe(1);
      expect(Object.values(resourcesOfType(json, 'aws_iam_role')).filter((r) => r.assume_role_policy.includes('ec2.amazonaws.com'))).toHaveLength(1);
      expect(Object.keys(resourcesOfType(json, 'aws_launch_template'))).toHaveLength(1);
    });

    test('requires IMDSv2 with one hop, so pods cannot reach the node role', () => {
      expect(template.metadata_options).toEqual({
        http_endpoint: 'enabled',
        http_tokens: 'required',
        http_put_response_hop_limit: 1,
        instance_metadata_tags: 'disabled',
      });
    });

    test('encrypts a 50 GiB gp3 root volume', () => {
      expect(template.block_device_mappings).toEqual([
        { device_name: '/dev/xvda', ebs: { volume_type: 'gp3', volume_size: 50, encrypted: 'true', delete_on_termination: 'true' } },
      ]);
    });

    test('attaches exactly the worker, CNI and ECR read-only policies', () => {
      const arns = Object.values(resourcesOfType(json, 'aws_iam_role_policy_attachment'))
        .filter((a) => a.role === refTo(stack, 'node-group/role', 'name'))
        .map((a) => a.policy_arn)
        .sort();
      expect(arns).toEqual(NODE_MANAGED_POLICIES.map((p) => `arn:aws:iam::aws:policy/${p}`).sort());
    });
  });

  describe('behaviour', () => {
    test('gives every zone\'s group the bounds of the sizing and leaves the current size to the autoscaler', () => {
      for (const zoneGroup of Object.values(resourcesOfType(json, 'aws_eks_node_group'))) {
        expect(zoneGroup.scaling_config).toEqual({ min_size: 3, desired_size: 3, max_size: 7 });
        expect(zoneGroup.lifecycle).toEqual({ ignore_changes: ['scaling_config[0].desired_size'] });
      }
    });

    test('a zone added to the network adds its group and leaves the others\' ids and names alone', () => {
      const stack3 = newStack();
      const { network, cluster } = testCluster(stack3, { availabilityZones: ['ap-southeast-1c', 'ap-southeast-1a', 'ap-southeast-1b'] });
      new EksNodeGroup(stack3, 'node-group', { cluster, name: 'restaurant-test-general', network, sizing: SIZING });
      const json3 = synthJson(stack3);
      expect(['a', 'b', 'c'].map((z) => resourceAt(json3, stack3, `node-group/node-group-${z}`).node_group_name)).toEqual([
        'restaurant-test-general-a',
        'restaurant-test-general-b',
        'restaurant-test-general-c',
      ]);
      // The Terraform addresses of zones a and b are those of the two-zone stack: nothing of theirs is replaced.
      for (const z of ['a', 'b']) expect(addressOf(stack3, `node-group/node-group-${z}`)).toBe(addressOf(stack, `node-group/node-group-${z}`));
    });

    test('uses the latest launch template version', () => {
      expect(resourceAt(json, stack, 'node-group/node-group-b').launch_template).toEqual({
        id: refTo(stack, 'node-group/launch-template', 'id'),
        version: refTo(stack, 'node-group/launch-template', 'latest_version'),
      });
    });

    test('waits for its role policies and the network add-ons', () => {
      expect(group.depends_on).toEqual(
        expect.arrayContaining([addressOf(stack, 'cluster/addon-vpc-cni'), addressOf(stack, 'cluster/addon-kube-proxy')]),
      );
      expect(group.depends_on).toHaveLength(5);
    });

    test('tags instances, volumes and interfaces for cost allocation', () => {
      expect(template.tag_specifications.map((t: { resource_type: string }) => t.resource_type)).toEqual(['instance', 'volume', 'network-interface']);
      expect(template.tag_specifications[0].tags).toEqual({ 'cost-center': 'cc-test', Name: 'restaurant-test-general-eks-node' });
    });
  });

  describe('errors', () => {
    test.each([
      [{ ...SIZING, minSize: 4, desiredSize: 3 }, '4 / 3 / 7'],
      [{ ...SIZING, desiredSize: 8 }, '3 / 8 / 7'],
      [{ ...SIZING, minSize: 0, desiredSize: 0 }, '0 / 0 / 7'],
    ])('fails when sizing is not 1 <= min <= desired <= max (%#)', (sizing, got) => {
      expect(() => build({ sizing })).toThrow(`sizing must satisfy 1 <= minSize <= desiredSize <= maxSize, got ${got} (node group "node-group")`);
    });

    test('fails when no instance type is given', () => {
      expect(() => build({ sizing: { ...SIZING, instanceTypes: [] } })).toThrow(
        'sizing.instanceTypes must list at least one instance type, got none (node group "node-group")',
      );
    });

    test('fails when rootVolumeGiB is too small', () => {
      expect(() => build({ rootVolumeGiB: 8 })).toThrow('rootVolumeGiB must be an integer 20..1000, got 8 (node group "node-group")');
    });
  });
});
