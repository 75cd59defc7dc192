import { compliantDataStack, edit } from '../support/fixtures';
import type { FailingCase, PassingCase } from './failing-case';

const stack = compliantDataStack;
const REDIS = 'aws_elasticache_replication_group.redis';

export const ELASTICACHE_CASES: FailingCase[] = [
  {
    rule: 'ECACHE-001',
    when: 'at-rest encryption is "false"',
    input: edit(stack(), REDIS, (v) => ({ ...v, at_rest_encryption_enabled: 'false' })),
    messages: [`${REDIS}: at_rest_encryption_enabled is "false"; cached orders must be encrypted at rest (set it to true)`],
  },
  {
    rule: 'ECACHE-001',
    when: 'a Redis group leaves at-rest encryption unset (Redis default false)',
    input: edit(stack(), REDIS, ({ at_rest_encryption_enabled: _, kms_key_id: __, ...v }) => v),
    messages: [`${REDIS}: at_rest_encryption_enabled is not set (defaults to false for redis); cached orders must be encrypted at rest (set it to true)`],
  },
  {
    rule: 'ECACHE-002',
    when: 'TLS is off',
    input: edit(stack(), REDIS, ({ transit_encryption_enabled: _, transit_encryption_mode: __, ...v }) => v),
    messages: [`${REDIS}: transit_encryption_enabled is not set (defaults to false); clients must connect with TLS (set it to true)`],
  },
  {
    rule: 'ECACHE-002',
    when: 'TLS is only preferred',
    input: edit(stack(), REDIS, (v) => ({ ...v, transit_encryption_mode: 'preferred' })),
    messages: [`${REDIS}: transit_encryption_mode is "preferred"; it still accepts plaintext connections (set it to "required")`],
  },
  {
    rule: 'ECACHE-003',
    when: 'neither a user group nor an AUTH token is attached',
    input: edit(stack(), REDIS, ({ user_group_ids: _, ...v }) => v),
    messages: [`${REDIS}: neither user_group_ids nor auth_token is set; clients must authenticate (attach an RBAC user group)`],
  },
  {
    rule: 'ECACHE-004',
    when: 'automatic failover is off',
    input: edit(stack(), REDIS, ({ automatic_failover_enabled: _, ...v }) => ({ ...v, multi_az_enabled: false })),
    messages: [
      `${REDIS}: automatic_failover_enabled is not set (defaults to false), multi_az_enabled is false; a replica in another zone must take over when the primary fails (set both to true)`,
    ],
  },
  {
    rule: 'ECACHE-005',
    when: 'no snapshots are kept',
    input: edit(stack(), REDIS, ({ snapshot_retention_limit: _, ...v }) => v),
    messages: [`${REDIS}: snapshot_retention_limit is not set (defaults to 0); keep at least 1 daily snapshot`],
  },
  {
    rule: 'ECACHE-006',
    when: 'at-rest encryption uses the AWS-owned key',
    input: edit(stack(), REDIS, ({ kms_key_id: _, ...v }) => v),
    messages: [`${REDIS}: kms_key_id is not set (AWS-owned key); set it to the location's customer-managed KMS key`],
  },
  {
    rule: 'ECACHE-007',
    when: 'the replacement default user is enabled',
    input: edit(stack(), 'aws_elasticache_user.default', (v) => ({ ...v, access_string: 'on ~* +@all' })),
    messages: [
      'aws_elasticache_user.default: user "default" has access string "on ~* +@all"; the default user must be disabled (start its access string with "off")',
    ],
  },
  {
    rule: 'ECACHE-007',
    when: "a user group lists AWS's built-in default user",
    input: edit(stack(), 'aws_elasticache_user_group.users', (v) => ({ ...v, user_ids: ['default', '${aws_elasticache_user.app.user_id}'] })),
    messages: [
      'aws_elasticache_user_group.users: user_ids lists AWS\'s built-in user "default", which allows every command without a password; add a disabled default user of your own instead',
    ],
  },
  {
    rule: 'ECACHE-008',
    when: 'engine logs are not delivered',
    input: edit(stack(), REDIS, (v) => ({ ...v, log_delivery_configuration: (v.log_delivery_configuration as object[]).slice(0, 1) })),
    messages: [`${REDIS}: log_delivery_configuration lacks engine-log; deliver slow-log, engine-log to CloudWatch Logs`],
  },
];

export const ELASTICACHE_PASSING: PassingCase[] = [
  {
    when: 'a Valkey group that leaves at-rest encryption unset (Valkey default true)',
    input: edit(stack(), REDIS, ({ at_rest_encryption_enabled: _, ...v }) => ({ ...v, engine: 'valkey' })),
  },
  {
    when: 'a group that authenticates with a Redis AUTH token instead of RBAC',
    input: edit(stack(), REDIS, ({ user_group_ids: _, ...v }) => ({ ...v, auth_token: 'token-from-secrets-manager-000000' })),
  },
];
