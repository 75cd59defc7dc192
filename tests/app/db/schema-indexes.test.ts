/**
 * The indexes of the requirements document, adapted to partitioning, serve the queries they are
 * for: EXPLAIN (FORMAT JSON) on a few thousand rows per table after ANALYZE, no planner switches.
 * Partition indexes are named by PostgreSQL (orders_2030_01_restaurant_id_status_created_at_idx),
 * so a plan's index is traced back to the partitioned index it belongs to through pg_inherits.
 */
import type { Client } from 'pg';
import { ensureOrderPartitions } from '../../../app/src/db/order-partitions';
import { startPostgresCluster, type PostgresCluster } from '../../../tools/services/postgres-cluster';
import { applySchema, connect } from './migrate-support';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

const INDEX_SCANS = new Set(['Index Scan', 'Index Only Scan', 'Bitmap Index Scan']);

/** The partitions holding the seeded orders; empty ones (other months, DEFAULT) may be read any way. */
const LOADED_PARTITIONS = ['orders_2030_01', 'orders_2030_02'];
const loaded = (relations: string[]) => relations.filter((r) => LOADED_PARTITIONS.includes(r));

function flatten(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(flatten)];
}

interface PlanSummary {
  /** Index scans as "relation-or-partition: root index" (the partitioned index for partitions). */
  readonly indexScans: string[];
  /** Every table or partition the plan reads, however (a Bitmap Heap Scan names the table of its index). */
  readonly relations: string[];
  readonly seqScans: string[];
}

describe('indexes serve their queries', () => {
  let cluster: PostgresCluster;
  let db: Client;
  let rootIndexOf: Map<string, string>;
  /** Ids by slug of the seeded restaurants. */
  let restaurant: (n: number) => Promise<string>;

  async function explain(sql: string): Promise<PlanSummary> {
    const { rows } = await db.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${sql}`);
    const nodes = flatten(rows[0]!['QUERY PLAN'][0].Plan);
    const indexScans = nodes.filter((n) => INDEX_SCANS.has(n['Node Type'])).map((n) => rootIndexOf.get(n['Index Name']!) ?? n['Index Name']!);
    const relations = [...new Set(nodes.map((n) => n['Relation Name']).filter((r): r is string => r !== undefined))].sort();
    const seqScans = nodes.filter((n) => n['Node Type'] === 'Seq Scan').map((n) => n['Relation Name']!);
    return { indexScans: [...new Set(indexScans)], relations, seqScans };
  }

  beforeAll(async () => {
    cluster = await startPostgresCluster();
    await applySchema(cluster);
    db = await connect(cluster);
    await ensureOrderPartitions(db, { now: new Date('2030-01-01T00:00:00Z'), monthsAhead: 2 });
    await db.query(`SET TimeZone = 'UTC'`);
    await db.query(`
      INSERT INTO restaurants (slug, name, timezone, currency)
        SELECT 'r-' || i, 'Restaurant ' || i, 'Asia/Bangkok', 'THB' FROM generate_series(1, 20) i;
      INSERT INTO menu_categories (restaurant_id, name)
        SELECT r.id, 'Category ' || c FROM restaurants r, generate_series(1, 10) c;
      INSERT INTO menu_items (restaurant_id, category_id, name, price_cents, is_available)
        SELECT mc.restaurant_id, mc.id, 'Item ' || i, 100 * i, i % 5 <> 0 FROM menu_categories mc, generate_series(1, 25) i;
      INSERT INTO tables (restaurant_id, label, seats, status)
        SELECT r.id, 'T' || t, 2 + t % 6, (ARRAY['available', 'occupied', 'reserved', 'cleaning', 'out_of_service'])[1 + t % 5]
          FROM restaurants r, generate_series(1, 200) t;
      INSERT INTO guests (restaurant_id, display_name) SELECT r.id, 'Guest ' || g FROM restaurants r, generate_series(1, 50) g;
      INSERT INTO reservations (restaurant_id, guest_name, reservation_date, reservation_time, party_size)
        SELECT r.id, 'Guest', date '2030-01-01' + d, time '17:00' + s * interval '30 minutes', 2 + s % 4
          FROM restaurants r, generate_series(0, 364) d, generate_series(0, 5) s;
      -- 60,000 orders over January and February 2030, all statuses, a third with a guest.
      INSERT INTO orders (restaurant_id, guest_id, status, total_cents, created_at)
        SELECT g.restaurant_id, CASE WHEN i % 3 = 0 THEN g.id END,
               (ARRAY['pending', 'confirmed', 'preparing', 'ready', 'served', 'completed', 'cancelled'])[1 + i % 7],
               500 + (i % 100) * 10,
               timestamptz '2030-01-01 00:00:00+00' + ((i * 7919) % 59) * interval '1 day' + (i % 86400) * interval '1 second'
          FROM generate_series(1, 60000) i JOIN guests g ON g.id = 1 + i % 1000;
      INSERT INTO order_items (order_id, order_created_at, menu_item_id, quantity, unit_price_cents)
        SELECT o.id, o.created_at, 1 + o.id % 5000, 1, o.total_cents FROM orders o;
      ANALYZE;
    `);
    const { rows } = await db.query<{ index: string; root: string }>(
      `SELECT c.relname AS index, p.relname AS root
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
        WHERE c.relkind = 'i'`,
    );
    rootIndexOf = new Map(rows.map((r) => [r.index, r.root]));
    restaurant = async (n) => (await db.query<{ id: string }>(`SELECT id FROM restaurants WHERE slug = $1`, [`r-${n}`])).rows[0]!.id;
  }, 120_000);
  afterAll(async () => {
    await db?.end();
    await cluster?.stop();
  });

  test('orders by restaurant, status and a date range: idx_orders_restaurant_status_created, one partition', async () => {
    const plan = await explain(
      `SELECT id, created_at, total_cents FROM orders
        WHERE restaurant_id = ${await restaurant(3)} AND status = 'preparing'
          AND created_at >= '2030-01-10 00:00:00+00' AND created_at < '2030-01-20 00:00:00+00'
        ORDER BY created_at`,
    );
    expect(plan.indexScans).toEqual(['idx_orders_restaurant_status_created']);
    expect(plan.relations).toEqual(['orders_2030_01']);
    expect(plan.relations).not.toContain('orders_2030_02');
    expect(plan.seqScans).toEqual([]);
  });

  test('the same query without that index reads the partition another way (the check above can fail)', async () => {
    await db.query('BEGIN');
    try {
      await db.query('DROP INDEX idx_orders_restaurant_status_created');
      const plan = await explain(
        `SELECT id, created_at, total_cents FROM orders
          WHERE restaurant_id = ${await restaurant(3)} AND status = 'preparing'
            AND created_at >= '2030-01-10 00:00:00+00' AND created_at < '2030-01-20 00:00:00+00'`,
      );
      expect(plan.indexScans).not.toContain('idx_orders_restaurant_status_created');
      expect(plan.relations).toEqual(['orders_2030_01']);
    } finally {
      await db.query('ROLLBACK');
    }
  });

  test('a range across a month end reads exactly the two months', async () => {
    const plan = await explain(
      `SELECT id FROM orders
        WHERE restaurant_id = ${await restaurant(3)} AND status IN ('confirmed', 'preparing')
          AND created_at >= '2030-01-30 00:00:00+00' AND created_at < '2030-02-02 00:00:00+00'`,
    );
    expect(plan.indexScans).toEqual(['idx_orders_restaurant_status_created']);
    expect(plan.relations).toEqual(['orders_2030_01', 'orders_2030_02']);
  });

  test('the next keyset page of a restaurant: idx_orders_restaurant_created_id, later months pruned', async () => {
    // The cursor's created_at is repeated as a plain bound: row comparisons do not prune partitions.
    const plan = await explain(
      `SELECT id, created_at, status, total_cents FROM orders
        WHERE restaurant_id = ${await restaurant(3)}
          AND created_at <= '2030-02-10 12:00:00+00' AND (created_at, id) < ('2030-02-10 12:00:00+00', 40000)
        ORDER BY created_at DESC, id DESC LIMIT 20`,
    );
    expect(plan.indexScans).toContain('idx_orders_restaurant_created_id');
    expect(plan.indexScans.filter((i) => i !== 'idx_orders_restaurant_created_id')).toEqual([]);
    expect(plan.relations).toEqual(expect.arrayContaining(['orders_2030_01', 'orders_2030_02']));
    expect(plan.relations).not.toContain('orders_2030_03');
    expect(loaded(plan.seqScans)).toEqual([]);
  });

  test("a guest's orders, newest first: idx_orders_guest_id", async () => {
    const { rows } = await db.query<{ id: string }>(`SELECT guest_id AS id FROM orders WHERE guest_id IS NOT NULL LIMIT 1`);
    const plan = await explain(`SELECT id, created_at, status FROM orders WHERE guest_id = ${rows[0]!.id} ORDER BY created_at DESC LIMIT 20`);
    expect(plan.indexScans).toEqual(['idx_orders_guest_id']);
    expect(loaded(plan.seqScans)).toEqual([]);
  });

  test("an order's items: idx_order_items_order_id", async () => {
    const { rows } = await db.query<{ id: string; created_at: Date }>(`SELECT id, created_at FROM orders_2030_02 LIMIT 1`);
    const plan = await explain(
      `SELECT * FROM order_items WHERE order_id = ${rows[0]!.id} AND order_created_at = '${rows[0]!.created_at.toISOString()}'`,
    );
    expect(plan.indexScans).toEqual(['idx_order_items_order_id']);
    expect(plan.relations).toEqual(['order_items']);
  });

  test("a restaurant's menu by category: idx_menu_items_restaurant_category", async () => {
    const r = await restaurant(7);
    const { rows } = await db.query<{ id: string }>(`SELECT id FROM menu_categories WHERE restaurant_id = $1 ORDER BY id LIMIT 1`, [r]);
    const plan = await explain(`SELECT id, name, price_cents FROM menu_items WHERE restaurant_id = ${r} AND category_id = ${rows[0]!.id} AND is_available ORDER BY name`);
    expect(plan.indexScans).toEqual(['idx_menu_items_restaurant_category']);
    expect(plan.seqScans).toEqual([]);
  });

  test("a restaurant's tables in a status: idx_tables_restaurant_status", async () => {
    const plan = await explain(`SELECT id, label, seats FROM tables WHERE restaurant_id = ${await restaurant(7)} AND status = 'available'`);
    expect(plan.indexScans).toEqual(['idx_tables_restaurant_status']);
    expect(plan.seqScans).toEqual([]);
  });

  test("a restaurant's reservations of a day: idx_reservations_restaurant_date", async () => {
    const plan = await explain(
      `SELECT id, reservation_time, party_size, guest_name FROM reservations
        WHERE restaurant_id = ${await restaurant(7)} AND reservation_date = '2030-03-15' ORDER BY reservation_time`,
    );
    expect(plan.indexScans).toEqual(['idx_reservations_restaurant_date']);
    expect(plan.seqScans).toEqual([]);
  });

  test('daily revenue of a restaurant over a month: the view\'s unique index', async () => {
    await db.query('REFRESH MATERIALIZED VIEW daily_revenue_summary');
    await db.query('ANALYZE daily_revenue_summary');
    const plan = await explain(
      `SELECT * FROM daily_revenue_summary WHERE restaurant_id = ${await restaurant(7)} AND order_date BETWEEN '2030-02-01' AND '2030-02-28' ORDER BY order_date`,
    );
    expect(plan.indexScans).toEqual(['idx_daily_revenue_summary_restaurant_date']);
  });
});
