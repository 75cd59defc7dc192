/** The migration Job's entry, app/src/migrate-main.ts, run as the Job runs it: a process with the contract's environment. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'pg';
import { startPostgresCluster, type PostgresCluster } from '../../../tools/services/postgres-cluster';
import { freePort } from '../../../tools/services/processes';
import { monthPartition } from '../../../app/src/db/order-partitions';
import { connect, harnessEnvironment, relationNames, runTs } from './migrate-support';

const ENTRY = 'app/src/migrate-main.ts';

/** The JSON log lines an entry wrote. */
const logLines = (output: string) =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: string; msg: string; [field: string]: unknown });

describe('migrate-main', () => {
  let cluster: PostgresCluster;
  let db: Client;
  beforeAll(async () => {
    cluster = await startPostgresCluster();
    db = await connect(cluster);
  }, 60_000);
  afterAll(async () => {
    await db?.end();
    await cluster?.stop();
  });

  test('up applies the migrations and creates the partitions of this month and the next two', async () => {
    const result = await runTs(ENTRY, ['up'], harnessEnvironment(cluster, 'migrate'));
    expect(result.code).toBe(0);
    expect(await relationNames(db)).toEqual(expect.arrayContaining(['restaurants', 'menu_items', 'orders', 'order_items', 'idempotency_keys', 'daily_revenue_summary']));

    const now = new Date();
    const expected = [0, 1, 2].map((i) => monthPartition(now.getUTCFullYear(), now.getUTCMonth() + i).name);
    const { rows } = await db.query<{ name: string }>(`SELECT inhrelid::regclass::text AS name FROM pg_inherits WHERE inhparent = 'orders'::regclass ORDER BY 1`);
    expect(rows.map((r) => r.name)).toEqual([...expected, 'orders_default'].sort());

    const lines = logLines(result.stdout);
    const migrations = fs.readdirSync(path.join(__dirname, '../../../app/src/db/migrations')).filter((f) => f.endsWith('.sql')).length;
    expect(lines.find((l) => l.msg === `applied ${migrations} migration(s)`)).toBeDefined();
    expect(lines.find((l) => l.msg === 'order partitions ensured')).toMatchObject({ created: expected, existing: [], rowsLeftInDefault: 0 });
  });

  test('a second run changes nothing and still exits 0', async () => {
    const result = await runTs(ENTRY, ['up'], harnessEnvironment(cluster, 'migrate'));
    expect(result.code).toBe(0);
    const lines = logLines(result.stdout);
    expect(lines.find((l) => l.msg === 'schema already up to date')).toMatchObject({ applied: [] });
    expect(lines.find((l) => l.msg === 'order partitions ensured')).toMatchObject({ created: [] });
  });

  test('DATABASE_AUTH=iam presents a signed RDS IAM token as the password (a plain PostgreSQL refuses it)', async () => {
    const env = {
      ...harnessEnvironment(cluster, 'migrate'),
      DATABASE_AUTH: 'iam',
      AWS_REGION: 'ap-southeast-1',
      // The default credential chain reads these first; no metadata endpoint is ever asked.
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const result = await runTs(ENTRY, ['up'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`as ${cluster.user}: password authentication failed for user`);
    // The token is a credential: it must never reach the logs.
    expect(result.stderr).not.toContain('X-Amz-Signature');
  });

  test('DATABASE_AUTH=iam without a region fails naming AWS_REGION', async () => {
    const env = { ...harnessEnvironment(cluster, 'migrate'), DATABASE_AUTH: 'iam' };
    const result = await runTs(ENTRY, ['up'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('AWS_REGION is required when DATABASE_AUTH or REDIS_AUTH is iam');
  });

  test('fails when the environment breaks the contract, naming the variable', async () => {
    const { DATABASE_PASSWORD: _omitted, ...env } = harnessEnvironment(cluster, 'migrate');
    const result = await runTs(ENTRY, ['up'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('DATABASE_PASSWORD is required when DATABASE_AUTH=password');
  });

  test('fails when the primary cannot be reached, naming the endpoint', async () => {
    const port = await freePort();
    const env = { ...harnessEnvironment(cluster, 'migrate'), DATABASE_PORT: String(port) };
    const result = await runTs(ENTRY, ['up'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`migration failed: cannot connect to the primary 127.0.0.1:${port} database restaurant as app`);
  });

  test('fails on anything but "up" with exit 2 and the usage', async () => {
    const result = await runTs(ENTRY, ['down'], harnessEnvironment(cluster, 'migrate'));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('usage: migrate up');
  });
});
