/**
 * A real PostgreSQL primary with a streaming replica on random loopback ports, data on /dev/shm.
 * Recipe (measured at about half a second): one `initdb` per machine and PostgreSQL version into a
 * template, then for each cluster two copies of the cleanly stopped template; the replica copy
 * gets `standby.signal` and `primary_conninfo`, so it streams from the primary at once without a
 * base backup. Servers run as the `postgres` OS user when the tests run as root.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { chownRecursive, freePort, MissingToolError, serviceIdentity, startProcess, waitFor, type StartedProcess } from './processes';

export const TEST_DATABASE = 'restaurant';
export const TEST_USER = 'app';
/** Loopback-only test credential; production uses RDS IAM authentication. */
export const TEST_PASSWORD = 'local-test-only';

export interface PostgresEndpoint {
  readonly host: string;
  readonly port: number;
}

export interface PostgresCluster {
  readonly primary: PostgresEndpoint;
  readonly replica: PostgresEndpoint;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  /** `postgres://` URL of the primary or the replica. */
  url(role?: 'primary' | 'replica'): string;
  /** Runs SQL as the superuser on the primary or the replica (harness control, not app code). */
  admin<T = Record<string, unknown>>(sql: string, role?: 'primary' | 'replica'): Promise<T[]>;
  /** Pauses / resumes WAL replay on the replica (read-your-writes tests). */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** Waits until the replica has replayed everything the primary has written so far. */
  waitForReplica(): Promise<void>;
  stopReplica(): Promise<void>;
  startReplica(): Promise<void>;
  stop(): Promise<void>;
}

function postgresBinDir(): string {
  const candidates = [process.env.PG_BIN, ...['17', '16', '15'].map((v) => `/usr/lib/postgresql/${v}/bin`)].filter(Boolean) as string[];
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'postgres')) && fs.existsSync(path.join(dir, 'initdb')));
  if (!found) throw new MissingToolError('PostgreSQL server binaries (initdb, postgres)', 'apt-get install -y postgresql');
  return found;
}

const SERVER_SETTINGS = [
  "listen_addresses = '127.0.0.1'",
  'wal_level = replica',
  'max_wal_senders = 10',
  'hot_standby = on',
  'hot_standby_feedback = on',
  "shared_preload_libraries = 'pg_stat_statements'",
  'fsync = off',
  'full_page_writes = off',
  'max_connections = 300',
  'wal_keep_size = 256MB',
  "log_min_messages = warning",
].join('\n');

/** initdb once per machine and version; concurrent workers race to rename, the loser discards. */
function templateDir(bin: string, owner: { uid: number; gid: number } | undefined): string {
  const version = /\d+\.\d+/.exec(spawnSync(path.join(bin, 'postgres'), ['--version'], { encoding: 'utf8' }).stdout)?.[0] ?? 'unknown';
  const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const template = path.join(base, `restaurant-pg-template-${version}`);
  if (fs.existsSync(path.join(template, 'PG_VERSION'))) return template;
  const building = fs.mkdtempSync(path.join(base, 'restaurant-pg-build-'));
  const data = path.join(building, 'data');
  const pwfile = path.join(building, 'pw');
  fs.writeFileSync(pwfile, TEST_PASSWORD);
  chownRecursive(building, owner);
  const run = spawnSync(
    '/usr/bin/setpriv',
    [...(owner ? ['--reuid', String(owner.uid), '--regid', String(owner.gid), '--clear-groups'] : []), '--', path.join(bin, 'initdb'),
      '-D', data, '-U', TEST_USER, '--pwfile', pwfile, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync'],
    { encoding: 'utf8' },
  );
  if (run.status !== 0) throw new Error(`initdb failed: ${run.stderr || run.stdout}`);
  fs.appendFileSync(path.join(data, 'postgresql.conf'), `\n${SERVER_SETTINGS}\n`);
  fs.appendFileSync(path.join(data, 'pg_hba.conf'), '\nhost replication all 127.0.0.1/32 scram-sha-256\n');
  try {
    fs.renameSync(data, template);
  } catch {
    // Another worker won the race; its template is as good as ours.
  }
  fs.rmSync(building, { recursive: true, force: true });
  return template;
}

async function canConnect(port: number): Promise<boolean> {
  const client = new Client({ host: '127.0.0.1', port, user: TEST_USER, password: TEST_PASSWORD, database: 'postgres', connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = postgresBinDir();
  const owner = serviceIdentity('postgres');
  const template = templateDir(bin, owner);
  const root = fs.mkdtempSync(path.join(path.dirname(template), 'restaurant-pg-'));
  const primaryDir = path.join(root, 'primary');
  const replicaDir = path.join(root, 'replica');
  const cp = (to: string) => {
    const r = spawnSync('cp', ['-a', template, to]);
    if (r.status !== 0) throw new Error(`copying the PostgreSQL template failed: ${r.stderr}`);
  };
  cp(primaryDir);
  cp(replicaDir);
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  fs.writeFileSync(path.join(replicaDir, 'standby.signal'), '');
  fs.appendFileSync(
    path.join(replicaDir, 'postgresql.auto.conf'),
    `primary_conninfo = 'host=127.0.0.1 port=${primaryPort} user=${TEST_USER} password=${TEST_PASSWORD} application_name=replica'\n`,
  );
  chownRecursive(root, owner);

  const launch = (dir: string, port: number) =>
    startProcess(path.join(bin, 'postgres'), ['-D', dir, '-p', String(port), '-k', dir], { as: owner });
  const primaryProcess = launch(primaryDir, primaryPort);
  let replicaProcess: StartedProcess | undefined = launch(replicaDir, replicaPort);
  await waitFor(`PostgreSQL primary on port ${primaryPort}`, () => canConnect(primaryPort), 20000, () => primaryProcess.output());
  await waitFor(`PostgreSQL replica on port ${replicaPort}`, () => canConnect(replicaPort), 20000, () => replicaProcess!.output());

  const admin = async <T>(sql: string, role: 'primary' | 'replica' = 'primary', database = TEST_DATABASE): Promise<T[]> => {
    const client = new Client({ host: '127.0.0.1', port: role === 'primary' ? primaryPort : replicaPort, user: TEST_USER, password: TEST_PASSWORD, database });
    await client.connect();
    try {
      return (await client.query(sql)).rows as T[];
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${TEST_DATABASE}`, 'primary', 'postgres');

  const waitForReplica = async () => {
    const [{ lsn }] = await admin<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    await waitFor('the replica to replay the primary', async () => {
      const [row] = await admin<{ caught: boolean }>(`SELECT pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn AS caught`, 'replica', 'postgres');
      return row!.caught;
    });
  };
  await waitForReplica();

  const cluster: PostgresCluster = {
    primary: { host: '127.0.0.1', port: primaryPort },
    replica: { host: '127.0.0.1', port: replicaPort },
    database: TEST_DATABASE,
    user: TEST_USER,
    password: TEST_PASSWORD,
    url: (role = 'primary') => `postgres://${TEST_USER}:${TEST_PASSWORD}@127.0.0.1:${role === 'primary' ? primaryPort : replicaPort}/${TEST_DATABASE}`,
    admin: (sql, role) => admin(sql, role),
    pauseReplay: async () => void (await admin('SELECT pg_wal_replay_pause()', 'replica')),
    resumeReplay: async () => void (await admin('SELECT pg_wal_replay_resume()', 'replica')),
    waitForReplica,
    stopReplica: async () => {
      await replicaProcess?.stop('SIGINT');
      replicaProcess = undefined;
    },
    startReplica: async () => {
      if (replicaProcess) return;
      replicaProcess = launch(replicaDir, replicaPort);
      await waitFor(`PostgreSQL replica restart on port ${replicaPort}`, () => canConnect(replicaPort), 20000, () => replicaProcess!.output());
    },
    stop: async () => {
      await Promise.all([replicaProcess?.stop('SIGINT'), primaryProcess.stop('SIGINT')]);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  return cluster;
}
