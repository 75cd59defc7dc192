/**
 * ElastiCache for Redis/Valkey replication groups (`aws_elasticache_replication_group`) and their
 * RBAC users. Standalone `aws_elasticache_cluster` Redis nodes are not covered: they cannot encrypt
 * or fail over, and the platform does not use them. Some boolean attributes of this resource are
 * strings in provider 5.x (`at_rest_encryption_enabled = "true"`); `isTrue` reads both.
 */
import type { PolicyRule } from '../policy-types';
import {
  AWS_STACKS,
  blocks,
  designatedResource,
  eachResource,
  effectiveValues,
  isSet,
  isTrue,
  listed,
  ofType,
  shown,
  stringList,
  toNumber,
  unknownWithoutConfiguration,
  violation,
} from './helpers';

const REPLICATION_GROUP = ['aws_elasticache_replication_group'];
const REQUIRED_LOG_TYPES = ['slow-log', 'engine-log'];

const isValkey = (values: Readonly<Record<string, unknown>>) => values.engine === 'valkey';

/** A user whose access string does not turn it `off`. */
const isEnabled = (values: Readonly<Record<string, unknown>>) =>
  !(typeof values.access_string === 'string' ? values.access_string : '').split(/\s+/).includes('off');

export const ELASTICACHE_RULES: readonly PolicyRule[] = [
  {
    id: 'ECACHE-001',
    title: 'ElastiCache replication groups encrypt data at rest',
    checkov: 'CKV_AWS_29',
    trivy: 'AVD-AWS-0045',
    appliesTo: AWS_STACKS,
    // Absent means false for Redis and true for Valkey (provider default). Without configuration,
    // an unknown value is not judged.
    evaluate: eachResource(REPLICATION_GROUP, (resource, values) => {
      if (isTrue(values.at_rest_encryption_enabled)) return undefined;
      if (values.at_rest_encryption_enabled === undefined && (isValkey(values) || unknownWithoutConfiguration(resource, 'at_rest_encryption_enabled'))) return undefined;
      return `at_rest_encryption_enabled is ${shown(values.at_rest_encryption_enabled, 'false for redis')}; cached orders must be encrypted at rest (set it to true)`;
    }),
  },
  {
    id: 'ECACHE-002',
    title: 'ElastiCache replication groups require TLS in transit',
    checkov: 'CKV_AWS_30',
    trivy: 'AVD-AWS-0051',
    appliesTo: AWS_STACKS,
    // transit_encryption_enabled absent means false. transit_encryption_mode absent means
    // "required" once encryption is on; "preferred" still accepts plaintext clients.
    evaluate: eachResource(REPLICATION_GROUP, (_r, values) => {
      if (!isTrue(values.transit_encryption_enabled)) {
        return `transit_encryption_enabled is ${shown(values.transit_encryption_enabled, 'false')}; clients must connect with TLS (set it to true)`;
      }
      if (values.transit_encryption_mode === 'preferred') {
        return 'transit_encryption_mode is "preferred"; it still accepts plaintext connections (set it to "required")';
      }
      return undefined;
    }),
  },
  {
    id: 'ECACHE-003',
    title: 'ElastiCache replication groups require authentication',
    checkov: 'CKV_AWS_31',
    appliesTo: AWS_STACKS,
    // Either RBAC (`user_group_ids`) or a Redis AUTH token. Both absent means anyone who reaches
    // the port may run commands.
    evaluate: eachResource(REPLICATION_GROUP, (_r, values) => {
      if (stringList(values.user_group_ids).length > 0 || isSet(values.auth_token) || isSet(values.auth_token_wo)) return undefined;
      return 'neither user_group_ids nor auth_token is set; clients must authenticate (attach an RBAC user group)';
    }),
  },
  {
    id: 'ECACHE-004',
    title: 'ElastiCache replication groups fail over automatically across availability zones',
    checkov: 'CKV2_AWS_50',
    appliesTo: AWS_STACKS,
    // Both absent mean false (provider default).
    evaluate: eachResource(REPLICATION_GROUP, (_r, values) => {
      const missing = (['automatic_failover_enabled', 'multi_az_enabled'] as const).filter((a) => !isTrue(values[a]));
      if (missing.length === 0) return undefined;
      return `${missing.map((a) => `${a} is ${shown(values[a], 'false')}`).join(', ')}; a replica in another zone must take over when the primary fails (set both to true)`;
    }),
  },
  {
    id: 'ECACHE-005',
    title: 'ElastiCache replication groups keep daily snapshots',
    checkov: 'CKV_AWS_134',
    trivy: 'AVD-AWS-0050',
    appliesTo: AWS_STACKS,
    // Absent means 0 (no snapshots). Order-event streams live in Redis: a snapshot bounds the loss.
    evaluate: eachResource(REPLICATION_GROUP, (_r, values) => {
      const days = toNumber(values.snapshot_retention_limit);
      return days !== undefined && days >= 1
        ? undefined
        : `snapshot_retention_limit is ${shown(values.snapshot_retention_limit, '0')}; keep at least 1 daily snapshot`;
    }),
  },
  {
    id: 'ECACHE-006',
    title: 'ElastiCache data at rest is encrypted with a customer-managed KMS key',
    checkov: 'CKV_AWS_191',
    appliesTo: AWS_STACKS,
    // kms_key_id is a reference, unknown at plan time: its configured expression counts as set.
    // Absent means the AWS-owned key. Applies where at-rest encryption is on (ECACHE-001).
    evaluate: eachResource(REPLICATION_GROUP, (resource, values) => {
      if (!isTrue(values.at_rest_encryption_enabled) && !isValkey(values)) return undefined;
      if (isSet(values.kms_key_id) || unknownWithoutConfiguration(resource, 'kms_key_id')) return undefined;
      return 'kms_key_id is not set (AWS-owned key); set it to the location\'s customer-managed KMS key';
    }),
  },
  {
    id: 'ECACHE-007',
    title: 'ElastiCache RBAC: the default user is disabled',
    appliesTo: AWS_STACKS,
    // Every user group must contain a user named "default" (AWS requires one). AWS's built-in
    // user `default` allows everything without a password, so a group must not list it; a
    // replacement default user of this stack must be disabled (`off` in its access string).
    evaluate: (input) => {
      const users = ofType(input, 'aws_elasticache_user');
      const openDefaults = users.filter((u) => {
        const values = effectiveValues(u);
        return values.user_name === 'default' && isEnabled(values);
      });
      return [
        ...openDefaults.map((u) =>
          violation(u, `user "default" has access string ${shown(effectiveValues(u).access_string)}; the default user must be disabled (start its access string with "off")`),
        ),
        ...ofType(input, 'aws_elasticache_user_group').flatMap((group) =>
          stringList(effectiveValues(group).user_ids)
            .filter((id) => id === 'default' && !designatedResource(input, id, ['aws_elasticache_user'], 'user_id'))
            .map(() =>
              violation(group, 'user_ids lists AWS\'s built-in user "default", which allows every command without a password; add a disabled default user of your own instead'),
            ),
        ),
      ];
    },
  },
  {
    id: 'ECACHE-008',
    title: 'ElastiCache replication groups deliver slow and engine logs',
    appliesTo: AWS_STACKS,
    // Absent means no log delivery.
    evaluate: eachResource(REPLICATION_GROUP, (_r, values) => {
      const delivered = blocks(values.log_delivery_configuration)
        .filter((c) => isSet(c.destination))
        .map((c) => c.log_type);
      const missing = REQUIRED_LOG_TYPES.filter((t) => !delivered.includes(t));
      if (missing.length === 0) return undefined;
      return `log_delivery_configuration lacks ${listed(missing)}; deliver ${listed(REQUIRED_LOG_TYPES)} to CloudWatch Logs`;
    }),
  },
];
