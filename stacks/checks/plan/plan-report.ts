/**
 * The plan check's result for people (Markdown, fit for a pull-request comment) and for tools
 * (JSON): which stacks were fully planned and which only structure-checked, per location its
 * stacks' planned changes, the changes that restart or fail over a database or cache node and
 * when they take effect, policy results with rule ids, waivers and an estimated monthly cost;
 * per region the shared stacks.
 */
import * as path from 'node:path';
import type { CostEstimate } from '../cost/cost-estimate';
import { USAGE_BASED_EXCLUSIONS } from '../cost/cost-estimate';
import { PRICES_AS_OF } from '../cost/price-table';
import type { RuleResult } from '../policy/policy-types';
import { renderAffected, type AffectedStacks } from './affected-stacks';
import { isDisruptive, type ServiceChange, type ServiceChangeReport, type ServiceNode } from './disruptive-changes';
import type { ResourceChangeCounts, StackPlan } from './plan-runner';

export interface StackReport {
  readonly plan: StackPlan;
  readonly policy: readonly RuleResult[];
  readonly cost: CostEstimate;
  /**
   * Planned stacks: their database and cache nodes, and the planned changes that AWS defers,
   * restarts or fails over (`serviceChanges` of the plan).
   */
  readonly services?: ServiceChangeReport;
}

/** How far real Terraform went with each stack, by stack name. */
export interface CheckCoverage {
  /** init, validate, plan: the stack's providers are installed here. */
  readonly planned: readonly string[];
  /** init and validate of the stand-in copy: some providers of the stack cannot be installed here. */
  readonly structureChecked: readonly string[];
}

export interface PlanReport {
  readonly ok: boolean;
  readonly coverage: CheckCoverage;
  readonly terraformVersion: string;
  readonly providerSources: readonly string[];
  readonly wallSeconds: number;
  readonly stacks: readonly StackReport[];
  readonly unusedWaivers: readonly { location: string; rule: string }[];
  /** Every reason the check failed, each naming the stack and the step or rule. */
  readonly failures: readonly string[];
  /** With `--affected-since`: which stacks were checked and why, which were not, which were removed. */
  readonly affected?: AffectedStacks;
}

/** By the check each stack gets (a failed one included): what the summary says was planned. */
export function coverageOf(plans: readonly StackPlan[]): CheckCoverage {
  const named = (check: StackPlan['check']) => plans.filter((p) => p.check === check).map((p) => p.stack.stack);
  return { planned: named('plan'), structureChecked: named('structure') };
}

const checkName = (p: StackPlan) => (p.check === 'structure' ? ' (structure check)' : '');

export function failuresOf(stacks: readonly StackReport[]): string[] {
  const failures: string[] = [];
  for (const s of stacks) {
    if (s.plan.status === 'failed') failures.push(`${s.plan.stack.stack}: terraform ${s.plan.error!.step}${checkName(s.plan)} failed: ${s.plan.error!.message}`);
    for (const r of s.policy.filter((p) => p.outcome === 'fail')) {
      failures.push(`${s.plan.stack.stack}: policy ${r.rule.id} (${r.rule.title}) failed: ${r.violations.map((v) => v.message).join('; ')}`);
    }
  }
  return failures;
}

/** Stack names as inline code, comma-separated; `none` for an empty list. */
export const stackList = (stacks: readonly string[]) => (stacks.length > 0 ? stacks.map((s) => `\`${s}\``).join(', ') : 'none');
const list = stackList;
const money = (n: number) => `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const seconds = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)}s`);

function planCell(p: StackPlan): string {
  if (p.status === 'planned') return `planned: +${p.changes!.add} ~${p.changes!.change} -${p.changes!.destroy}`;
  if (p.status === 'failed') return `**FAILED at ${p.error!.step}**${checkName(p)}`;
  return `structure-checked (${p.standIns} stand-ins)`;
}

function policyCell(results: readonly RuleResult[]): string {
  const count = (o: RuleResult['outcome']) => results.filter((r) => r.outcome === o).length;
  const failed = count('fail');
  return `${failed > 0 ? `**${failed} failed**, ` : ''}${count('pass')} passed${count('waived') ? `, ${count('waived')} waived` : ''}`;
}

function stackTable(stacks: readonly StackReport[]): string[] {
  return [
    '| stack | terraform | validate / plan | policy | est. monthly |',
    '| --- | --- | --- | --- | --- |',
    ...stacks.map((s) => `| \`${s.plan.stack.stack}\` | ${planCell(s.plan)} | ${seconds(s.plan.stepMs.validate)} / ${seconds(s.plan.stepMs.plan)} | ${policyCell(s.policy)} | ${money(s.cost.monthlyUsd)} |`),
  ];
}

const SERVICE_NAMES = { database: 'the database', cache: 'Redis' } as const;
const shownValue = (value: unknown) => (value === undefined ? '(known after apply)' : `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``);

/** `for the database (2 instances) in the maintenance window sun:20:00-sun:21:00 UTC; for Redis ...` */
function nodeSchedule(nodes: readonly ServiceNode[]): string {
  const groups = new Map<string, { service: ServiceNode['service']; count: number; text: string }>();
  for (const node of nodes) {
    const text = node.applyImmediately
      ? 'during the apply (apply_immediately)'
      : `in the maintenance window${node.maintenanceWindow ? ` ${node.maintenanceWindow} UTC` : ''}`;
    const key = `${node.service} ${text}`;
    const group = groups.get(key) ?? { service: node.service, count: 0, text };
    group.count++;
    groups.set(key, group);
  }
  return [...groups.values()]
    .map((g) => `for ${SERVICE_NAMES[g.service]}${g.service === 'database' ? ` (${g.count} instance${g.count === 1 ? '' : 's'})` : ''} ${g.text}`)
    .join('; ');
}

function serviceChangeLine(change: ServiceChange): string {
  const what = change.attribute === '(resource)' ? '' : ` ${change.attribute} ${shownValue(change.before)} → ${shownValue(change.after)}`;
  const label = isDisruptive(change) ? `**${change.disruption}**` : 'no restart';
  return `  - ${label}: \`${change.address}\` (\`${change.name}\`)${what}: ${change.effect}; takes effect ${change.when}`;
}

/** What the plan does to the stack's database and cache nodes, and when. */
function serviceDetails(s: StackReport): string[] {
  const services = s.services;
  if (!services || services.nodes.length === 0) return [];
  const disruptive = services.changes.filter(isDisruptive).length;
  const verdict =
    services.changes.length === 0
      ? 'No planned change restarts, fails over or waits on a node.'
      : `${disruptive} planned change${disruptive === 1 ? '' : 's'} restart${disruptive === 1 ? 's' : ''} or fail${disruptive === 1 ? 's' : ''} over a node${
          services.changes.length > disruptive ? `, ${services.changes.length - disruptive} more without a restart` : ''
        }:`;
  return [
    `- \`${s.plan.stack.stack}\` database and cache: deferrable changes take effect ${nodeSchedule(services.nodes)} (\`applyChanges\` in the location file). ${verdict}`,
    ...services.changes.map(serviceChangeLine),
  ];
}

function details(stacks: readonly StackReport[]): string[] {
  const out: string[] = [];
  for (const s of stacks) {
    out.push(...serviceDetails(s));
    if (s.plan.status === 'failed') out.push(`- \`${s.plan.stack.stack}\` terraform ${s.plan.error!.step}: ${s.plan.error!.message}`);
    if (s.plan.check === 'structure') out.push(`- \`${s.plan.stack.stack}\` was **structure-checked, not planned**: ${s.plan.reason}`);
    for (const r of s.policy.filter((p) => p.outcome !== 'pass')) {
      const ids = [r.rule.id, r.rule.checkov, r.rule.trivy].filter(Boolean).join(' / ');
      if (r.outcome === 'waived') out.push(`- \`${s.plan.stack.stack}\` ${ids} ${r.rule.title}: **waived**: ${r.waiverReason}`);
      else for (const v of r.violations) out.push(`- \`${s.plan.stack.stack}\` **${ids}** ${r.rule.title}: ${v.message}`);
    }
  }
  return out;
}

/** The stacks of one location, or the shared stacks of one region: one section of a summary. */
export interface StackSection<T> {
  readonly title: string;
  readonly region: string;
  /** Absent for a region's shared stacks. */
  readonly location?: string;
  readonly items: readonly T[];
}

/**
 * Groups per-stack results the way every summary lays them out: one section per location in the
 * order of first appearance, then one per region for the region-wide stacks.
 */
export function stackSections<T>(items: readonly T[], stackOf: (item: T) => StackPlan['stack']): StackSection<T>[] {
  const byLocation = new Map<string, T[]>();
  const byRegion = new Map<string, T[]>();
  for (const item of items) {
    const stack = stackOf(item);
    if (stack.location) byLocation.set(stack.location, [...(byLocation.get(stack.location) ?? []), item]);
    else byRegion.set(stack.region, [...(byRegion.get(stack.region) ?? []), item]);
  }
  return [
    ...[...byLocation].map(([location, group]) => ({ title: `${location} (${stackOf(group[0]!).region})`, region: stackOf(group[0]!).region, location, items: group })),
    ...[...byRegion].map(([region, group]) => ({ title: `region ${region} (shared by its locations)`, region, items: group })),
  ];
}

/**
 * Whether a section can be shown as one line: nothing failed, nothing is destroyed, and no planned
 * change restarts or fails over a database or cache node.
 */
export function sectionPasses(stacks: readonly StackReport[]): boolean {
  return stacks.every(
    (s) =>
      s.plan.status !== 'failed' &&
      (s.plan.changes?.destroy ?? 0) === 0 &&
      !s.policy.some((r) => r.outcome === 'fail') &&
      !(s.services?.changes ?? []).some(isDisruptive),
  );
}

/** `- \`sukhumvit-cafe\` (ap-southeast-1): passed; 2 stacks: +36 ~0 -0 planned, 1 structure-checked; est. $1,234.56/month` */
function sectionLine(section: StackSection<StackReport>): string {
  const planned = section.items.filter((s) => s.plan.status === 'planned');
  const sum = (key: keyof ResourceChangeCounts) => planned.reduce((n, s) => n + s.plan.changes![key], 0);
  const structure = section.items.filter((s) => s.plan.status === 'structure-checked').length;
  const parts = [
    ...(planned.length > 0 ? [`+${sum('add')} ~${sum('change')} -${sum('destroy')} planned`] : []),
    ...(structure > 0 ? [`${structure} structure-checked`] : []),
  ];
  const total = section.items.reduce((n, s) => n + s.cost.monthlyUsd, 0);
  const name = section.location ? `\`${section.location}\` (${section.region})` : `region \`${section.region}\``;
  return `- ${name}: passed; ${section.items.length} stack${section.items.length === 1 ? '' : 's'}: ${parts.join(', ')}; est. ${money(total)}/month`;
}

export interface RenderOptions {
  /**
   * Show each passing location and region (`sectionPasses`) as one line, and leave out the list of
   * fixture files: for places with a size limit, such as a pull-request comment.
   * @default false - every section in full
   */
  readonly collapsePassing?: boolean;
}

export function renderMarkdown(report: PlanReport, workDir: string, options: RenderOptions = {}): string {
  const collapse = options.collapsePassing ?? false;
  const sections = stackSections(report.stacks, (s) => s.plan.stack);
  const locationCount = sections.filter((s) => s.location).length;
  const lines: string[] = [
    `## Plan check: ${report.ok ? 'passed' : '**FAILED**'}`,
    '',
    `${locationCount} location(s), ${report.stacks.length} stacks, ${report.wallSeconds.toFixed(1)} s. ` +
      `Terraform ${report.terraformVersion}; providers: ${report.providerSources.join(', ')}. ` +
      'Stacks whose providers are installed here (AWS) are validated and planned offline with plan-check settings (local state, dummy credentials, ' +
      'upstream outputs from fixture state files). Stacks with providers that cannot be installed here (kubernetes, helm) are **structure-checked**: ' +
      'Terraform validates a copy in which each block of those providers is a `terraform_data` stand-in keeping its meta-arguments and references ' +
      '(`depends_on` and `lifecycle` form, every referenced address, instance keys, cycles; not attribute names), and their policy rules run on the synthesized JSON.',
    '',
    `Fully planned: ${list(report.coverage.planned)}. Structure-checked: ${list(report.coverage.structureChecked)}.`,
    '',
  ];
  if (report.failures.length > 0) lines.push('### Failures', '', ...report.failures.map((f) => `- ${f}`), '');
  if (report.affected) lines.push(...renderAffected(report.affected));
  const collapsed = collapse ? sections.filter((s) => sectionPasses(s.items)) : [];
  if (collapsed.length > 0) {
    lines.push(
      `### Passing (${collapsed.length}), one line each`,
      '',
      'Nothing failed, nothing is destroyed and nothing restarts in these; their tables and details are in the full summary.',
      '',
      ...collapsed.map(sectionLine),
      '',
    );
  }
  for (const section of sections.filter((s) => !collapsed.includes(s))) {
    const total = section.items.reduce((sum, s) => sum + s.cost.monthlyUsd, 0);
    lines.push(`### ${section.title}: estimated ${money(total)}/month`, '', ...stackTable(section.items), '');
    const d = details(section.items);
    if (d.length > 0) lines.push(...d, '');
  }
  if (report.unusedWaivers.length > 0) {
    lines.push('### Unused waivers', '', ...report.unusedWaivers.map((w) => `- ${w.location}: ${w.rule} passes; remove the waiver`), '');
  }
  const fixtures = [...new Set(report.stacks.flatMap((s) => s.plan.fixtures))].map((f) => path.relative(process.cwd(), f));
  if (fixtures.length > 0 && collapse) {
    lines.push(`Cross-stack inputs of ${fixtures.length} stack(s) were taken from fixture state files (listed in the full summary).`, '');
  } else if (fixtures.length > 0) {
    lines.push('<details><summary>Cross-stack inputs taken from fixtures</summary>', '', ...fixtures.map((f) => `- \`${f}\``), '', '</details>', '');
  }
  const unpriced = [...new Set(report.stacks.flatMap((s) => s.cost.unpriced))];
  lines.push(
    `Costs are **estimates** from on-demand list prices as of ${PRICES_AS_OF} (\`stacks/checks/cost/price-table.ts\`), 730 h/month; ` +
      `they leave out usage-based charges (${USAGE_BASED_EXCLUSIONS}).` + (unpriced.length ? ` Unpriced: ${unpriced.join(', ')}.` : ''),
    '',
    `Plans and working folders: \`${path.relative(process.cwd(), workDir) || workDir}\`.`,
  );
  return lines.join('\n') + '\n';
}

export function reportJson(report: PlanReport): string {
  return JSON.stringify(report, null, 2) + '\n';
}
