/**
 * The analytics routes (app/src/analytics) against a real PostgreSQL primary and streaming replica:
 * restaurant-local days, the figures themselves, reads served by the replica, load shedding before
 * anything else, and the day's partitions as the only ones read.
 */
import type { PoolClient, QueryConfig } from 'pg';
import { registerAnalyticsRoutes } from '../../../app/src/analytics/analytics-routes';
import { kitchenTimes, tableTurnover } from '../../../app/src/analytics/analytics-repository';
import { ensureOrderPartitions } from '../../../app/src/db/order-partitions';
import { startHarness, type Harness } from '../tables/restaurant-api-harness';

let h: Harness;
const path = (what: string, query: string, restaurant = h.seed.restaurant) => `/restaurants/${restaurant}/analytics/${what}${query}`;

/**
 * Orders of the Bangkok restaurant (UTC+7) around its business day 2030-01-15, which runs from
 * 2030-01-14T17:00Z to 2030-01-15T17:00Z. Preparation: ready_at - preparing_at, else - confirmed_at.
 */
const ORDERS = [
  // table, status, created_at (UTC), total, preparing after (min, null = skipped), ready after, completed after
  { table: 0, status: 'completed', at: '2030-01-14T18:00:00Z', total: 1000, preparing: 2, ready: 12, completed: 60 }, // 01:00 local, prep 600 s
  { table: 0, status: 'completed', at: '2030-01-15T10:00:00Z', total: 3000, preparing: 0, ready: 20, completed: 90 }, // prep 1200 s
  { table: 1, status: 'completed', at: '2030-01-15T16:59:00Z', total: 2000, preparing: null, ready: 5, completed: 30 }, // 23:59 local, prep 300 s from confirmed_at
  { table: 1, status: 'completed', at: '2030-01-15T17:30:00Z', total: 5000, preparing: 1, ready: 3, completed: 20 }, // 00:30 on the 16th
  { table: 2, status: 'cancelled', at: '2030-01-15T09:00:00Z', total: 9999, preparing: null, ready: null, completed: null },
  { table: 2, status: 'served', at: '2030-01-15T11:00:00Z', total: 700, preparing: 5, ready: 20, completed: null }, // prep 900 s, not completed
  { table: 3, status: 'completed', at: '2030-01-14T16:30:00Z', total: 400, preparing: 1, ready: 2, completed: 10 }, // 23:30 on the 14th
] as const;

beforeAll(async () => {
  h = await startHarness((v1, kit, db) => void registerAnalyticsRoutes(v1, kit, { db }));
  await ensureOrderPartitions(h.sql, { now: new Date('2030-01-01T00:00:00Z'), monthsAhead: 1 });
  for (const o of ORDERS) {
    await h.sql.query(
      `INSERT INTO orders (restaurant_id, table_id, status, total_cents, created_at, confirmed_at, preparing_at, ready_at, completed_at, cancelled_at)
       VALUES ($1, $2, $3, $4, $5::timestamptz, $5::timestamptz, $5::timestamptz + $6 * interval '1 minute', $5::timestamptz + $7 * interval '1 minute',
               $5::timestamptz + $8 * interval '1 minute', CASE WHEN $3 = 'cancelled' THEN $5::timestamptz END)`,
      [h.seed.restaurant, h.seed.tables[o.table], o.status, o.total, o.at, o.preparing, o.ready, o.completed],
    );
  }
  // Another restaurant's completed order on the same day must not count.
  await h.sql.query(
    `INSERT INTO orders (restaurant_id, table_id, status, total_cents, created_at, confirmed_at, preparing_at, ready_at, completed_at)
     VALUES ($1, $2, 'completed', 77777, '2030-01-15T08:00:00Z', '2030-01-15T08:00:00Z', '2030-01-15T08:01:00Z', '2030-01-15T08:59:00Z', '2030-01-15T09:30:00Z')`,
    [h.seed.other, h.seed.otherTable],
  );
  await h.sql.query(
    `INSERT INTO reservations (restaurant_id, table_id, guest_name, reservation_date, reservation_time, party_size, status)
     VALUES ($1, $2, 'A', '2030-01-15', '19:00', 2, 'completed'), ($1, $2, 'B', '2030-01-15', '12:00', 2, 'completed'),
            ($1, $3, 'C', '2030-01-15', '19:00', 2, 'cancelled'), ($1, $2, 'D', '2030-01-16', '19:00', 2, 'completed')`,
    [h.seed.restaurant, h.seed.tables[0], h.seed.tables[1]],
  );
  await h.sql.query('REFRESH MATERIALIZED VIEW CONCURRENTLY daily_revenue_summary');
  await h.cluster.waitForReplica();
  await h.db.checkReplicas();
}, 120_000);
afterAll(() => h?.close());

/** The role that served the last unit of work of that name. */
const lastRole = (name: string) => h.queries.filter((q) => q.name === name).slice(-1)[0]?.role;

describe('daily revenue', () => {
  test('per restaurant-local day from the summary view, gaps as zeros, served by the replica', async () => {
    const r = await h.call('GET', path('daily-revenue', '?from=2030-01-13&to=2030-01-16'), { token: await h.token('manager') });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      currency: 'THB',
      from: '2030-01-13',
      to: '2030-01-16',
      days: [
        { date: '2030-01-13', total_orders: 0, total_revenue_cents: 0, avg_order_value_cents: null },
        { date: '2030-01-14', total_orders: 1, total_revenue_cents: 400, avg_order_value_cents: 400 },
        { date: '2030-01-15', total_orders: 3, total_revenue_cents: 6000, avg_order_value_cents: 2000 },
        { date: '2030-01-16', total_orders: 1, total_revenue_cents: 5000, avg_order_value_cents: 5000 },
      ],
    });
    expect(lastRole('analytics.daily_revenue')).toBe('replica');
  });

  test('a single day, and a range of exactly 366 days, are accepted', async () => {
    const staff = await h.token('staff');
    const one = await h.call('GET', path('daily-revenue', '?from=2030-01-15&to=2030-01-15'), { token: staff });
    expect(one.body.days).toEqual([{ date: '2030-01-15', total_orders: 3, total_revenue_cents: 6000, avg_order_value_cents: 2000 }]);
    const year = await h.call('GET', path('daily-revenue', '?from=2029-06-01&to=2030-06-01'), { token: staff });
    expect(year.status).toBe(200);
    expect(year.body.days).toHaveLength(366);
  });
});

describe('kitchen times', () => {
  test('p50, p90 and average preparation over the local day, in seconds, served by the replica', async () => {
    const r = await h.call('GET', path('kitchen-times', '?date=2030-01-15'), { token: await h.token('staff') });
    expect(r.status).toBe(200);
    // 300, 600, 900, 1200 s: p50 = 750; p90 = 900 + 0.7 * 300 = 1110 (linear interpolation).
    expect(r.body).toEqual({ date: '2030-01-15', timezone: 'Asia/Bangkok', orders: 4, p50_seconds: 750, p90_seconds: 1110, avg_seconds: 750 });
    expect(lastRole('analytics.kitchen_times')).toBe('replica');
    const empty = await h.call('GET', path('kitchen-times', '?date=2030-01-20'), { token: await h.token('staff') });
    expect(empty.body).toEqual({ date: '2030-01-20', timezone: 'Asia/Bangkok', orders: 0, p50_seconds: null, p90_seconds: null, avg_seconds: null });
  });
});

describe('table turnover', () => {
  test('completed orders, completed reservations and mean seated time per table of the local day', async () => {
    const r = await h.call('GET', path('table-turnover', '?date=2030-01-15'), { token: await h.token('manager') });
    expect(r.status).toBe(200);
    const [t1, t2, t3, t4, t5] = h.seed.tables;
    expect(r.body).toEqual({
      date: '2030-01-15',
      timezone: 'Asia/Bangkok',
      tables: [
        { table_id: t1, label: 'T1', completed_orders: 2, completed_reservations: 2, avg_seated_seconds: 4500 },
        { table_id: t2, label: 'T2', completed_orders: 1, completed_reservations: 0, avg_seated_seconds: 1800 },
        { table_id: t3, label: 'T3', completed_orders: 0, completed_reservations: 0, avg_seated_seconds: null },
        { table_id: t4, label: 'T4', completed_orders: 0, completed_reservations: 0, avg_seated_seconds: null },
        { table_id: t5, label: 'T5', completed_orders: 0, completed_reservations: 0, avg_seated_seconds: null },
      ],
    });
    expect(lastRole('analytics.table_turnover')).toBe('replica');
  });
});

describe('load shedding', () => {
  test('overloaded: 503 with Retry-After before authentication or any query; served again once the load is gone', async () => {
    const manager = await h.token('manager');
    const queriesBefore = h.queries.length;
    h.setOverloaded(true);
    try {
      for (const p of [path('daily-revenue', '?from=2030-01-15&to=2030-01-15'), path('kitchen-times', '?date=2030-01-15'), path('table-turnover', '?date=2030-01-15')]) {
        const shed = await h.call('GET', p, { token: manager });
        expect(shed.status).toBe(503);
        expect(shed.headers.get('retry-after')).toBe('5');
        expect(shed.body.error).toMatchObject({ code: 'unavailable', details: { reason: 'event_loop' } });
        // Shedding comes first: not even the token is looked at.
        expect((await h.call('GET', p)).status).toBe(503);
      }
      expect(h.queries.length).toBe(queriesBefore);
    } finally {
      h.setOverloaded(false);
    }
    expect((await h.call('GET', path('kitchen-times', '?date=2030-01-15'), { token: manager })).status).toBe(200);
  });
});

describe('authorization', () => {
  test('kitchen screens and guests get 403, staff of another restaurant 403, no token 401', async () => {
    const routes = [path('daily-revenue', '?from=2030-01-15&to=2030-01-15'), path('kitchen-times', '?date=2030-01-15'), path('table-turnover', '?date=2030-01-15')];
    for (const p of routes) {
      expect((await h.call('GET', p, { token: await h.token('kitchen') })).status).toBe(403);
      expect((await h.call('GET', p, { token: await h.token('guest') })).status).toBe(403);
      expect((await h.call('GET', p, { token: await h.token('manager', { restaurant: h.seed.other }) })).status).toBe(403);
      expect((await h.call('GET', p)).status).toBe(401);
    }
  });

  test('a restaurant that does not exist is a 404', async () => {
    const r = await h.call('GET', path('kitchen-times', '?date=2030-01-15', '987654'), { token: await h.token('manager', { restaurant: '987654' }) });
    expect(r.status).toBe(404);
    expect(r.body.error.message).toBe('restaurant not found');
  });
});

describe('bad input: 400 naming the field, nothing written', () => {
  const snapshot = async () => (await h.sql.query<{ s: string }>(`SELECT (SELECT count(*) FROM orders) || ':' || (SELECT count(*) FROM daily_revenue_summary) AS s`)).rows[0]!.s;
  test.each([
    ['from after to', () => path('daily-revenue', '?from=2030-01-16&to=2030-01-15'), /^query\.to: must not be before from \(2030-01-16\)/],
    ['a range of 367 days', () => path('daily-revenue', '?from=2029-06-01&to=2030-06-02'), /^query\.to: the range may cover at most 366 days, got 367/],
    ['missing from', () => path('daily-revenue', '?to=2030-01-15'), /^query\.from: must be a date/],
    ['a day that does not exist', () => path('daily-revenue', '?from=2030-02-29&to=2030-03-01'), /^query\.from: must be a date/],
    ['a datetime instead of a date', () => path('daily-revenue', '?from=2030-01-01&to=2030-01-02T00:00:00Z'), /^query\.to: must be a date/],
    ['an extra parameter', () => path('daily-revenue', '?from=2030-01-01&to=2030-01-02&group=week'), /^query\.group: is not allowed/],
    ['kitchen times without a date', () => path('kitchen-times', ''), /^query\.date: must be a date/],
    ['kitchen times with a bad date', () => path('kitchen-times', '?date=15-01-2030'), /^query\.date: must be a date/],
    ['table turnover with a bad date', () => path('table-turnover', '?date=2030-1-5'), /^query\.date: must be a date/],
    ['table turnover with the date twice', () => path('table-turnover', '?date=2030-01-05&date=2030-01-06'), /^query\.date: /],
    ['a bad restaurant id', () => '/restaurants/007/analytics/kitchen-times?date=2030-01-15', /^params\.restaurantId: must be a positive integer id/],
  ] as [string, () => string, RegExp][])('%s', async (_name, p, naming) => {
    const before = await snapshot();
    const r = await h.call('GET', p(), { token: await h.token('manager') });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
    expect(r.body.error.message).toMatch(naming);
    expect(await snapshot()).toBe(before);
  });
});

describe('plans of the day queries', () => {
  interface PlanNode {
    'Node Type': string;
    'Relation Name'?: string;
    Plans?: PlanNode[];
  }
  const flatten = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(flatten)];

  /** The statement a repository function sends, captured by a client that answers nothing. */
  async function statementOf(run: (client: PoolClient) => Promise<unknown>): Promise<QueryConfig> {
    let captured: QueryConfig | undefined;
    const client = { query: async (config: QueryConfig) => ((captured = config), { rows: [{}] }) } as unknown as PoolClient;
    await run(client);
    return captured!;
  }

  test.each([
    ['kitchen times', (c: PoolClient) => kitchenTimes(c, '1', '2030-01-15', 'Asia/Bangkok')],
    ['table turnover', (c: PoolClient) => tableTurnover(c, '1', '2030-01-15', 'Asia/Bangkok')],
  ])('%s read only the month partition of that day', async (_name, run) => {
    const statement = await statementOf(run);
    const { rows } = await h.sql.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>({ text: `EXPLAIN (FORMAT JSON) ${statement.text}`, values: statement.values });
    const partitions = [...new Set(flatten(rows[0]!['QUERY PLAN'][0].Plan).map((n) => n['Relation Name']).filter((r) => r !== undefined && /^orders_/.test(r)))];
    expect(partitions).toEqual(['orders_2030_01']);
    // The check can fail: Bangkok's 1 February starts at 17:00 UTC on 31 January, so it reads both months.
    const across = await h.sql.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>({ text: `EXPLAIN (FORMAT JSON) ${statement.text}`, values: [statement.values![0], '2030-02-01', 'Asia/Bangkok'] });
    const acrossPartitions = [...new Set(flatten(across.rows[0]!['QUERY PLAN'][0].Plan).map((n) => n['Relation Name']).filter((r) => r !== undefined && /^orders_/.test(r)))].sort();
    expect(acrossPartitions).toEqual(['orders_2030_01', 'orders_2030_02']);
  });
});
