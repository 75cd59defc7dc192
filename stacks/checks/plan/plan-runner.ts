/**
 * Runs real Terraform on every stack of a synthesized output, in parallel up to the number of
 * cores, each in its own working folder. Progress goes to `log` as it happens.
 *
 * - A stack whose providers can be installed here is fully planned: `init`, `validate`, `plan`
 *   and `show -json` on a copy of its JSON plus the plan-check override, next to a link to the
 *   stack's `assets/` folder (files cdktf copied for resources such as the web client's S3
 *   objects, named by paths relative to the stack folder).
 * - A stack with providers that cannot (kubernetes and helm: not mirrored, no registry) is
 *   structure-checked: `init -backend=false` and `validate` on a copy in which the blocks of
 *   those providers are `terraform_data` stand-ins (`structure-check.ts`), so Terraform still
 *   judges its meta-arguments, every referenced address and cycles.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { StackSummary } from '../../synthesize';
import { stackJsonPath } from '../../synthesize';
import { OVERRIDE_FILE_NAME, planCheckOverride } from './plan-check-override';
import { cliConfig, type MirroredProvider } from './provider-installation';
import { resourceAtLine } from './resource-at-line';
import { structureCheckConfig, type StructureCheckInput } from './structure-check';
import { structureCheckErrors } from './structure-diagnostics';
import { runTerraform } from './terraform-cli';
import { fixtureOutputs, fixtureState, referencedOutputs } from './upstream-fixtures';

export type PlanStep = 'init' | 'validate' | 'plan' | 'show';

export interface ResourceChangeCounts {
  readonly add: number;
  readonly change: number;
  readonly destroy: number;
}

export interface StackPlan {
  readonly stack: StackSummary;
  /** `plan`: init, validate, plan, show; `structure`: init and validate of the stand-in copy (see `reason`). */
  readonly check: 'plan' | 'structure';
  /** `planned`, `structure-checked`: every step of the check passed; `failed`: one failed (see `error`). */
  readonly status: 'planned' | 'structure-checked' | 'failed';
  /** Why a structure-checked stack was not fully planned. */
  readonly reason?: string;
  readonly error?: { readonly step: PlanStep | 'prepare'; readonly message: string };
  /** Structure check: how many resources, data sources and ephemeral resources had `terraform_data` stand-ins. */
  readonly standIns?: number;
  readonly stepMs: Partial<Record<PlanStep, number>>;
  readonly changes?: ResourceChangeCounts;
  /** `terraform show -json` of the saved plan. */
  readonly planJsonPath?: string;
  /** Fixture state files that stood in for upstream stacks. */
  readonly fixtures: readonly string[];
}

export interface PlanRunOptions {
  readonly synthOutdir: string;
  readonly workDir: string;
  readonly stacks: readonly StackSummary[];
  readonly terraformBin: string;
  readonly mirrored: readonly MirroredProvider[];
  /** Plan stacks whose providers are not mirrored (the registry must be reachable) instead of structure-checking them. */
  readonly providersFromRegistry: boolean;
  readonly concurrency?: number;
  readonly log?: (line: string) => void;
}

interface StackJson {
  terraform?: { required_providers?: Record<string, { source?: string; version?: string }> };
  output?: Record<string, { value?: unknown }>;
}

interface MissingProvider {
  /** The local name, as in `required_providers`. */
  readonly name: string;
  readonly address: string;
  readonly version?: string;
}

function providerAddress(source: string | undefined, name: string): string {
  const s = source ?? name;
  const parts = s.split('/');
  if (parts.length === 1) return `registry.terraform.io/hashicorp/${parts[0]}`;
  if (parts.length === 2) return `registry.terraform.io/${s}`;
  return s;
}

/** The providers of a stack that no filesystem mirror holds (in the version it pins). */
function missingProviders(json: StackJson, mirrored: readonly MirroredProvider[]): MissingProvider[] {
  return Object.entries(json.terraform?.required_providers ?? {})
    .map(([name, p]) => ({ name, address: providerAddress(p.source, name), version: p.version }))
    .filter((p) => !mirrored.some((m) => m.address === p.address && (!p.version || m.versions.includes(p.version))));
}

/** Why a stack cannot be planned here, or undefined when it can. */
export function unplannableReason(json: StackJson, mirrored: readonly MirroredProvider[], providersFromRegistry: boolean): string | undefined {
  if (providersFromRegistry) return undefined;
  const missing = missingProviders(json, mirrored);
  if (missing.length === 0) return undefined;
  return (
    `provider ${missing.map((m) => `${m.address}${m.version ? ` ${m.version}` : ''}`).join(', ')} is not in a filesystem mirror ` +
    '(set TF_PLUGIN_MIRROR, or PLAN_PROVIDERS_FROM_REGISTRY=1 where the registry is reachable)'
  );
}

/** The folder of files cdktf copied for a stack's resources (TerraformAsset), beside its JSON. */
export const STACK_ASSETS_DIR = 'assets';

/** Links the stack's `assets/` folder, if it has one, into its working folder: `source` paths are relative to the stack folder. */
export function linkStackAssets(synthOutdir: string, stack: string, workingDir: string): void {
  const assets = path.join(path.dirname(stackJsonPath(synthOutdir, stack)), STACK_ASSETS_DIR);
  if (fs.existsSync(assets)) fs.symlinkSync(path.resolve(assets), path.join(workingDir, STACK_ASSETS_DIR), 'dir');
}

/** Summarizes `terraform show -json` into add/change/destroy counts (a replace counts as both). */
export function countChanges(plan: { resource_changes?: { change: { actions: string[] } }[] }): ResourceChangeCounts {
  let add = 0;
  let change = 0;
  let destroy = 0;
  for (const rc of plan.resource_changes ?? []) {
    const actions = rc.change.actions;
    if (actions.includes('create')) add++;
    if (actions.includes('delete')) destroy++;
    if (actions.length === 1 && actions[0] === 'update') change++;
  }
  return { add, change, destroy };
}

/** The error diagnostics of `terraform validate -json`, each naming the resource it concerns. */
function validateErrors(stdout: string, stackJsonText: string): string {
  try {
    const result = JSON.parse(stdout) as {
      diagnostics: { severity: string; summary: string; detail?: string; address?: string; range?: { filename: string; start: { line: number } } }[];
    };
    return result.diagnostics
      .filter((d) => d.severity === 'error')
      .map((d) => {
        const where = d.address ?? (d.range ? (resourceAtLine(stackJsonText, d.range.start.line) ?? `${d.range.filename}:${d.range.start.line}`) : undefined);
        return `${where ? `${where}: ` : ''}${d.summary}${d.detail ? `: ${d.detail.split('\n')[0]}` : ''}`;
      })
      .join('; ');
  } catch {
    return stdout.trim();
  }
}

/** The first lines of a Terraform error on stderr, from `Error:` on, without the box drawing. */
export function firstErrorLines(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.replace(/^[│╷╵]\s?/, '').trim()).filter(Boolean);
  const start = lines.findIndex((l) => l.startsWith('Error:'));
  return (start >= 0 ? lines.slice(start, start + 4) : lines.slice(0, 4)).join(' ');
}

/** Runs `worker` on every item, at most `concurrency` at a time. */
export async function pool<T>(items: readonly T[], concurrency: number, worker: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await worker(items[next++]!);
  });
  await Promise.all(runners);
}

/** A stack prepared for Terraform: its working folder and the check it gets. */
interface WorkItem {
  readonly summary: StackSummary;
  readonly dir: string;
  readonly check: 'plan' | 'structure';
  readonly reason?: string;
  readonly fixtures: string[];
  /** `required_providers` of the working copy, as JSON: stacks with the same set share one installation. */
  readonly providerSet: string;
  /** Structure check: stand-in names and what they stand for, and the copy's text, for messages. */
  readonly standIns?: ReadonlyMap<string, string>;
  readonly replacedBlocks?: number;
  readonly configText?: string;
}

export async function runPlans(options: PlanRunOptions): Promise<StackPlan[]> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const elapsed = () => `[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s]`;
  const width = Math.max(...options.stacks.map((s) => s.stack.length));
  const say = (stack: string, message: string) => log(`${elapsed()} ${stack.padEnd(width)}  ${message}`);

  fs.mkdirSync(options.workDir, { recursive: true });
  const cliConfigPath = path.join(options.workDir, 'terraform.rc');
  fs.writeFileSync(cliConfigPath, cliConfig(options.mirrored));
  const env = {
    ...process.env,
    TF_CLI_CONFIG_FILE: cliConfigPath,
    TF_IN_AUTOMATION: '1',
    TF_INPUT: '0',
    CHECKPOINT_DISABLE: '1',
  };

  const jsonOf = (stack: string) => JSON.parse(fs.readFileSync(stackJsonPath(options.synthOutdir, stack), 'utf8')) as StackJson;
  const results = new Map<string, StackPlan>();
  const items: WorkItem[] = [];

  for (const summary of options.stacks) {
    const json = jsonOf(summary.stack);
    const reason = unplannableReason(json, options.mirrored, options.providersFromRegistry);
    const check = reason ? 'structure' : 'plan';
    const dir = path.join(options.workDir, 'stacks', summary.stack);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    linkStackAssets(options.synthOutdir, summary.stack, dir);
    try {
      if (reason) {
        const unavailable = new Set(missingProviders(json, options.mirrored).map((p) => p.name));
        const structure = structureCheckConfig(json as StructureCheckInput, unavailable);
        const configText = JSON.stringify(structure.config, null, 2);
        fs.writeFileSync(path.join(dir, 'cdk.tf.json'), configText);
        const remaining = (structure.config.terraform as StackJson['terraform'])?.required_providers ?? {};
        items.push({ summary, dir, check, reason, fixtures: [], providerSet: JSON.stringify(remaining), standIns: structure.standIns, replacedBlocks: structure.replacedBlocks, configText });
        say(summary.stack, `structure check (not fully planned: ${reason}): ${structure.replacedBlocks} terraform_data stand-ins`);
        continue;
      }
      fs.copyFileSync(stackJsonPath(options.synthOutdir, summary.stack), path.join(dir, 'cdk.tf.json'));
      const fixturePaths = new Map<string, string>();
      for (const [source, outputs] of referencedOutputs(json)) {
        const upstream = source.replace('cross-stack-reference-input-', '');
        const file = path.join(options.workDir, 'fixtures', summary.stack, `${upstream}.tfstate`);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, fixtureState(fixtureOutputs(upstream, jsonOf(upstream), outputs, summary.region)));
        fixturePaths.set(source, file);
      }
      fs.writeFileSync(path.join(dir, OVERRIDE_FILE_NAME), JSON.stringify(planCheckOverride(json as object, fixturePaths), null, 2));
      items.push({ summary, dir, check, fixtures: [...fixturePaths.values()], providerSet: JSON.stringify(json.terraform?.required_providers ?? {}) });
    } catch (err) {
      results.set(summary.stack, { stack: summary, check, reason, status: 'failed', error: { step: 'prepare', message: (err as Error).message }, stepMs: {}, fixtures: [] });
      say(summary.stack, `FAILED prepare: ${(err as Error).message}`);
    }
  }

  const runStack = async (item: WorkItem): Promise<void> => {
    const stepMs: Partial<Record<PlanStep, number>> = {};
    const fail = (step: PlanStep, message: string) => {
      results.set(item.summary.stack, { stack: item.summary, check: item.check, reason: item.reason, status: 'failed', error: { step, message }, stepMs, fixtures: item.fixtures });
      say(item.summary.stack, `FAILED ${step}: ${message}`);
    };
    const step = async (name: PlanStep, args: string[]) => {
      say(item.summary.stack, `${name} ...`);
      const run = await runTerraform(options.terraformBin, args, { cwd: item.dir, env });
      stepMs[name] = run.ms;
      if (run.code === 0) say(item.summary.stack, `${name} ok (${(run.ms / 1000).toFixed(1)}s)`);
      return run;
    };

    if (item.check === 'structure') {
      const errors = (stdout: string) => structureCheckErrors(stdout, item.standIns!, item.configText!);
      const init = await step('init', ['init', '-input=false', '-no-color', '-backend=false', '-lockfile=readonly']);
      if (init.code !== 0) {
        // init stops at a configuration error (a `depends_on` interpolation) but tells it only as
        // text about the stand-in; validate -json reports the same errors structured.
        const diagnosis = await runTerraform(options.terraformBin, ['validate', '-json', '-no-color'], { cwd: item.dir, env });
        return fail('init', errors(diagnosis.stdout) ?? firstErrorLines(init.stderr));
      }
      const validate = await step('validate', ['validate', '-json', '-no-color']);
      if (validate.code !== 0) return fail('validate', errors(validate.stdout) ?? firstErrorLines(validate.stderr));
      results.set(item.summary.stack, {
        stack: item.summary, check: 'structure', status: 'structure-checked', reason: item.reason, standIns: item.replacedBlocks, stepMs, fixtures: [],
      });
      say(item.summary.stack, `structure-checked: ${item.replacedBlocks} stand-ins validate`);
      return;
    }

    const init = await step('init', ['init', '-input=false', '-no-color', '-lockfile=readonly']);
    if (init.code !== 0) return fail('init', firstErrorLines(init.stderr));
    const validate = await step('validate', ['validate', '-json', '-no-color']);
    if (validate.code !== 0) return fail('validate', validateErrors(validate.stdout, fs.readFileSync(path.join(item.dir, 'cdk.tf.json'), 'utf8')));
    const plan = await step('plan', ['plan', '-input=false', '-no-color', '-lock=false', '-out=tfplan']);
    if (plan.code !== 0) return fail('plan', firstErrorLines(plan.stderr));
    const show = await step('show', ['show', '-json', '-no-color', 'tfplan']);
    if (show.code !== 0) return fail('show', firstErrorLines(show.stderr));
    const planJsonPath = path.join(item.dir, 'plan.json');
    fs.writeFileSync(planJsonPath, show.stdout);
    const changes = countChanges(JSON.parse(show.stdout));
    results.set(item.summary.stack, { stack: item.summary, check: 'plan', status: 'planned', stepMs, changes, planJsonPath, fixtures: item.fixtures });
    say(item.summary.stack, `planned: ${changes.add} to add, ${changes.change} to change, ${changes.destroy} to destroy`);
  };

  // Providers are installed once per provider set, in a folder of their own, before anything runs
  // in parallel; every stack folder then links to that installation and copies its lock file, so
  // the parallel inits only read it. (A shared plugin cache is not safe for concurrent inits:
  // installing from a mirror rewrites the cached package under the feet of a running validate.)
  // A structure check left with no provider but the built-in ones needs no installation.
  const needProviders = items.filter((item) => item.providerSet !== '{}');
  const installs = new Map<string, { dir: string; error?: string }>();
  for (const item of needProviders) {
    if (installs.has(item.providerSet)) continue;
    const dir = path.join(options.workDir, 'providers', createHash('sha256').update(item.providerSet).digest('hex').slice(0, 12));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'providers.tf.json'), JSON.stringify({ terraform: { required_providers: JSON.parse(item.providerSet) } }, null, 2));
    say(item.summary.stack, 'installing providers (once for every stack that needs the same set) ...');
    const init = await runTerraform(options.terraformBin, ['init', '-input=false', '-no-color', '-backend=false'], { cwd: dir, env });
    if (init.code === 0) say(item.summary.stack, `providers installed (${(init.ms / 1000).toFixed(1)}s)`);
    installs.set(item.providerSet, init.code === 0 ? { dir } : { dir, error: firstErrorLines(init.stderr) });
  }
  for (const item of needProviders) {
    const install = installs.get(item.providerSet)!;
    if (install.error) {
      results.set(item.summary.stack, {
        stack: item.summary, check: item.check, reason: item.reason, status: 'failed', error: { step: 'init', message: `provider installation failed: ${install.error}` }, stepMs: {}, fixtures: item.fixtures,
      });
      say(item.summary.stack, `FAILED init: provider installation failed: ${install.error}`);
      continue;
    }
    fs.mkdirSync(path.join(item.dir, '.terraform'), { recursive: true });
    fs.symlinkSync(path.join(install.dir, '.terraform', 'providers'), path.join(item.dir, '.terraform', 'providers'), 'dir');
    fs.copyFileSync(path.join(install.dir, '.terraform.lock.hcl'), path.join(item.dir, '.terraform.lock.hcl'));
  }

  const concurrency = options.concurrency ?? Math.max(1, os.availableParallelism());
  await pool(items.filter((item) => !results.has(item.summary.stack)), concurrency, runStack);

  return options.stacks.map((s) => results.get(s.stack)!);
}
