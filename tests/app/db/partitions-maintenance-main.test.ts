/**
 * The maintenance CronJobs' entry, app/src/maintenance-main.ts, run as the CronJobs run it, and its
 * contract with MAINTENANCE_TASKS in the stack.
 */
import type { Client } from 'pg';
import { MAINTENANCE_TASKS } from '../../../stacks/infra/constructs/database-maintenance-jobs';
import { monthPartition } from '../../../app/src/db/order-partitions';
import { startPostgresCluster, type PostgresCluster } from '../../../tools/services/postgres-cluster';
import { applySchema, connect, harnessEnvironment, runTs } from './migrate-support';

const ENTRY = 'app/src/maintenance-main.ts';

const errorLine = (stderr: string) => JSON.parse(stderr.trim().split('\n').pop() ?? '{}') as { msg: string; tasks?: string[] };

describe('maintenance-main', () => {
  let cluster: PostgresCluster;
  let db: Client;
  beforeAll(async () => {
    cluster = await startPostgresCluster();
    await applySchema(cluster);
    db = await connect(cluster);
  }, 60_000);
  afterAll(async () => {
    await db?.end();
    await cluster?.stop();
  });

  test('an unknown task exits 2 and lists the tasks, which are exactly the CronJobs of the stack', async () => {
    const result = await runTs(ENTRY, ['vacuum-everything'], harnessEnvironment(cluster, 'maintenance'));
    expect(result.code).toBe(2);
    const line = errorLine(result.stderr);
    expect(line.msg).toBe('unknown task "vacuum-everything"; usage: maintenance <task>, tasks: refresh-daily-revenue-summary, create-order-partitions');
    expect([...line.tasks!].sort()).toEqual(MAINTENANCE_TASKS.map((t) => t.task).sort());
  });

  test('a missing task exits 2 with the usage', async () => {
    const result = await runTs(ENTRY, [], harnessEnvironment(cluster, 'maintenance'));
    expect(result.code).toBe(2);
    expect(errorLine(result.stderr).msg).toMatch(/^missing task; usage: maintenance <task>, tasks: /);
  });

  test('create-order-partitions ensures the partitions of this month and the next two, and exits 0', async () => {
    const now = new Date();
    const third = monthPartition(now.getUTCFullYear(), now.getUTCMonth() + 2).name;
    // Referenced by order_items' foreign key: DROP needs the partition detached first.
    await db.query(`ALTER TABLE orders DETACH PARTITION ${third}`);
    await db.query(`DROP TABLE ${third}`);
    const result = await runTs(ENTRY, ['create-order-partitions'], harnessEnvironment(cluster, 'maintenance'));
    expect(result.code).toBe(0);
    const done = JSON.parse(result.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(done).toMatchObject({ level: 'info', msg: 'create-order-partitions done', task: 'create-order-partitions', created: [third], rowsLeftInDefault: 0 });
    const { rows } = await db.query(`SELECT to_regclass($1)::text AS t`, [third]);
    expect(rows[0]).toEqual({ t: third });
  });

  test('a task that fails exits 1 with the reason', async () => {
    const env = { ...harnessEnvironment(cluster, 'maintenance'), DATABASE_NAME: 'no_such_database' };
    const result = await runTs(ENTRY, ['create-order-partitions'], env);
    expect(result.code).toBe(1);
    expect(errorLine(result.stderr).msg).toMatch(/^create-order-partitions failed: cannot connect to the primary .*database "no_such_database" does not exist/);
  });
});
