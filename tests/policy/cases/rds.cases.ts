import { adding, compliantDataStack, edit, resource, without } from '../support/fixtures';
import type { FailingCase, PassingCase } from './failing-case';

const stack = compliantDataStack;
const PRIMARY = 'aws_db_instance.primary';
const REPLICA = 'aws_db_instance.replica';

export const RDS_CASES: FailingCase[] = [
  {
    rule: 'RDS-001',
    when: 'the primary sets storage_encrypted = false',
    input: edit(stack(), PRIMARY, (v) => ({ ...v, storage_encrypted: false })),
    messages: [`${PRIMARY}: storage_encrypted is false; RDS storage must be encrypted (set storage_encrypted = true with a KMS key)`],
  },
  {
    rule: 'RDS-001',
    when: 'the primary leaves storage_encrypted unset (provider default false)',
    input: edit(stack(), PRIMARY, ({ storage_encrypted: _, ...v }) => v),
    messages: [`${PRIMARY}: storage_encrypted is not set (defaults to false); RDS storage must be encrypted (set storage_encrypted = true with a KMS key)`],
  },
  {
    rule: 'RDS-001',
    when: 'a replica of a source outside the stack does not encrypt',
    input: edit(stack(), REPLICA, (v) => ({ ...v, replicate_source_db: 'arn:aws:rds:eu-west-2:111111111111:db:elsewhere' })),
    messages: [`${REPLICA}: storage_encrypted is not set (defaults to false); RDS storage must be encrypted (set storage_encrypted = true with a KMS key)`],
  },
  {
    rule: 'RDS-002',
    when: 'an instance is publicly accessible',
    input: edit(stack(), REPLICA, (v) => ({ ...v, publicly_accessible: true })),
    messages: [`${REPLICA}: publicly_accessible is true; databases must be reachable only from inside the VPC (set publicly_accessible = false)`],
  },
  {
    rule: 'RDS-003',
    when: 'the primary is single-AZ',
    input: edit(stack(), PRIMARY, ({ multi_az: _, ...v }) => v),
    messages: [`${PRIMARY}: multi_az is not set (defaults to false); a primary must keep a standby in a second availability zone (set multi_az = true)`],
  },
  {
    rule: 'RDS-004',
    when: 'the primary has no deletion protection',
    input: edit(stack(), PRIMARY, (v) => ({ ...v, deletion_protection: false })),
    messages: [`${PRIMARY}: deletion_protection is false; a primary must not be deletable by one apply (set deletion_protection = true)`],
  },
  {
    rule: 'RDS-005',
    when: 'the primary keeps backups for 3 days',
    input: edit(stack(), PRIMARY, (v) => ({ ...v, backup_retention_period: 3 })),
    messages: [`${PRIMARY}: backup_retention_period is 3; a primary must keep backups for at least 7 days`],
  },
  {
    rule: 'RDS-005',
    when: 'the primary leaves backup_retention_period unset (AWS default 1 day)',
    input: edit(stack(), PRIMARY, ({ backup_retention_period: _, ...v }) => v),
    messages: [`${PRIMARY}: backup_retention_period is not set (defaults to 1 day); a primary must keep backups for at least 7 days`],
  },
  {
    rule: 'RDS-006',
    when: 'Enhanced Monitoring is off',
    input: edit(stack(), REPLICA, ({ monitoring_interval: _, ...v }) => v),
    messages: [`${REPLICA}: monitoring_interval is not set (defaults to 0); set it to one of 1, 5, 10, 15, 30, 60 seconds for OS-level metrics`],
  },
  {
    rule: 'RDS-006',
    when: 'Enhanced Monitoring has no role',
    input: edit(stack(), PRIMARY, ({ monitoring_role_arn: _, ...v }) => v),
    messages: [`${PRIMARY}: monitoring_role_arn is not set; Enhanced Monitoring needs a role RDS can assume to publish metrics`],
  },
  {
    rule: 'RDS-007',
    when: 'Performance Insights is off',
    input: edit(stack(), PRIMARY, (v) => ({ ...v, performance_insights_enabled: false })),
    messages: [`${PRIMARY}: performance_insights_enabled is false; slow queries must be diagnosable (set performance_insights_enabled = true)`],
  },
  {
    rule: 'RDS-008',
    when: 'Performance Insights uses the AWS-managed key',
    input: edit(stack(), REPLICA, ({ performance_insights_kms_key_id: _, ...v }) => v),
    messages: [`${REPLICA}: performance_insights_kms_key_id is not set (AWS-managed key); set it to the location's customer-managed KMS key`],
  },
  {
    rule: 'RDS-009',
    when: 'IAM database authentication is off',
    input: edit(stack(), PRIMARY, (v) => ({ ...v, iam_database_authentication_enabled: false })),
    messages: [`${PRIMARY}: iam_database_authentication_enabled is false; the app signs in with IAM tokens, not stored passwords (set it to true)`],
  },
  {
    rule: 'RDS-010',
    when: 'a PostgreSQL replica (engine from its source) does not export upgrade logs',
    input: edit(stack(), REPLICA, (v) => ({ ...v, enabled_cloudwatch_logs_exports: ['postgresql'] })),
    messages: [`${REPLICA}: enabled_cloudwatch_logs_exports is ["postgresql"]; export postgresql, upgrade to CloudWatch Logs (missing: upgrade)`],
  },
  {
    rule: 'RDS-010',
    when: 'an instance exports no logs',
    input: edit(stack(), PRIMARY, ({ enabled_cloudwatch_logs_exports: _, ...v }) => v),
    messages: [`${PRIMARY}: enabled_cloudwatch_logs_exports is not set; export postgresql, upgrade to CloudWatch Logs (missing: postgresql, upgrade)`],
  },
  {
    rule: 'RDS-011',
    when: 'minor upgrades are turned off',
    input: edit(stack(), PRIMARY, (v) => ({ ...v, auto_minor_version_upgrade: false })),
    messages: [`${PRIMARY}: auto_minor_version_upgrade is false; security patches must arrive in the maintenance window (set it to true)`],
  },
  {
    rule: 'RDS-012',
    when: 'snapshots do not get the tags',
    input: edit(stack(), PRIMARY, ({ copy_tags_to_snapshot: _, ...v }) => v),
    messages: [`${PRIMARY}: copy_tags_to_snapshot is not set (defaults to false); snapshots must carry the cost-allocation tags (set copy_tags_to_snapshot = true)`],
  },
  {
    rule: 'RDS-013',
    when: 'the parameter group does not force TLS',
    input: edit(stack(), 'aws_db_parameter_group.postgres', (v) => ({
      ...v,
      parameter: [{ name: 'log_min_duration_statement', value: '250', apply_method: 'immediate' }],
    })),
    messages: [PRIMARY, REPLICA].map(
      (a) => `${a}: parameter group aws_db_parameter_group.postgres does not set rds.force_ssl; it must be 1 so clients cannot connect without TLS`,
    ),
  },
  {
    rule: 'RDS-013',
    when: 'the primary uses the engine default parameter group',
    input: edit(stack(), PRIMARY, ({ parameter_group_name: _, ...v }) => v),
    messages: [`${PRIMARY}: parameter_group_name is not set (engine default group); use a parameter group of this stack that sets rds.force_ssl = 1`],
  },
  {
    rule: 'RDS-013',
    when: 'the replica names a parameter group that is not in the stack',
    input: edit(stack(), REPLICA, (v) => ({ ...v, parameter_group_name: 'default.postgres16' })),
    messages: [`${REPLICA}: parameter_group_name "default.postgres16" names no aws_db_parameter_group of this stack; use one that sets rds.force_ssl = 1`],
  },
  {
    rule: 'RDS-014',
    when: 'the primary skips its final snapshot',
    input: edit(stack(), PRIMARY, (v) => ({ ...v, skip_final_snapshot: true })),
    messages: [`${PRIMARY}: skip_final_snapshot is true; destroying the primary must leave a final snapshot (set skip_final_snapshot = false)`],
  },
  {
    rule: 'RDS-014',
    when: 'the primary names no final snapshot',
    input: edit(stack(), PRIMARY, ({ final_snapshot_identifier: _, ...v }) => v),
    messages: [`${PRIMARY}: final_snapshot_identifier is not set; name the final snapshot taken when the primary is destroyed`],
  },
  {
    rule: 'RDS-015',
    when: 'a replica of an autoscaling primary does not autoscale (the issue 12 bug)',
    input: edit(stack(), REPLICA, ({ max_allocated_storage: _, ...v }) => v),
    messages: [
      `${REPLICA}: max_allocated_storage is not set (defaults to 0, no storage autoscaling); its source ${PRIMARY} grows up to 200 GiB and a replica does not follow its source's autoscaling, so it would fill up first: set max_allocated_storage to at least 200`,
    ],
  },
  {
    rule: 'RDS-015',
    when: 'a replica autoscales to less than its primary',
    input: edit(stack(), REPLICA, (v) => ({ ...v, max_allocated_storage: 100 })),
    messages: [
      `${REPLICA}: max_allocated_storage is 100; its source ${PRIMARY} grows up to 200 GiB and a replica does not follow its source's autoscaling, so it would fill up first: set max_allocated_storage to at least 200`,
    ],
  },
  {
    rule: 'RDS-015',
    when: 'a replica turns autoscaling off with 0',
    input: edit(stack(), REPLICA, (v) => ({ ...v, max_allocated_storage: 0 })),
    messages: [
      `${REPLICA}: max_allocated_storage is 0 (no storage autoscaling); its source ${PRIMARY} grows up to 200 GiB and a replica does not follow its source's autoscaling, so it would fill up first: set max_allocated_storage to at least 200`,
    ],
  },
  {
    rule: 'RDS-015',
    when: 'a replica of a source outside the stack does not autoscale',
    input: edit(stack(), REPLICA, ({ max_allocated_storage: _, ...v }) => ({ ...v, replicate_source_db: 'arn:aws:rds:eu-west-2:111111111111:db:elsewhere', storage_encrypted: true })),
    messages: [
      `${REPLICA}: max_allocated_storage is not set (defaults to 0, no storage autoscaling); its source is outside this stack, so how far the source grows is unknown here: set max_allocated_storage so the replica can grow with it`,
    ],
  },
];

/** Stacks every RDS rule must accept although they look suspicious. */
export const RDS_PASSING: PassingCase[] = [
  { when: 'a MySQL primary that exports its own logs instead of PostgreSQL\'s', input: edit(stack(), PRIMARY, (v) => ({ ...v, engine: 'mysql', enabled_cloudwatch_logs_exports: ['error'] })) },
  {
    when: 'a replica of a primary that does not autoscale, itself without autoscaling (neither outgrows the other)',
    input: edit(edit(stack(), PRIMARY, ({ max_allocated_storage: _, ...v }) => v), REPLICA, ({ max_allocated_storage: _, ...v }) => v),
  },
  {
    when: 'a replica that autoscales beyond its primary',
    input: edit(stack(), REPLICA, (v) => ({ ...v, max_allocated_storage: 400 })),
  },
  {
    when: 'a stack without replicas',
    input: without(stack(), REPLICA),
  },
  {
    when: 'a replica that names a second parameter group of the stack literally',
    input: adding(
      edit(stack(), REPLICA, (v) => ({ ...v, parameter_group_name: 'testville-replica16' })),
      resource('aws_db_parameter_group.replica', { family: 'postgres16', name: 'testville-replica16', parameter: { name: 'rds.force_ssl', value: 1 } }),
    ),
  },
];
