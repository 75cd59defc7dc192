/**
 * The alarms of a location's stateful services, mailed to the location's alert address through an
 * encrypted SNS topic. Alarm and OK actions both notify, so a recovery is visible too.
 *
 * CloudFront publishes its metrics in us-east-1 only, and an alarm can notify only a topic of its
 * own region: the 5xx alarm therefore has a second topic (and key) in us-east-1. Its subscription
 * asks for its own e-mail confirmation.
 *
 * Topics are encrypted with customer-managed keys that admit CloudWatch: with the AWS-managed
 * `alias/aws/sns` key, alarms fail to publish.
 */
import { Construct } from 'constructs';
import { CloudwatchMetricAlarm, type CloudwatchMetricAlarmConfig } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic';
import { SnsTopicSubscription } from '@cdktf/provider-aws/lib/sns-topic-subscription';
import type { TerraformProvider } from '../cdktf';
import { Token } from '../cdktf';
import type { Location } from '../config/location';
import type { CdnBucket } from './cdn-bucket';
import { LocationKmsKey } from './location-kms-key';
import type { PostgresWithReplicas } from './postgres-with-replicas';
import type { RedisReplicationGroup } from './redis-replication-group';

const GIB = 1024 ** 3;

/**
 * Name of a location's regional alert topic. Alertmanager publishes to it too (the addons stack
 * routes the location's alerts there, the platform stack's Alertmanager role may publish to
 * `*-alerts`): change all three together.
 */
export function locationAlertTopicName(locationId: string): string {
  return `${locationId}-alerts`;
}

export interface LocationAlarmsProps {
  readonly location: Location;
  readonly database: PostgresWithReplicas;
  readonly redis: RedisReplicationGroup;
  readonly cdn: CdnBucket;
  /** Encrypts the regional topic; must be created with `allowCloudWatchAlarms: true`. */
  readonly encryptionKey: LocationKmsKey;
  /** For the us-east-1 key of the CloudFront alarm's topic. */
  readonly accountId: string;
  /** The aws provider for us-east-1, where CloudFront metrics live. */
  readonly usEast1Provider: TerraformProvider;
  /**
   * Average CPU (database instances, Redis engine thread) above which, for 15 minutes, an alarm fires.
   * @default 80
   */
  readonly cpuThresholdPercent?: number;
  /**
   * Free database storage, as a share of the storage allocated at creation, below which an alarm
   * fires after 30 minutes. Storage autoscaling acts at 10% free within minutes, so a low value
   * that persists means autoscaling is at its maximum or in its six-hour cooldown.
   * @default 10
   */
  readonly freeStorageThresholdPercent?: number;
  /**
   * Replica lag above which, for 5 minutes, an alarm fires; the app reads its own writes from the primary.
   * @default 30
   */
  readonly replicaLagThresholdSeconds?: number;
  /**
   * Redis memory use (of maxmemory) above which, for 15 minutes, an alarm fires.
   * @default 80
   */
  readonly redisMemoryThresholdPercent?: number;
  /**
   * Share of CloudFront responses with a 5xx status above which an alarm fires (2 of 3 five-minute periods).
   * @default 1
   */
  readonly cdn5xxErrorRateThresholdPercent?: number;
}

export class LocationAlarms extends Construct {
  readonly topic: SnsTopic;
  /** The us-east-1 topic of the CloudFront alarm. */
  readonly edgeTopic: SnsTopic;
  readonly alarms: readonly CloudwatchMetricAlarm[];

  constructor(scope: Construct, id: string, props: LocationAlarmsProps) {
    super(scope, id);
    const { location, database, redis, cdn } = props;
    const cpu = props.cpuThresholdPercent ?? 80;
    const freeStorage = props.freeStorageThresholdPercent ?? 10;
    const replicaLag = props.replicaLagThresholdSeconds ?? 30;
    const redisMemory = props.redisMemoryThresholdPercent ?? 80;
    const cdn5xx = props.cdn5xxErrorRateThresholdPercent ?? 1;
    for (const [field, value] of [
      ['cpuThresholdPercent', cpu],
      ['freeStorageThresholdPercent', freeStorage],
      ['redisMemoryThresholdPercent', redisMemory],
      ['cdn5xxErrorRateThresholdPercent', cdn5xx],
    ] as const) {
      if (!Token.isUnresolved(value) && !(value > 0 && value < 100)) {
        throw new Error(`${field} must be between 0 and 100 exclusive, got ${value} (location "${location.id}")`);
      }
    }
    if (!Token.isUnresolved(replicaLag) && !(replicaLag > 0)) {
      throw new Error(`replicaLagThresholdSeconds must be positive, got ${replicaLag} (location "${location.id}")`);
    }

    this.topic = this.alertTopic('topic', locationAlertTopicName(location.id), location, props.encryptionKey.keyArn);
    const edgeKey = new LocationKmsKey(this, 'edge-key', {
      location,
      purpose: 'edge-alerts',
      accountId: props.accountId,
      region: 'us-east-1',
      allowCloudWatchAlarms: true,
      provider: props.usEast1Provider,
    });
    this.edgeTopic = this.alertTopic('edge-topic', `${location.id}-edge-alerts`, location, edgeKey.keyArn, props.usEast1Provider);

    const alarms: CloudwatchMetricAlarm[] = [];
    const alarm = (key: string, config: Omit<CloudwatchMetricAlarmConfig, 'alarmName' | 'alarmActions' | 'okActions'>, topic = this.topic) => {
      const created = new CloudwatchMetricAlarm(this, key, {
        ...config,
        alarmName: `${location.id}-${key}`,
        alarmActions: [topic.arn],
        okActions: [topic.arn],
      });
      alarms.push(created);
      return created;
    };
    const fifteenMinutes = { period: 300, evaluationPeriods: 3 };

    const freeStorageBytes = Math.round((database.allocatedStorageGiB * GIB * freeStorage) / 100);
    database.instances.forEach((instance, i) => {
      const key = i === 0 ? 'postgres-primary' : `postgres-replica-${i}`;
      const dimensions = { DBInstanceIdentifier: instance.identifier };
      alarm(`${key}-cpu`, {
        alarmDescription: `${key}: CPU above ${cpu}% for 15 minutes`,
        namespace: 'AWS/RDS',
        metricName: 'CPUUtilization',
        dimensions,
        statistic: 'Average',
        ...fifteenMinutes,
        comparisonOperator: 'GreaterThanThreshold',
        threshold: cpu,
      });
      alarm(`${key}-free-storage`, {
        alarmDescription: `${key}: free storage below ${freeStorage}% of the ${database.allocatedStorageGiB} GiB allocated for 30 minutes`,
        namespace: 'AWS/RDS',
        metricName: 'FreeStorageSpace',
        dimensions,
        statistic: 'Minimum',
        period: 300,
        evaluationPeriods: 6,
        comparisonOperator: 'LessThanThreshold',
        threshold: freeStorageBytes,
      });
      if (i > 0) {
        alarm(`${key}-lag`, {
          alarmDescription: `${key}: replica lag above ${replicaLag} s for 5 minutes`,
          namespace: 'AWS/RDS',
          metricName: 'ReplicaLag',
          dimensions,
          statistic: 'Maximum',
          period: 60,
          evaluationPeriods: 5,
          comparisonOperator: 'GreaterThanThreshold',
          threshold: replicaLag,
        });
      }
    });

    // Per node: after a failover any node can be the primary, and ElastiCache has no group-level metric.
    redis.memberClusterIds.forEach((clusterId, i) => {
      const key = `redis-node-${i + 1}`;
      const dimensions = { CacheClusterId: clusterId };
      alarm(`${key}-memory`, {
        alarmDescription: `${clusterId}: memory above ${redisMemory}% of maxmemory for 15 minutes; near 100% caches get evicted and writes to streams fail`,
        namespace: 'AWS/ElastiCache',
        metricName: 'DatabaseMemoryUsagePercentage',
        dimensions,
        statistic: 'Average',
        ...fifteenMinutes,
        comparisonOperator: 'GreaterThanThreshold',
        threshold: redisMemory,
      });
      alarm(`${key}-evictions`, {
        alarmDescription: `${clusterId}: keys evicted in each of the last three 5-minute periods; the node is too small for its working set`,
        namespace: 'AWS/ElastiCache',
        metricName: 'Evictions',
        dimensions,
        statistic: 'Sum',
        ...fifteenMinutes,
        comparisonOperator: 'GreaterThanThreshold',
        threshold: 0,
        treatMissingData: 'notBreaching',
      });
      alarm(`${key}-engine-cpu`, {
        alarmDescription: `${clusterId}: Redis engine thread CPU above ${cpu}% for 15 minutes`,
        namespace: 'AWS/ElastiCache',
        metricName: 'EngineCPUUtilization',
        dimensions,
        statistic: 'Average',
        ...fifteenMinutes,
        comparisonOperator: 'GreaterThanThreshold',
        threshold: cpu,
      });
    });

    const cdnAlarm = new CloudwatchMetricAlarm(this, 'cdn-5xx-rate', {
      provider: props.usEast1Provider,
      alarmName: `${location.id}-cdn-5xx-rate`,
      alarmDescription: `${location.domains.cdn}: more than ${cdn5xx}% of responses are 5xx in 2 of 3 five-minute periods`,
      namespace: 'AWS/CloudFront',
      metricName: '5xxErrorRate',
      dimensions: { DistributionId: cdn.distributionId, Region: 'Global' },
      statistic: 'Average',
      period: 300,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      comparisonOperator: 'GreaterThanThreshold',
      threshold: cdn5xx,
      // No requests, no data: a quiet night is not an outage.
      treatMissingData: 'notBreaching',
      alarmActions: [this.edgeTopic.arn],
      okActions: [this.edgeTopic.arn],
    });
    alarms.push(cdnAlarm);
    this.alarms = alarms;
  }

  private alertTopic(key: string, name: string, location: Location, keyArn: string, provider?: TerraformProvider): SnsTopic {
    const topic = new SnsTopic(this, key, { provider, name, kmsMasterKeyId: keyArn });
    // Stays "pending confirmation" until the recipient clicks the link AWS mails.
    new SnsTopicSubscription(this, `${key}-email`, { provider, topicArn: topic.arn, protocol: 'email', endpoint: location.alertEmail });
    return topic;
  }
}
