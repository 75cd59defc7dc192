/**
 * The schema on a harness cluster, applied as the migrate Job applies it: the migrate-main bundle,
 * `up`, seeing only the environment contract the stacks inject. Shared by the database tests
 * (tests/app/db/migrate-support.ts) and the API bench.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { appEntryCommand } from './app-process';
import type { PostgresCluster } from './postgres-cluster';

const REPO = path.resolve(__dirname, '../..');

/** The environment contract as the stacks would inject it, pointed at the harness primary. */
export function harnessEnvironment(cluster: PostgresCluster, role: 'migrate' | 'maintenance'): Record<string, string> {
  return {
    SERVICE_ROLE: role,
    LOCATION_ID: 'test-cafe',
    DATABASE_PRIMARY_HOST: cluster.primary.host,
    DATABASE_PORT: String(cluster.primary.port),
    DATABASE_NAME: cluster.database,
    DATABASE_USER: cluster.user,
    DATABASE_AUTH: 'password',
    DATABASE_PASSWORD: cluster.password,
    DATABASE_SSL: 'disable',
    REDIS_HOST: '127.0.0.1',
    REDIS_AUTH: 'none',
    REDIS_TLS: 'false',
    JWT_ISSUER: 'x',
    JWT_AUDIENCE: 'y',
    JWT_JWKS_URL: 'https://example.invalid/jwks.json',
  };
}

/** `migrate up` through the Job's entry; throws with the output when it does not exit 0. */
export async function applySchema(cluster: PostgresCluster): Promise<void> {
  const migrate = appEntryCommand('migrate-main');
  // Only PATH is inherited, so the contract is all the entry sees.
  const child = spawn(migrate.command, [...migrate.args, 'up'], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '', ...harnessEnvironment(cluster, 'migrate') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`migrate-main up exited ${code}:\n${stdout}\n${stderr}`);
}
