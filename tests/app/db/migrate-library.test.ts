/**
 * The migration library (app/src/db/migrate.ts) against a real primary and its streaming replica:
 * apply, re-apply, revert to nothing, atomicity, and the advisory lock that keeps two Jobs apart.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Client } from 'pg';
import { startPostgresCluster, type PostgresCluster } from '../../../tools/services/postgres-cluster';
import { childMigration, connect, relationNames, REPO, startMigrateChild } from './migrate-support';

const MIGRATIONS = [
  '20261128190000000_pg-stat-statements',
  '20261128190100000_restaurants',
  '20261128190200000_menu',
  '20261128190300000_dining-room',
  '20261128190400000_orders',
  '20261128190500000_idempotency-keys',
  '20261128190600000_daily-revenue-summary',
  '20261128210000000_create-order-function',
  '20261128220000000_order-event-outbox',
  '20261129100000000_create-order-ordering-open',
  '20261129100100000_reservation-table-overlaps',
  '20261205020000000_create-order-generic-plans',
  '20261205020100000_create-order-committed',
  '20261205220000000_outbox-local-wakeup',
  '20261205223000000_create-orders-committed',
];

const SCHEMA_RELATIONS = [
  'daily_revenue_summary',
  'guests',
  'idempotency_keys',
  'menu_categories',
  'menu_items',
  'order_event_outbox',
  'order_items',
  'orders',
  'orders_default',
  'reservations',
  'restaurants',
  'tables',
];

/** node-pg-migrate's PG_MIGRATE_LOCK_ID (the ESM-only package cannot be imported here). */
const NODE_PG_MIGRATE_LOCK_ID = '7241865325823964';

/** node-pg-migrate's bookkeeping table. */
const BOOKKEEPING = ['pgmigrations'];

const up = async (cluster: PostgresCluster, options?: { dir?: string }) => childMigration(await startMigrateChild(cluster, 'up', options).done);

describe('migrate (node-pg-migrate runner)', () => {
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

  test('applies every migration, in order, to an empty database', async () => {
    expect(await relationNames(db)).toEqual([]);
    expect(await up(cluster)).toEqual({ direction: 'up', names: MIGRATIONS });
    expect(await relationNames(db)).toEqual([...SCHEMA_RELATIONS, ...BOOKKEEPING].sort());
    const { rows } = await db.query<{ name: string }>('SELECT name FROM pgmigrations ORDER BY id');
    expect(rows.map((r) => r.name)).toEqual(MIGRATIONS);
  });

  test('a second up is a no-op', async () => {
    expect(await up(cluster)).toEqual({ direction: 'up', names: [] });
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pgmigrations');
    expect(rows[0]!.n).toBe(MIGRATIONS.length);
  });

  test('creates pg_stat_statements', async () => {
    const { rows } = await db.query(`SELECT extname FROM pg_extension WHERE extname = 'pg_stat_statements'`);
    expect(rows).toHaveLength(1);
  });

  test('what the primary got is on the replica', async () => {
    await cluster.waitForReplica();
    const replica = await connect(cluster, 'replica');
    try {
      expect(await relationNames(replica)).toEqual(await relationNames(db));
      const indexes = `SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname LIKE 'idx_%' ORDER BY 1`;
      const onReplica = (await replica.query<{ indexname: string }>(indexes)).rows.map((r) => r.indexname);
      expect(onReplica).toEqual((await db.query<{ indexname: string }>(indexes)).rows.map((r) => r.indexname));
      expect(onReplica).toEqual(
        expect.arrayContaining([
          'idx_orders_restaurant_status_created',
          'idx_orders_restaurant_created_id',
          'idx_orders_guest_id',
          'idx_order_items_order_id',
          'idx_menu_items_restaurant_category',
          'idx_tables_restaurant_status',
          'idx_reservations_restaurant_date',
          'idx_daily_revenue_summary_restaurant_date',
        ]),
      );
      const view = await replica.query('SELECT * FROM daily_revenue_summary');
      expect(view.fields.map((f) => f.name)).toEqual(['restaurant_id', 'order_date', 'total_orders', 'total_revenue', 'avg_order_value']);
    } finally {
      await replica.end();
    }
  });

  test('down to zero removes everything the migrations created, and up works again', async () => {
    const reverted = childMigration(await startMigrateChild(cluster, 'down', { count: Infinity }).done);
    expect(reverted).toEqual({ direction: 'down', names: [...MIGRATIONS].reverse() });
    expect(await relationNames(db)).toEqual(BOOKKEEPING);
    const { rows: sequences } = await db.query(`SELECT relname FROM pg_class WHERE relkind = 'S' AND relname <> 'pgmigrations_id_seq'`);
    expect(sequences).toEqual([]);
    const { rows: functions } = await db.query(`SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace AND prokind = 'f' AND proname IN ('touch_updated_at', 'is_iana_time_zone', 'reservation_slot')`);
    expect(functions).toEqual([]);
    expect(await up(cluster)).toEqual({ direction: 'up', names: MIGRATIONS });
  });

  test('all pending migrations run in one transaction: a failing one leaves none applied', async () => {
    // The release's migrations (all applied already) plus two new ones, the second broken.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migrations-'));
    fs.cpSync(path.join(REPO, 'app/src/db/migrations'), dir, { recursive: true });
    try {
      fs.writeFileSync(path.join(dir, '20300101000000000_first.sql'), '-- Up Migration\nCREATE TABLE atomic_probe (id int);\n-- Down Migration\nDROP TABLE atomic_probe;\n');
      fs.writeFileSync(path.join(dir, '20300101000100000_broken.sql'), '-- Up Migration\nCREATE TABLE atomic_probe_2 (id int REFERENCES no_such_table (id));\n');
      const failed = await startMigrateChild(cluster, 'up', { dir }).done;
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/relation "no_such_table" does not exist/);
      const { rows } = await db.query(`SELECT to_regclass('atomic_probe') AS t`);
      expect(rows[0]).toEqual({ t: null });
      const { rows: run } = await db.query(`SELECT name FROM pgmigrations WHERE name LIKE '2030%'`);
      expect(run).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a run waits for the advisory lock another run holds, then finds nothing to do', async () => {
    const holder = await connect(cluster);
    try {
      await holder.query(`SELECT pg_advisory_lock(${NODE_PG_MIGRATE_LOCK_ID})`);
      const waiting = startMigrateChild(cluster, 'up');
      // The child connects, then blocks on pg_advisory_lock: visible as an ungranted advisory lock.
      const deadline = Date.now() + 15_000;
      let blocked = false;
      while (!blocked && Date.now() < deadline) {
        const { rows } = await db.query(
          `SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name = 'migrate-child'`,
        );
        blocked = rows.length > 0;
        if (!blocked) await new Promise((r) => setTimeout(r, 100));
      }
      expect(blocked).toBe(true);
      expect(waiting.child.exitCode).toBeNull();
      await holder.query(`SELECT pg_advisory_unlock(${NODE_PG_MIGRATE_LOCK_ID})`);
      expect(childMigration(await waiting.done)).toEqual({ direction: 'up', names: [] });
    } finally {
      await holder.end();
    }
  });
});
