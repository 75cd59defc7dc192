import type { TerraformStack } from '../../stacks/infra/cdktf';
import { LogsKmsKey } from '../../stacks/infra/constructs/logs-kms-key';
import { Network, type NetworkProps, zoneSubnetCidrs } from '../../stacks/infra/constructs/network';
import { constructStacks } from '../support/stacks/platform-fixtures';
import { addressOf, type Block, parsePolicy, refTo, resourceAt, resourcesOfType, synthJson, type SynthJson } from '../support/stacks/synth-json';

const ZONES_ABC = ['ap-southeast-1c', 'ap-southeast-1a', 'ap-southeast-1b'];

describe('Network', () => {
  const newStack = constructStacks();

  function build(
    props: Partial<Omit<NetworkProps, 'flowLogKey'>> = {},
    stack: TerraformStack = newStack(),
  ): { network: Network; json: SynthJson; stack: TerraformStack } {
    const flowLogKey = new LogsKmsKey(stack, 'logs-key', { aliasName: 'test/logs', region: 'ap-southeast-1' });
    const network = new Network(stack, 'network', {
      name: 'restaurant-test',
      region: 'ap-southeast-1',
      cidrBlock: '10.10.0.0/16',
      availabilityZones: ZONES_ABC,
      flowLogKey,
      kubernetesClusterName: 'restaurant-test',
      ...props,
    });
    return { network, json: synthJson(stack), stack };
  }

  const { network, json, stack } = build();
  const at = (pathSuffix: string): Block => resourceAt(json, stack, pathSuffix);
  const ref = (pathSuffix: string, attribute = 'id'): string => refTo(stack, pathSuffix, attribute);
  const subnets = resourcesOfType(json, 'aws_subnet');
  const subnet = (tier: string, letter: string): Block => at(`${tier}-subnet-${letter}`);

  describe('defaults', () => {
    test('a VPC with DNS support and hostnames for the /16', () => {
      expect(at('vpc')).toMatchObject({
        cidr_block: '10.10.0.0/16',
        enable_dns_support: true,
        enable_dns_hostnames: true,
      });
    });

    test('flow logs of all traffic go to an encrypted log group kept 90 days', () => {
      const logGroup = at('flow-log-group');
      expect(logGroup).toMatchObject({ name: '/aws/vpc-flow-logs/restaurant-test', retention_in_days: 90 });
      expect(logGroup.kms_key_id).toBe(ref('logs-key/key', 'arn'));
      expect(at('flow-log')).toMatchObject({
        traffic_type: 'ALL',
        log_destination_type: 'cloud-watch-logs',
        log_destination: ref('flow-log-group', 'arn'),
        vpc_id: ref('vpc', 'id'),
      });
    });

    test('the default security group is adopted with no rules', () => {
      const sg = at('default-security-group');
      expect(sg.ingress).toBeUndefined();
      expect(sg.egress).toBeUndefined();
    });
  });

  describe('behaviour', () => {
    test('sorts the zones and builds three subnets in each', () => {
      expect(network.zones).toEqual(['ap-southeast-1a', 'ap-southeast-1b', 'ap-southeast-1c']);
      expect(Object.keys(subnets)).toHaveLength(9);
      for (const letter of ['a', 'b', 'c']) {
        for (const tier of ['public', 'private', 'database']) {
          expect(subnet(tier, letter).availability_zone).toBe(`ap-southeast-1${letter}`);
        }
      }
    });

    test.each([
      [0, { private: '10.10.0.0/19', public: '10.10.192.0/22', database: '10.10.224.0/24' }],
      [2, { private: '10.10.64.0/19', public: '10.10.200.0/22', database: '10.10.226.0/24' }],
      [5, { private: '10.10.160.0/19', public: '10.10.212.0/22', database: '10.10.229.0/24' }],
    ])('zone slot %i gets its fixed CIDRs', (slot, cidrs) => {
      expect(zoneSubnetCidrs('10.10.0.0/16', slot)).toEqual(cidrs);
    });

    test('takes CIDRs from the zone letter, so a zone gap leaves its slot free', () => {
      const gapped = build({ availabilityZones: ['ap-southeast-1a', 'ap-southeast-1c'] });
      expect(resourceAt(gapped.json, gapped.stack, 'private-subnet-c').cidr_block).toBe('10.10.64.0/19');
    });

    test('adding a zone keeps every existing subnet, name and CIDR', () => {
      const { json: twoZones } = build({ availabilityZones: ['ap-southeast-1a', 'ap-southeast-1b'] });
      const before = resourcesOfType(twoZones, 'aws_subnet');
      for (const [name, body] of Object.entries(before)) {
        expect(subnets[name]?.cidr_block).toBe(body.cidr_block);
      }
      expect(Object.keys(subnets).filter((name) => !(name in before))).toHaveLength(3);
    });

    test('tags subnets for EKS load balancers', () => {
      const shared = { 'kubernetes.io/cluster/restaurant-test': 'shared' };
      expect(subnet('public', 'a').tags).toMatchObject({ ...shared, 'kubernetes.io/role/elb': '1' });
      expect(subnet('private', 'a').tags).toMatchObject({ ...shared, 'kubernetes.io/role/internal-elb': '1' });
      expect(Object.keys(subnet('database', 'a').tags).filter((k) => k.startsWith('kubernetes.io'))).toEqual([]);
      expect(subnet('public', 'a').map_public_ip_on_launch).toBe(false);
    });

    test('routes each private subnet through the NAT gateway of its own zone', () => {
      expect(Object.keys(resourcesOfType(json, 'aws_nat_gateway'))).toHaveLength(3);
      for (const letter of ['a', 'b', 'c']) {
        const nat = at(`nat-gateway-${letter}`);
        expect(nat.subnet_id).toBe(ref(`public-subnet-${letter}`, 'id'));
        expect(at(`private-default-route-${letter}`)).toMatchObject({
          destination_cidr_block: '0.0.0.0/0',
          nat_gateway_id: ref(`nat-gateway-${letter}`, 'id'),
          route_table_id: ref(`private-route-table-${letter}`, 'id'),
        });
      }
    });

    test('gives database subnets no route out of the VPC', () => {
      const databaseTable = ref('database-route-table', 'id');
      const routes = Object.values(resourcesOfType(json, 'aws_route'));
      expect(routes.filter((r) => r.route_table_id === databaseTable)).toEqual([]);
      expect(at('database-route-table').route).toBeUndefined();
    });

    test('lets only this account\'s flow logs assume the delivery role', () => {
      const trust = parsePolicy(at('flow-log-role').assume_role_policy);
      const keyArn = `${addressOf(stack, 'logs-key/key')}.arn`;
      const account = `\${element(split(":", ${keyArn}), 4)}`;
      expect(trust.Statement[0].Principal).toEqual({ Service: 'vpc-flow-logs.amazonaws.com' });
      expect(trust.Statement[0].Condition).toEqual({
        StringEquals: { 'aws:SourceAccount': account },
        ArnLike: { 'aws:SourceArn': `arn:\${element(split(":", ${keyArn}), 1)}:ec2:ap-southeast-1:${account}:vpc-flow-log/*` },
      });
    });

    test('omits Kubernetes tags without a cluster name', () => {
      const plain = build({ kubernetesClusterName: undefined, availabilityZones: ['ap-southeast-1a'] });
      const tags = resourceAt(plain.json, plain.stack, 'public-subnet-a').tags;
      expect(Object.keys(tags).filter((k) => k.startsWith('kubernetes.io'))).toEqual([]);
    });
  });

  describe('errors', () => {
    test('fails when cidrBlock is not a /16', () => {
      expect(() => build({ cidrBlock: '10.10.0.0/20' })).toThrow(
        'cidrBlock must be a /16 such as 10.10.0.0/16, got "10.10.0.0/20" (network "network")',
      );
    });

    test('fails when no zone is given', () => {
      expect(() => build({ availabilityZones: [] })).toThrow(
        'availabilityZones must list at least one zone of ap-southeast-1, got none (network "network")',
      );
    });

    test.each(['eu-west-2a', 'ap-southeast-1g', 'ap-southeast-1'])('fails when a zone is "%s"', (zone) => {
      expect(() => build({ availabilityZones: ['ap-southeast-1a', zone] })).toThrow(
        `availabilityZones must be zones of ap-southeast-1 ending in a letter a-f (the address plan has six zone slots), got "${zone}" (network "network")`,
      );
    });

    test('fails when a zone repeats', () => {
      expect(() => build({ availabilityZones: ['ap-southeast-1b', 'ap-southeast-1a', 'ap-southeast-1b'] })).toThrow(
        'availabilityZones must not repeat a zone, got "ap-southeast-1b" twice (network "network")',
      );
    });
  });
});
