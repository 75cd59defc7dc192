/**
 * Shared by the database tests: running the entries and the migration library in child processes,
 * and the environment the harness gives them.
 *
 * node-pg-migrate 9 is ESM-only, and jest on Node 20 cannot load ESM from CommonJS test code, so
 * everything that runs migrations starts a real process: the entries as their bundles
 * (`appEntryCommand`, as the Job runs them), test fixtures such as migrate-child.ts through tsx.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { Client } from 'pg';
import { appEntryCommand, type AppEntry } from '../../../tools/services/app-process';
import type { PostgresCluster } from '../../../tools/services/postgres-cluster';

// The schema helpers live with the harness: the API bench applies the schema the same way.
export { applySchema, harnessEnvironment } from '../../../tools/services/schema';

export const REPO = path.resolve(__dirname, '../../..');
const TSX_CLI = path.join(REPO, 'node_modules/tsx/dist/cli.mjs');

export interface ProcessResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunningProcess {
  readonly child: ChildProcess;
  readonly done: Promise<ProcessResult>;
}

/** A process entry's source path, `app/src/<entry>.ts`, names the entry. */
const ENTRY_SOURCE = /^app\/src\/([a-z]+-main)\.ts$/;

/**
 * Starts a TypeScript file of the repo; only PATH is inherited, so the contract is all it sees.
 * A process entry (`app/src/<entry>.ts`) starts as its bundle through `appEntryCommand`, anything
 * else (a test fixture) through tsx.
 */
export function startTs(file: string, args: readonly string[], env: Record<string, string>): RunningProcess {
  const entry = ENTRY_SOURCE.exec(file)?.[1] as AppEntry | undefined;
  const command = entry ? appEntryCommand(entry) : { command: process.execPath, args: [TSX_CLI, file] };
  const child = spawn(command.command, [...command.args, ...args], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<ProcessResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done };
}

export function runTs(file: string, args: readonly string[], env: Record<string, string>): Promise<ProcessResult> {
  return startTs(file, args, env).done;
}

export interface ChildMigration {
  readonly direction: 'up' | 'down';
  readonly names: string[];
}

/** Starts tests/app/db/migrate-child.ts: the migration library itself, against the primary. */
export function startMigrateChild(cluster: PostgresCluster, direction: 'up' | 'down', options: { count?: number; dir?: string } = {}): RunningProcess {
  const args = [direction, cluster.url('primary'), String(options.count ?? (direction === 'up' ? 'all' : 1)), ...(options.dir ? [options.dir] : [])];
  return startTs('tests/app/db/migrate-child.ts', args, {});
}

/** The result the child printed as its last line; throws with its output when it failed. */
export function childMigration(result: ProcessResult): ChildMigration {
  if (result.code !== 0) throw new Error(`migrate-child exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  const last = result.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as ChildMigration;
}

export async function connect(cluster: PostgresCluster, role: 'primary' | 'replica' = 'primary'): Promise<Client> {
  const client = new Client({ connectionString: cluster.url(role) });
  await client.connect();
  return client;
}

/** Tables and views of the public schema, by name, without those of extensions. */
export async function relationNames(client: Client): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c
      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'm', 'v')
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 1`,
  );
  return rows.map((r) => r.name);
}
