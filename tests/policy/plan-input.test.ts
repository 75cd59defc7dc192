/**
 * Rules read plans (`terraform show -json`) as well as synthesized JSON: provider defaults are
 * filled in, values computed at apply are unknown, and the configuration section says what an
 * unknown value is made of. The plan below is trimmed from a real plan of a sample data stack.
 */
import { effectiveValues, policyInputFromPlan, policyInputFromSynth, resourcesFromPlan } from '../../stacks/checks/policy/policy-resources';
import type { PolicyInput } from '../../stacks/checks/policy/policy-types';
import { ALL_RULES } from '../../stacks/checks/policy/rules';

type Json = Record<string, unknown>;

const change = (address: string, after: Json, afterUnknown: Json = {}, actions = ['create']) => ({
  address,
  mode: 'managed',
  type: address.slice(0, address.indexOf('.')),
  change: { actions, after, after_unknown: afterUnknown },
});

const written = (address: string, expressions: Json) => ({ address, mode: 'managed', expressions });
const ref = (expression: string) => ({ constant_value: `\${${expression}}`, references: [expression, expression.split('.').slice(0, 2).join('.')] });

const TAGS_ALL = { 'cost-center': 'cc-1042-cafes', location: 'testville', owner: 'platform-team', stack: 'testville-data' };

/** A plan of a primary, a replica, a bucket with one companion and a replication group. */
function plan(): { resource_changes: ReturnType<typeof change>[]; configuration: Json } {
  return {
    resource_changes: [
      change(
        'aws_db_instance.primary',
        {
          backup_retention_period: 14,
          copy_tags_to_snapshot: true,
          deletion_protection: true,
          engine: 'postgres',
          final_snapshot_identifier: 'testville-final',
          multi_az: true,
          publicly_accessible: false,
          replicate_source_db: null,
          skip_final_snapshot: false,
          storage_encrypted: true,
          tags: null,
          tags_all: TAGS_ALL,
        },
        { kms_key_id: true, performance_insights_kms_key_id: true, monitoring_role_arn: true, arn: true },
      ),
      change(
        'aws_db_instance.replica',
        { backup_retention_period: 0, deletion_protection: false, publicly_accessible: false, storage_encrypted: null, tags_all: TAGS_ALL },
        { replicate_source_db: true, multi_az: true, engine: true, kms_key_id: true },
      ),
      change('aws_s3_bucket.assets', { bucket: 'testville-assets', tags_all: TAGS_ALL }),
      change('aws_s3_bucket_versioning.assets', { versioning_configuration: [{ status: 'Enabled' }] }, { bucket: true, id: true }),
      change(
        'aws_elasticache_replication_group.redis',
        {
          at_rest_encryption_enabled: 'true',
          // A set: the plan orders its items its own way, and their destinations (log group names
          // read from resources it creates) are unknown.
          log_delivery_configuration: [
            { destination_type: 'cloudwatch-logs', log_type: 'engine-log' },
            { destination_type: 'cloudwatch-logs', log_type: 'slow-log' },
          ],
          tags_all: TAGS_ALL,
        },
        { kms_key_id: true, log_delivery_configuration: [{ destination: true }, { destination: true }], tags_all: {} },
      ),
      change('aws_sns_topic.gone', { name: 'gone' }, {}, ['delete']),
      change('aws_iam_role_policy.app', { policy: '{}' }),
    ],
    configuration: {
      root_module: {
        resources: [
          written('aws_db_instance.primary', {
            engine: { constant_value: 'postgres' },
            kms_key_id: ref('aws_kms_key.data.arn'),
            monitoring_role_arn: ref('aws_iam_role.monitoring.arn'),
          }),
          written('aws_db_instance.replica', {
            replicate_source_db: ref('aws_db_instance.primary.arn'),
            performance_insights_kms_key_id: ref('aws_kms_key.data.arn'),
          }),
          written('aws_s3_bucket.assets', { bucket: { constant_value: 'testville-assets' } }),
          written('aws_s3_bucket_versioning.assets', {
            bucket: ref('aws_s3_bucket.assets.id'),
            versioning_configuration: [{ status: { constant_value: 'Enabled' } }],
          }),
          written('aws_elasticache_replication_group.redis', {
            kms_key_id: ref('aws_kms_key.data.arn'),
            log_delivery_configuration: [
              { destination: ref('aws_cloudwatch_log_group.slow.name'), log_type: { constant_value: 'slow-log' } },
              { destination: ref('aws_cloudwatch_log_group.engine.name'), log_type: { constant_value: 'engine-log' } },
            ],
          }),
          { address: 'data.aws_caller_identity.current', mode: 'data', expressions: {} },
        ],
      },
    },
  };
}

const ruleById = (id: string) => ALL_RULES.find((r) => r.id === id)!;
const messagesOf = (id: string, input: PolicyInput) => ruleById(id).evaluate(input).map((v) => v.message);

describe('resourcesFromPlan', () => {
  test('reads created and kept managed resources, their known values, unknown attributes and configuration', () => {
    const resources = resourcesFromPlan(plan());
    expect(resources.map((r) => r.address)).not.toContain('aws_sns_topic.gone');
    const replica = resources.find((r) => r.address === 'aws_db_instance.replica')!;
    expect([...replica.unknown]).toEqual(['replicate_source_db', 'multi_az', 'engine', 'kms_key_id']);
    expect(replica.configured).toEqual({
      replicate_source_db: '${aws_db_instance.primary.arn}',
      performance_insights_kms_key_id: '${aws_kms_key.data.arn}',
    });
  });

  test('writes nested blocks of the configuration as lists of values, and a reference without constant as its interpolation', () => {
    const [versioning] = resourcesFromPlan({
      resource_changes: [change('aws_s3_bucket_versioning.assets', {}, { bucket: true })],
      configuration: { root_module: { resources: [written('aws_s3_bucket_versioning.assets', { bucket: { references: ['aws_s3_bucket.assets.id', 'aws_s3_bucket.assets'] }, versioning_configuration: [{ status: { constant_value: 'Enabled' } }] })] } },
    });
    expect(versioning!.configured).toEqual({ bucket: '${aws_s3_bucket.assets.id}', versioning_configuration: [{ status: 'Enabled' }] });
  });

  test('takes the configuration of `x.name` for the instances `x.name[0]` of a count', () => {
    const [first] = resourcesFromPlan({
      resource_changes: [change('aws_s3_bucket.logs[0]', { bucket: 'a' })],
      configuration: { root_module: { resources: [written('aws_s3_bucket.logs', { bucket: { constant_value: 'a' } })] } },
    });
    expect(first!.configured).toEqual({ bucket: 'a' });
  });
});

describe('effectiveValues of a planned resource', () => {
  const resources = resourcesFromPlan(plan());
  const byAddress = (a: string) => resources.find((r) => r.address === a)!;

  test('fills values unknown at plan time with their configured expressions, and keeps what the plan knows', () => {
    const primary = effectiveValues(byAddress('aws_db_instance.primary'));
    expect(primary.kms_key_id).toBe('${aws_kms_key.data.arn}');
    expect(primary.storage_encrypted).toBe(true);
    expect(primary.performance_insights_kms_key_id).toBeUndefined();
  });

  test('matches the items of a set the plan reordered by their known values', () => {
    const redis = effectiveValues(byAddress('aws_elasticache_replication_group.redis'));
    expect(redis.log_delivery_configuration).toEqual([
      { destination: '${aws_cloudwatch_log_group.engine.name}', destination_type: 'cloudwatch-logs', log_type: 'engine-log' },
      { destination: '${aws_cloudwatch_log_group.slow.name}', destination_type: 'cloudwatch-logs', log_type: 'slow-log' },
    ]);
  });

  test('are the values themselves for synth input', () => {
    const [bucket] = policyInputFromSynth('testville-data', 'data', { resource: { aws_s3_bucket: { assets: { bucket: 'b', '//': { metadata: {} } } } } }).resources;
    expect(effectiveValues(bucket!)).toEqual({ bucket: 'b' });
  });
});

describe('rules on a plan', () => {
  const input = policyInputFromPlan('testville-data', 'data', plan());

  test('a replica whose source ARN is computed is recognized: encryption, Multi-AZ, backups and deletion protection are the primary\'s', () => {
    for (const id of ['RDS-001', 'RDS-003', 'RDS-004', 'RDS-005', 'RDS-014']) expect([id, messagesOf(id, input)]).toEqual([id, []]);
  });

  test('RDS-015 compares a replica with its source through the configured source reference', () => {
    const storage = (replicaCeiling: number | null) => {
      const p = plan();
      const [primary, replica] = p.resource_changes;
      primary!.change.after = { ...primary!.change.after, allocated_storage: 100, max_allocated_storage: 500 };
      replica!.change.after = { ...replica!.change.after, max_allocated_storage: replicaCeiling };
      return policyInputFromPlan('testville-data', 'data', p);
    };
    expect(messagesOf('RDS-015', storage(500))).toEqual([]);
    expect(messagesOf('RDS-015', storage(null))).toEqual([
      "aws_db_instance.replica: max_allocated_storage is not set (defaults to 0, no storage autoscaling); its source aws_db_instance.primary grows up to 500 GiB and a replica does not follow its source's autoscaling, so it would fill up first: set max_allocated_storage to at least 500",
    ]);
  });

  test('an attribute unknown at plan time and not written counts as unset (the provider computes its default)', () => {
    expect(messagesOf('RDS-008', { ...input, resources: input.resources.map((r) => (r.address === 'aws_db_instance.primary' ? { ...r, values: { ...r.values, performance_insights_enabled: true } } : r)) })).toEqual([
      "aws_db_instance.primary: performance_insights_kms_key_id is not set (AWS-managed key); set it to the location's customer-managed KMS key",
    ]);
  });

  test('without the configuration section, a computed value is not judged', () => {
    const { configuration: _, ...bare } = plan();
    const primary = bare.resource_changes[0]!;
    primary.change.after = { ...primary.change.after, performance_insights_enabled: true };
    delete (primary.change.after as Json).backup_retention_period;
    (primary.change.after_unknown as Json).backup_retention_period = true;
    const bareInput = policyInputFromPlan('testville-data', 'data', bare);
    expect(messagesOf('RDS-008', bareInput)).toEqual([]);
    expect(messagesOf('RDS-005', bareInput)).toEqual([]);
  });

  test('a companion whose bucket reference is unknown is matched through the configuration', () => {
    expect(messagesOf('S3-002', input)).toEqual([]);
    const { configuration: _, ...bare } = plan();
    expect(messagesOf('S3-002', policyInputFromPlan('testville-data', 'data', bare))).toEqual([
      'aws_s3_bucket.assets: has no aws_s3_bucket_versioning; enable versioning so overwritten and deleted objects can be restored',
    ]);
  });

  test('tags come from tags_all (provider default tags merged); resources without tags_all are not taggable', () => {
    expect(messagesOf('TAG-001', input)).toEqual([]);
    expect(messagesOf('TAG-002', input)).toEqual([]);
    const untagged = policyInputFromPlan('testville-data', 'data', {
      resource_changes: [change('aws_sns_topic.alarms', { tags_all: { owner: 'platform-team' } }), change('aws_sns_topic.later', {}, { tags_all: true })],
    });
    expect(messagesOf('TAG-001', untagged)).toEqual(['aws_sns_topic.alarms: tags_all lack cost-center; every taggable resource needs cost-center, owner for cost allocation']);
    expect(messagesOf('TAG-002', untagged)).toEqual(['aws_sns_topic.alarms: tags_all lack location; it must be "testville" so costs add up per location']);
  });
});

describe('policyInputFromSynth', () => {
  test('reads the default tags of every aws provider configuration, by provider reference', () => {
    const input = policyInputFromSynth('testville-data', 'data', {
      provider: {
        aws: [
          { default_tags: [{ tags: { owner: 'platform-team' } }], region: 'eu-west-2' },
          { alias: 'us_east_1', default_tags: [{ tags: { owner: 'edge-team' } }], region: 'us-east-1' },
        ],
      },
    });
    expect(input.providerDefaultTags).toEqual({ aws: { owner: 'platform-team' }, 'aws.us_east_1': { owner: 'edge-team' } });
    expect(input.source).toBe('synth');
  });
});
