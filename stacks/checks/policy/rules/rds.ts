/**
 * RDS instances (`aws_db_instance`). Read replicas differ from primaries in what they can set:
 * AWS derives a replica's storage encryption from its source, and replicas take no backups and are
 * recreated from the primary, so backup, deletion-protection, Multi-AZ and final-snapshot rules
 * apply to primaries only (trivy's RDS checks make the same exemption).
 *
 * A replica is an instance whose `replicate_source_db` is set, or unknown at plan time (a source
 * in the same stack: its ARN is computed).
 */
import type { PolicyInput, PolicyResource, PolicyRule } from '../policy-types';
import {
  AWS_STACKS,
  blocks,
  designatedResource,
  eachResource,
  effectiveValues,
  isExpression,
  isFalse,
  isSet,
  isTrue,
  listed,
  shown,
  stringList,
  toNumber,
  unknownWithoutConfiguration,
} from './helpers';

const DB_INSTANCE = ['aws_db_instance'];
/** Days of point-in-time recovery a restaurant's orders need: a week covers a holiday closure. */
export const MIN_BACKUP_RETENTION_DAYS = 7;
/** Enhanced Monitoring intervals RDS accepts, in seconds (0 turns it off). */
const MONITORING_INTERVALS_S = [1, 5, 10, 15, 30, 60];

function isReplica(resource: PolicyResource, values: Readonly<Record<string, unknown>>): boolean {
  return isSet(values.replicate_source_db) || resource.unknown.has('replicate_source_db');
}

/** The in-stack instance a replica replicates, when its source is in the stack. */
function sourceInstance(input: PolicyInput, values: Readonly<Record<string, unknown>>): PolicyResource | undefined {
  return designatedResource(input, values.replicate_source_db, DB_INSTANCE, 'identifier');
}

/** The engine, or for a replica (whose engine a plan leaves unknown) its in-stack source's engine. */
function engineOf(input: PolicyInput, values: Readonly<Record<string, unknown>>): string | undefined {
  if (typeof values.engine === 'string' && !isExpression(values.engine)) return values.engine;
  const source = sourceInstance(input, values);
  const sourceEngine = source ? effectiveValues(source).engine : undefined;
  return typeof sourceEngine === 'string' ? sourceEngine : undefined;
}

/**
 * The most storage an instance can reach, in GiB: its autoscaling ceiling, or its allocation when
 * it does not autoscale (`max_allocated_storage` absent or 0, the provider's "off").
 */
function storageCeilingGiB(values: Readonly<Record<string, unknown>>): number | undefined {
  const ceiling = toNumber(values.max_allocated_storage);
  return ceiling !== undefined && ceiling > 0 ? ceiling : toNumber(values.allocated_storage);
}

/** Runs `check` on primaries only. */
const eachPrimary = (check: (values: Readonly<Record<string, unknown>>, resource: PolicyResource) => string | undefined) =>
  eachResource(DB_INSTANCE, (resource, values) => (isReplica(resource, values) ? undefined : check(values, resource)));

export const RDS_RULES: readonly PolicyRule[] = [
  {
    id: 'RDS-001',
    title: 'RDS storage is encrypted at rest',
    checkov: 'CKV_AWS_16',
    trivy: 'AVD-AWS-0080',
    appliesTo: AWS_STACKS,
    // A replica of an in-stack source inherits the source's encryption (AWS ignores its own
    // storage_encrypted), and the source is checked; a replica of a source outside the stack
    // (another stack, another region) must say so itself.
    evaluate: eachResource(DB_INSTANCE, (resource, values, input) => {
      if (isReplica(resource, values) && (resource.unknown.has('replicate_source_db') || sourceInstance(input, values))) return undefined;
      if (isTrue(values.storage_encrypted)) return undefined;
      return `storage_encrypted is ${shown(values.storage_encrypted, 'false')}; RDS storage must be encrypted (set storage_encrypted = true with a KMS key)`;
    }),
  },
  {
    id: 'RDS-002',
    title: 'RDS instances are not publicly accessible',
    checkov: 'CKV_AWS_17',
    trivy: 'AVD-AWS-0180',
    appliesTo: AWS_STACKS,
    // Absent means false (provider default).
    evaluate: eachResource(DB_INSTANCE, (_r, values) =>
      isTrue(values.publicly_accessible)
        ? 'publicly_accessible is true; databases must be reachable only from inside the VPC (set publicly_accessible = false)'
        : undefined,
    ),
  },
  {
    id: 'RDS-003',
    title: 'RDS primaries are Multi-AZ',
    checkov: 'CKV_AWS_157',
    appliesTo: AWS_STACKS,
    // Absent means false (provider default). Replicas are exempt: they add read capacity in other
    // zones, and the primary's standby is what keeps orders writable through a zone outage.
    evaluate: eachPrimary((values) =>
      isTrue(values.multi_az)
        ? undefined
        : `multi_az is ${shown(values.multi_az, 'false')}; a primary must keep a standby in a second availability zone (set multi_az = true)`,
    ),
  },
  {
    id: 'RDS-004',
    title: 'RDS primaries have deletion protection',
    checkov: 'CKV_AWS_293',
    trivy: 'AVD-AWS-0177',
    appliesTo: AWS_STACKS,
    // Absent means false (provider default). Replicas are exempt: removing one when a location
    // shrinks must not need two applies, and a replica holds no data the primary lacks.
    evaluate: eachPrimary((values) =>
      isTrue(values.deletion_protection)
        ? undefined
        : `deletion_protection is ${shown(values.deletion_protection, 'false')}; a primary must not be deletable by one apply (set deletion_protection = true)`,
    ),
  },
  {
    id: 'RDS-005',
    title: `RDS primaries keep automated backups for at least ${MIN_BACKUP_RETENTION_DAYS} days`,
    checkov: 'CKV_AWS_133',
    trivy: 'AVD-AWS-0077',
    appliesTo: AWS_STACKS,
    // Absent means AWS's default of 1 day (a plan leaves it unknown; with configuration at hand
    // that reads as absent). Without configuration an unknown value is not judged.
    evaluate: eachPrimary((values, resource) => {
      if (unknownWithoutConfiguration(resource, 'backup_retention_period')) return undefined;
      const days = toNumber(values.backup_retention_period);
      if (days !== undefined && days >= MIN_BACKUP_RETENTION_DAYS) return undefined;
      return `backup_retention_period is ${shown(values.backup_retention_period, '1 day')}; a primary must keep backups for at least ${MIN_BACKUP_RETENTION_DAYS} days`;
    }),
  },
  {
    id: 'RDS-006',
    title: 'RDS instances have Enhanced Monitoring',
    checkov: 'CKV_AWS_118',
    appliesTo: AWS_STACKS,
    // monitoring_interval absent means 0 (off). monitoring_role_arn is a reference to a role and
    // so unknown at plan time; its configured expression counts as set.
    evaluate: eachResource(DB_INSTANCE, (resource, values) => {
      const interval = toNumber(values.monitoring_interval);
      if (interval === undefined || !MONITORING_INTERVALS_S.includes(interval)) {
        return `monitoring_interval is ${shown(values.monitoring_interval, '0')}; set it to one of ${MONITORING_INTERVALS_S.join(', ')} seconds for OS-level metrics`;
      }
      if (!isSet(values.monitoring_role_arn) && !unknownWithoutConfiguration(resource, 'monitoring_role_arn')) {
        return 'monitoring_role_arn is not set; Enhanced Monitoring needs a role RDS can assume to publish metrics';
      }
      return undefined;
    }),
  },
  {
    id: 'RDS-007',
    title: 'RDS instances have Performance Insights',
    checkov: 'CKV_AWS_353',
    trivy: 'AVD-AWS-0133',
    appliesTo: AWS_STACKS,
    // Absent means false (provider default).
    evaluate: eachResource(DB_INSTANCE, (_r, values) =>
      isTrue(values.performance_insights_enabled)
        ? undefined
        : `performance_insights_enabled is ${shown(values.performance_insights_enabled, 'false')}; slow queries must be diagnosable (set performance_insights_enabled = true)`,
    ),
  },
  {
    id: 'RDS-008',
    title: 'RDS Performance Insights data is encrypted with a customer-managed KMS key',
    checkov: 'CKV_AWS_354',
    trivy: 'AVD-AWS-0078',
    appliesTo: AWS_STACKS,
    // Applies where Performance Insights is on. Unset means the AWS-managed key: a plan leaves the
    // key unknown either way, so the configuration decides; without it the value is not judged.
    evaluate: eachResource(DB_INSTANCE, (resource, values) => {
      if (!isTrue(values.performance_insights_enabled)) return undefined;
      if (isSet(values.performance_insights_kms_key_id) || unknownWithoutConfiguration(resource, 'performance_insights_kms_key_id')) return undefined;
      return 'performance_insights_kms_key_id is not set (AWS-managed key); set it to the location\'s customer-managed KMS key';
    }),
  },
  {
    id: 'RDS-009',
    title: 'RDS instances accept IAM database authentication',
    checkov: 'CKV_AWS_161',
    trivy: 'AVD-AWS-0176',
    appliesTo: AWS_STACKS,
    // Absent means false. Applies to engines that support it (PostgreSQL, MySQL, MariaDB) and to
    // replicas whose engine is unknown at plan time.
    evaluate: eachResource(DB_INSTANCE, (_r, values, input) => {
      const engine = engineOf(input, values);
      if (engine !== undefined && !['postgres', 'mysql', 'mariadb'].includes(engine)) return undefined;
      return isTrue(values.iam_database_authentication_enabled)
        ? undefined
        : `iam_database_authentication_enabled is ${shown(values.iam_database_authentication_enabled, 'false')}; the app signs in with IAM tokens, not stored passwords (set it to true)`;
    }),
  },
  {
    id: 'RDS-010',
    title: 'RDS instances export their logs to CloudWatch',
    checkov: 'CKV_AWS_129',
    appliesTo: AWS_STACKS,
    // PostgreSQL (a replica's engine comes from its in-stack source) must export `postgresql` and
    // `upgrade`; other engines at least one log. Absent means none.
    evaluate: eachResource(DB_INSTANCE, (_r, values, input) => {
      const exported = stringList(values.enabled_cloudwatch_logs_exports);
      const required = engineOf(input, values) === 'postgres' ? ['postgresql', 'upgrade'] : [];
      const missing = required.filter((log) => !exported.includes(log));
      if (exported.length > 0 && missing.length === 0) return undefined;
      const wanted = required.length > 0 ? listed(required) : "the engine's logs";
      const lacking = missing.length > 0 ? ` (missing: ${listed(missing)})` : '';
      return `enabled_cloudwatch_logs_exports is ${shown(values.enabled_cloudwatch_logs_exports)}; export ${wanted} to CloudWatch Logs${lacking}`;
    }),
  },
  {
    id: 'RDS-011',
    title: 'RDS instances take minor engine upgrades automatically',
    checkov: 'CKV_AWS_226',
    appliesTo: AWS_STACKS,
    // Absent means true (provider default).
    evaluate: eachResource(DB_INSTANCE, (_r, values) =>
      isFalse(values.auto_minor_version_upgrade)
        ? 'auto_minor_version_upgrade is false; security patches must arrive in the maintenance window (set it to true)'
        : undefined,
    ),
  },
  {
    id: 'RDS-012',
    title: 'RDS instances copy their tags to snapshots',
    checkov: 'CKV2_AWS_60',
    appliesTo: AWS_STACKS,
    // Absent means false (provider default). Snapshots must carry the cost-allocation tags.
    evaluate: eachResource(DB_INSTANCE, (_r, values) =>
      isTrue(values.copy_tags_to_snapshot)
        ? undefined
        : `copy_tags_to_snapshot is ${shown(values.copy_tags_to_snapshot, 'false')}; snapshots must carry the cost-allocation tags (set copy_tags_to_snapshot = true)`,
    ),
  },
  {
    id: 'RDS-013',
    title: 'RDS PostgreSQL refuses unencrypted connections (rds.force_ssl = 1)',
    checkov: 'CKV2_AWS_69',
    appliesTo: AWS_STACKS,
    // The setting lives in the instance's parameter group: `parameter_group_name` must name (by
    // reference, or by the literal name a plan resolves it to) an aws_db_parameter_group of this
    // stack whose parameters set rds.force_ssl = 1. Absent means the engine's default group, whose
    // value this stack does not control. Applies to PostgreSQL instances and replicas of them.
    evaluate: eachResource(DB_INSTANCE, (resource, values, input) => {
      const engine = engineOf(input, values);
      if (engine !== undefined && engine !== 'postgres') return undefined;
      if (unknownWithoutConfiguration(resource, 'parameter_group_name')) return undefined;
      if (!isSet(values.parameter_group_name)) {
        return 'parameter_group_name is not set (engine default group); use a parameter group of this stack that sets rds.force_ssl = 1';
      }
      const group = designatedResource(input, values.parameter_group_name, ['aws_db_parameter_group'], 'name');
      if (!group) {
        return `parameter_group_name ${shown(values.parameter_group_name)} names no aws_db_parameter_group of this stack; use one that sets rds.force_ssl = 1`;
      }
      const forceSsl = blocks(effectiveValues(group).parameter).find((p) => p.name === 'rds.force_ssl');
      if (forceSsl && toNumber(forceSsl.value) === 1) return undefined;
      return `parameter group ${group.address} ${forceSsl ? `sets rds.force_ssl to ${shown(forceSsl.value)}` : 'does not set rds.force_ssl'}; it must be 1 so clients cannot connect without TLS`;
    }),
  },
  {
    id: 'RDS-014',
    title: 'RDS primaries leave a final snapshot when destroyed',
    appliesTo: AWS_STACKS,
    // skip_final_snapshot absent means false (provider default); then final_snapshot_identifier
    // must be set or a destroy fails. Replicas are exempt (nothing to snapshot the primary lacks).
    evaluate: eachPrimary((values) => {
      if (isTrue(values.skip_final_snapshot)) {
        return 'skip_final_snapshot is true; destroying the primary must leave a final snapshot (set skip_final_snapshot = false)';
      }
      if (!isSet(values.final_snapshot_identifier)) {
        return 'final_snapshot_identifier is not set; name the final snapshot taken when the primary is destroyed';
      }
      return undefined;
    }),
  },
  {
    id: 'RDS-015',
    title: 'RDS read replicas can grow their storage as far as their source',
    appliesTo: AWS_STACKS,
    // A replica starts with its source's storage, but storage autoscaling is per instance: a
    // source that autoscales grows past a replica that does not, and replication stops when the
    // replica is full. A replica of an in-stack source passes when its ceiling (its
    // max_allocated_storage, or its allocation without autoscaling) reaches the source's; absent
    // or 0 means no autoscaling (provider default). A source outside the stack cannot be read, so
    // such a replica must autoscale. Without configuration an unknown value is not judged.
    evaluate: eachResource(DB_INSTANCE, (resource, values, input) => {
      if (!isReplica(resource, values) || unknownWithoutConfiguration(resource, 'max_allocated_storage')) return undefined;
      const own = toNumber(values.max_allocated_storage);
      const autoscales = own !== undefined && own > 0;
      const ownValue = `max_allocated_storage is ${
        autoscales ? String(own) : own === 0 ? '0 (no storage autoscaling)' : shown(values.max_allocated_storage, '0, no storage autoscaling')
      }`;
      const source = sourceInstance(input, values);
      if (!source) {
        return autoscales || resource.unknown.has('replicate_source_db')
          ? undefined
          : `${ownValue}; its source is outside this stack, so how far the source grows is unknown here: set max_allocated_storage so the replica can grow with it`;
      }
      const sourceCeiling = storageCeilingGiB(effectiveValues(source));
      if (sourceCeiling === undefined) return undefined;
      // A replica without its own allocation has its source's, as RDS created it.
      const ownCeiling = storageCeilingGiB(values) ?? toNumber(effectiveValues(source).allocated_storage);
      if (ownCeiling !== undefined && ownCeiling >= sourceCeiling) return undefined;
      return `${ownValue}; its source ${source.address} grows up to ${sourceCeiling} GiB and a replica does not follow its source's autoscaling, so it would fill up first: set max_allocated_storage to at least ${sourceCeiling}`;
    }),
  },
];
