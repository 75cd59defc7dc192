/**
 * `npm run plan -- --affected-since <ref>`: which stacks a change affects, judged by what it does
 * to the synthesized Terraform JSON rather than by which files it touched, so a change in shared
 * code (a construct, a default) shows up as exactly the stacks whose JSON it changed.
 *
 * The tree at `<ref>` is synthesized in a temporary detached git worktree by its own synth entry,
 * run as a process (its layout may be older than ours), with the same environment as the current
 * synth so that backends and image tags do not differ for reasons outside the code.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
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

const readJson = (file: string): unknown => JSON.parse(fs.readFileSync(file, 'utf8'));

/**
 * Compares two cdktf output folders. A stack is affected when its JSON differs or it is new, or
 * (always, like Atmos's `--include-dependents`) when a stack it reads outputs from is affected.
 */
export function compareSyntheses(ref: string, refOutdir: string, currentOutdir: string, currentStacks: readonly string[]): AffectedStacks {
  const stacksDir = path.join(refOutdir, 'stacks');
  const refStacks = fs.existsSync(stacksDir) ? fs.readdirSync(stacksDir).filter((s) => fs.existsSync(stackJsonPath(refOutdir, s))).sort() : [];
  const current = new Map(currentStacks.map((s) => [s, readJson(stackJsonPath(currentOutdir, s))]));

  const direct = new Map<string, AffectedStack>();
  for (const [stack, json] of current) {
    if (!refStacks.includes(stack)) {
      direct.set(stack, { stack, changedKeys: ['(new stack)'] });
      continue;
    }
    const changedKeys = changedTopLevelKeys(readJson(stackJsonPath(refOutdir, stack)), json);
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

/** The environment for the ref's synth: ours, with paths into this repo moved into the worktree. */
function refEnvironment(env: NodeJS.ProcessEnv, repoRoot: string, worktree: string): NodeJS.ProcessEnv {
  const moved = { ...env };
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

/**
 * Synthesizes the tree at `ref` into `outdir` from a temporary worktree (with a link to this
 * repo's `node_modules`), removed afterwards whether or not the synth succeeded.
 */
export function synthesizeAtRef(ref: string, repoRoot: string, outdir: string, env: NodeJS.ProcessEnv): void {
  const commit = git(repoRoot, ['rev-parse', '--verify', `${ref}^{commit}`]).trim();
  const worktree = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-affected-since-'));
  git(repoRoot, ['worktree', 'add', '--detach', worktree, commit]);
  try {
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(worktree, 'node_modules'), 'dir');
    const synth = spawnSync(process.execPath, [path.join(repoRoot, 'node_modules/tsx/dist/cli.mjs'), 'stacks/synth.ts', '--outdir', outdir], {
      cwd: worktree,
      env: refEnvironment(env, repoRoot, worktree),
      encoding: 'utf8',
    });
    if (synth.status !== 0) {
      throw new AffectedSinceError(`synth at ${ref} (${commit.slice(0, 12)}) failed: ${(synth.stderr || synth.stdout || synth.error?.message || '').trim()}`);
    }
  } finally {
    spawnSync('git', ['worktree', 'remove', '--force', worktree], { cwd: repoRoot });
    fs.rmSync(worktree, { recursive: true, force: true });
    spawnSync('git', ['worktree', 'prune'], { cwd: repoRoot });
  }
}

/** Markdown lines: affected stacks with their reasons, unaffected in one counted line, removed loudly. */
export function renderAffected(a: AffectedStacks): string[] {
  const reason = (s: AffectedStack) =>
    s.through ? `affected through ${s.through}` : s.changedKeys.includes('(new stack)') ? 'new stack' : `changed: ${s.changedKeys.join(', ')}`;
  const lines = [`### Affected since \`${a.ref}\``, ''];
  lines.push(...(a.affected.length > 0 ? a.affected.map((s) => `- \`${s.stack}\`: ${reason(s)}`) : ['- no stack is affected']));
  lines.push(`- unaffected (${a.unaffected.length}): ${a.unaffected.map((s) => `\`${s}\``).join(', ') || 'none'}`);
  if (a.removed.length > 0) {
    lines.push(`- **REMOVED (${a.removed.length}), to be destroyed**: ${a.removed.map((s) => `\`${s}\``).join(', ')}`);
  }
  return [...lines, ''];
}
