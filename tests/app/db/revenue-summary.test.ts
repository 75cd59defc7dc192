/**
 * daily_revenue_summary and its refresh (app/src/db/revenue-summary.ts): the numbers, the business
 * day in the restaurant's timezone, and CONCURRENTLY not blocking readers.
 */
import type { Client } from 'pg';
import { ensureOrderPartitions } from '../../../app/src/db/order-partitions';
import { refreshDailyRevenueSummary } from '../../../app/src/db/revenue-summary';
import { startPostgresCluster, type PostgresCluster } from '../../../tools/services/postgres-cluster';
import { applySchema, connect, harnessEnvironment, runTs } from './migrate-support';

interface SummaryRow {
  restaurant_id: string;
  order_date: string;
  total_orders: string;
  total_revenue: string;
  avg_order_value: string;
}

const SUMMARY = `SELECT restaurant_id, order_date::text, total_orders, total_revenue, avg_order_value
                   FROM daily_revenue_summary ORDER BY restaurant_id, order_date`;

describe('daily_revenue_summary', () => {
  let cluster: PostgresCluster;
  let db: Client;
  let bangkok: string;
  let london: string;

  const insertOrder = (restaurantId: string, status: string, totalCents: number, createdAt: string) =>
    db.query(`INSERT INTO orders (restaurant_id, status, total_cents, created_at) VALUES ($1, $2, $3, $4)`, [restaurantId, status, totalCents, createdAt]);

  beforeAll(async () => {
    cluster = await startPostgresCluster();
    await applySchema(cluster);
    db = await connect(cluster);
    await ensureOrderPartitions(db, { now: new Date('2030-01-01T00:00:00Z'), monthsAhead: 2 });
    const { rows } = await db.query<{ id: string; slug: string }>(
      `INSERT INTO restaurants (slug, name, timezone, currency) VALUES
         ('riverside', 'Riverside', 'Asia/Bangkok', 'THB'), ('shoreditch', 'Shoreditch', 'Europe/London', 'GBP')
       RETURNING id, slug`,
    );
    bangkok = rows.find((r) => r.slug === 'riverside')!.id;
    london = rows.find((r) => r.slug === 'shoreditch')!.id;
    // Two thousand orders per restaurant over January and February, every status.
    await db.query(
      `INSERT INTO orders (restaurant_id, status, total_cents, created_at)
       SELECT r.id, (ARRAY['pending', 'confirmed', 'preparing', 'ready', 'served', 'completed', 'cancelled', 'completed'])[1 + i % 8],
              300 + (i * 37) % 5000,
              timestamptz '2030-01-01 00:00:00+00' + (i * 2477 % 5000) * interval '17 minutes'
         FROM restaurants r, generate_series(1, 2000) i`,
    );
  }, 60_000);
  afterAll(async () => {
    await db?.end();
    await cluster?.stop();
  });

  test('after a refresh the view equals the aggregate of completed orders per restaurant and local day', async () => {
    const refresh = await refreshDailyRevenueSummary(db);
    const { rows: direct } = await db.query<SummaryRow>(
      `SELECT o.restaurant_id, (o.created_at AT TIME ZONE r.timezone)::date::text AS order_date,
              count(*) AS total_orders, sum(o.total_cents) AS total_revenue, avg(o.total_cents) AS avg_order_value
         FROM orders o JOIN restaurants r ON r.id = o.restaurant_id
        WHERE o.status = 'completed'
        GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    expect(direct.length).toBeGreaterThan(100);
    const { rows: view } = await db.query<SummaryRow>(SUMMARY);
    expect(view).toEqual(direct);
    expect(refresh.rows).toBe(view.length);
    const { rows: totals } = await db.query(
      `SELECT (SELECT sum(total_revenue) FROM daily_revenue_summary) = (SELECT sum(total_cents) FROM orders WHERE status = 'completed') AS same_revenue,
              (SELECT sum(total_orders) FROM daily_revenue_summary) = (SELECT count(*) FROM orders WHERE status = 'completed') AS same_count`,
    );
    expect(totals[0]).toEqual({ same_revenue: true, same_count: true });
  });

  test('files an order under the business day of its restaurant, not the UTC date', async () => {
    const day = async (restaurantId: string, date: string) => {
      const { rows } = await db.query<{ n: number; cents: number }>(
        `SELECT coalesce(sum(total_orders), 0)::int AS n, coalesce(sum(total_revenue), 0)::int AS cents
           FROM daily_revenue_summary WHERE restaurant_id = $1 AND order_date = $2`,
        [restaurantId, date],
      );
      return rows[0]!;
    };
    const days = async () => ({
      bangkok14: await day(bangkok, '2030-02-14'),
      bangkok15: await day(bangkok, '2030-02-15'),
      london14: await day(london, '2030-02-14'),
      london15: await day(london, '2030-02-15'),
    });
    await refreshDailyRevenueSummary(db);
    const before = await days();
    // 18:30 UTC on 14 February is 01:30 on the 15th in Bangkok (UTC+7), still the 14th in London.
    await insertOrder(bangkok, 'completed', 12_345, '2030-02-14T18:30:00Z');
    await insertOrder(london, 'completed', 54_321, '2030-02-14T18:30:00Z');
    await refreshDailyRevenueSummary(db);
    expect(await days()).toEqual({
      bangkok14: before.bangkok14,
      bangkok15: { n: before.bangkok15.n + 1, cents: before.bangkok15.cents + 12_345 },
      london14: { n: before.london14.n + 1, cents: before.london14.cents + 54_321 },
      london15: before.london15,
    });
  });

  test('reads during a concurrent refresh see the previous numbers, unblocked, and the new ones after', async () => {
    const reader = await connect(cluster);
    const refresher = await connect(cluster);
    try {
      const revenue = async (c: Client) => (await c.query<{ cents: string }>(`SELECT sum(total_revenue)::text AS cents FROM daily_revenue_summary`)).rows[0]!.cents;
      const old = await revenue(reader);
      await insertOrder(bangkok, 'completed', 1_000_00, '2030-01-05T12:00:00Z');

      // A dashboard in the middle of a transaction holds ACCESS SHARE on the view.
      await reader.query('BEGIN');
      expect(await revenue(reader)).toBe(old);
      // Fail fast instead of hanging if the refresh did wait for the reader.
      await refresher.query(`SET lock_timeout = '3s'`);
      await refresher.query('BEGIN');
      await refreshDailyRevenueSummary(refresher);
      // The refresh has run but not committed: it holds EXCLUSIVE, and readers still get through.
      await reader.query(`SET LOCAL statement_timeout = '3s'`);
      expect(await revenue(reader)).toBe(old);
      await refresher.query('COMMIT');
      expect(BigInt(await revenue(reader))).toBe(BigInt(old) + 100_000n);
      await reader.query('COMMIT');
    } finally {
      await reader.end();
      await refresher.end();
    }
  });

  test('a plain REFRESH (without CONCURRENTLY) would wait for that reader', async () => {
    const reader = await connect(cluster);
    try {
      await reader.query('BEGIN');
      await reader.query('SELECT count(*) FROM daily_revenue_summary');
      await db.query(`SET lock_timeout = '300ms'`);
      await expect(db.query('REFRESH MATERIALIZED VIEW daily_revenue_summary')).rejects.toThrow('canceling statement due to lock timeout');
    } finally {
      await db.query('RESET lock_timeout');
      await reader.query('ROLLBACK');
      await reader.end();
    }
  });

  test('the refresh-daily-revenue-summary task refreshes through the entry and exits 0', async () => {
    await insertOrder(london, 'completed', 777, '2030-02-20T12:00:00Z');
    const result = await runTs('app/src/maintenance-main.ts', ['refresh-daily-revenue-summary'], harnessEnvironment(cluster, 'maintenance'));
    expect(result.code).toBe(0);
    const done = JSON.parse(result.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(done).toMatchObject({ level: 'info', msg: 'refresh-daily-revenue-summary done', rows: expect.any(Number), durationMs: expect.any(Number) });
    const { rows } = await db.query(`SELECT total_orders::int AS n FROM daily_revenue_summary WHERE restaurant_id = $1 AND order_date = '2030-02-20'`, [london]);
    const { rows: direct } = await db.query(
      `SELECT count(*)::int AS n FROM orders WHERE restaurant_id = $1 AND status = 'completed' AND (created_at AT TIME ZONE 'Europe/London')::date = '2030-02-20'`,
      [london],
    );
    expect(rows).toEqual(direct);
  });
});
