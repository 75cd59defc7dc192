import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { REDIS_KEY_PREFIX, REDIS_PORT } from '../../contract/constants';
import { Testing } from '../../stacks/infra/cdktf';
import type { Location } from '../../stacks/infra/config/location';
import { LocationKmsKey } from '../../stacks/infra/constructs/location-kms-key';
import {
  RedisReplicationGroup,
  type RedisReplicationGroupProps,
  redisAppUserName,
} from '../../stacks/infra/constructs/redis-replication-group';
import { ACCOUNT_ID, asList, blockOf, find, hostStack, policy, refOf, resources, withSizing } from '../support/stacks/data-fixtures';
import { type Json, synthJson } from '../support/stacks/synth-json';
import { SAMPLE_LOCATION_IDS, sampleLocation } from '../support/stacks/sample-locations';

const CLUSTER_SG = 'sg-0cluster';

describe('RedisReplicationGroup', () => {
  const app = Testing.app();
  let stackCount = 0;

  function build(location: Location, props: Partial<RedisReplicationGroupProps> = {}) {
    const { stack } = hostStack(app, `redis-${++stackCount}`, location);
    const encryptionKey = new LocationKmsKey(stack, 'key', { location, purpose: 'data', accountId: ACCOUNT_ID });
    const redis = new RedisReplicationGroup(stack, 'redis', {
      location,
      vpcId: 'vpc-0test',
      subnetIds: ['subnet-a', 'subnet-b', 'subnet-c'],
      encryptionKey,
      ...props,
    });
    return { stack, redis, encryptionKey };
  }

  function synthWithGrants(location: Location) {
    const { stack, redis, encryptionKey } = build(location);
    redis.allowFrom('cluster', CLUSTER_SG);
    const role = new IamRole(stack, 'role', { name: 'test-role', assumeRolePolicy: '{}' });
    redis.grantConnect(role);
    return { redis, encryptionKey, json: synthJson(stack) };
  }

  const synthesized = new Map(SAMPLE_LOCATION_IDS.map((id) => [id, synthWithGrants(sampleLocation(id))]));
  const { json: cafe, redis: cafeRedis } = synthesized.get('sukhumvit-cafe')!;

  describe('defaults', () => {
    test('Redis OSS 7.1 with a redis7 parameter group', () => {
      expect(blockOf(cafe, cafeRedis.replicationGroup)).toMatchObject({ engine: 'redis', engine_version: '7.1', port: REDIS_PORT });
      expect(blockOf(cafe, cafeRedis.parameterGroup)).toMatchObject({ family: 'redis7', lifecycle: { create_before_destroy: true } });
    });

    test('one day of snapshots in a window before the weekly maintenance', () => {
      expect(blockOf(cafe, cafeRedis.replicationGroup)).toMatchObject({
        snapshot_retention_limit: 1,
        snapshot_window: '19:00-20:00',
        maintenance_window: 'mon:20:00-mon:21:00',
        final_snapshot_identifier: 'sukhumvit-cafe-redis-final',
      });
    });

    test('node type and engine changes wait for the maintenance window', () => {
      expect(blockOf(cafe, cafeRedis.replicationGroup).apply_immediately).toBe(false);
    });

    test('the app user name carries the location, since user ids are unique per region', () => {
      expect(redisAppUserName('sukhumvit-cafe')).toBe('sukhumvit-cafe-app');
      expect(cafeRedis.appUserName).toBe('sukhumvit-cafe-app');
    });
  });

  describe('errors', () => {
    const cafeLocation = sampleLocation('sukhumvit-cafe');
    test('fails when nodeCount is 1', () => {
      expect(() => build(withSizing(cafeLocation, { redis: { nodeCount: 1 } }))).toThrow('nodeCount must be 2..6, got 1 (location "sukhumvit-cafe")');
    });
    test('fails when nodeCount is 7', () => {
      expect(() => build(withSizing(cafeLocation, { redis: { nodeCount: 7 } }))).toThrow('nodeCount must be 2..6, got 7 (location "sukhumvit-cafe")');
    });
    test('fails when snapshotRetentionDays is 0', () => {
      expect(() => build(cafeLocation, { snapshotRetentionDays: 0 })).toThrow('snapshotRetentionDays must be 1..35, got 0 (location "sukhumvit-cafe")');
    });
    test('fails when the location has one zone', () => {
      expect(() => build({ ...cafeLocation, availabilityZones: ['ap-southeast-1a'] })).toThrow(
        'availabilityZones must be at least 2 zones for Multi-AZ, got 1 (location "sukhumvit-cafe")',
      );
    });
    test('fails when allowFrom gets a peer name that cannot name a construct', () => {
      const { redis } = build(cafeLocation);
      expect(() => redis.allowFrom('', CLUSTER_SG)).toThrow('peerName must be 1-31 lowercase letters, digits and hyphens, got "" (location "sukhumvit-cafe")');
    });
  });

  describe.each(SAMPLE_LOCATION_IDS)('behaviour for %s', (id) => {
    const location = sampleLocation(id);
    const { json, redis, encryptionKey } = synthesized.get(id)!;
    const group = blockOf(json, redis.replicationGroup);
    const { nodeCount, nodeType } = location.sizing.redis;

    test('nodeCount nodes of the sized type, failing over automatically across zones', () => {
      expect(group).toMatchObject({
        num_cache_clusters: nodeCount,
        node_type: nodeType,
        automatic_failover_enabled: true,
        multi_az_enabled: true,
      });
      const zones = group.preferred_cache_cluster_azs as string[];
      expect(zones).toHaveLength(nodeCount);
      expect(zones).toEqual(Array.from({ length: nodeCount }, (_, i) => location.availabilityZones[i % location.availabilityZones.length]));
      expect(redis.memberClusterIds).toEqual(Array.from({ length: nodeCount }, (_, i) => `${id}-redis-00${i + 1}`));
    });

    test('encrypted at rest with the location key and in transit with TLS required', () => {
      expect(group).toMatchObject({
        at_rest_encryption_enabled: 'true',
        kms_key_id: refOf(encryptionKey.key, 'arn'),
        transit_encryption_enabled: true,
        transit_encryption_mode: 'required',
      });
      expect(group).not.toHaveProperty('auth_token');
    });

    test('RBAC: the app user signs in with IAM; the required default user is switched off', () => {
      const appUser = blockOf(json, redis.appUser);
      expect(appUser).toMatchObject({
        user_id: `${id}-app`,
        user_name: `${id}-app`,
        engine: 'redis',
        authentication_mode: { type: 'iam' },
        access_string: `on ~${REDIS_KEY_PREFIX}* &${REDIS_KEY_PREFIX}* +@all -@dangerous +info`,
      });
      expect(appUser.user_id).toBe(appUser.user_name);
      const defaultUser = blockOf(json, find(redis, 'default-user'));
      expect(defaultUser).toMatchObject({
        user_name: 'default',
        user_id: `${id}-default`,
        access_string: 'off -@all',
        authentication_mode: { type: 'no-password-required' },
      });
      expect(blockOf(json, redis.userGroup).user_ids).toEqual([refOf(find(redis, 'default-user'), 'user_id'), refOf(redis.appUser, 'user_id')]);
      expect(group.user_group_ids).toEqual([refOf(redis.userGroup, 'user_group_id')]);
    });

    test('volatile-lru evicts only keys with a TTL, never the order-event streams', () => {
      expect(blockOf(json, redis.parameterGroup).parameter).toEqual([{ name: 'maxmemory-policy', value: 'volatile-lru' }]);
      expect(group.parameter_group_name).toBe(refOf(redis.parameterGroup, 'name'));
    });

    test('slow and engine logs go to encrypted CloudWatch log groups', () => {
      const deliveries = group.log_delivery_configuration as Json[];
      expect(deliveries.map((d) => d.log_type)).toEqual(['slow-log', 'engine-log']);
      for (const delivery of deliveries) expect(delivery).toMatchObject({ destination_type: 'cloudwatch-logs', log_format: 'json' });
      for (const logGroup of resources(json, 'aws_cloudwatch_log_group')) {
        expect(logGroup).toMatchObject({ kms_key_id: refOf(encryptionKey.key, 'arn'), retention_in_days: 30 });
      }
    });

    test('snapshots kept at least a day; subnets are the private ones given', () => {
      expect(group.snapshot_retention_limit).toBeGreaterThanOrEqual(1);
      expect(blockOf(json, find(redis, 'subnet-group')).subnet_ids).toEqual(['subnet-a', 'subnet-b', 'subnet-c']);
    });

    test('port 6379 is open only to the security group granted with allowFrom', () => {
      expect(blockOf(json, redis.securityGroup)).not.toHaveProperty('ingress');
      expect(group.security_group_ids).toEqual([refOf(redis.securityGroup, 'id')]);
      const rules = resources(json, 'aws_vpc_security_group_ingress_rule');
      expect(rules).toHaveLength(1);
      expect(rules[0]).toMatchObject({ referenced_security_group_id: CLUSTER_SG, from_port: 6379, to_port: 6379, ip_protocol: 'tcp' });
    });

    test('grantConnect allows elasticache:Connect on this group and the app user only', () => {
      const statements = policy(blockOf(json, find(redis, 'grant-connect-role')).policy).Statement;
      expect(statements).toHaveLength(1);
      expect(statements[0]).toMatchObject({ Effect: 'Allow', Action: 'elasticache:Connect' });
      expect(asList(statements[0]!.Resource)).toEqual([refOf(redis.replicationGroup, 'arn'), refOf(redis.appUser, 'arn')]);
    });
  });

  describe('options', () => {
    test('applyChanges.redis = immediately applies node type and engine changes at once', () => {
      const location = sampleLocation('london-shoreditch');
      const { stack, redis } = build({ ...location, applyChanges: { ...location.applyChanges, redis: 'immediately' } });
      expect(blockOf(synthJson(stack), redis.replicationGroup).apply_immediately).toBe(true);
    });
  });
});
