import { Testing } from '../../stacks/infra/cdktf';
import type { Location } from '../../stacks/infra/config/location';
import { CdnBucket } from '../../stacks/infra/constructs/cdn-bucket';
import { LocationAlarms, type LocationAlarmsProps } from '../../stacks/infra/constructs/location-alarms';
import { LocationKmsKey } from '../../stacks/infra/constructs/location-kms-key';
import { PostgresWithReplicas } from '../../stacks/infra/constructs/postgres-with-replicas';
import { RedisReplicationGroup } from '../../stacks/infra/constructs/redis-replication-group';
import { ACCOUNT_ID, blockOf, find, hostStack, refOf, resources } from '../support/stacks/data-fixtures';
import { type Json, synthJson } from '../support/stacks/synth-json';
import { SAMPLE_LOCATION_IDS, sampleLocation } from '../support/stacks/sample-locations';

describe('LocationAlarms', () => {
  const app = Testing.app();
  let stackCount = 0;

  function build(location: Location, props: Partial<LocationAlarmsProps> = {}) {
    const { stack, usEast1 } = hostStack(app, `alarms-${++stackCount}`, location);
    const encryptionKey = new LocationKmsKey(stack, 'key', { location, purpose: 'data', accountId: ACCOUNT_ID, allowCloudWatchAlarms: true });
    const network = { vpcId: 'vpc-0test', subnetIds: ['subnet-a', 'subnet-b', 'subnet-c'], encryptionKey };
    const database = new PostgresWithReplicas(stack, 'postgres', { location, ...network });
    const redis = new RedisReplicationGroup(stack, 'redis', { location, ...network });
    const cdn = new CdnBucket(stack, 'cdn', { location, accountId: ACCOUNT_ID, usEast1Provider: usEast1 });
    const alarms = new LocationAlarms(stack, 'alarms', {
      location,
      database,
      redis,
      cdn,
      encryptionKey,
      accountId: ACCOUNT_ID,
      usEast1Provider: usEast1,
      ...props,
    });
    return { stack, alarms, database, redis, cdn, encryptionKey };
  }

  const synthesized = new Map(
    SAMPLE_LOCATION_IDS.map((id) => {
      const built = build(sampleLocation(id));
      return [id, { ...built, json: synthJson(built.stack) }] as const;
    }),
  );

  const alarmNamed = (json: Json, name: string) => {
    const found = resources(json, 'aws_cloudwatch_metric_alarm').find((a) => a.alarm_name === name);
    if (!found) throw new Error(`no alarm ${name}`);
    return found;
  };

  describe('defaults', () => {
    const { json } = synthesized.get('kanchanaburi-resort')!;
    test('CPU above 80% for three 5-minute periods', () => {
      expect(alarmNamed(json, 'kanchanaburi-resort-postgres-primary-cpu')).toMatchObject({
        threshold: 80,
        period: 300,
        evaluation_periods: 3,
        comparison_operator: 'GreaterThanThreshold',
        statistic: 'Average',
      });
    });
    test('free storage below 10% of the allocated storage, in bytes, for 30 minutes', () => {
      const allocatedGiB = sampleLocation('kanchanaburi-resort').sizing.database.allocatedStorageGiB;
      expect(alarmNamed(json, 'kanchanaburi-resort-postgres-primary-free-storage')).toMatchObject({
        metric_name: 'FreeStorageSpace',
        threshold: Math.round(allocatedGiB * 1024 ** 3 * 0.1),
        comparison_operator: 'LessThanThreshold',
        period: 300,
        evaluation_periods: 6,
      });
    });
    test('replica lag above 30 s for 5 minutes', () => {
      expect(alarmNamed(json, 'kanchanaburi-resort-postgres-replica-1-lag')).toMatchObject({ metric_name: 'ReplicaLag', threshold: 30, period: 60, evaluation_periods: 5 });
    });
    test('CloudFront 5xx rate above 1%', () => {
      expect(alarmNamed(json, 'kanchanaburi-resort-cdn-5xx-rate').threshold).toBe(1);
    });
  });

  describe('errors', () => {
    const location = sampleLocation('sukhumvit-cafe');
    test('fails when cpuThresholdPercent is 100', () => {
      expect(() => build(location, { cpuThresholdPercent: 100 })).toThrow('cpuThresholdPercent must be between 0 and 100 exclusive, got 100 (location "sukhumvit-cafe")');
    });
    test('fails when replicaLagThresholdSeconds is 0', () => {
      expect(() => build(location, { replicaLagThresholdSeconds: 0 })).toThrow('replicaLagThresholdSeconds must be positive, got 0 (location "sukhumvit-cafe")');
    });
  });

  describe.each(SAMPLE_LOCATION_IDS)('behaviour for %s', (id) => {
    const location = sampleLocation(id);
    const { json, alarms, database, redis, cdn, encryptionKey } = synthesized.get(id)!;
    const all = resources(json, 'aws_cloudwatch_metric_alarm');
    const replicas = location.sizing.database.readReplicas;
    const nodes = location.sizing.redis.nodeCount;
    const byMetric = (metric: string) => all.filter((a) => a.metric_name === metric);

    test('one alarm per instance for CPU and storage, per replica for lag, per Redis node for memory, evictions and engine CPU', () => {
      expect(byMetric('CPUUtilization')).toHaveLength(replicas + 1);
      expect(byMetric('FreeStorageSpace')).toHaveLength(replicas + 1);
      expect(byMetric('ReplicaLag')).toHaveLength(replicas);
      expect(byMetric('DatabaseMemoryUsagePercentage')).toHaveLength(nodes);
      expect(byMetric('Evictions')).toHaveLength(nodes);
      expect(byMetric('EngineCPUUtilization')).toHaveLength(nodes);
      expect(byMetric('5xxErrorRate')).toHaveLength(1);
      expect(all).toHaveLength(2 * (replicas + 1) + replicas + 3 * nodes + 1);
    });

    test('database alarms watch each instance by identifier', () => {
      expect(byMetric('CPUUtilization').map((a) => a.dimensions.DBInstanceIdentifier)).toEqual(database.instances.map((i) => refOf(i, 'identifier')));
      expect(byMetric('ReplicaLag').map((a) => a.dimensions.DBInstanceIdentifier)).toEqual(database.replicas.map((i) => refOf(i, 'identifier')));
    });

    test('Redis alarms watch every node; memory above 80%, evictions sustained over 15 minutes', () => {
      expect(byMetric('DatabaseMemoryUsagePercentage').map((a) => a.dimensions.CacheClusterId)).toEqual(redis.memberClusterIds);
      for (const memory of byMetric('DatabaseMemoryUsagePercentage')) expect(memory).toMatchObject({ threshold: 80, comparison_operator: 'GreaterThanThreshold' });
      for (const evictions of byMetric('Evictions')) {
        expect(evictions).toMatchObject({ statistic: 'Sum', threshold: 0, evaluation_periods: 3, treat_missing_data: 'notBreaching' });
      }
    });

    test('alarm and OK actions notify the regional topic, encrypted with the location key', () => {
      const topicArn = refOf(alarms.topic, 'arn');
      for (const alarm of all.filter((a) => a.metric_name !== '5xxErrorRate')) {
        expect(alarm).toMatchObject({ alarm_actions: [topicArn], ok_actions: [topicArn] });
        expect(alarm).not.toHaveProperty('provider');
      }
      expect(blockOf(json, alarms.topic)).toMatchObject({ name: `${id}-alerts`, kms_master_key_id: refOf(encryptionKey.key, 'arn') });
      expect(blockOf(json, find(alarms, 'topic-email'))).toMatchObject({ protocol: 'email', endpoint: location.alertEmail, topic_arn: topicArn });
    });

    test('the CloudFront alarm lives in us-east-1 with its own encrypted topic', () => {
      const [cdnAlarm] = byMetric('5xxErrorRate');
      const edgeTopicArn = refOf(alarms.edgeTopic, 'arn');
      expect(cdnAlarm).toMatchObject({
        provider: 'aws.us_east_1',
        namespace: 'AWS/CloudFront',
        dimensions: { DistributionId: refOf(cdn.distribution, 'id'), Region: 'Global' },
        alarm_actions: [edgeTopicArn],
        ok_actions: [edgeTopicArn],
      });
      const edgeTopic = blockOf(json, alarms.edgeTopic);
      expect(edgeTopic).toMatchObject({ provider: 'aws.us_east_1', kms_master_key_id: refOf(find(alarms, 'edge-key/key'), 'arn') });
      expect(blockOf(json, find(alarms, 'edge-topic-email'))).toMatchObject({ provider: 'aws.us_east_1', endpoint: location.alertEmail });
    });
  });
});
