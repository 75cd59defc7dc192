/**
 * Group commit of order creates (app/src/orders/order-batcher.ts and the procedure
 * create_orders_committed) on a real PostgreSQL primary + replica: orders that queue go together
 * and each gets the answer it would have got alone; a key twice in flight is "in progress"; an
 * error in a group reaches only its own order; and through the API every order of a group carries
 * its read-your-writes token.
 */
import type { Client } from 'pg';
import { createDatabaseManager, type DatabaseManager } from '../../../app/src/db/database-manager';
import { decodeReadYourWritesToken } from '../../../app/src/db/read-your-writes';
import { createMetrics } from '../../../app/src/metrics';
import { createOrderBatcher } from '../../../app/src/orders/order-batcher';
import type { CreateOrderOutcome, NewOrder } from '../../../app/src/orders/order-repository';
import { registerOrderRoutes } from '../../../app/src/orders/order-routes';
import { startPostgresCluster, type PostgresCluster } from '../../../tools/services/postgres-cluster';
import { clusterConfig, recordingLogger } from '../db/database-manager-fixtures';
import { applySchema, connect } from '../db/migrate-support';
import { createTokenMint, memoryLogger, httpTestConfig, startApp, type TokenMint } from '../http/support';

let cluster: PostgresCluster;
let sql: Client;
let db: DatabaseManager;
let mint: TokenMint;
let restaurant: string;
let table: string;
let items: string[];
let keys = 0;
const calls: string[] = [];

beforeAll(async () => {
  [cluster, mint] = await Promise.all([startPostgresCluster(), createTokenMint()]);
  await applySchema(cluster);
  sql = await connect(cluster);
  restaurant = (await sql.query<{ id: string }>(`INSERT INTO restaurants (slug, name, timezone, currency) VALUES ('r', 'R', 'UTC', 'THB') RETURNING id::text`)).rows[0]!.id;
  table = (await sql.query<{ id: string }>(`INSERT INTO tables (restaurant_id, label, seats) VALUES ($1, 'T1', 4) RETURNING id::text`, [restaurant])).rows[0]!.id;
  const category = (await sql.query<{ id: string }>(`INSERT INTO menu_categories (restaurant_id, name, sort_order) VALUES ($1, 'Mains', 1) RETURNING id::text`, [restaurant])).rows[0]!.id;
  items = (
    await sql.query<{ id: string }>(
      `INSERT INTO menu_items (restaurant_id, category_id, name, price_cents, is_available) VALUES ($1, $2, 'A', 1000, true), ($1, $2, 'B', 250, true), ($1, $2, 'Gone', 900, false) RETURNING id::text`,
      [restaurant, category],
    )
  ).rows.map((r) => r.id);
  db = createDatabaseManager(clusterConfig(cluster), { logger: recordingLogger(), onQuery: (name) => void calls.push(name) });
}, 120_000);

afterAll(async () => {
  await db?.close();
  await sql?.end();
  await cluster?.stop();
});

const newKey = () => `key-${(keys += 1)}`;
const order = (overrides: Partial<NewOrder> = {}): NewOrder => ({
  restaurantId: restaurant,
  key: newKey(),
  requestHash: 'h'.repeat(64),
  tableId: table,
  lines: [
    { menu_item_id: items[0]!, quantity: 2, notes: null },
    { menu_item_id: items[1]!, quantity: 1, notes: 'no ice' },
  ],
  ...overrides,
});
const orderCount = async () => Number((await sql.query<{ n: string }>('SELECT count(*) AS n FROM orders')).rows[0]!.n);

describe('the order batcher', () => {
  test('with one slot, orders that queue go as one group; each gets its own answer, the same as alone', async () => {
    const sizes: number[] = [];
    const batcher = createOrderBatcher({ db, slots: 1, onCall: (n) => void sizes.push(n), gatherMs: 0 });
    const replayed = order();
    await batcher.create(replayed);
    const before = await orderCount();
    const requests: NewOrder[] = [
      order(),
      order({ tableId: '999999' }),
      order({ lines: [{ menu_item_id: items[2]!, quantity: 1, notes: null }] }),
      { ...replayed },
      { ...replayed, key: replayed.key, requestHash: 'x'.repeat(64) },
      order(),
    ];
    // The first goes alone at once; the rest queue behind it and go together.
    const first = batcher.create(order());
    const answers = await Promise.all(requests.map((r) => batcher.create(r)));
    await first;
    expect(sizes.slice(1)).toEqual([1, 5]);
    const outcomes = answers.map((a) => a.outcome.outcome);
    // The replay and the different body share a key: the second is "in progress" while the first is queued.
    expect(outcomes).toEqual(['created', 'unknown_table', 'unavailable_item', 'replayed', 'in_progress', 'created']);
    const created = answers[0]!.outcome as Extract<CreateOrderOutcome, { outcome: 'created' }>;
    expect(created.body).toMatchObject({ restaurant_id: restaurant, table_id: table, total_cents: 2250, status: 'pending' });
    expect(created.body.items.map((i) => [i.quantity, i.unit_price_cents, i.notes])).toEqual([
      [2, 1000, null],
      [1, 250, 'no ice'],
    ]);
    expect((answers[2]!.outcome as { index: number }).index).toBe(0);
    // Every answer of the group carries the position after its one COMMIT.
    expect(new Set(answers.filter((a) => a.outcome.outcome !== 'in_progress').map((a) => a.walPosition)).size).toBe(1);
    expect(await orderCount()).toBe(before + 3);
  });

  test('orders close behind one another wait a moment for more even with slots free; one after a quiet spell goes at once', async () => {
    const sizes: number[] = [];
    const batcher = createOrderBatcher({ db, slots: 3, onCall: (n) => void sizes.push(n), gatherMs: 20, gatherWindowMs: 50 });
    // Five at once: the first after a quiet spell goes alone; the four close behind it gather.
    await Promise.all([order(), order(), order(), order(), order()].map((o) => batcher.create(o)));
    expect(sizes).toEqual([1, 4]);
    await new Promise((resolve) => setTimeout(resolve, 80));
    // After the window, one goes at once and alone.
    await batcher.create(order());
    expect(sizes).toEqual([1, 4, 1]);
  });

  test('without gathering, orders with slots free go one call each', async () => {
    const sizes: number[] = [];
    const batcher = createOrderBatcher({ db, slots: 3, onCall: (n) => void sizes.push(n), gatherMs: 0 });
    await Promise.all([order(), order(), order()].map((o) => batcher.create(o)));
    expect(sizes).toEqual([1, 1, 1]);
  });

  test('a key already queued or in flight in this process is "in progress" at once, like the advisory lock', async () => {
    const batcher = createOrderBatcher({ db, slots: 1 });
    const same = order();
    const [a, b] = await Promise.all([batcher.create(same), batcher.create({ ...same })]);
    expect([a.outcome.outcome, b.outcome.outcome]).toEqual(['created', 'in_progress']);
    // Once answered, the key replays.
    expect((await batcher.create({ ...same })).outcome.outcome).toBe('replayed');
  });

  test('an error in a group rolls the group back; its orders then go one by one on its session, so only the failing one fails', async () => {
    const sizes: number[] = [];
    const batcher = createOrderBatcher({ db, slots: 1, onCall: (n) => void sizes.push(n), gatherMs: 0 });
    const before = await orderCount();
    calls.length = 0;
    const blocker = batcher.create(order());
    // Quantity 0 breaks order_items_quantity_check: an error, not a refusal (the API's schema never sends it).
    const results = await Promise.allSettled([order(), order({ lines: [{ menu_item_id: items[0]!, quantity: 0, notes: null }] }), order()].map((o) => batcher.create(o)));
    await blocker;
    expect(sizes).toEqual([1, 3]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: '23514', constraint: 'order_items_quantity_check' });
    // The blocker alone, then the group, whose orders went one by one on its session.
    expect(calls).toEqual(['orders.create', 'orders.create_group']);
    expect(await orderCount()).toBe(before + 3);
  });

  test('the procedure refuses a call with a key twice or arrays that do not line up, and writes nothing', async () => {
    const before = await orderCount();
    const call = (keysGiven: string[], lineCounts: number[]) =>
      sql.query(`CALL create_orders_committed($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::int[], $6::bigint[], $7::int[], $8::text[], NULL, NULL)`, [
        keysGiven.map(() => restaurant),
        keysGiven,
        keysGiven.map(() => 'h'),
        keysGiven.map(() => table),
        lineCounts,
        [items[0], items[0]],
        [1, 1],
        [null, null],
      ]);
    await expect(call(['dup', 'dup'], [1, 1])).rejects.toThrow('a restaurant and key appear twice in one call');
    await expect(call(['k1', 'k2'], [1])).rejects.toThrow('create_orders_committed: 2 keys but 2 restaurants, 2 hashes, 2 tables, 1 line counts');
    await expect(call(['k1', 'k2'], [1, 2])).rejects.toThrow('the line counts do not add up to the lines given');
    expect(await orderCount()).toBe(before);
  });

  test('fails on slots or a group size that is not a positive integer, or a negative gathering time', () => {
    expect(() => createOrderBatcher({ db, slots: 0 })).toThrow('order batcher slots must be a positive integer, got 0');
    expect(() => createOrderBatcher({ db, slots: 1, maxGroup: 1.5 })).toThrow('order batcher maxGroup must be a positive integer, got 1.5');
    expect(() => createOrderBatcher({ db, slots: 1, gatherMs: -1 })).toThrow('order batcher gatherMs must be 0 or more milliseconds, got -1');
  });
});

describe('through the API', () => {
  test('concurrent creates with one slot go in groups, and every 201 carries its own read-your-writes token', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const app = await startApp({
      jwks: mint.jwks,
      db,
      metrics,
      config: httpTestConfig(),
      routes: (v1, kit) => void registerOrderRoutes(v1, kit, { db, logger: memoryLogger(httpTestConfig()).logger, metrics, groupSlots: 1 }),
    });
    try {
      const before = await orderCount();
      const tokens = await Promise.all(Array.from({ length: 24 }, (_, i) => mint.sign({ sub: `guest-${i}`, role: 'guest', restaurant_id: restaurant, table_id: table })));
      // The restaurant row locked: the first call waits in PostgreSQL (its FOR SHARE), so the other
      // orders queue behind the one slot whatever the order they arrive in.
      await sql.query('BEGIN');
      await sql.query('SELECT 1 FROM restaurants WHERE id = $1 FOR UPDATE', [restaurant]);
      setTimeout(() => void sql.query('COMMIT'), 500);
      const responses = await Promise.all(
        tokens.map((token, i) =>
          fetch(`${app.url}/v1/restaurants/${restaurant}/orders`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': `api-group-${i}` },
            body: JSON.stringify({ table_id: Number(table), items: [{ menu_item_id: Number(items[0]), quantity: 1 }] }),
          }),
        ),
      );
      expect(responses.map((r) => r.status)).toEqual(tokens.map(() => 201));
      for (const response of responses) expect(decodeReadYourWritesToken(response.headers.get('x-consistency-token') ?? undefined)).toBeDefined();
      expect(await orderCount()).toBe(before + 24);
      const histogram = (await metrics.registry.getSingleMetric('order_create_call_orders')!.get()).values as { metricName?: string; value: number }[];
      const count = histogram.find((v) => v.metricName === 'order_create_call_orders_count')!.value;
      const sum = histogram.find((v) => v.metricName === 'order_create_call_orders_sum')!.value;
      expect(sum).toBe(24);
      // Fewer calls than orders: some went together.
      expect(count).toBeLessThan(24);
    } finally {
      await app.close();
    }
  });
});
