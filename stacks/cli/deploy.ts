/**
 * `npm run deploy -- <location-glob>... [--dry-run] [--auto-approve]`
 * `npm run diff -- <location-glob>... [--dry-run]`
 *
 * Deploys (or diffs) exactly the stacks the matched locations need, in the order that is safe:
 * `platform-<region>`, the locations' `-data`, `addons-<region>`, the locations' `-app`
 * (deploy-stages.ts says why, and how cdktf runs them). Synthesizes once with `cdktf synth`,
 * then runs cdktf once per stage (deploy) or per stack (diff) from the repo root, and stops at
 * the first run that fails, exiting with its code. `--dry-run` prints the command lines and
 * runs nothing.
 *
 * Environment: `LOCATIONS_DIR` (as for synth; cdktf's synth reads it too), `CDKTF_BIN` (default
 * `node_modules/.bin/cdktf` of the repo). Exit codes: 0 done, 1 bad locations or no cdktf,
 * 2 usage, otherwise the failed cdktf run's code.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadLocations } from '../infra/config/load-locations';
import type { Location } from '../infra/config/location';
import { formatProblem, LocationConfigError } from '../infra/config/location-config-error';
import { REPO_ROOT } from '../synth-options';
import { cdktfCommands, deployStages, selectLocations, type CdktfVerb } from './deploy-stages';
import { runCli } from './run-cli';

const USAGE: Record<CdktfVerb, string> = {
  deploy: 'usage: npm run deploy -- <location-glob>... [--dry-run] [--auto-approve]',
  diff: 'usage: npm run diff -- <location-glob>... [--dry-run]',
};

class UsageError extends Error {}

export interface DeployRequest {
  readonly verb: CdktfVerb;
  readonly globs: readonly string[];
  readonly dryRun: boolean;
  readonly autoApprove: boolean;
}

/** The command line after the verb; throws UsageError naming what is wrong. */
export function parseDeployArgs(verb: CdktfVerb, args: readonly string[]): DeployRequest {
  const allowed = verb === 'deploy' ? ['dry-run', 'auto-approve'] : ['dry-run'];
  const { tokens } = parseArgs({
    args: [...args],
    allowPositionals: true,
    strict: false,
    tokens: true,
    options: Object.fromEntries(allowed.map((name) => [name, { type: 'boolean' as const }])),
  });
  const globs: string[] = [];
  const flags = new Set<string>();
  for (const token of tokens) {
    if (token.kind === 'positional') {
      globs.push(token.value);
    } else if (token.kind === 'option') {
      if (!allowed.includes(token.name)) {
        throw new UsageError(`unknown option ${token.rawName} (${verb} takes ${allowed.map((name) => `--${name}`).join(', ')})`);
      }
      if (token.value !== undefined) throw new UsageError(`${token.rawName} takes no value, got "${token.rawName}=${token.value}"`);
      flags.add(token.name);
    }
  }
  if (globs.length === 0) throw new UsageError(`name the locations to ${verb}: no location glob given`);
  return { verb, globs, dryRun: flags.has('dry-run'), autoApprove: flags.has('auto-approve') };
}

/** A word as a POSIX shell reads it back: quoted only when it has to be. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

interface CdktfBinary {
  /** What to run: a path, or a bare name looked up in PATH. */
  readonly command: string;
  /** How command lines show it: relative to the repo root when inside it. */
  readonly shown: string;
  readonly fromEnv: boolean;
}

function cdktfBinary(env: Readonly<Record<string, string | undefined>>): CdktfBinary {
  const configured = env.CDKTF_BIN;
  if (configured && !configured.includes('/')) return { command: configured, shown: configured, fromEnv: true };
  const command = path.resolve(REPO_ROOT, configured ?? 'node_modules/.bin/cdktf');
  const relative = path.relative(REPO_ROOT, command);
  const shown = relative.startsWith('..') || path.isAbsolute(relative) ? command : relative;
  return { command, shown, fromEnv: configured !== undefined };
}

function isOnPath(name: string, env: Readonly<Record<string, string | undefined>>): boolean {
  return (env.PATH ?? '').split(path.delimiter).some((dir) => dir !== '' && fs.existsSync(path.join(dir, name)));
}

export interface DeployIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

const CONSOLE_IO: DeployIo = { out: (line) => console.log(line), err: (line) => console.error(line) };

/**
 * Runs `npm run deploy|diff` with `argv` after the verb and returns the exit code. The cdktf runs
 * inherit the terminal (cdktf asks for approval there) and `env`.
 */
export function runDeploy(
  verb: CdktfVerb,
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  io: DeployIo = CONSOLE_IO,
): number {
  const locationsDir = path.resolve(env.LOCATIONS_DIR ?? path.join(REPO_ROOT, 'locations'));
  let locations: readonly Location[] | undefined;
  let loadError: LocationConfigError | undefined;
  try {
    locations = loadLocations(locationsDir);
  } catch (err) {
    if (!(err instanceof LocationConfigError)) throw err;
    loadError = err;
  }

  let request: DeployRequest;
  let selected: readonly Location[];
  try {
    request = parseDeployArgs(verb, args);
    if (loadError) {
      io.err(loadError.problems.map(formatProblem).join('\n'));
      io.err(`Nothing was ${verb === 'deploy' ? 'deployed' : 'diffed'}.`);
      return 1;
    }
    const selection = selectLocations(locations!, request.globs);
    if (selection.unmatched.length > 0) {
      throw new UsageError(`no location matches ${selection.unmatched.map((glob) => `'${glob}'`).join(', ')}`);
    }
    selected = selection.selected;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`error: ${err.message}\n${USAGE[verb]}`);
    if (locations) io.err(`locations: ${locations.map((l) => l.id).join(', ')}`);
    return 2;
  }

  const binary = cdktfBinary(env);
  const commands = cdktfCommands(verb, deployStages(selected), { autoApprove: request.autoApprove });
  const commandLine = (args: readonly string[]) => [binary.shown, ...args].map(shellWord).join(' ');
  if (request.dryRun) {
    for (const command of commands) io.out(commandLine(command.args));
    return 0;
  }

  const found = binary.command.includes('/') ? fs.existsSync(binary.command) : isOnPath(binary.command, env);
  if (!found) {
    io.err(
      `error: cdktf not found at ${binary.shown}${binary.fromEnv ? ' (CDKTF_BIN)' : ''}: ` +
        'run `npm ci` to install cdktf-cli, or set CDKTF_BIN to a cdktf binary',
    );
    return 1;
  }
  for (const [i, command] of commands.entries()) {
    io.out(`$ ${commandLine(command.args)}`);
    const result = spawnSync(binary.command, command.args, { cwd: REPO_ROOT, env, stdio: 'inherit' });
    if (result.error) {
      io.err(`error: could not run ${binary.shown}: ${result.error.message}`);
      return 1;
    }
    const code = result.signal ? 128 + (os.constants.signals[result.signal] ?? 0) : (result.status ?? 1);
    if (code !== 0) {
      const notRun = commands.slice(i + 1).flatMap((c) => c.stacks);
      const how = result.signal ? `was killed by ${result.signal}` : `exited with ${code}`;
      io.err(`error: ${commandLine(command.args)} ${how}${notRun.length > 0 ? `; not run: ${notRun.join(', ')}` : ''}`);
      return code;
    }
  }
  return 0;
}

function main(argv: readonly string[]): number {
  const [verb, ...args] = argv;
  if (verb !== 'deploy' && verb !== 'diff') {
    // package.json passes the verb; anything else is a wiring mistake, not a user's.
    throw new Error(`stacks/cli/deploy.ts takes deploy or diff first (see package.json), got "${verb ?? ''}"`);
  }
  return runDeploy(verb, args);
}

// runDeploy reports the user's mistakes itself and returns their codes; anything thrown is a bug.
if (require.main === module) runCli(() => main(process.argv.slice(2)));
