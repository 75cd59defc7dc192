/**
 * ensureOrderPartitions (app/src/db/order-partitions.ts): the monthly window, idempotence, and the
 * move of rows that landed in the DEFAULT partition, on a real primary.
 */
import type { Client } from 'pg';
import { startPostgresCluster, type PostgresCluster } from '../../../tools/services/postgres-cluster';
import { ensureOrderPartitions, monthPartition, partitionWindow } from '../../../app/src/db/order-partitions';
import { applySchema, connect } from './migrate-support';

describe('monthPartition and partitionWindow', () => {
  test('name a month orders_YYYY_MM with bounds at 00:00 UTC on the 1st', () => {
    expect(monthPartition(2026, 10)).toEqual({ name: 'orders_2026_11', from: '2026-11-01 00:00:00+00', to: '2026-12-01 00:00:00+00' });
  });

  test('cover the current month and the months ahead, across a year end', () => {
    expect(partitionWindow(new Date('2026-11-28T23:59:59Z'), 2).map((p) => p.name)).toEqual(['orders_2026_11', 'orders_2026_12', 'orders_2027_01']);
    expect(partitionWindow(new Date('2026-12-31T12:00:00Z'), 0)).toEqual([{ name: 'orders_2026_12', from: '2026-12-01 00:00:00+00', to: '2027-01-01 00:00:00+00' }]);
  });

  test('take the month in UTC, not in the local zone of the caller', () => {
    // 20:00 on 30 November in New York is already 1 December in UTC.
    expect(partitionWindow(new Date('2026-11-30T20:00:00-05:00'), 0)[0]!.name).toBe('orders_2026_12');
  });

  test.each([-1, 1.5, 37])('fails when monthsAhead is %p', (monthsAhead) => {
    expect(() => partitionWindow(new Date('2026-11-01T00:00:00Z'), monthsAhead)).toThrow(`monthsAhead must be an integer in 0..36, got ${monthsAhead}`);
  });
});

interface Seed {
  restaurantId: string;
  tableId: string;
  guestId: string;
  menuItemId: string;
}

async function seed(db: Client): Promise<Seed> {
  const { rows: [r] } = await db.query<{ id: string }>(`INSERT INTO restaurants (slug, name, timezone, currency) VALUES ('partition-cafe', 'Partition Cafe', 'Asia/Bangkok', 'THB') RETURNING id`);
  const { rows: [t] } = await db.query<{ id: string }>(`INSERT INTO tables (restaurant_id, label, seats) VALUES ($1, 'T1', 4) RETURNING id`, [r!.id]);
  const { rows: [g] } = await db.query<{ id: string }>(`INSERT INTO guests (restaurant_id, display_name) VALUES ($1, 'Ann') RETURNING id`, [r!.id]);
  const { rows: [c] } = await db.query<{ id: string }>(`INSERT INTO menu_categories (restaurant_id, name) VALUES ($1, 'Noodles') RETURNING id`, [r!.id]);
  const { rows: [m] } = await db.query<{ id: string }>(
    `INSERT INTO menu_items (restaurant_id, category_id, name, price_cents) VALUES ($1, $2, 'Pad Thai', 12000) RETURNING id`,
    [r!.id, c!.id],
  );
  return { restaurantId: r!.id, tableId: t!.id, guestId: g!.id, menuItemId: m!.id };
}

/** Inserts `count` orders spread over [from, to) with one item each and an idempotency key each. */
async function insertOrders(db: Client, s: Seed, from: string, to: string, count: number): Promise<void> {
  await db.query(
    `WITH o AS (
       INSERT INTO orders (restaurant_id, table_id, guest_id, status, total_cents, created_at)
       SELECT $1, $2, $3, (ARRAY['pending', 'completed', 'cancelled'])[1 + i % 3], 1000 + i * 7,
              $5::timestamptz + (i::float8 / $7) * ($6::timestamptz - $5::timestamptz)
         FROM generate_series(0, $7 - 1) AS i
       RETURNING id, created_at, total_cents
     ), items AS (
       INSERT INTO order_items (order_id, order_created_at, menu_item_id, quantity, unit_price_cents)
       SELECT id, created_at, $4, 1, total_cents FROM o
     )
     INSERT INTO idempotency_keys (restaurant_id, key, request_hash, status, response_status, response, order_id, order_created_at)
     SELECT $1, 'key-' || id, 'hash', 'completed', 201, jsonb_build_object('id', id), id, created_at FROM o`,
    [s.restaurantId, s.tableId, s.guestId, s.menuItemId, from, to, count],
  );
}

const partitionsOf = async (db: Client) =>
  (
    await db.query<{ name: string; bound: string }>(
      `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'orders'::regclass ORDER BY 1`,
    )
  ).rows;

describe('ensureOrderPartitions', () => {
  let cluster: PostgresCluster;
  let db: Client;
  let s: Seed;
  beforeAll(async () => {
    cluster = await startPostgresCluster();
    await applySchema(cluster);
    db = await connect(cluster);
    await db.query(`SET TimeZone = 'UTC'`);
    s = await seed(db);
  }, 60_000);
  afterAll(async () => {
    await db?.end();
    await cluster?.stop();
  });

  test('creates the monthly partitions of the window, and orders of those months land in them', async () => {
    const report = await ensureOrderPartitions(db, { now: new Date('2031-01-15T10:00:00Z'), monthsAhead: 2 });
    expect(report).toEqual({ created: ['orders_2031_01', 'orders_2031_02', 'orders_2031_03'], existing: [], movedFromDefault: [], rowsLeftInDefault: 0 });
    const partitions = await partitionsOf(db);
    expect(partitions).toEqual(
      expect.arrayContaining([
        { name: 'orders_2031_01', bound: `FOR VALUES FROM ('2031-01-01 00:00:00+00') TO ('2031-02-01 00:00:00+00')` },
        { name: 'orders_2031_02', bound: `FOR VALUES FROM ('2031-02-01 00:00:00+00') TO ('2031-03-01 00:00:00+00')` },
        { name: 'orders_2031_03', bound: `FOR VALUES FROM ('2031-03-01 00:00:00+00') TO ('2031-04-01 00:00:00+00')` },
      ]),
    );
    await insertOrders(db, s, '2031-01-31T23:59:00Z', '2031-02-01T00:01:00Z', 2);
    const { rows } = await db.query(`SELECT tableoid::regclass::text AS partition FROM orders WHERE created_at BETWEEN '2031-01-31 23:00Z' AND '2031-02-01 01:00Z' ORDER BY created_at`);
    expect(rows).toEqual([{ partition: 'orders_2031_01' }, { partition: 'orders_2031_02' }]);
  });

  test('each partition gets every index of orders, and its foreign keys and trigger', async () => {
    const { rows: indexes } = await db.query<{ parent: string }>(
      `SELECT p.relname AS parent FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
        WHERE c.relkind = 'i' AND c.relname LIKE 'orders_2031_02%' ORDER BY 1`,
    );
    expect(indexes.map((r) => r.parent)).toEqual(['idx_orders_guest_id', 'idx_orders_restaurant_created_id', 'idx_orders_restaurant_status_created', 'orders_pkey']);
    await expect(db.query(`INSERT INTO orders (restaurant_id, total_cents, created_at) VALUES (999999, 1, '2031-02-02Z')`)).rejects.toThrow(/orders_restaurant_fkey/);
    const { rows: touched } = await db.query(
      `UPDATE orders SET status = 'confirmed' WHERE created_at >= '2031-02-01Z' AND created_at < '2031-03-01Z' RETURNING updated_at = now() AS touched`,
    );
    expect(touched).toEqual([{ touched: true }]);
  });

  test('is idempotent: a second run creates nothing and changes nothing', async () => {
    const before = await partitionsOf(db);
    const report = await ensureOrderPartitions(db, { now: new Date('2031-01-20T00:00:00Z'), monthsAhead: 2 });
    expect(report).toEqual({ created: [], existing: ['orders_2031_01', 'orders_2031_02', 'orders_2031_03'], movedFromDefault: [], rowsLeftInDefault: 0 });
    expect(await partitionsOf(db)).toEqual(before);
  });

  test('two runs at once create each partition once', async () => {
    const other = await connect(cluster);
    try {
      const now = new Date('2031-06-01T00:00:00Z');
      const [a, b] = await Promise.all([ensureOrderPartitions(db, { now, monthsAhead: 3 }), ensureOrderPartitions(other, { now, monthsAhead: 3 })]);
      expect([...a.created, ...b.created].sort()).toEqual(['orders_2031_06', 'orders_2031_07', 'orders_2031_08', 'orders_2031_09']);
      expect([...a.existing, ...b.existing].sort()).toEqual(['orders_2031_06', 'orders_2031_07', 'orders_2031_08', 'orders_2031_09']);
    } finally {
      await other.end();
    }
  });

  test('moves orders that landed in DEFAULT into the partition it creates, with their items and keys, nothing lost', async () => {
    // November and December 2031 have no partition yet: these land in DEFAULT. So does one in 2040.
    await insertOrders(db, s, '2031-11-01T00:00:00Z', '2031-12-01T00:00:00Z', 300);
    await insertOrders(db, s, '2031-12-01T00:00:00Z', '2031-12-31T00:00:00Z', 200);
    await insertOrders(db, s, '2040-01-01T00:00:00Z', '2040-01-02T00:00:00Z', 1);

    const snapshot = async () => ({
      orders: (await db.query(`SELECT id, created_at, status, total_cents, table_id, guest_id FROM orders WHERE created_at >= '2031-11-01Z' ORDER BY id`)).rows,
      items: (await db.query(`SELECT id, order_id, order_created_at, quantity, unit_price_cents FROM order_items WHERE order_created_at >= '2031-11-01Z' ORDER BY id`)).rows,
      keys: (await db.query(`SELECT key, order_id, order_created_at, response FROM idempotency_keys WHERE order_created_at >= '2031-11-01Z' ORDER BY key`)).rows,
      totals: (await db.query(`SELECT count(*)::int AS n, sum(total_cents)::bigint AS cents FROM orders WHERE created_at >= '2031-11-01Z'`)).rows[0],
    });
    const before = await snapshot();
    expect(before.totals).toEqual({ n: 501, cents: expect.any(String) });
    const { rows: inDefault } = await db.query(`SELECT count(*)::int AS n FROM orders_default`);
    expect(inDefault[0]).toEqual({ n: 501 });

    const report = await ensureOrderPartitions(db, { now: new Date('2031-11-15T00:00:00Z'), monthsAhead: 1 });

    expect(report).toEqual({
      created: ['orders_2031_11', 'orders_2031_12'],
      existing: [],
      movedFromDefault: [
        { partition: 'orders_2031_11', orders: 300, referencingRows: { idempotency_keys: 300, order_items: 300 } },
        { partition: 'orders_2031_12', orders: 200, referencingRows: { idempotency_keys: 200, order_items: 200 } },
      ],
      rowsLeftInDefault: 1,
    });
    expect(await snapshot()).toEqual(before);
    const { rows: placement } = await db.query(
      `SELECT tableoid::regclass::text AS partition, count(*)::int AS n FROM orders WHERE created_at >= '2031-11-01Z' GROUP BY 1 ORDER BY 1`,
    );
    expect(placement).toEqual([
      { partition: 'orders_2031_11', n: 300 },
      { partition: 'orders_2031_12', n: 200 },
      { partition: 'orders_default', n: 1 },
    ]);
  });

  test('after a move the foreign keys hold: items cascade with their order, and no item can point at a missing order', async () => {
    const { rows: [order] } = await db.query<{ id: string; created_at: Date }>(`SELECT id, created_at FROM orders_2031_11 ORDER BY id LIMIT 1`);
    await db.query(`DELETE FROM orders WHERE id = $1 AND created_at = $2`, [order!.id, order!.created_at]);
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM order_items WHERE order_id = $1`, [order!.id]);
    expect(rows[0]).toEqual({ n: 0 });
    await expect(
      db.query(`INSERT INTO order_items (order_id, order_created_at, menu_item_id, quantity, unit_price_cents) VALUES ($1, $2, $3, 1, 1)`, [order!.id, order!.created_at, s.menuItemId]),
    ).rejects.toThrow(/order_items_order_fkey/);
  });

  test('fails, creating nothing, when a table of the partition name exists outside orders', async () => {
    await db.query(`CREATE TABLE orders_2033_01 (id int)`);
    try {
      await expect(ensureOrderPartitions(db, { now: new Date('2033-01-01T00:00:00Z'), monthsAhead: 1 })).rejects.toThrow(
        'ensuring partition orders_2033_01 of orders failed: orders_2033_01 exists but is not a partition of orders (relkind r); rename or drop it',
      );
      expect((await partitionsOf(db)).map((p) => p.name)).not.toContain('orders_2033_02');
    } finally {
      await db.query(`DROP TABLE orders_2033_01`);
    }
  });

  test('gives up after lockTimeoutMs instead of queueing order traffic behind a blocked lock', async () => {
    const blocker = await connect(cluster);
    try {
      await blocker.query('BEGIN');
      // SHARE conflicts with the SHARE UPDATE EXCLUSIVE lock that ATTACH PARTITION needs on orders.
      await blocker.query('LOCK TABLE ONLY orders IN SHARE MODE');
      const started = Date.now();
      await expect(ensureOrderPartitions(db, { now: new Date('2034-01-01T00:00:00Z'), monthsAhead: 0, lockTimeoutMs: 300 })).rejects.toThrow(
        'ensuring partition orders_2034_01 of orders failed: canceling statement due to lock timeout',
      );
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    expect((await partitionsOf(db)).map((p) => p.name)).not.toContain('orders_2034_01');
  });
});
