/**
 * The drift check's result, laid out like the plan summary (`plan-report.ts`: one section per
 * location, then per region; a table per section, details below it): `drift-summary.md` for
 * people and `drift-summary.json` for tools. The JSON carries one entry per location and per
 * region (`units`) with an issue title and body, which `.github/workflows/drift.yml` uses to
 * open, update or close one issue each.
 */
import * as path from 'node:path';
import { artifactPointer, fitToLimit, GITHUB_COMMENT_LIMIT } from '../plan/plan-comment';
import { stackList, stackSections, type StackSection } from '../plan/plan-report';
import type { ChangedResource, StackDrift } from './drift-runner';

/** The artifact `.github/workflows/drift.yml` uploads the summaries as. */
export const DRIFT_ARTIFACT_NAME = 'drift-summary';

/** A location's stacks, or a region's shared stacks: what one issue is about. */
export interface DriftUnit {
  /** `Drift: <location>` or `Drift: region <region>`: the workflow finds the open issue by it. */
  readonly title: string;
  readonly stacks: readonly string[];
  /** Some stack of the unit drifted: open or update the issue. */
  readonly drifted: boolean;
  /** Every stack of the unit was planned (none failed or went unchecked): only then may an issue be closed. */
  readonly fullyChecked: boolean;
  /** The issue body: the unit's section of the summary and where it came from. */
  readonly body: string;
}

export interface DriftReport {
  /** `failed` when any stack failed (exit 1), else `drifted` when any drifted (exit 2), else `in-sync` (exit 0). */
  readonly status: 'in-sync' | 'drifted' | 'failed';
  readonly refresh: boolean;
  /** Where state was read from, for people (`s3://bucket/prefix/ (region)`). */
  readonly backend: string;
  readonly terraformVersion: string;
  readonly wallSeconds: number;
  readonly stacks: readonly StackDrift[];
  /** Every reason the check failed, each naming the stack and the step. */
  readonly failures: readonly string[];
  readonly units: readonly DriftUnit[];
}

export function driftStatus(stacks: readonly StackDrift[]): DriftReport['status'] {
  if (stacks.some((s) => s.status === 'failed')) return 'failed';
  return stacks.some((s) => s.status === 'drifted') ? 'drifted' : 'in-sync';
}

/** 0 no drift, 2 drift, 1 a stack could not be planned: the contract of `npm run drift`. */
export function driftExitCode(status: DriftReport['status']): 0 | 1 | 2 {
  return status === 'failed' ? 1 : status === 'drifted' ? 2 : 0;
}

export function driftFailures(stacks: readonly StackDrift[]): string[] {
  return stacks.filter((s) => s.status === 'failed').map((s) => `${s.stack.stack}: terraform ${s.error!.step} failed: ${s.error!.message}`);
}

const seconds = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)}s`);

function driftCell(s: StackDrift): string {
  switch (s.status) {
    case 'in-sync':
      return 'in sync';
    case 'drifted':
      return `**drifted: +${s.changes!.add} ~${s.changes!.change} -${s.changes!.destroy}**`;
    case 'not-checked':
      return '**not checked**';
    case 'failed':
      return `**FAILED at ${s.error!.step}**`;
  }
}

function stackTable(stacks: readonly StackDrift[]): string[] {
  return [
    '| stack | drift | init / plan |',
    '| --- | --- | --- |',
    ...stacks.map((s) => `| \`${s.stack.stack}\` | ${driftCell(s)} | ${seconds(s.stepMs.init)} / ${seconds(s.stepMs.plan)} |`),
  ];
}

const resourceLine = (stack: string, what: string, r: ChangedResource) =>
  `- \`${stack}\` ${what}: ${r.actions.join(' then ')} \`${r.address}\`${r.attributes.length > 0 ? ` (${r.attributes.join(', ')})` : ''}`;

/** Resources listed per stack and kind; the rest are counted (a stack never deployed lists everything as created). */
export const LISTED_RESOURCES = 25;

function resourceLines(stack: string, what: string, resources: readonly ChangedResource[]): string[] {
  const shown = resources.slice(0, LISTED_RESOURCES).map((r) => resourceLine(stack, what, r));
  const more = resources.length - shown.length;
  return more > 0 ? [...shown, `- \`${stack}\` ${what}: ${more} more (\`terraform show drift.tfplan\` in the stack's folder)`] : shown;
}

function details(stacks: readonly StackDrift[]): string[] {
  const out: string[] = [];
  for (const s of stacks) {
    const name = s.stack.stack;
    if (s.status === 'not-checked') out.push(`- \`${name}\` **not checked**: ${s.reason}`);
    if (s.status === 'failed') out.push(`- \`${name}\` terraform ${s.error!.step}: ${s.error!.message}`);
    out.push(...resourceLines(name, 'changed outside Terraform', s.changedOutside ?? []));
    out.push(...resourceLines(name, 'plan', s.resourceChanges ?? []));
    const outputs = s.outputChanges ?? [];
    if (outputs.length > 0) {
      const listed = outputs.length <= LISTED_RESOURCES ? `: ${outputs.map((o) => `\`${o}\``).join(', ')}` : '';
      out.push(`- \`${name}\` ${outputs.length} output${outputs.length === 1 ? '' : 's'} would change${listed}`);
    }
  }
  return out;
}

function sectionLines(section: StackSection<StackDrift>, heading: string): string[] {
  const d = details(section.items);
  return [`${heading} ${section.title}`, '', ...stackTable(section.items), '', ...(d.length > 0 ? [...d, ''] : [])];
}

function how(refresh: boolean): string {
  return refresh
    ? '`terraform plan -detailed-exitcode -refresh=true`: Terraform reads every resource, so the plan shows what was changed or deleted outside Terraform ' +
        '("changed outside Terraform") and what applying this configuration would do about it and about changes not yet deployed ("plan").'
    : '`terraform plan -detailed-exitcode -refresh=false`: compared with the recorded state only, so changes made outside Terraform are **not** seen; ' +
        'the plan shows what this configuration would change relative to the last apply.';
}

export interface DriftRenderInput {
  readonly refresh: boolean;
  readonly backend: string;
  readonly terraformVersion: string;
  readonly wallSeconds: number;
  readonly stacks: readonly StackDrift[];
  readonly workDir: string;
  /** The workflow run the issue bodies point to (`workflowRunUrl`). */
  readonly runUrl?: string;
}

export function renderDriftMarkdown(input: DriftRenderInput): string {
  const status = driftStatus(input.stacks);
  const checked = input.stacks.filter((s) => s.status === 'in-sync' || s.status === 'drifted');
  const drifted = input.stacks.filter((s) => s.status === 'drifted');
  const notChecked = input.stacks.filter((s) => s.status === 'not-checked');
  const failures = driftFailures(input.stacks);
  const verdict =
    status === 'failed' ? '**FAILED**' : status === 'drifted' ? `**DRIFT** in ${drifted.length} of ${checked.length} checked stacks` : `no drift in ${checked.length} checked stacks`;
  const lines = [
    `## Drift check: ${verdict}`,
    '',
    `${input.stacks.length} stacks against their state in ${input.backend}, Terraform ${input.terraformVersion}, ${input.wallSeconds.toFixed(1)} s. ${how(input.refresh)}`,
    '',
    `Checked: ${stackList(checked.map((s) => s.stack.stack))}. **Not checked** (their providers are not installed here; never counted as in sync): ${stackList(notChecked.map((s) => s.stack.stack))}.`,
    '',
  ];
  if (failures.length > 0) lines.push('### Failures', '', ...failures.map((f) => `- ${f}`), '');
  for (const section of stackSections(input.stacks, (s) => s.stack)) lines.push(...sectionLines(section, '###'));
  lines.push(`Plans and working folders: \`${path.relative(process.cwd(), input.workDir) || input.workDir}\`.`);
  return lines.join('\n') + '\n';
}

/** One unit per location and per region, with the issue body `.github/workflows/drift.yml` posts. */
export function driftUnits(input: DriftRenderInput): DriftUnit[] {
  const pointer = artifactPointer(input.runUrl, 'drift-summary.md', DRIFT_ARTIFACT_NAME);
  return stackSections(input.stacks, (s) => s.stack).map((section) => {
    const title = section.location ? `Drift: ${section.location}` : `Drift: region ${section.region}`;
    const body = [
      ...sectionLines(section, '##'),
      how(input.refresh),
      '',
      `Found by \`npm run drift\`; ${pointer} Each scheduled run updates this issue and closes it when every stack here is checked and in sync.`,
    ].join('\n');
    return {
      title,
      stacks: section.items.map((s) => s.stack.stack),
      drifted: section.items.some((s) => s.status === 'drifted'),
      fullyChecked: section.items.every((s) => s.status === 'in-sync' || s.status === 'drifted'),
      body: fitToLimit(body, GITHUB_COMMENT_LIMIT, pointer).text,
    };
  });
}

export function driftReport(input: DriftRenderInput): DriftReport {
  return {
    status: driftStatus(input.stacks),
    refresh: input.refresh,
    backend: input.backend,
    terraformVersion: input.terraformVersion,
    wallSeconds: input.wallSeconds,
    stacks: input.stacks,
    failures: driftFailures(input.stacks),
    units: driftUnits(input),
  };
}
