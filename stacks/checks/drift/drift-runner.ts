/**
 * Runs `terraform plan -detailed-exitcode` of each synthesized stack against the state its
 * backend names (S3 in production), in the stack's own synthesized folder as `cdktf deploy`
 * does, with the credentials of the environment. Nothing is written to state: `-lock=false`, so a
 * drift check never holds a lock a deploy waits for, and the plan is only shown, never applied.
 *
 * A stack whose providers cannot be installed here (kubernetes, helm without a mirror or the
 * registry; `unplannableReason`) is not checked and says why: it is never counted as in sync.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { StackSummary } from '../../synthesize';
import { stackJsonPath } from '../../synthesize';
import { countChanges, firstErrorLines, pool, unplannableReason, type ResourceChangeCounts } from '../plan/plan-runner';
import { cliConfig, type MirroredProvider } from '../plan/provider-installation';
import { runTerraform } from '../plan/terraform-cli';

export type DriftStep = 'init' | 'plan' | 'show';

/** A resource the plan would change, and which of its attributes. */
export interface ChangedResource {
  readonly address: string;
  /** Terraform's actions: `["update"]`, `["delete", "create"]`, ... */
  readonly actions: readonly string[];
  /** Top-level attributes that differ; empty when the whole resource is created or deleted. */
  readonly attributes: readonly string[];
}

export interface StackDrift {
  readonly stack: StackSummary;
  /** `in-sync`: empty plan; `drifted`: the plan changes something; `not-checked`: see `reason`; `failed`: see `error`. */
  readonly status: 'in-sync' | 'drifted' | 'not-checked' | 'failed';
  /** Why the stack was not checked. */
  readonly reason?: string;
  readonly error?: { readonly step: DriftStep; readonly message: string };
  readonly stepMs: Partial<Record<DriftStep, number>>;
  /** Drifted: what applying the configuration would do. */
  readonly changes?: ResourceChangeCounts;
  readonly resourceChanges?: readonly ChangedResource[];
  /** Drifted: what the refresh found changed or deleted outside Terraform (`resource_drift` of the plan). */
  readonly changedOutside?: readonly ChangedResource[];
  /** Drifted: outputs whose value would change. */
  readonly outputChanges?: readonly string[];
}

export interface DriftRunOptions {
  readonly synthOutdir: string;
  /** Where the Terraform CLI configuration and the provider cache go. */
  readonly workDir: string;
  readonly stacks: readonly StackSummary[];
  readonly terraformBin: string;
  readonly mirrored: readonly MirroredProvider[];
  /** Install providers that no mirror holds from the registry instead of leaving their stacks unchecked. */
  readonly providersFromRegistry: boolean;
  /**
   * Read the real resources before planning (`-refresh=true`). Without, the plan compares the
   * configuration with the recorded state only and cannot see changes made outside Terraform.
   * @default true
   */
  readonly refresh?: boolean;
  /** @default the number of cores */
  readonly concurrency?: number;
  readonly log?: (line: string) => void;
}

interface PlanJsonChange {
  address: string;
  mode?: string;
  change: { actions: string[]; before?: unknown; after?: unknown; after_unknown?: unknown };
}

interface PlanJson {
  resource_changes?: PlanJsonChange[];
  resource_drift?: PlanJsonChange[];
  output_changes?: Record<string, { actions: string[] }>;
}

const isNoop = (actions: readonly string[]) => actions.every((a) => a === 'no-op' || a === 'read');

/** Top-level attributes whose value differs between before and after, or becomes unknown. */
export function changedAttributes(change: PlanJsonChange['change']): string[] {
  const { before, after } = change;
  if (!before || !after || typeof before !== 'object' || typeof after !== 'object') return [];
  const unknown = (change.after_unknown ?? {}) as Record<string, unknown>;
  const b = before as Record<string, unknown>;
  const a = after as Record<string, unknown>;
  return [...new Set([...Object.keys(b), ...Object.keys(a)])]
    .filter((key) => unknown[key] === true || JSON.stringify(b[key] ?? null) !== JSON.stringify(a[key] ?? null))
    .sort();
}

const changedResources = (changes: readonly PlanJsonChange[] | undefined): ChangedResource[] =>
  (changes ?? [])
    .filter((rc) => rc.mode !== 'data' && !isNoop(rc.change.actions))
    .map((rc) => ({ address: rc.address, actions: rc.change.actions, attributes: changedAttributes(rc.change) }));

/** The drift a saved plan shows, from `terraform show -json`. */
export function driftOfPlan(plan: PlanJson): Pick<StackDrift, 'changes' | 'resourceChanges' | 'changedOutside' | 'outputChanges'> {
  return {
    changes: countChanges(plan),
    resourceChanges: changedResources(plan.resource_changes),
    changedOutside: changedResources(plan.resource_drift),
    outputChanges: Object.entries(plan.output_changes ?? {})
      .filter(([, change]) => !isNoop(change.actions))
      .map(([name]) => name),
  };
}

export async function runDriftChecks(options: DriftRunOptions): Promise<StackDrift[]> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const width = Math.max(0, ...options.stacks.map((s) => s.stack.length));
  const say = (stack: string, message: string) => log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${stack.padEnd(width)}  ${message}`);
  const refresh = options.refresh ?? true;

  fs.mkdirSync(options.workDir, { recursive: true });
  const cliConfigPath = path.join(options.workDir, 'terraform.rc');
  fs.writeFileSync(cliConfigPath, cliConfig(options.mirrored));
  const pluginCache = path.join(options.workDir, 'plugin-cache');
  fs.mkdirSync(pluginCache, { recursive: true });
  const env = {
    ...process.env,
    TF_CLI_CONFIG_FILE: cliConfigPath,
    // Shared by the inits below, which run one at a time: a cache is not safe for parallel inits.
    TF_PLUGIN_CACHE_DIR: pluginCache,
    TF_IN_AUTOMATION: '1',
    TF_INPUT: '0',
    CHECKPOINT_DISABLE: '1',
  };

  const results = new Map<string, StackDrift>();
  const initMs = new Map<string, number>();
  const toPlan: StackSummary[] = [];
  for (const stack of options.stacks) {
    const json = JSON.parse(fs.readFileSync(stackJsonPath(options.synthOutdir, stack.stack), 'utf8')) as Parameters<typeof unplannableReason>[0];
    const reason = unplannableReason(json, options.mirrored, options.providersFromRegistry);
    if (reason) {
      results.set(stack.stack, { stack, status: 'not-checked', reason, stepMs: {} });
      say(stack.stack, `NOT CHECKED: ${reason}`);
      continue;
    }
    const dir = path.dirname(stackJsonPath(options.synthOutdir, stack.stack));
    say(stack.stack, 'init ...');
    const init = await runTerraform(options.terraformBin, ['init', '-input=false', '-no-color'], { cwd: dir, env });
    if (init.code !== 0) {
      results.set(stack.stack, { stack, status: 'failed', error: { step: 'init', message: firstErrorLines(init.stderr) }, stepMs: { init: init.ms } });
      say(stack.stack, `FAILED init: ${firstErrorLines(init.stderr)}`);
      continue;
    }
    say(stack.stack, `init ok (${(init.ms / 1000).toFixed(1)}s)`);
    initMs.set(stack.stack, init.ms);
    toPlan.push(stack);
  }

  await pool(toPlan, options.concurrency ?? Math.max(1, os.availableParallelism()), async (stack) => {
    const dir = path.dirname(stackJsonPath(options.synthOutdir, stack.stack));
    const stepMs: Partial<Record<DriftStep, number>> = { init: initMs.get(stack.stack) };
    const fail = (step: DriftStep, message: string) => {
      results.set(stack.stack, { stack, status: 'failed', error: { step, message }, stepMs });
      say(stack.stack, `FAILED ${step}: ${message}`);
    };
    say(stack.stack, `plan (-refresh=${refresh}) ...`);
    const args = ['plan', '-input=false', '-no-color', '-lock=false', '-detailed-exitcode', `-refresh=${refresh}`, '-out=drift.tfplan'];
    const plan = await runTerraform(options.terraformBin, args, { cwd: dir, env });
    stepMs.plan = plan.ms;
    if (plan.code === 0) {
      results.set(stack.stack, { stack, status: 'in-sync', stepMs });
      say(stack.stack, `in sync (${(plan.ms / 1000).toFixed(1)}s)`);
      return;
    }
    if (plan.code !== 2) return fail('plan', firstErrorLines(plan.stderr));
    const show = await runTerraform(options.terraformBin, ['show', '-json', '-no-color', 'drift.tfplan'], { cwd: dir, env });
    stepMs.show = show.ms;
    if (show.code !== 0) return fail('show', firstErrorLines(show.stderr));
    const drift = driftOfPlan(JSON.parse(show.stdout) as PlanJson);
    results.set(stack.stack, { stack, status: 'drifted', stepMs, ...drift });
    say(stack.stack, `DRIFTED: ${drift.changes!.add} to add, ${drift.changes!.change} to change, ${drift.changes!.destroy} to destroy`);
  });

  return options.stacks.map((s) => results.get(s.stack)!);
}
