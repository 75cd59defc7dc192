/**
 * The database bootstrap (app/src/db/bootstrap.ts) against a real PostgreSQL 16 whose master is,
 * as on RDS, not a superuser: a stand-in `rds_iam` (NOLOGIN) and a master `platform_admin` with
 * LOGIN CREATEROLE CREATEDB holding `rds_iam WITH ADMIN OPTION` (what rds_superuser gives it on
 * RDS), owning the `restaurant` database. The production names are used: the harness's own
 * superuser (initdb's `app`) is renamed out of the way first.
 *
 * The master credentials come from a stand-in source; the Secrets Manager reader has its own test
 * (master-secret.test.ts).
 */
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { Client } from 'pg';
import { type AppConfig, parseConfig } from '../../../app/src/config';
import {
  type BootstrapLogger,
  bootstrapDatabase,
  type BootstrapResult,
  type MasterCredentialsSource,
  runDatabaseBootstrap,
} from '../../../app/src/db/bootstrap';
import { APP_DIST_DIR } from '../../../tools/services/app-process';
import { startPostgresCluster, type PostgresCluster } from '../../../tools/services/postgres-cluster';
import { harnessEnvironment, type ProcessResult, REPO, runTs } from './migrate-support';

const MASTER = 'platform_admin';
const MASTER_PASSWORD = 'master-secret-local-only';
const SUPERUSER = 'harness';

let cluster: PostgresCluster;
let superuser: Client;

/** Connects to `database` of the primary as `user`. */
async function connectAs(user: string, password: string, database: string): Promise<Client> {
  const client = new Client({ host: cluster.primary.host, port: cluster.primary.port, user, password, database });
  await client.connect();
  return client;
}

async function sql<T extends Record<string, unknown>>(query: string, values: unknown[] = [], database = cluster.database): Promise<T[]> {
  const client = database === 'postgres' ? superuser : await connectAs(SUPERUSER, cluster.password, database);
  try {
    return (await client.query<T>(query, values)).rows;
  } finally {
    if (client !== superuser) await client.end();
  }
}

/** An RDS-like master and its database, made by the harness superuser as RDS makes them. */
async function standInInstance(master: string, database: string, options: { iamAdmin?: boolean } = {}): Promise<void> {
  await superuser.query(`CREATE ROLE ${master} LOGIN CREATEROLE CREATEDB PASSWORD '${MASTER_PASSWORD}'`);
  if (options.iamAdmin ?? true) await superuser.query(`GRANT rds_iam TO ${master} WITH ADMIN OPTION`);
  await superuser.query(`CREATE DATABASE ${database} OWNER ${master}`);
}

function bootstrapConfig(overrides: Record<string, string> = {}): AppConfig {
  // Through the contract, as the Job's environment would arrive (tests/constructs/database-bootstrap-job.test.ts checks the stack side).
  return parseConfig({
    SERVICE_ROLE: 'db-bootstrap',
    LOCATION_ID: 'test-cafe',
    AWS_REGION: 'ap-southeast-1',
    DATABASE_MASTER_SECRET_ARN: 'arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:test-cafe/rds/master-AbCdEf',
    DATABASE_PRIMARY_HOST: cluster.primary.host,
    DATABASE_PORT: String(cluster.primary.port),
    DATABASE_NAME: 'restaurant',
    DATABASE_USER: 'app',
    DATABASE_AUTH: 'iam',
    DATABASE_SSL: 'disable',
    REDIS_HOST: '127.0.0.1',
    REDIS_AUTH: 'none',
    REDIS_TLS: 'false',
    JWT_ISSUER: 'x',
    JWT_AUDIENCE: 'y',
    JWT_JWKS_URL: 'https://example.invalid/jwks.json',
    ...overrides,
  });
}

function standInSecret(username = MASTER, password = MASTER_PASSWORD): MasterCredentialsSource & { reads: number } {
  const source = {
    description: 'the test stand-in for the master secret',
    reads: 0,
    read: async () => {
      source.reads += 1;
      return { username, password };
    },
  };
  return source;
}

/** Collects what the bootstrap logs, as the Job's log lines would carry it. */
function recordingLogger(): BootstrapLogger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (message: string, fields: Record<string, unknown>) => lines.push(JSON.stringify({ level, message, ...fields }));
  return { lines, info: keep('info'), warn: keep('warn') };
}

const outcomes = (result: BootstrapResult) => result.steps.map((s) => [s.step, s.outcome]);

/** What the bootstrap may change, as the catalog holds it. */
async function catalogState(appUser: string, database: string) {
  const roles = await sql(
    `SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolpassword IS NOT NULL AS has_password
       FROM pg_authid WHERE rolname = $1`,
    [appUser],
  );
  const memberships = await sql(
    `SELECT roleid::regrole::text AS role, member::regrole::text AS member, grantor::regrole::text AS grantor, admin_option, inherit_option, set_option
       FROM pg_auth_members WHERE roleid = to_regrole($1) OR member = to_regrole($1) ORDER BY 1, 2, 3`,
    [appUser],
  );
  const owner = await sql('SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1', [database]);
  const extensions = await sql('SELECT extname, extowner::regrole::text AS owner FROM pg_extension ORDER BY 1', [], database);
  return { roles, memberships, owner, extensions };
}

beforeAll(async () => {
  cluster = await startPostgresCluster();
  await cluster.admin(`CREATE ROLE ${SUPERUSER} LOGIN SUPERUSER PASSWORD '${cluster.password}'`);
  superuser = await connectAs(SUPERUSER, cluster.password, 'postgres');
  // initdb's superuser is called app here; production's `app` is the role under test.
  await superuser.query('ALTER ROLE app RENAME TO harness_initdb');
  await superuser.query(`DROP DATABASE ${cluster.database}`);
  await superuser.query('CREATE ROLE rds_iam NOLOGIN');
  await standInInstance(MASTER, cluster.database);
}, 60_000);

afterAll(async () => {
  await superuser?.end();
  await cluster?.stop();
});

describe('a new location: the first bootstrap, then the migrations as app', () => {
  const logger = recordingLogger();
  let first: BootstrapResult;
  let afterFirst: Awaited<ReturnType<typeof catalogState>>;

  test('the server is PostgreSQL 16 and the master is not a superuser, as on RDS', async () => {
    const [row] = await sql<{ version: string; num: number }>("SELECT version(), current_setting('server_version_num')::int AS num");
    process.stdout.write(`db-bootstrap test server: ${row!.version}\n`);
    expect(row!.num).toBeGreaterThanOrEqual(160000);
    expect(row!.num).toBeLessThan(170000);
    expect(await sql('SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = $1', [MASTER])).toEqual([
      { rolsuper: false, rolcreaterole: true, rolcreatedb: true },
    ]);
  });

  test('creates app LOGIN, grants it rds_iam, grants it to the master and hands it the database', async () => {
    const source = standInSecret();
    first = await runDatabaseBootstrap(bootstrapConfig(), source, logger);
    expect(source.reads).toBe(1);
    expect(first).toMatchObject({ masterUser: MASTER, appUser: 'app', database: 'restaurant', changed: true });
    expect(first.serverVersion).toMatch(/^16\.\d+/);
    expect(outcomes(first)).toEqual([
      ['role', 'created'],
      ['rds-iam', 'granted'],
      ['master-membership', 'granted'],
      ['database-owner', 'changed'],
      // The owner of the database owns public (pg_database_owner) from here on.
      ['schema-public', 'unchanged'],
      // An untrusted extension needs rds_superuser, which the stand-in master lacks: a warning, as in the migration.
      ['extension-pg_stat_statements', 'skipped'],
    ]);

    afterFirst = await catalogState('app', 'restaurant');
    expect(afterFirst.roles).toEqual([
      { rolname: 'app', rolsuper: false, rolinherit: true, rolcreaterole: false, rolcreatedb: false, rolcanlogin: true, has_password: false },
    ]);
    expect(afterFirst.memberships).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ role: 'rds_iam', member: 'app', admin_option: false }),
        expect.objectContaining({ role: 'app', member: MASTER, grantor: MASTER, set_option: true }),
      ]),
    );
    expect(afterFirst.owner).toEqual([{ owner: 'app' }]);
    expect(await sql("SELECT pg_has_role($1, 'app', 'SET') AS can", [MASTER])).toEqual([{ can: true }]);
  });

  test('the migrations then run as app and app owns everything they create', async () => {
    // A password stands in for the IAM token locally, where rds_iam is only a role.
    await superuser.query(`ALTER ROLE app PASSWORD '${cluster.password}'`);
    const result = await runTs('app/src/migrate-main.ts', ['up'], harnessEnvironment(cluster, 'migrate'));
    expect({ code: result.code, stderr: result.stderr }).toMatchObject({ code: 0 });
    expect(result.stdout).toMatch(/"msg":"applied \d+ migration\(s\)"/);
    expect(result.stdout).toContain('order partitions ensured');
    const owners = await sql<{ owner: string; n: number }>(
      `SELECT pg_get_userbyid(c.relowner) AS owner, count(*)::int AS n FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'm', 'v', 'S') GROUP BY 1`,
    );
    expect(owners.map((o) => o.owner)).toEqual(['app']);
    expect(owners[0]!.n).toBeGreaterThan(5);
    // btree_gist (the reservations' exclusion constraint) is trusted: the database owner creates it, no master needed.
    expect(await sql("SELECT extname, extowner::regrole::text AS owner FROM pg_extension WHERE extname = 'btree_gist'")).toEqual([{ extname: 'btree_gist', owner: 'app' }]);
    await superuser.query('ALTER ROLE app PASSWORD NULL');
  });

  test('a second run changes nothing and says so', async () => {
    const before = await catalogState('app', 'restaurant');
    const second = await runDatabaseBootstrap(bootstrapConfig(), standInSecret(), logger);
    expect(second.changed).toBe(false);
    expect(outcomes(second)).toEqual([
      ['role', 'unchanged'],
      ['rds-iam', 'unchanged'],
      ['master-membership', 'unchanged'],
      ['database-owner', 'unchanged'],
      ['schema-public', 'unchanged'],
      ['extension-pg_stat_statements', 'skipped'],
    ]);
    expect(await catalogState('app', 'restaurant')).toEqual(before);
    expect(before.memberships).toEqual(afterFirst.memberships);
    expect(logger.lines.filter((l) => l.includes('"outcome":"unchanged"')).length).toBeGreaterThanOrEqual(5);
  });

  test('an extension the master created earlier (rds_superuser on RDS) is left as it is', async () => {
    await sql('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const run = await runDatabaseBootstrap(bootstrapConfig(), standInSecret(), logger);
    expect(outcomes(run).pop()).toEqual(['extension-pg_stat_statements', 'unchanged']);
    expect(run.changed).toBe(false);
  });

  test('the master password never reaches the log', () => {
    expect(logger.lines.length).toBeGreaterThan(10);
    for (const line of logger.lines) expect(line).not.toContain(MASTER_PASSWORD);
  });
});

describe('PostgreSQL 16 rules the bootstrap must follow', () => {
  test('without GRANT app TO master, ALTER DATABASE ... OWNER TO app fails; the bootstrap grants it', async () => {
    await standInInstance('master_b', 'restaurant_b');
    const master = await connectAs('master_b', MASTER_PASSWORD, 'restaurant_b');
    try {
      await master.query('CREATE ROLE app_b LOGIN');
      await master.query('GRANT rds_iam TO app_b');
      // 16 gives a CREATEROLE creator ADMIN on the new role, not SET.
      expect((await master.query("SELECT pg_has_role('app_b', 'MEMBER') AS member, pg_has_role('app_b', 'SET') AS can_set")).rows).toEqual([
        { member: true, can_set: false },
      ]);
      await expect(master.query('ALTER DATABASE restaurant_b OWNER TO app_b')).rejects.toThrow('must be able to SET ROLE "app_b"');

      const result = await bootstrapDatabase(master, { appUser: 'app_b' });
      expect(outcomes(result).slice(0, 4)).toEqual([
        ['role', 'unchanged'],
        ['rds-iam', 'unchanged'],
        ['master-membership', 'granted'],
        ['database-owner', 'changed'],
      ]);
    } finally {
      await master.end();
    }
    expect(await sql("SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = 'restaurant_b'")).toEqual([{ owner: 'app_b' }]);
  });

  test('a step the master may not take rolls back the whole run: no half-made role', async () => {
    // A master without ADMIN on rds_iam cannot grant it.
    await standInInstance('master_c', 'restaurant_c', { iamAdmin: false });
    const config = bootstrapConfig({ DATABASE_NAME: 'restaurant_c', DATABASE_USER: 'app_c' });
    await expect(runDatabaseBootstrap(config, standInSecret('master_c'))).rejects.toThrow(/permission denied to grant role "rds_iam"/);
    expect(await sql("SELECT rolname FROM pg_roles WHERE rolname = 'app_c'")).toEqual([]);
    expect(await sql("SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = 'restaurant_c'")).toEqual([{ owner: 'master_c' }]);
  });

  test('two runs at once (a retried Job) both succeed: one creates, the other finds it done', async () => {
    await standInInstance('master_d', 'restaurant_d');
    const config = bootstrapConfig({ DATABASE_NAME: 'restaurant_d', DATABASE_USER: 'app_d' });
    const runs = await Promise.all([runDatabaseBootstrap(config, standInSecret('master_d')), runDatabaseBootstrap(config, standInSecret('master_d'))]);
    expect(runs.map((r) => r.changed).sort()).toEqual([false, true]);
  });

  test('fails naming host, database and user, not the password, when the master login is refused', async () => {
    const wrong = 'not-the-master-password';
    const failure = runDatabaseBootstrap(bootstrapConfig(), standInSecret(MASTER, wrong));
    await expect(failure).rejects.toThrow(
      new RegExp(`^cannot connect to the primary 127\\.0\\.0\\.1:${cluster.primary.port} database restaurant as ${MASTER} \\(from the test stand-in for the master secret\\): password authentication failed`),
    );
    await expect(failure).rejects.not.toThrow(wrong);
  });

  test('fails when appUser is not a plain role name', async () => {
    const master = await connectAs(MASTER, MASTER_PASSWORD, 'restaurant');
    try {
      await expect(bootstrapDatabase(master, { appUser: 'App"; DROP' })).rejects.toThrow(
        'appUser must be a role name of lowercase letters, digits and _ (at most 63, not starting with a digit), got "App\\"; DROP"',
      );
    } finally {
      await master.end();
    }
  });
});

describe('the Job entry as it ships (dist/db-bootstrap-main.js)', () => {
  const SECRET_ARN = 'arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:test-cafe/rds/master-AbCdEf';
  let secretsManager: http.Server;
  let endpoint: string;
  const targets: string[] = [];

  beforeAll(async () => {
    await standInInstance('master_e', 'restaurant_e');
    // Answers GetSecretValue as Secrets Manager does (JSON 1.1), with the JSON the data stack writes.
    secretsManager = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        targets.push(String(req.headers['x-amz-target']));
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ ARN: SECRET_ARN, SecretString: JSON.stringify({ username: 'master_e', password: MASTER_PASSWORD, host: '127.0.0.1', port: 5432, dbname: 'restaurant_e' }) }));
      });
    });
    await new Promise<void>((resolve) => secretsManager.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(secretsManager.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => secretsManager.close(() => resolve())));

  /** The bundle with the Job's environment; AWS's endpoint and credentials point at the stand-in. */
  function runEntry(): Promise<ProcessResult> {
    const env = {
      PATH: process.env.PATH ?? '',
      SERVICE_ROLE: 'db-bootstrap',
      LOCATION_ID: 'test-cafe',
      AWS_REGION: 'ap-southeast-1',
      DATABASE_MASTER_SECRET_ARN: SECRET_ARN,
      DATABASE_PRIMARY_HOST: cluster.primary.host,
      DATABASE_PORT: String(cluster.primary.port),
      DATABASE_NAME: 'restaurant_e',
      DATABASE_USER: 'app_e',
      DATABASE_SSL: 'disable',
      REDIS_HOST: '127.0.0.1',
      REDIS_AUTH: 'none',
      REDIS_TLS: 'false',
      JWT_ISSUER: 'x',
      JWT_AUDIENCE: 'y',
      JWT_JWKS_URL: 'https://example.invalid/jwks.json',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
      AWS_ACCESS_KEY_ID: 'AKIDTEST',
      AWS_SECRET_ACCESS_KEY: 'test-secret-key',
    };
    const child = spawn(process.execPath, ['--enable-source-maps', path.join(APP_DIST_DIR, 'db-bootstrap-main.js')], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  // The JSON log lines; on Node 20 the SDK adds a plain-text deprecation warning (the image runs 22).
  const messages = (result: ProcessResult) =>
    `${result.stdout}${result.stderr}`
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => (JSON.parse(line) as { msg: string }).msg);

  test('reads the master secret, bootstraps, exits 0; the next run finds nothing to do', async () => {
    const first = await runEntry();
    expect({ code: first.code, stderr: first.stderr }).toMatchObject({ code: 0 });
    expect(messages(first)).toContain('bootstrapped database restaurant_e for app_e: role, rds-iam, master-membership, database-owner');
    const second = await runEntry();
    expect(second.code).toBe(0);
    expect(messages(second)).toContain('database restaurant_e already bootstrapped for app_e: nothing changed');
    expect(targets).toEqual(['secretsmanager.GetSecretValue', 'secretsmanager.GetSecretValue']);
    for (const result of [first, second]) expect(result.stdout + result.stderr).not.toContain(MASTER_PASSWORD);
    expect(await sql("SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = 'restaurant_e'")).toEqual([{ owner: 'app_e' }]);
  });
});
