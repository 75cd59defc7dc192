import { serviceChanges } from '../../stacks/checks/plan/disruptive-changes';
import { coverageOf, failuresOf, renderMarkdown, type PlanReport, type StackReport } from '../../stacks/checks/plan/plan-report';

const stack = (name: string, location?: string, kind: 'data' | 'platform' | 'app' = location ? 'data' : 'platform') => ({
  stack: name, kind, region: 'ap-southeast-1', location, resources: 1, dataSources: 0, outputs: 0,
});
const NO_MIRROR = 'provider registry.terraform.io/hashicorp/kubernetes 2.38.0 is not in a filesystem mirror';
const rule = { id: 'RDS-003', title: 'RDS primaries are Multi-AZ', checkov: 'CKV_AWS_157' };

const reports: StackReport[] = [
  {
    plan: { stack: stack('pilot-cafe-data', 'pilot-cafe'), check: 'plan', status: 'planned', stepMs: { validate: 3000, plan: 4000 }, changes: { add: 60, change: 0, destroy: 0 }, fixtures: [] },
    policy: [
      { rule, stack: 'pilot-cafe-data', outcome: 'waived', violations: [{ address: 'aws_db_instance.db', message: 'multi_az is false' }], waiverReason: 'pilot cafe runs single-AZ until dinner service starts' },
      { rule: { id: 'RDS-001', title: 'RDS storage is encrypted at rest', checkov: 'CKV_AWS_16', trivy: 'AVD-AWS-0080' }, stack: 'pilot-cafe-data', outcome: 'fail', violations: [{ address: 'aws_db_instance.db', message: 'aws_db_instance.db: storage_encrypted is false' }] },
    ],
    cost: { monthlyUsd: 120.5, lines: [], unpriced: [] },
  },
  {
    plan: { stack: stack('platform-ap-southeast-1'), check: 'plan', status: 'failed', error: { step: 'plan', message: 'Error: boom' }, stepMs: { validate: 2000 }, fixtures: [] },
    policy: [],
    cost: { monthlyUsd: 0, lines: [], unpriced: [] },
  },
  {
    plan: { stack: stack('pilot-cafe-app', 'pilot-cafe', 'app'), check: 'structure', status: 'structure-checked', reason: NO_MIRROR, standIns: 28, stepMs: { validate: 100 }, fixtures: [] },
    policy: [],
    cost: { monthlyUsd: 0, lines: [], unpriced: [] },
  },
  {
    plan: {
      stack: stack('other-cafe-app', 'other-cafe', 'app'), check: 'structure', status: 'failed', reason: NO_MIRROR,
      error: { step: 'init', message: 'kubernetes_cron_job_v1.c depends_on: Invalid expression: A single static variable reference is required' }, stepMs: { init: 50 }, fixtures: [],
    },
    policy: [],
    cost: { monthlyUsd: 0, lines: [], unpriced: [] },
  },
];

describe('the plan summary', () => {
  const failures = failuresOf(reports);
  const report: PlanReport = { ok: false, coverage: coverageOf(reports.map((r) => r.plan)), terraformVersion: '1.11.4', providerSources: ['registry'], wallSeconds: 12, stacks: reports, unusedWaivers: [{ location: 'pilot-cafe', rule: 'S3-002' }], failures };
  const markdown = renderMarkdown(report, process.cwd() + '/plan-out');

  test('names the stack and the step or rule of every failure', () => {
    expect(failures).toEqual([
      'pilot-cafe-data: policy RDS-001 (RDS storage is encrypted at rest) failed: aws_db_instance.db: storage_encrypted is false',
      'platform-ap-southeast-1: terraform plan failed: Error: boom',
      'other-cafe-app: terraform init (structure check) failed: kubernetes_cron_job_v1.c depends_on: Invalid expression: A single static variable reference is required',
    ]);
    expect(markdown.startsWith('## Plan check: **FAILED**\n')).toBe(true);
  });

  test('lists waivers with their reasons, and unused waivers', () => {
    expect(markdown).toContain('- `pilot-cafe-data` RDS-003 / CKV_AWS_157 RDS primaries are Multi-AZ: **waived**: pilot cafe runs single-AZ until dinner service starts');
    expect(markdown).toContain('- pilot-cafe: S3-002 passes; remove the waiver');
  });

  test('shows per-stack rows with policy counts and the location estimate', () => {
    expect(markdown).toContain('### pilot-cafe (ap-southeast-1): estimated $120.50/month');
    expect(markdown).toContain('| `pilot-cafe-data` | planned: +60 ~0 -0 | 3.0s / 4.0s | **1 failed**, 0 passed, 1 waived | $120.50 |');
    expect(markdown).toContain('| `platform-ap-southeast-1` | **FAILED at plan** | 2.0s / - | 0 passed | $0.00 |');
  });

  test('says which stacks were fully planned and which only structure-checked, and why', () => {
    expect(report.coverage).toEqual({ planned: ['pilot-cafe-data', 'platform-ap-southeast-1'], structureChecked: ['pilot-cafe-app', 'other-cafe-app'] });
    expect(markdown).toContain('Fully planned: `pilot-cafe-data`, `platform-ap-southeast-1`. Structure-checked: `pilot-cafe-app`, `other-cafe-app`.');
    expect(markdown).toContain('| `pilot-cafe-app` | structure-checked (28 stand-ins) | 0.1s / - | 0 passed | $0.00 |');
    expect(markdown).toContain('| `other-cafe-app` | **FAILED at init** (structure check) | - / - | 0 passed | $0.00 |');
    expect(markdown).toContain(`- \`pilot-cafe-app\` was **structure-checked, not planned**: ${NO_MIRROR}`);
  });
});

describe('the database and cache section of the plan summary', () => {
  const node = (address: string, type: string, before: Record<string, unknown> | null, after: Record<string, unknown>, actions: string[]) => ({
    address: `${type}.${address}`, mode: 'managed', type, change: { actions, before, after, after_unknown: {} },
  });
  const primary = { identifier: 'pilot-cafe-postgres', instance_class: 'db.t4g.medium', multi_az: true, apply_immediately: false, maintenance_window: 'sun:20:00-sun:21:00' };
  const replica = { ...primary, identifier: 'pilot-cafe-postgres-replica-1', multi_az: false };
  const redis = { replication_group_id: 'pilot-cafe-redis', node_type: 'cache.t4g.small', num_cache_clusters: 2, apply_immediately: true, maintenance_window: 'mon:20:00-mon:21:00' };
  const planned = (services: StackReport['services']): StackReport => ({
    plan: { stack: stack('pilot-cafe-data', 'pilot-cafe'), check: 'plan', status: 'planned', stepMs: {}, changes: { add: 0, change: 3, destroy: 0 }, fixtures: [] },
    policy: [],
    cost: { monthlyUsd: 0, lines: [], unpriced: [] },
    services,
  });
  const render = (s: StackReport) =>
    renderMarkdown({ ok: true, coverage: coverageOf([s.plan]), terraformVersion: '1.11.4', providerSources: ['registry'], wallSeconds: 1, stacks: [s], unusedWaivers: [], failures: [] }, process.cwd());

  test('names per stack the changes that restart or fail over a node, and when each takes effect', () => {
    const markdown = render(
      planned(
        serviceChanges({
          resource_changes: [
            node('primary', 'aws_db_instance', primary, { ...primary, instance_class: 'db.r6g.large' }, ['update']),
            node('replica', 'aws_db_instance', replica, { ...replica, instance_class: 'db.r6g.large' }, ['update']),
            node('redis', 'aws_elasticache_replication_group', redis, { ...redis, node_type: 'cache.r6g.large', num_cache_clusters: 3 }, ['update']),
          ],
        }),
      ),
    );
    expect(markdown).toContain(
      '- `pilot-cafe-data` database and cache: deferrable changes take effect for the database (2 instances) in the maintenance window sun:20:00-sun:21:00 UTC; ' +
        'for Redis during the apply (apply_immediately) (`applyChanges` in the location file). 3 planned changes restart or fail over a node, 1 more without a restart:\n' +
        '  - **failover**: `aws_db_instance.primary` (`pilot-cafe-postgres`) instance_class `db.t4g.medium` → `db.r6g.large`: the standby gets the new class first, then a failover (connections drop, typically 60-120 s); takes effect in the next maintenance window sun:20:00-sun:21:00 UTC\n' +
        '  - **restart**: `aws_db_instance.replica` (`pilot-cafe-postgres-replica-1`) instance_class `db.t4g.medium` → `db.r6g.large`: the instance is unavailable while it moves to a host of the new class; takes effect in the next maintenance window sun:20:00-sun:21:00 UTC\n' +
        '  - **brief interruption**: `aws_elasticache_replication_group.redis` (`pilot-cafe-redis`) node_type `cache.t4g.small` → `cache.r6g.large`: new nodes of the new type are synced and DNS moves to them; reads and writes pause a few seconds when the old nodes go; takes effect during the apply (apply_immediately)\n' +
        '  - no restart: `aws_elasticache_replication_group.redis` (`pilot-cafe-redis`) num_cache_clusters `2` → `3`: replicas are added at once (AWS offers no deferred addition); each copies the data from the primary; takes effect during the apply (AWS does not defer it)\n',
    );
  });

  test('says when nothing restarts, and still names the windows a later change would wait for', () => {
    const markdown = render(planned(serviceChanges({ resource_changes: [node('primary', 'aws_db_instance', null, primary, ['create'])] })));
    expect(markdown).toContain(
      '- `pilot-cafe-data` database and cache: deferrable changes take effect for the database (1 instance) in the maintenance window sun:20:00-sun:21:00 UTC (`applyChanges` in the location file). No planned change restarts, fails over or waits on a node.',
    );
  });

  test('stays silent for stacks without database or cache nodes', () => {
    expect(render(planned(serviceChanges({ resource_changes: [] })))).not.toContain('database and cache');
  });
});
