/**
 * `npm run plan -- --affected-since <ref>`: which stacks a change affects, judged by what it does
 * to the synthesized Terraform JSON rather than by which files it touched, so a change in shared
 * code (a construct, a default) shows up as exactly the stacks whose JSON it changed.
 *
 * The tree at `<ref>` is synthesized in a temporary detached git worktree by its own synth entry,
 * run as a process (its layout may be older than ours), with the same environment as the current
 * synth so that backends and image tags do not differ for reasons outside the code. The one
 * exception is `WEB_CLIENT_DIR`: the ref's synth builds the web client from the ref's own sources
 * in the worktree (stacks/synth-options.ts), so a change of the client shows as changed objects
 * of the data stacks, and an unchanged client (Vite's output is deterministic) as none.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultWebBuildDir } from '../../infra/config/web-client-build';
import { stackJsonPath } from '../../synthesize';

export class AffectedSinceError extends Error {}

export interface AffectedStack {
  readonly stack: string;
  /** Top-level keys whose content changed (`resource`, `output`, ...); `(new stack)` for a stack absent at the ref. */
  readonly changedKeys: readonly string[];
  /** Set when the stack's own JSON is unchanged but a stack it reads outputs from is affected. */
  readonly through?: string;
}

export interface AffectedStacks {
  readonly ref: string;
  readonly affected: readonly AffectedStack[];
  readonly unaffected: readonly string[];
  /** Stacks synthesized at the ref and no longer now: applying would destroy them. */
  readonly removed: readonly string[];
}

/** Drops cdktf's `//` metadata blocks (paths, versions) and sorts keys, at every depth. */
export function normalizeStackJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalizeStackJson);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    if (key === '//') continue;
    out[key] = normalizeStackJson((value as Record<string, unknown>)[key]);
  }
  return out;
}

/** Top-level keys whose normalized content differs between two synthesized stacks. */
export function changedTopLevelKeys(before: unknown, after: unknown): string[] {
  const a = normalizeStackJson(before) as Record<string, unknown>;
  const b = normalizeStackJson(after) as Record<string, unknown>;
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .sort()
    .filter((key) => JSON.stringify(a[key]) !== JSON.stringify(b[key]));
}

const CROSS_STACK_INPUT = 'cross-stack-reference-input-';

/** Stacks whose outputs this stack reads through `terraform_remote_state`. */
export function upstreamStacks(stackJson: unknown, knownStacks: readonly string[]): string[] {
  const remote = ((stackJson as { data?: Record<string, Record<string, { config?: Record<string, unknown> }>> }).data ?? {})['terraform_remote_state'] ?? {};
  const upstream = new Set<string>();
  for (const [name, block] of Object.entries(remote)) {
    const byName = name.startsWith(CROSS_STACK_INPUT) ? name.slice(CROSS_STACK_INPUT.length) : undefined;
    if (byName && knownStacks.includes(byName)) {
      upstream.add(byName);
      continue;
    }
    // A hand-written remote state: match the stack by its state file or key.
    const where = String(block.config?.key ?? block.config?.path ?? '');
    const base = path.basename(where).replace(/\.tfstate$/, '');
    const match = knownStacks.find((s) => base === s || where.split('/').includes(s));
    if (match) upstream.add(match);
  }
  return [...upstream];
}

/**
 * Compares two cdktf output folders. A stack is affected when its JSON differs or it is new, or
 * (always, like Atmos's `--include-dependents`) when a stack it reads outputs from is affected.
 */
export function compareSyntheses(ref: string, refOutdir: string, currentOutdir: string, currentStacks: readonly string[]): AffectedStacks {
  const stacksDir = path.join(refOutdir, 'stacks');
  const refStacks = fs.existsSync(stacksDir) ? fs.readdirSync(stacksDir).filter((s) => fs.existsSync(stackJsonPath(refOutdir, s))).sort() : [];
  const currentText = new Map(currentStacks.map((s) => [s, fs.readFileSync(stackJsonPath(currentOutdir, s), 'utf8')]));
  const current = new Map([...currentText].map(([s, text]) => [s, JSON.parse(text) as unknown]));

  const direct = new Map<string, AffectedStack>();
  for (const [stack, json] of current) {
    if (!refStacks.includes(stack)) {
      direct.set(stack, { stack, changedKeys: ['(new stack)'] });
      continue;
    }
    // Same bytes, same JSON: most stacks are spared the normalizing (about a second for all of 100 locations).
    const refText = fs.readFileSync(stackJsonPath(refOutdir, stack), 'utf8');
    if (refText === currentText.get(stack)) continue;
    const changedKeys = changedTopLevelKeys(JSON.parse(refText), json);
    if (changedKeys.length > 0) direct.set(stack, { stack, changedKeys });
  }

  // Dependents, transitively: a stack reading an affected stack's outputs may plan differently.
  const affected = new Map(direct);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [stack, json] of current) {
      if (affected.has(stack)) continue;
      const through = upstreamStacks(json, currentStacks).find((u) => affected.has(u));
      if (through) {
        affected.set(stack, { stack, changedKeys: [], through });
        grew = true;
      }
    }
  }

  return {
    ref,
    affected: currentStacks.filter((s) => affected.has(s)).map((s) => affected.get(s)!),
    unaffected: currentStacks.filter((s) => !affected.has(s)),
    removed: refStacks.filter((s) => !current.has(s)),
  };
}

/**
 * The environment for the ref's synth: ours, with paths into this repo moved into the worktree,
 * and without a prebuilt web client (the ref builds its own).
 */
export function refEnvironment(env: NodeJS.ProcessEnv, repoRoot: string, worktree: string): NodeJS.ProcessEnv {
  const { WEB_CLIENT_DIR: _prebuilt, ...moved } = env;
  for (const name of ['LOCATIONS_DIR', 'PLATFORM_SETTINGS']) {
    const value = env[name];
    if (!value) continue;
    const relative = path.relative(repoRoot, path.resolve(value));
    if (!relative.startsWith('..') && !path.isAbsolute(relative)) moved[name] = path.join(worktree, relative);
  }
  return moved;
}

function git(repoRoot: string, args: string[]): string {
  const run = spawnSync('git', args, { cwd: repoRoot, encoding: 'utf8' });
  if (run.status !== 0) throw new AffectedSinceError(`git ${args.join(' ')} failed: ${(run.stderr || run.error?.message || '').trim()}`);
  return run.stdout;
}

/** A detached worktree of the ref with a link to this repo's `node_modules`, ready to synthesize. */
interface RefWorktree {
  readonly ref: string;
  readonly commit: string;
  readonly dir: string;
}

function addRefWorktree(ref: string, repoRoot: string): RefWorktree {
  const commit = git(repoRoot, ['rev-parse', '--verify', `${ref}^{commit}`]).trim();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-affected-since-'));
  git(repoRoot, ['worktree', 'add', '--detach', dir, commit]);
  try {
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    seedWebBuild(repoRoot, dir);
  } catch (err) {
    removeRefWorktree(repoRoot, dir);
    throw err;
  }
  return { ref, commit, dir };
}

function removeRefWorktree(repoRoot: string, dir: string): void {
  spawnSync('git', ['worktree', 'remove', '--force', dir], { cwd: repoRoot });
  fs.rmSync(dir, { recursive: true, force: true });
  spawnSync('git', ['worktree', 'prune'], { cwd: repoRoot });
}

/**
 * Copies this checkout's web client build into the worktree. The ref's synth still runs its own
 * build (stacks/synth-options.ts), which keeps a build whose stamp matches the hash of the ref's
 * web sources and rebuilds otherwise (app/web/build.ts): so the ref is spared a Vite build (about
 * half of its synth process's CPU time) exactly when the client did not change.
 */
function seedWebBuild(repoRoot: string, worktree: string): void {
  const built = defaultWebBuildDir(repoRoot);
  const target = defaultWebBuildDir(worktree);
  if (fs.existsSync(built) && !fs.existsSync(target)) fs.cpSync(built, target, { recursive: true });
}

function synthCommand(repoRoot: string, outdir: string): string[] {
  return [path.join(repoRoot, 'node_modules/tsx/dist/cli.mjs'), 'stacks/synth.ts', '--outdir', outdir];
}

function synthFailed(worktree: RefWorktree, output: string): AffectedSinceError {
  return new AffectedSinceError(`synth at ${worktree.ref} (${worktree.commit.slice(0, 12)}) failed: ${output.trim()}`);
}

/**
 * Synthesizes the tree at `ref` into `outdir` from a temporary worktree (with a link to this
 * repo's `node_modules`), removed afterwards whether or not the synth succeeded.
 */
export function synthesizeAtRef(ref: string, repoRoot: string, outdir: string, env: NodeJS.ProcessEnv): void {
  const worktree = addRefWorktree(ref, repoRoot);
  try {
    const synth = spawnSync(process.execPath, synthCommand(repoRoot, outdir), { cwd: worktree.dir, env: refEnvironment(env, repoRoot, worktree.dir), encoding: 'utf8' });
    if (synth.status !== 0) throw synthFailed(worktree, synth.stderr || synth.stdout || synth.error?.message || '');
  } finally {
    removeRefWorktree(repoRoot, worktree.dir);
  }
}

/**
 * `synthesizeAtRef` and `synthesizeCurrent` at the same time: the ref's synth process runs while
 * this process synthesizes the working tree (two synths of 100 locations take about 9 s of CPU: on
 * two cores, half the wall time). Both have finished, and the worktree is gone, when it returns
 * what `synthesizeCurrent` returned, or throws: this side's error if it failed, else the ref's.
 */
export async function synthesizeAlongsideRef<T>(ref: string, repoRoot: string, refOutdir: string, env: NodeJS.ProcessEnv, synthesizeCurrent: () => T): Promise<T> {
  const worktree = addRefWorktree(ref, repoRoot);
  // Output goes to a file: this process does not read pipes while it synthesizes.
  const logFile = path.join(worktree.dir, '.affected-since-synth.log');
  const log = fs.openSync(logFile, 'w');
  const refSide = new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, synthCommand(repoRoot, refOutdir), { cwd: worktree.dir, env: refEnvironment(env, repoRoot, worktree.dir), stdio: ['ignore', log, log] });
    child.on('error', (err) => reject(synthFailed(worktree, err.message)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(synthFailed(worktree, fs.readFileSync(logFile, 'utf8')))));
  }).finally(() => {
    fs.closeSync(log);
    removeRefWorktree(repoRoot, worktree.dir);
  });
  try {
    const result = synthesizeCurrent();
    await refSide;
    return result;
  } catch (err) {
    await refSide.catch(() => undefined);
    throw err;
  }
}

/** Why a stack is affected: `changed: resource, output`, `new stack` or `affected through platform-<region>`. */
export function affectedReason(s: AffectedStack): string {
  return s.through ? `affected through ${s.through}` : s.changedKeys.includes('(new stack)') ? 'new stack' : `changed: ${s.changedKeys.join(', ')}`;
}

/** Markdown lines: affected stacks with their reasons, unaffected in one counted line, removed loudly. */
export function renderAffected(a: AffectedStacks): string[] {
  const lines = [`### Affected since \`${a.ref}\``, ''];
  lines.push(...(a.affected.length > 0 ? a.affected.map((s) => `- \`${s.stack}\`: ${affectedReason(s)}`) : ['- no stack is affected']));
  lines.push(`- unaffected (${a.unaffected.length}): ${a.unaffected.map((s) => `\`${s}\``).join(', ') || 'none'}`);
  if (a.removed.length > 0) {
    lines.push(`- **REMOVED (${a.removed.length}), to be destroyed**: ${a.removed.map((s) => `\`${s}\``).join(', ')}`);
  }
  return [...lines, ''];
}
