/**
 * The restart and failover table over plan JSON rows as `terraform show -json` writes them. The
 * rows are synthetic, to reach every row of the table; restart-plan.test.ts runs real plans of a
 * changed location against a stand-in for its deployed state (no AWS here to deploy one), and
 * plan-check.test.ts the creation plans of the sample locations.
 */
import { serviceChanges, whenText, type PlanJson } from '../../stacks/checks/plan/disruptive-changes';

type Values = Record<string, unknown>;

const PRIMARY = 'aws_db_instance.postgres_primary_11FB0C6D';
const REPLICA = 'aws_db_instance.postgres_replica-1_3A7B1C2D';
const REDIS = 'aws_elasticache_replication_group.redis_replication-group_5BD9E6FB';
const PARAMETERS = 'aws_db_parameter_group.postgres_parameter-group_0C1D2E3F';

const primary: Values = {
  identifier: 'testville-postgres', instance_class: 'db.t4g.medium', multi_az: true, engine_version: '16', storage_type: 'gp3',
  allocated_storage: 50, max_allocated_storage: 200, backup_retention_period: 7, port: 5432, apply_immediately: false,
  maintenance_window: 'sun:20:00-sun:21:00', parameter_group_name: 'testville-postgres16', ca_cert_identifier: 'rds-ca-rsa2048-g1',
};
const replica: Values = { ...primary, identifier: 'testville-postgres-replica-1', multi_az: false, backup_retention_period: 0 };
const redis: Values = {
  replication_group_id: 'testville-redis', node_type: 'cache.t4g.small', num_cache_clusters: 2, engine_version: '7.1',
  apply_immediately: false, maintenance_window: 'mon:20:00-mon:21:00', parameter_group_name: 'testville-redis7',
};

function row(address: string, before: Values | null, after: Values | null, actions: string[], afterUnknown: Values = {}) {
  return { address, mode: 'managed', type: address.slice(0, address.indexOf('.')), change: { actions, before, after, after_unknown: afterUnknown } };
}
const update = (address: string, before: Values, patch: Values, afterUnknown: Values = {}) => row(address, before, { ...before, ...patch }, ['update'], afterUnknown);
const plan = (...rows: ReturnType<typeof row>[]): PlanJson => ({ resource_changes: rows });

describe('serviceChanges', () => {
  test('a resized Multi-AZ primary fails over in the maintenance window the location keeps', () => {
    const { changes } = serviceChanges(plan(update(PRIMARY, primary, { instance_class: 'db.r6g.large' })));
    expect(changes).toEqual([
      {
        address: PRIMARY, service: 'database', name: 'testville-postgres', attribute: 'instance_class', before: 'db.t4g.medium', after: 'db.r6g.large',
        disruption: 'failover', timing: 'apply-immediately-or-window',
        effect: 'the standby gets the new class first, then a failover (connections drop, typically 60-120 s)',
        when: 'in the next maintenance window sun:20:00-sun:21:00 UTC',
      },
    ]);
  });

  test('a resized single-AZ replica restarts, during the apply when the location chose immediately', () => {
    const { changes } = serviceChanges(plan(update(REPLICA, { ...replica, apply_immediately: true }, { instance_class: 'db.r6g.large' })));
    expect(changes.map((c) => [c.attribute, c.disruption, c.when])).toEqual([['instance_class', 'restart', 'during the apply (apply_immediately)']]);
  });

  test.each<[string, Values, Values, string, string]>([
    ['engine version', primary, { engine_version: '17' }, 'restart', 'in the next maintenance window sun:20:00-sun:21:00 UTC'],
    ['storage type on Multi-AZ', primary, { storage_type: 'io2' }, 'failover', 'in the next maintenance window sun:20:00-sun:21:00 UTC'],
    ['storage type on a replica', replica, { storage_type: 'io2' }, 'restart', 'in the next maintenance window sun:20:00-sun:21:00 UTC'],
    ['CA certificate', primary, { ca_cert_identifier: 'rds-ca-ecc384-g1' }, 'restart', 'in the next maintenance window sun:20:00-sun:21:00 UTC'],
    ['port (AWS ignores apply_immediately)', primary, { port: 5433 }, 'restart', 'during the apply (AWS does not defer it)'],
    ['backups switched off', primary, { backup_retention_period: 0 }, 'restart', 'in the next maintenance window sun:20:00-sun:21:00 UTC'],
    ['a longer backup retention', primary, { backup_retention_period: 14 }, 'none', 'during the apply (AWS does not defer it)'],
    ['another parameter group', primary, { parameter_group_name: 'testville-postgres17' }, 'waits for reboot', 'at the next reboot (RDS does not reboot for it: reboot in a quiet hour, or it waits for the next restarting change)'],
    ['more storage', primary, { allocated_storage: 100 }, 'none', 'in the next maintenance window sun:20:00-sun:21:00 UTC'],
    ['Multi-AZ switched on', replica, { multi_az: true }, 'none', 'in the next maintenance window sun:20:00-sun:21:00 UTC'],
    ['a higher storage ceiling', primary, { max_allocated_storage: 400 }, 'none', 'during the apply (AWS does not defer it)'],
  ])('an RDS %s change', (_what, before, patch, disruption, when) => {
    const { changes } = serviceChanges(plan(update(PRIMARY, before, patch)));
    expect(changes.map((c) => [c.attribute, c.disruption, c.when])).toEqual([[Object.keys(patch)[0], disruption, when]]);
  });

  test.each<[string, Values, string, string]>([
    ['a new node type: new nodes take over', { node_type: 'cache.r6g.large' }, 'brief interruption', 'in the next maintenance window mon:20:00-mon:21:00 UTC'],
    ['an engine upgrade fails over', { engine_version: '7.2' }, 'failover', 'in the next maintenance window mon:20:00-mon:21:00 UTC'],
    ['fewer replicas: removed during the apply whatever apply_immediately says', { num_cache_clusters: 1 }, 'removal', 'during the apply (AWS does not defer it)'],
    ['more replicas: added during the apply', { num_cache_clusters: 3 }, 'none', 'during the apply (AWS does not defer it)'],
  ])('a Redis change: %s', (_what, patch, disruption, when) => {
    const { changes } = serviceChanges(plan(update(REDIS, redis, patch)));
    expect(changes.map((c) => [c.service, c.attribute, c.disruption, c.when])).toEqual([['cache', Object.keys(patch)[0], disruption, when]]);
  });

  test('a Redis node type change applies during the apply when the location chose immediately', () => {
    const { changes } = serviceChanges(plan(update(REDIS, { ...redis, apply_immediately: true }, { node_type: 'cache.r6g.large' })));
    expect(changes[0]!.when).toBe('during the apply (apply_immediately)');
  });

  test('a static parameter waits for a reboot of the instances using the group; a dynamic one applies at once', () => {
    const before = {
      name: 'testville-postgres16',
      parameter: [
        { name: 'shared_preload_libraries', value: 'pg_stat_statements', apply_method: 'pending-reboot' },
        { name: 'log_min_duration_statement', value: '250', apply_method: 'immediate' },
      ],
    };
    const after = {
      name: 'testville-postgres16',
      parameter: [
        { name: 'shared_preload_libraries', value: 'pg_stat_statements,auto_explain', apply_method: 'pending-reboot' },
        { name: 'log_min_duration_statement', value: '100', apply_method: 'immediate' },
      ],
    };
    const { changes } = serviceChanges(plan(row(PARAMETERS, before, after, ['update']), row(PRIMARY, primary, primary, ['no-op'])));
    expect(changes.map((c) => [c.attribute, c.disruption, c.effect])).toEqual([
      ['parameter shared_preload_libraries', 'waits for reboot', 'static parameter: applies after the next reboot of each instance (used by testville-postgres)'],
      ['parameter log_min_duration_statement', 'none', 'dynamic parameter: applied at once without a restart (used by testville-postgres)'],
    ]);
  });

  test('replacing a node or deleting a replica is reported; creating one is not', () => {
    const { changes } = serviceChanges(
      plan(
        row(PRIMARY, primary, { ...primary, identifier: 'testville-postgres' }, ['delete', 'create']),
        row(REPLICA, replica, null, ['delete']),
        row('aws_db_instance.postgres_replica-2_AAAA', null, { ...replica, identifier: 'testville-postgres-replica-2' }, ['create']),
      ),
    );
    expect(changes.map((c) => [c.address, c.disruption, c.when])).toEqual([
      [PRIMARY, 'replacement', 'during the apply (AWS does not defer it)'],
      [REPLICA, 'removal', 'during the apply (AWS does not defer it)'],
    ]);
  });

  test('an attribute Terraform knows only after the apply counts as changed', () => {
    const { after: _, ...withoutAfter } = serviceChanges(plan(update(PRIMARY, primary, { storage_type: null }, { storage_type: true }))).changes[0]!;
    expect(withoutAfter).toMatchObject({ attribute: 'storage_type', before: 'gp3', disruption: 'failover' });
  });

  test('unchanged attributes, tags and other resource types are not reported; nodes are listed with their windows', () => {
    const report = serviceChanges(
      plan(
        update(PRIMARY, primary, { tags: { owner: 'someone-else' }, deletion_protection: false }),
        row(REDIS, null, redis, ['create']),
        update('aws_s3_bucket.assets', { bucket: 'a' }, { bucket: 'b' }),
      ),
    );
    expect(report.changes).toEqual([]);
    expect(report.nodes).toEqual([
      { address: PRIMARY, service: 'database', name: 'testville-postgres', applyImmediately: false, maintenanceWindow: 'sun:20:00-sun:21:00' },
      { address: REDIS, service: 'cache', name: 'testville-redis', applyImmediately: false, maintenanceWindow: 'mon:20:00-mon:21:00' },
    ]);
  });

  test('a window the plan does not know yet is still named as the maintenance window', () => {
    expect(whenText('apply-immediately-or-window', {})).toBe('in the next maintenance window');
  });
});
