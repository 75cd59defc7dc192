/**
 * The plan summary as a pull-request comment: the full summary while it fits GitHub's 65,536
 * characters, passing locations on one line each past that, a hard cut with a pointer last.
 */
import type { ServiceChange } from '../../stacks/checks/plan/disruptive-changes';
import {
  fitToLimit,
  GITHUB_COMMENT_LIMIT,
  PLAN_COMMENT_MARKER,
  renderPlanComment,
  workflowRunUrl,
} from '../../stacks/checks/plan/plan-comment';
import { coverageOf, failuresOf, renderMarkdown, sectionPasses, type PlanReport, type StackReport } from '../../stacks/checks/plan/plan-report';

const WORK_DIR = `${process.cwd()}/plan-out`;
const RUN_URL = 'https://github.com/banrimkwae/platform/actions/runs/4242';
const passRule = (id: string) => ({ rule: { id, title: `rule ${id}` }, stack: '', outcome: 'pass' as const, violations: [] });

/** What a stack of a generated location reports: a planned data stack with 36 resources, a structure-checked app stack. */
function locationStacks(id: string, region: string, options: { failing?: boolean; failover?: boolean } = {}): StackReport[] {
  const summary = (kind: 'data' | 'app') => ({ stack: `${id}-${kind}`, kind, region, location: id, resources: 36, dataSources: 1, outputs: 12 });
  const failover: ServiceChange = {
    address: `aws_db_instance.${id.replace(/-/g, '_')}_primary`, service: 'database', name: `${id}-postgres`, attribute: 'instance_class',
    before: 'db.t4g.medium', after: 'db.r6g.large', disruption: 'failover', timing: 'apply-immediately-or-window', effect: 'the standby gets the new class first, then a failover', when: 'in the next maintenance window',
  };
  return [
    {
      plan: {
        stack: summary('data'), check: 'plan', status: 'planned', stepMs: { validate: 2100, plan: 5300 }, changes: { add: 36, change: 0, destroy: 0 },
        fixtures: [`${WORK_DIR}/fixtures/${id}-data/platform-${region}.tfstate`],
      },
      policy: [
        ...['RDS-001', 'RDS-002', 'S3-001', 'S3-002', 'EC-001'].map(passRule),
        ...(options.failing
          ? [{ rule: { id: 'RDS-001', title: 'RDS storage is encrypted at rest' }, stack: `${id}-data`, outcome: 'fail' as const, violations: [{ address: 'aws_db_instance.db', message: `${id}: storage_encrypted is false` }] }]
          : []),
      ],
      cost: { monthlyUsd: 812.4, lines: [], unpriced: [] },
      ...(options.failover
        ? { services: { nodes: [{ address: failover.address, service: 'database' as const, name: failover.name, applyImmediately: false, maintenanceWindow: 'sun:20:00-sun:21:00' }], changes: [failover] } }
        : {}),
    },
    {
      plan: { stack: summary('app'), check: 'structure', status: 'structure-checked', reason: 'provider registry.terraform.io/hashicorp/kubernetes 2.38.0 is not in a filesystem mirror', standIns: 28, stepMs: { validate: 300 }, fixtures: [] },
      policy: ['K8S-001', 'K8S-002', 'K8S-003'].map(passRule),
      cost: { monthlyUsd: 0, lines: [], unpriced: [] },
    },
  ];
}

/** `count` locations over two regions; `failing` and `failover` pick locations by index. */
function fleetReport(count: number, pick: { failing?: (i: number) => boolean; failover?: (i: number) => boolean } = {}): PlanReport {
  const stacks = Array.from({ length: count }, (_, i) =>
    locationStacks(`cafe-${String(i).padStart(3, '0')}`, i % 2 === 0 ? 'ap-southeast-1' : 'eu-west-2', { failing: pick.failing?.(i), failover: pick.failover?.(i) }),
  ).flat();
  const failures = failuresOf(stacks);
  return {
    ok: failures.length === 0, coverage: coverageOf(stacks.map((s) => s.plan)), terraformVersion: '1.11.4', providerSources: ['registry'],
    wallSeconds: 640, stacks, unusedWaivers: [], failures,
  };
}

describe('the plan comment', () => {
  test('is the full summary behind the marker while it fits', () => {
    const report = fleetReport(3);
    const comment = renderPlanComment(report, WORK_DIR, { runUrl: RUN_URL });
    expect(comment.form).toBe('full');
    expect(comment.body).toBe(`${PLAN_COMMENT_MARKER}\n${renderMarkdown(report, WORK_DIR)}`);
  });

  describe('of 120 locations with one failing and one failing over', () => {
    const report = fleetReport(120, { failing: (i) => i === 7, failover: (i) => i === 42 });
    const full = renderMarkdown(report, WORK_DIR);
    const comment = renderPlanComment(report, WORK_DIR, { runUrl: RUN_URL });

    test('would be over the limit in full, and is collapsed to fit', () => {
      expect(full.length).toBeGreaterThan(GITHUB_COMMENT_LIMIT);
      expect(comment.form).toBe('collapsed');
      expect(comment.body.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
      expect(comment.body.startsWith(`${PLAN_COMMENT_MARKER}\n## Plan check: **FAILED**\n`)).toBe(true);
    });

    test('keeps the failing and the failing-over locations in full', () => {
      expect(comment.body).toContain('### cafe-007 (eu-west-2): estimated $812.40/month');
      expect(comment.body).toContain('- cafe-007-data: policy RDS-001 (RDS storage is encrypted at rest) failed: cafe-007: storage_encrypted is false');
      expect(comment.body).toContain('### cafe-042 (ap-southeast-1): estimated $812.40/month');
      expect(comment.body).toContain('- **failover**: `aws_db_instance.cafe_042_primary` (`cafe-042-postgres`) instance_class `db.t4g.medium` → `db.r6g.large`');
    });

    test('shows every other location on one line, once', () => {
      expect(comment.body).toContain('### Passing (118), one line each');
      for (let i = 0; i < 120; i++) {
        const id = `cafe-${String(i).padStart(3, '0')}`;
        const lines = comment.body.split('\n').filter((line) => line.includes(`\`${id}\``) || line.startsWith(`### ${id} `));
        if (i === 7 || i === 42) expect(lines.filter((l) => l.startsWith('- `'))).toEqual([]);
        else expect(lines).toEqual([`- \`${id}\` (${i % 2 === 0 ? 'ap-southeast-1' : 'eu-west-2'}): passed; 2 stacks: +36 ~0 -0 planned, 1 structure-checked; est. $812.40/month`]);
      }
      expect(comment.body).not.toContain('<details><summary>Cross-stack inputs taken from fixtures</summary>');
      expect(comment.body).toContain('Cross-stack inputs of 120 stack(s) were taken from fixture state files (listed in the full summary).');
    });

    test('points to the full summary in the artifact of the run', () => {
      expect(comment.body.trimEnd().endsWith(`The full summary is \`plan-summary.md\` in the \`plan-summary\` artifact of [this workflow run](${RUN_URL}).`)).toBe(true);
    });
  });

  test('is cut at a line with a pointer when even the collapsed form does not fit (600 failing locations)', () => {
    const report = fleetReport(600, { failing: () => true });
    const comment = renderPlanComment(report, WORK_DIR, { runUrl: RUN_URL });
    expect(comment.form).toBe('truncated');
    expect(comment.body.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
    expect(comment.body.startsWith(`${PLAN_COMMENT_MARKER}\n## Plan check: **FAILED**\n`)).toBe(true);
    expect(comment.body).toMatch(/\n\n\*\*Truncated here: [\d,]+ more characters\.\*\* The full summary is `plan-summary\.md` in the `plan-summary` artifact of \[this workflow run\]\(https:\/\/github\.com\/banrimkwae\/platform\/actions\/runs\/4242\)\.\n$/);
  });

  test('a passing section is one with no failure, nothing destroyed and no restart', () => {
    const [data, app] = locationStacks('cafe', 'ap-southeast-1');
    expect(sectionPasses([data!, app!])).toBe(true);
    expect(sectionPasses([{ ...data!, plan: { ...data!.plan, changes: { add: 0, change: 0, destroy: 1 } } }])).toBe(false);
    expect(sectionPasses(locationStacks('cafe', 'ap-southeast-1', { failing: true }))).toBe(false);
    expect(sectionPasses(locationStacks('cafe', 'ap-southeast-1', { failover: true }))).toBe(false);
  });
});

describe('fitting text to a limit', () => {
  const text = ['# title', '<details><summary>many</summary>', '', ...Array.from({ length: 400 }, (_, i) => `- line ${i} ${'x'.repeat(i % 50)}`), '</details>', 'end'].join('\n');

  test('leaves text that fits alone', () => {
    expect(fitToLimit(text, text.length, 'see the artifact')).toEqual({ text, truncated: false });
  });

  test.each([200, 1_000, 4_321, 10_000])('cuts at a line, closes the open <details> and stays within %i characters', (limit) => {
    const { text: cut, truncated } = fitToLimit(text, limit, 'see the artifact');
    expect(truncated).toBe(true);
    expect(cut.length).toBeLessThanOrEqual(limit);
    const [kept, note] = cut.split('\n\n**Truncated here: ');
    expect(text.startsWith(kept!.replace(/\n<\/details>$/, ''))).toBe(true);
    expect(kept!.endsWith('\n</details>')).toBe(true);
    expect(note).toMatch(/^[\d,]+ more characters\.\*\* see the artifact\n$/);
  });

  test('fails when the limit leaves no room for the note', () => {
    expect(() => fitToLimit(text, 40, 'see the artifact')).toThrow('limit 40 leaves no room for the truncation note');
  });
});

test('the run URL comes from the variables GitHub Actions sets, and is absent elsewhere', () => {
  expect(workflowRunUrl({ GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'banrimkwae/platform', GITHUB_RUN_ID: '4242' })).toBe(RUN_URL);
  expect(workflowRunUrl({ GITHUB_SERVER_URL: 'https://github.com' })).toBeUndefined();
});
