/**
 * A location's Redis: an ElastiCache for Redis OSS replication group (cluster mode off) of 2..6
 * nodes across the location's zones, with automatic failover, encryption at rest (location key)
 * and in transit (TLS required), and RBAC instead of a shared AUTH token:
 * - the app's user authenticates with IAM (short-lived SigV4 tokens from the api's IRSA role),
 *   so no Redis password exists anywhere;
 * - Redis OSS user groups must contain a user named `default`; ours is switched off and has no
 *   commands, so an unauthenticated connection can do nothing.
 *
 * Engine: Redis OSS 7.1, the newest Redis OSS on ElastiCache; IAM auth needs >= 7.0. Valkey 8
 * would cost about 20% less per node and ElastiCache upgrades Redis OSS 7.1 to Valkey in place,
 * so switching later is an engine change, not a migration.
 */
import { Construct } from 'constructs';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { ElasticacheParameterGroup } from '@cdktf/provider-aws/lib/elasticache-parameter-group';
import { ElasticacheReplicationGroup } from '@cdktf/provider-aws/lib/elasticache-replication-group';
import { ElasticacheSubnetGroup } from '@cdktf/provider-aws/lib/elasticache-subnet-group';
import { ElasticacheUser } from '@cdktf/provider-aws/lib/elasticache-user';
import { ElasticacheUserGroup } from '@cdktf/provider-aws/lib/elasticache-user-group';
import type { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import { REDIS_KEY_PREFIX, REDIS_PORT } from '../../../contract/constants';
import { Token } from '../cdktf';
import type { Location } from '../config/location';
import { policyDocument } from './app-service-role';
import type { LocationKmsKey } from './location-kms-key';

/**
 * The app's ElastiCache user. ElastiCache user ids are unique per account and region, and an
 * IAM-enabled user's id must equal its name, so the name carries the location id: two locations
 * in one region cannot both have a user called `app`.
 */
export function redisAppUserName(locationId: string): string {
  return `${locationId}-app`;
}

/**
 * The replication group id. Deterministic from the location id because the app signs its
 * ElastiCache IAM tokens for it (REDIS_IAM_CACHE_NAME) and the app stack sets that from here.
 */
export function redisReplicationGroupId(locationId: string): string {
  return `${locationId}-redis`;
}

/** Prefix of the names of a location's Redis log groups, for the key policy of CloudWatch Logs. */
export function redisLogGroupPrefix(locationId: string): string {
  return `/aws/elasticache/${locationId}/`;
}

const ENGINE = 'redis';
const ENGINE_VERSION = '7.1';
const PARAMETER_GROUP_FAMILY = 'redis7';
const PEER_NAME_PATTERN = /^[a-z][a-z0-9-]{0,30}$/;
const LOG_TYPES = ['slow-log', 'engine-log'] as const;

export interface RedisReplicationGroupProps {
  /**
   * Sizing (`sizing.redis`), zones, naming and when restarting changes apply
   * (`applyChanges.redis`: the group's `apply_immediately`) come from the location.
   */
  readonly location: Location;
  readonly vpcId: string;
  /** Private subnets, one per zone. */
  readonly subnetIds: readonly string[];
  /** Encrypts the data at rest, snapshots and the log groups. */
  readonly encryptionKey: LocationKmsKey;
  /**
   * Days of daily snapshots kept (1..35). Postgres is the system of record; snapshots only
   * shorten the recovery of caches and recent order-event streams.
   * @default 1
   */
  readonly snapshotRetentionDays?: number;
  /**
   * Daily snapshot window, UTC `hh24:mi-hh24:mi`, at least 60 minutes; must not overlap maintenance.
   * @default '19:00-20:00'
   */
  readonly snapshotWindow?: string;
  /**
   * Weekly maintenance window, UTC `ddd:hh24:mi-ddd:hh24:mi`, at least 60 minutes.
   * @default 'mon:20:00-mon:21:00'
   */
  readonly maintenanceWindow?: string;
  /**
   * Retention of the slow and engine logs, in days.
   * @default 30
   */
  readonly logRetentionDays?: number;
}

export class RedisReplicationGroup extends Construct {
  readonly replicationGroup: ElasticacheReplicationGroup;
  readonly appUser: ElasticacheUser;
  readonly userGroup: ElasticacheUserGroup;
  readonly securityGroup: SecurityGroup;
  readonly parameterGroup: ElasticacheParameterGroup;
  /** Writes go here; follows the primary across failovers. */
  readonly primaryHost: string;
  /** Spreads reads over the replicas. */
  readonly readerHost: string;
  readonly port = REDIS_PORT;
  readonly appUserName: string;
  /**
   * Cache cluster ids of the nodes (`<group>-001` ...): ElastiCache names the members of a
   * cluster-mode-disabled group this way, and node metrics carry them as `CacheClusterId`.
   */
  readonly memberClusterIds: readonly string[];
  private readonly location: Location;

  constructor(scope: Construct, id: string, props: RedisReplicationGroupProps) {
    super(scope, id);
    const { location, encryptionKey } = props;
    const { nodeCount, nodeType } = location.sizing.redis;
    const snapshotRetentionDays = props.snapshotRetentionDays ?? 1;
    const snapshotWindow = props.snapshotWindow ?? '19:00-20:00';
    const maintenanceWindow = props.maintenanceWindow ?? 'mon:20:00-mon:21:00';
    const logRetentionDays = props.logRetentionDays ?? 30;

    const fail = (field: string, allowed: string, got: unknown): never => {
      throw new Error(`${field} must be ${allowed}, got ${String(got)} (location "${location.id}")`);
    };
    if (!Token.isUnresolved(nodeCount) && (!Number.isInteger(nodeCount) || nodeCount < 2 || nodeCount > 6)) {
      // One node has nothing to fail over to; six is the group's limit (primary + 5 replicas).
      fail('nodeCount', '2..6', nodeCount);
    }
    if (!Token.isUnresolved(snapshotRetentionDays) && (!Number.isInteger(snapshotRetentionDays) || snapshotRetentionDays < 1 || snapshotRetentionDays > 35)) {
      fail('snapshotRetentionDays', '1..35', snapshotRetentionDays);
    }
    if (location.availabilityZones.length < 2) {
      fail('availabilityZones', 'at least 2 zones for Multi-AZ', location.availabilityZones.length);
    }
    this.location = location;

    const groupId = redisReplicationGroupId(location.id);
    this.memberClusterIds = Array.from({ length: nodeCount }, (_, i) => `${groupId}-${String(i + 1).padStart(3, '0')}`);
    this.appUserName = redisAppUserName(location.id);

    this.securityGroup = new SecurityGroup(this, 'security-group', {
      name: `${location.id}-redis`,
      description: `Redis of ${location.id}: ingress only from granted security groups`,
      vpcId: props.vpcId,
      tags: { Name: `${location.id}-redis` },
    });

    const subnetGroup = new ElasticacheSubnetGroup(this, 'subnet-group', {
      name: `${location.id}-redis`,
      description: `Private subnets of ${location.id}`,
      subnetIds: [...props.subnetIds],
    });

    this.parameterGroup = new ElasticacheParameterGroup(this, 'parameter-group', {
      name: `${location.id}-${PARAMETER_GROUP_FAMILY}`,
      family: PARAMETER_GROUP_FAMILY,
      description: `Redis settings of ${location.id}`,
      parameter: [
        // Cache entries all carry a TTL; the per-restaurant order-event streams do not and must
        // never be evicted (the websocket service replays from them). volatile-lru evicts only
        // keys with a TTL, so under memory pressure caches shrink and streams stay. If memory
        // fills with streams alone, writes fail instead of silently losing events: the streams
        // are capped with XADD MAXLEN and the memory alarm fires at 80%.
        { name: 'maxmemory-policy', value: 'volatile-lru' },
      ],
      lifecycle: { createBeforeDestroy: true },
    });

    // Switched off, no commands, no keys: required by Redis OSS user groups, useless to anyone.
    const defaultUser = new ElasticacheUser(this, 'default-user', {
      userId: `${location.id}-default`,
      userName: 'default',
      engine: ENGINE,
      accessString: 'off -@all',
      authenticationMode: { type: 'no-password-required' },
    });
    this.appUser = new ElasticacheUser(this, 'app-user', {
      userId: this.appUserName,
      userName: this.appUserName,
      engine: ENGINE,
      // Keys and channels under the app prefix only; no administrative or dangerous commands
      // except INFO, which ioredis's ready check sends.
      accessString: `on ~${REDIS_KEY_PREFIX}* &${REDIS_KEY_PREFIX}* +@all -@dangerous +info`,
      authenticationMode: { type: 'iam' },
    });
    this.userGroup = new ElasticacheUserGroup(this, 'user-group', {
      userGroupId: `${location.id}-redis-users`,
      engine: ENGINE,
      userIds: [defaultUser.userId, this.appUser.userId],
    });

    const logGroups = LOG_TYPES.map(
      (logType) =>
        new CloudwatchLogGroup(this, `log-${logType}`, {
          name: `${redisLogGroupPrefix(location.id)}${logType}`,
          retentionInDays: logRetentionDays,
          kmsKeyId: encryptionKey.keyArn,
        }),
    );

    const zones = location.availabilityZones;
    this.replicationGroup = new ElasticacheReplicationGroup(this, 'replication-group', {
      replicationGroupId: groupId,
      description: `Cache and order-event streams of ${location.id}`,
      engine: ENGINE,
      engineVersion: ENGINE_VERSION,
      nodeType,
      numCacheClusters: nodeCount,
      // First entry is the primary's zone; the rest spread the replicas round-robin.
      preferredCacheClusterAzs: this.memberClusterIds.map((_, i) => zones[i % zones.length]!),
      port: REDIS_PORT,
      parameterGroupName: this.parameterGroup.name,
      subnetGroupName: subnetGroup.name,
      securityGroupIds: [this.securityGroup.id],
      automaticFailoverEnabled: true,
      multiAzEnabled: true,
      atRestEncryptionEnabled: 'true',
      kmsKeyId: encryptionKey.keyArn,
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      userGroupIds: [this.userGroup.userGroupId],
      autoMinorVersionUpgrade: 'true',
      snapshotRetentionLimit: snapshotRetentionDays,
      snapshotWindow,
      maintenanceWindow,
      // A node type or engine version change waits for the maintenance window unless the
      // location chose `immediately`; replica count changes are immediate either way.
      applyImmediately: location.applyChanges.redis === 'immediately',
      finalSnapshotIdentifier: `${groupId}-final`,
      logDeliveryConfiguration: logGroups.map((logGroup, i) => ({
        destination: logGroup.name,
        destinationType: 'cloudwatch-logs',
        logFormat: 'json',
        logType: LOG_TYPES[i]!,
      })),
    });

    this.primaryHost = this.replicationGroup.primaryEndpointAddress;
    this.readerHost = this.replicationGroup.readerEndpointAddress;
  }

  /** Admits Redis connections from a security group; `peerName` names the rule's construct. */
  allowFrom(peerName: string, securityGroupId: string): VpcSecurityGroupIngressRule {
    if (!PEER_NAME_PATTERN.test(peerName)) {
      throw new Error(`peerName must be 1-31 lowercase letters, digits and hyphens, got "${peerName}" (location "${this.location.id}")`);
    }
    return new VpcSecurityGroupIngressRule(this, `ingress-from-${peerName}`, {
      securityGroupId: this.securityGroup.id,
      referencedSecurityGroupId: securityGroupId,
      ipProtocol: 'tcp',
      fromPort: REDIS_PORT,
      toPort: REDIS_PORT,
      description: `Redis from ${peerName}`,
    });
  }

  /**
   * Lets a role connect as the app user with IAM auth: `elasticache:Connect` needs both the
   * replication group and the user as resources.
   */
  grantConnect(role: IamRole): IamRolePolicy {
    return new IamRolePolicy(this, `grant-connect-${role.node.id}`, {
      role: role.name,
      name: 'redis-connect',
      policy: policyDocument([
        {
          Sid: 'ConnectAsAppUser',
          Effect: 'Allow',
          Action: 'elasticache:Connect',
          Resource: [this.replicationGroup.arn, this.appUser.arn],
        },
      ]),
    });
  }
}
