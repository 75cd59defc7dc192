/** The order routes against a real PostgreSQL primary + replica and a real Redis. */
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { createDatabaseManager, type DatabaseManager } from '../../../app/src/db/database-manager';
import { parseWalPosition } from '../../../app/src/db/wal-position';
import { jobClientConfig } from '../../../app/src/db/job-connection';
import { orderEventSchema, orderStreamName } from '../../../app/src/events/order-events';
import { createOutboxRelay, type OutboxRelay } from '../../../app/src/events/outbox-relay';
import { createMetrics } from '../../../app/src/metrics';
import { registerOrderRoutes } from '../../../app/src/orders/order-routes';
import { startPostgresCluster, type PostgresCluster } from '../../../tools/services/postgres-cluster';
import { startRedis, type RedisServer } from '../../../tools/services/redis-server';
import { clusterConfig, eventually, recordingLogger } from '../db/database-manager-fixtures';
import { applySchema, connect } from '../db/migrate-support';
import { createTokenMint, getJson, httpTestConfig, memoryLogger, startApp, type RunningApp, type TokenMint } from '../http/support';

let cluster: PostgresCluster;
let redisServer: RedisServer;
let mint: TokenMint;
let db: DatabaseManager;
let redis: Redis;
let rawRedis: Redis;
let app: RunningApp;
let relay: OutboxRelay;
let pg: Client;
let log: ReturnType<typeof memoryLogger>;
const metrics = createMetrics({ defaultMetrics: false });
/** A metric's value from the registry (a histogram's `_count` with suffix 'count'). */
async function metricValue(name: string, labels: Record<string, string> = {}, suffix?: 'count' | 'sum'): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const wanted = suffix === undefined ? name : `${name}_${suffix}`;
  const value = metric?.values.find(
    (v) => ((v as { metricName?: string }).metricName ?? name) === wanted && Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l),
  );
  return value?.value ?? 0;
}
const seed = { restaurant: '', other: '', tables: [] as string[], otherTable: '', items: [] as { id: string; price: number }[], unavailable: '', otherItem: '' };
let keyCounter = 0;
const newKey = () => `key-${Date.now()}-${++keyCounter}`;

beforeAll(async () => {
  [cluster, redisServer, mint] = await Promise.all([startPostgresCluster(), startRedis(), createTokenMint()]);
  await applySchema(cluster);
  pg = await connect(cluster);
  const r = await pg.query<{ id: string }>(`INSERT INTO restaurants (slug, name, timezone, currency) VALUES ('cafe', 'Cafe', 'Asia/Bangkok', 'THB'), ('other', 'Other', 'UTC', 'THB') RETURNING id`);
  [seed.restaurant, seed.other] = r.rows.map((x) => String(x.id)) as [string, string];
  const cats = await pg.query<{ id: string }>(`INSERT INTO menu_categories (restaurant_id, name) VALUES ($1, 'Mains'), ($2, 'Mains') RETURNING id`, [seed.restaurant, seed.other]);
  const items = await pg.query<{ id: string; price_cents: number }>(
    `INSERT INTO menu_items (restaurant_id, category_id, name, price_cents) VALUES ($1, $2, 'Pad thai', 12000), ($1, $2, 'Tom yum', 15050), ($1, $2, 'Rice', 2000) RETURNING id, price_cents`,
    [seed.restaurant, cats.rows[0]!.id],
  );
  seed.items = items.rows.map((x) => ({ id: String(x.id), price: x.price_cents }));
  const un = await pg.query<{ id: string }>(`INSERT INTO menu_items (restaurant_id, category_id, name, price_cents, is_available) VALUES ($1, $2, 'Sold out', 100, false) RETURNING id`, [seed.restaurant, cats.rows[0]!.id]);
  seed.unavailable = String(un.rows[0]!.id);
  const oi = await pg.query<{ id: string }>(`INSERT INTO menu_items (restaurant_id, category_id, name, price_cents) VALUES ($1, $2, 'Elsewhere', 100) RETURNING id`, [seed.other, cats.rows[1]!.id]);
  seed.otherItem = String(oi.rows[0]!.id);
  const tables = await pg.query<{ id: string }>(
    `INSERT INTO tables (restaurant_id, label, seats) SELECT $1, 'T' || g, 4 FROM generate_series(1, 5) g RETURNING id`,
    [seed.restaurant],
  );
  seed.tables = tables.rows.map((x) => String(x.id));
  seed.otherTable = String((await pg.query<{ id: string }>(`INSERT INTO tables (restaurant_id, label, seats) VALUES ($1, 'X1', 2) RETURNING id`, [seed.other])).rows[0]!.id);

  db = createDatabaseManager(clusterConfig(cluster, { DATABASE_POOL_MAX: '20' }), { logger: recordingLogger() });
  redis = new Redis({ host: redisServer.host, port: redisServer.port, keyPrefix: 'app:', maxRetriesPerRequest: 1 });
  rawRedis = new Redis({ host: redisServer.host, port: redisServer.port });
  redis.on('error', () => undefined);
  rawRedis.on('error', () => undefined);
  await redis.ping();
  log = memoryLogger(httpTestConfig());
  app = await startApp({
    jwks: mint.jwks,
    db,
    redis,
    rateLimits: { read: { points: 100_000, windowSeconds: 60 }, write: { points: 100_000, windowSeconds: 60 } },
    loadShedding: { maxEventLoopDelayMs: 1e9, maxPoolWaiting: 1e9 },
    logger: log.logger,
    metrics,
    routes: (v1, kit) => void registerOrderRoutes(v1, kit, { db, logger: log.logger, metrics }),
  });
  // As api-main wires it: the events reach the streams through the outbox.
  relay = createOutboxRelay({
    db,
    redis,
    logger: log.logger,
    listenConnection: jobClientConfig(clusterConfig(cluster)),
    onPublished: (n) => metrics.orderEventRelayPublished.inc(n),
    onFailure: () => metrics.orderEventRelayFailures.inc(),
  });
  metrics.observeOrderEventOutbox(relay);
  relay.start();
}, 120_000);

afterAll(async () => {
  await app?.close();
  await relay?.stop();
  await db?.close();
  redis?.disconnect();
  rawRedis?.disconnect();
  await pg?.end();
  await Promise.all([cluster?.stop(), redisServer?.stop()]);
});

type Role = 'guest' | 'staff' | 'manager' | 'kitchen';
function token(role: Role, extra: Record<string, unknown> = {}): Promise<string> {
  return mint.sign({ sub: `${role}-1`, role, restaurant_id: seed.restaurant, ...(role === 'guest' ? { table_id: seed.tables[0] } : {}), ...extra });
}

async function call(method: string, path: string, options: { token?: string; body?: unknown; key?: string | null; raw?: string } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.key) headers['idempotency-key'] = options.key;
  const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  return getJson(`${app.url}/v1${path}`, { method, headers, body });
}

const ordersPath = (restaurant = seed.restaurant) => `/restaurants/${restaurant}/orders`;
const orderBody = (table = seed.tables[0]!, lines = [{ menu_item_id: seed.items[0]!.id, quantity: 2 }]) => ({ table_id: table, items: lines });

async function counts() {
  const { rows } = await pg.query<{ orders: string; keys: string; items: string }>(
    `SELECT (SELECT count(*) FROM orders) AS orders, (SELECT count(*) FROM idempotency_keys) AS keys, (SELECT count(*) FROM order_items) AS items`,
  );
  return rows[0]!;
}

describe('POST orders', () => {
  test('201 with database prices, Location, and a replay returns the same response with one order', async () => {
    const staff = await token('staff');
    const key = newKey();
    const body = orderBody(seed.tables[1], [
      { menu_item_id: seed.items[0]!.id, quantity: 2 },
      { menu_item_id: seed.items[1]!.id, quantity: 1, notes: 'extra spicy' } as never,
    ]);
    const before = await counts();
    const first = await call('POST', ordersPath(), { token: staff, key, body });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ status: 'pending', table_id: seed.tables[1], total_cents: 2 * 12000 + 15050 });
    expect(first.body.items).toHaveLength(2);
    expect(first.body.items[0]).toMatchObject({ menu_item_id: seed.items[0]!.id, quantity: 2, unit_price_cents: 12000 });
    expect(first.body.items[1]).toMatchObject({ unit_price_cents: 15050, notes: 'extra spicy' });
    expect(first.headers.get('location')).toContain(`/v1/restaurants/${seed.restaurant}/orders/${first.body.id}`);

    // Same body with keys in another order: same canonical hash.
    const again = await call('POST', ordersPath(), { token: staff, key, body: { items: body.items, table_id: body.table_id } });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    const after = await counts();
    expect(Number(after.orders) - Number(before.orders)).toBe(1);

    const other = await call('POST', ordersPath(), { token: staff, key, body: orderBody(seed.tables[1], [{ menu_item_id: seed.items[2]!.id, quantity: 1 }]) });
    expect(other.status).toBe(422);
    expect(other.body.error.message).toBe('idempotency key reused with a different body');
    expect(await counts()).toEqual(after);

    // The created order can be read back right away (read-your-writes) with its items.
    const got = await call('GET', `${ordersPath()}/${first.body.id}?include=items`, { token: staff });
    expect(got.status).toBe(200);
    expect(got.body).toEqual(first.body);
  });

  test('the consistency token comes back with the call and covers the order\'s commit record; no second statement asks for it', async () => {
    await cluster.admin('CREATE EXTENSION IF NOT EXISTS pg_walinspect');
    const positionQueries = async () =>
      Number((await cluster.admin<{ n: string }>(`SELECT coalesce(sum(calls), 0)::text AS n FROM pg_stat_statements WHERE query LIKE '%pg_current_wal_insert_lsn()::text AS position%'`))[0]!.n);
    const [{ start }] = await cluster.admin<{ start: string }>('SELECT pg_current_wal_insert_lsn()::text AS start');
    const asked = await positionQueries();
    const created = await call('POST', ordersPath(), { token: await token('staff'), key: newKey(), body: orderBody(seed.tables[3]) });
    expect(created.status).toBe(201);
    expect(await positionQueries()).toBe(asked);
    const position = parseWalPosition(created.headers.get('x-consistency-token') ?? '');
    const { rows } = await pg.query<{ xid: string }>('SELECT xmin::text AS xid FROM orders WHERE id = $1', [created.body.id]);
    // CALL returned after its COMMIT flushed (synchronous_commit is on): the record is readable.
    const [commit] = await cluster.admin<{ end_lsn: string }>(
      `SELECT end_lsn::text FROM pg_get_wal_records_info('${start}', pg_current_wal_flush_lsn()) WHERE record_type = 'COMMIT' AND xid::text = '${rows[0]!.xid}'`,
    );
    expect(commit).toBeDefined();
    expect(position >= parseWalPosition(commit!.end_lsn)).toBe(true);
  });

  test('create_order_idempotent plans with generic plans (its foreign key checks on the partitioned orders are not planned per call)', async () => {
    const { rows } = await pg.query<{ config: string[] | null }>(`SELECT proconfig AS config FROM pg_proc WHERE proname = 'create_order_idempotent'`);
    expect(rows).toEqual([{ config: ['plan_cache_mode=force_generic_plan'] }]);
  });

  test('CALL create_order_committed inside a transaction block is refused and writes nothing', async () => {
    const before = await counts();
    await pg.query('BEGIN');
    try {
      await expect(
        pg.query(`CALL create_order_committed($1, $2, $3, $4, $5::bigint[], $6::int[], $7::text[], NULL, NULL)`, [
          seed.restaurant, newKey(), 'h', seed.tables[0], [seed.items[0]!.id], [1], [null],
        ]),
      ).rejects.toThrow('invalid transaction termination');
    } finally {
      await pg.query('ROLLBACK');
    }
    expect(await counts()).toEqual(before);
  });

  test('200 concurrent creates, each retried once with the same key: exactly 200 orders and 200 completed keys', async () => {
    const staff = await token('staff');
    await pg.query(`INSERT INTO restaurants (slug, name, timezone, currency) VALUES ('load', 'Load', 'UTC', 'THB')`);
    const prefix = `load-${Date.now()}-`;
    const before = await counts();
    const send = (i: number) => call('POST', ordersPath(), { token: staff, key: `${prefix}${i}`, body: orderBody(seed.tables[i % 5], [{ menu_item_id: seed.items[i % 3]!.id, quantity: 1 + (i % 4) }]) });
    const outcomes = await Promise.all(Array.from({ length: 200 }, (_, i) => Promise.all([send(i), send(i)])));
    for (const pair of outcomes) {
      for (const r of pair) expect([201, 409]).toContain(r.status);
      expect(pair.some((r) => r.status === 201)).toBe(true);
      const ids = new Set(pair.filter((r) => r.status === 201).map((r) => r.body.id));
      expect(ids.size).toBe(1);
    }
    // A later retry of every key replays the one order.
    const replays = await Promise.all(Array.from({ length: 200 }, (_, i) => send(i)));
    replays.forEach((r, i) => {
      expect(r.status).toBe(201);
      expect(r.body.id).toBe(outcomes[i]!.find((x) => x.status === 201)!.body.id);
    });
    const after = await counts();
    expect(Number(after.orders) - Number(before.orders)).toBe(200);
    const { rows } = await pg.query<{ n: string }>(`SELECT count(*) AS n FROM idempotency_keys WHERE key LIKE $1 AND status = 'completed' AND order_id IS NOT NULL`, [`${prefix}%`]);
    expect(Number(rows[0]!.n)).toBe(200);
  });

  test('a duplicate while the first request is still in its transaction gets 409; the first then completes', async () => {
    const staff = await token('staff');
    const key = newKey();
    const body = orderBody(seed.tables[2], [{ menu_item_id: seed.items[2]!.id, quantity: 1 }]);
    // Hold the first request inside its transaction: its order_items FK check needs a KEY SHARE
    // lock on the menu item, which this FOR UPDATE blocks.
    const holder = await connect(cluster);
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM menu_items WHERE id = $1 FOR UPDATE', [seed.items[2]!.id]);
      const first = call('POST', ordersPath(), { token: staff, key, body });
      await eventually('the first request to wait on the row lock', async () => {
        const { rows } = await pg.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted`);
        return rows.length > 0;
      });
      const second = await call('POST', ordersPath(), { token: staff, key, body });
      expect(second.status).toBe(409);
      expect(second.body.error.message).toMatch(/Idempotency-Key is in progress/);
      await holder.query('COMMIT');
      const done = await first;
      expect(done.status).toBe(201);
      const replay = await call('POST', ordersPath(), { token: staff, key, body });
      expect(replay.body.id).toBe(done.body.id);
    } finally {
      await holder.end();
    }
  });
});

describe('refusals of the create function write nothing', () => {
  test('a refused request leaves its key unclaimed: the same key with a corrected body then creates the order', async () => {
    const staff = await token('staff');
    const key = newKey();
    const before = await counts();
    const refused = await call('POST', ordersPath(), { token: staff, key, body: orderBody(undefined, [{ menu_item_id: seed.items[0]!.id, quantity: 1 }, { menu_item_id: seed.unavailable, quantity: 2 }]) });
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({
      message: `items.1.menu_item_id: menu item ${seed.unavailable} does not exist or is not available`,
      details: { field: 'body.items.1.menu_item_id', menu_item_id: seed.unavailable },
    });
    expect(await counts()).toEqual(before);
    const created = await call('POST', ordersPath(), { token: staff, key, body: orderBody() });
    expect(created.status).toBe(201);
    expect(created.body.items).toEqual([{ id: expect.any(String), menu_item_id: seed.items[0]!.id, quantity: 2, unit_price_cents: 12000, notes: null }]);
  });

  test('a total beyond the integer range is 422 and writes nothing', async () => {
    const staff = await token('staff');
    const category = (await pg.query<{ id: string }>(`SELECT id FROM menu_categories WHERE restaurant_id = $1 LIMIT 1`, [seed.restaurant])).rows[0]!.id;
    const dear = String((await pg.query<{ id: string }>(`INSERT INTO menu_items (restaurant_id, category_id, name, price_cents) VALUES ($1, $2, 'Gold leaf', 100000000) RETURNING id`, [seed.restaurant, category])).rows[0]!.id);
    const before = await counts();
    const refused = await call('POST', ordersPath(), { token: staff, key: newKey(), body: orderBody(undefined, [{ menu_item_id: dear, quantity: 50 }]) });
    expect(refused.status).toBe(422);
    expect(refused.body.error.message).toBe('order total is too large');
    expect(await counts()).toEqual(before);
  });

  test('a key row written by someone who skipped the lock: 409 once it commits, and the order is rolled back with the statement', async () => {
    const staff = await token('staff');
    const key = newKey();
    const holder = await connect(cluster);
    try {
      await holder.query('BEGIN');
      await holder.query(`INSERT INTO idempotency_keys (restaurant_id, key, request_hash) VALUES ($1, $2, 'x')`, [seed.restaurant, key]);
      const before = await counts();
      const pending = call('POST', ordersPath(), { token: staff, key, body: orderBody() });
      // The create has inserted its order and now waits on the holder's uncommitted key row.
      await eventually('the create to wait on the key row', async () => {
        const { rows } = await pg.query(`SELECT 1 FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted`);
        return rows.length > 0;
      });
      await holder.query('COMMIT');
      const refused = await pending;
      expect(refused.status).toBe(409);
      expect(refused.body.error.message).toBe('a request with this Idempotency-Key is in progress; retry later');
      expect(Number((await counts()).orders)).toBe(Number(before.orders));
    } finally {
      await holder.end();
    }
  });
});

describe('ordering_open: false in the settings closes ordering', () => {
  /** Sets the setting as the settings PATCH does (true, false) or removes it (null). */
  async function setOrderingOpen(open: boolean | null): Promise<void> {
    await pg.query(
      `UPDATE restaurants SET settings = CASE WHEN $2::jsonb IS NULL THEN settings - 'ordering_open' ELSE settings || jsonb_build_object('ordering_open', $2::jsonb) END WHERE id = $1`,
      [seed.restaurant, open === null ? null : JSON.stringify(open)],
    );
  }
  afterEach(() => setOrderingOpen(null));

  const expectClosed = (r: { status: number; body: any }) => {
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({ code: 'ordering_closed', message: 'ordering is closed at this restaurant', details: { setting: 'ordering_open' } });
  };

  test.each(['guest', 'staff', 'manager'] as const)('a %s gets 409 ordering_closed, and nothing is written', async (role) => {
    await setOrderingOpen(false);
    const before = await counts();
    expectClosed(await call('POST', ordersPath(), { token: await token(role), key: newKey(), body: orderBody(seed.tables[0]) }));
    expect(await counts()).toEqual(before);
  });

  test('closed is checked before the table and the prices: an unknown item is still 409 ordering_closed', async () => {
    await setOrderingOpen(false);
    const before = await counts();
    expectClosed(await call('POST', ordersPath(), { token: await token('staff'), key: newKey(), body: orderBody(undefined, [{ menu_item_id: seed.unavailable, quantity: 1 }]) }));
    expect(await counts()).toEqual(before);
  });

  test('a retry of an order created while open still replays after closing; a key refused while closed creates once reopened', async () => {
    const staff = await token('staff');
    const createdKey = newKey();
    // Another restaurant closing changes nothing here.
    await pg.query(`UPDATE restaurants SET settings = settings || '{"ordering_open": false}' WHERE id = $1`, [seed.other]);
    const created = await call('POST', ordersPath(), { token: staff, key: createdKey, body: orderBody() }).finally(() =>
      pg.query(`UPDATE restaurants SET settings = settings - 'ordering_open' WHERE id = $1`, [seed.other]),
    );
    expect(created.status).toBe(201);
    await setOrderingOpen(false);
    const before = await counts();
    const replay = await call('POST', ordersPath(), { token: staff, key: createdKey, body: orderBody() });
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(created.body);

    const refusedKey = newKey();
    expectClosed(await call('POST', ordersPath(), { token: staff, key: refusedKey, body: orderBody() }));
    expect(await counts()).toEqual(before);
    const { rows } = await pg.query('SELECT 1 FROM idempotency_keys WHERE restaurant_id = $1 AND key = $2', [seed.restaurant, refusedKey]);
    expect(rows).toEqual([]);

    // Explicitly true is open, like absent.
    await setOrderingOpen(true);
    const reopened = await call('POST', ordersPath(), { token: staff, key: refusedKey, body: orderBody() });
    expect(reopened.status).toBe(201);
    expect(reopened.body.id).not.toBe(created.body.id);
  });

  test('a create arriving while a settings change that closes ordering is in flight waits for it, then is refused', async () => {
    const holder = await connect(cluster);
    try {
      // The settings PATCH's statement, held uncommitted.
      await holder.query('BEGIN');
      await holder.query(`UPDATE restaurants SET settings = settings || '{"ordering_open": false}' WHERE id = $1`, [seed.restaurant]);
      const before = await counts();
      const pending = call('POST', ordersPath(), { token: await token('staff'), key: newKey(), body: orderBody() });
      // The create's FOR SHARE on the restaurant row waits for the holder's transaction.
      await eventually('the create to wait on the restaurant row', async () => {
        const { rows } = await pg.query(`SELECT 1 FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted`);
        return rows.length > 0;
      });
      await holder.query('COMMIT');
      expectClosed(await pending);
      expect(await counts()).toEqual(before);
    } finally {
      await holder.end();
    }
  });
});

describe('bad input: 4xx naming the field, nothing written', () => {
  const path = () => ordersPath();
  const cases: [string, () => Promise<{ method: string; path: string; body?: unknown; key?: string | null; raw?: string }>, number, RegExp][] = [
    ['missing Idempotency-Key', async () => ({ method: 'POST', path: path(), body: orderBody(), key: null }), 400, /Idempotency-Key/],
    ['Idempotency-Key over 200 chars', async () => ({ method: 'POST', path: path(), body: orderBody(), key: 'k'.repeat(201) }), 400, /Idempotency-Key/],
    ['quantity 0', async () => ({ method: 'POST', path: path(), body: orderBody(undefined, [{ menu_item_id: seed.items[0]!.id, quantity: 0 }]) }), 400, /items\.0\.quantity/],
    ['quantity 51', async () => ({ method: 'POST', path: path(), body: orderBody(undefined, [{ menu_item_id: seed.items[0]!.id, quantity: 51 }]) }), 400, /items\.0\.quantity/],
    ['quantity not an integer', async () => ({ method: 'POST', path: path(), body: orderBody(undefined, [{ menu_item_id: seed.items[0]!.id, quantity: 1.5 }]) }), 400, /items\.0\.quantity/],
    ['unknown top-level field', async () => ({ method: 'POST', path: path(), body: { ...orderBody(), discount: 100 } }), 400, /body\.discount/],
    ['unknown item field', async () => ({ method: 'POST', path: path(), body: orderBody(undefined, [{ menu_item_id: seed.items[0]!.id, quantity: 1, price_cents: 1 } as never]) }), 400, /items\.0\.price_cents/],
    ['101 items', async () => ({ method: 'POST', path: path(), body: orderBody(undefined, Array.from({ length: 101 }, () => ({ menu_item_id: seed.items[0]!.id, quantity: 1 }))) }), 400, /body\.items/],
    ['no items', async () => ({ method: 'POST', path: path(), body: orderBody(undefined, []) }), 400, /body\.items/],
    ['notes over 200 chars', async () => ({ method: 'POST', path: path(), body: orderBody(undefined, [{ menu_item_id: seed.items[0]!.id, quantity: 1, notes: 'n'.repeat(201) } as never]) }), 400, /items\.0\.notes/],
    ['missing table_id', async () => ({ method: 'POST', path: path(), body: { items: orderBody().items } }), 400, /body\.table_id/],
    ['malformed JSON', async () => ({ method: 'POST', path: path(), raw: '{"table_id":' }), 400, /JSON/],
    ['unknown menu item', async () => ({ method: 'POST', path: path(), body: orderBody(undefined, [{ menu_item_id: '999999', quantity: 1 }]) }), 422, /items\.0\.menu_item_id/],
    ['unavailable menu item', async () => ({ method: 'POST', path: path(), body: orderBody(undefined, [{ menu_item_id: seed.items[0]!.id, quantity: 1 }, { menu_item_id: seed.unavailable, quantity: 1 }]) }), 422, /items\.1\.menu_item_id/],
    ["another restaurant's menu item", async () => ({ method: 'POST', path: path(), body: orderBody(undefined, [{ menu_item_id: seed.otherItem, quantity: 1 }]) }), 422, /items\.0\.menu_item_id/],
    ["another restaurant's table", async () => ({ method: 'POST', path: path(), body: orderBody(seed.otherTable) }), 422, /table_id/],
    ['limit 101', async () => ({ method: 'GET', path: `${path()}?limit=101` }), 400, /query\.limit/],
    ['limit not a number', async () => ({ method: 'GET', path: `${path()}?limit=abc` }), 400, /query\.limit/],
    ['bad cursor', async () => ({ method: 'GET', path: `${path()}?cursor=not-a-cursor` }), 400, /query\.cursor/],
    ['well-encoded cursor with garbage inside', async () => ({ method: 'GET', path: `${path()}?cursor=${Buffer.from('["yesterday","x"]').toString('base64url')}` }), 400, /query\.cursor/],
    ['bad status filter', async () => ({ method: 'GET', path: `${path()}?status=eaten` }), 400, /query\.status/],
    ['bad date filter', async () => ({ method: 'GET', path: `${path()}?date=2026-13-45` }), 400, /query\.date/],
    ['unknown query parameter', async () => ({ method: 'GET', path: `${path()}?sort=asc` }), 400, /query\.sort/],
    ['bad order id', async () => ({ method: 'GET', path: `${path()}/abc` }), 400, /params\.orderId/],
    ['bad restaurant id', async () => ({ method: 'GET', path: '/restaurants/0/orders' }), 400, /params\.restaurantId/],
    ['bad include', async () => ({ method: 'GET', path: `${path()}/1?include=everything` }), 400, /query\.include/],
    ['bad created_at', async () => ({ method: 'GET', path: `${path()}/1?created_at=yesterday` }), 400, /query\.created_at/],
    ['bad status value', async () => ({ method: 'PATCH', path: `${path()}/1/status`, body: { status: 'eaten' } }), 400, /body\.status/],
    ['status body with extra field', async () => ({ method: 'PATCH', path: `${path()}/1/status`, body: { status: 'confirmed', by: 'me' } }), 400, /body\.by/],
    ['unknown order', async () => ({ method: 'PATCH', path: `${path()}/999999999/status`, body: { status: 'confirmed' } }), 404, /order/],
  ];

  test.each(cases)('%s', async (_name, build, status, naming) => {
    const staff = await token('staff');
    const request = await build();
    const before = await counts();
    const result = await call(request.method, request.path, { token: staff, body: request.body, raw: request.raw, key: request.key === null ? null : (request.key ?? newKey()) });
    expect(result.status).toBe(status);
    expect(result.body.error.message).toMatch(naming);
    expect(await counts()).toEqual(before);
  });
});

describe('authorization', () => {
  test('a guest ordering for another table gets 403; for its own table 201', async () => {
    const guest = await token('guest');
    const denied = await call('POST', ordersPath(), { token: guest, key: newKey(), body: orderBody(seed.tables[3]) });
    expect(denied.status).toBe(403);
    const ok = await call('POST', ordersPath(), { token: guest, key: newKey(), body: orderBody(seed.tables[0]) });
    expect(ok.status).toBe(201);
    // A guest of another table cannot read it (404, no probing), and cannot list another table.
    const otherGuest = await token('guest', { table_id: seed.tables[3] });
    expect((await call('GET', `${ordersPath()}/${ok.body.id}`, { token: otherGuest })).status).toBe(404);
    expect((await call('GET', `${ordersPath()}/${ok.body.id}`, { token: guest })).status).toBe(200);
    expect((await call('GET', `${ordersPath()}?table_id=${seed.tables[0]}`, { token: otherGuest })).status).toBe(403);
    const own = await call('GET', `${ordersPath()}?limit=100`, { token: otherGuest });
    expect(own.body.orders.every((o: { table_id: string }) => o.table_id === seed.tables[3])).toBe(true);
    // Guests and kitchen screens cannot do what their role does not allow.
    expect((await call('PATCH', `${ordersPath()}/${ok.body.id}/status`, { token: guest, body: { status: 'cancelled' } })).status).toBe(403);
    expect((await call('POST', ordersPath(), { token: await token('kitchen'), key: newKey(), body: orderBody() })).status).toBe(403);
  });

  test('staff of another restaurant gets 403 on every route, and nothing is written', async () => {
    const foreign = await mint.sign({ sub: 'staff-x', role: 'staff', restaurant_id: seed.other });
    const before = await counts();
    expect((await call('POST', ordersPath(), { token: foreign, key: newKey(), body: orderBody() })).status).toBe(403);
    expect((await call('GET', ordersPath(), { token: foreign })).status).toBe(403);
    expect((await call('GET', `${ordersPath()}/1`, { token: foreign })).status).toBe(403);
    expect((await call('PATCH', `${ordersPath()}/1/status`, { token: foreign, body: { status: 'confirmed' } })).status).toBe(403);
    expect((await call('GET', ordersPath())).status).toBe(401);
    expect(await counts()).toEqual(before);
  });
});

describe('list', () => {
  test('3 pages return every order once, newest first, and orders inserted between pages shift nothing', async () => {
    const manager = await token('manager');
    // A table of its own: other tests order for the seeded tables.
    const table = String((await pg.query<{ id: string }>(`INSERT INTO tables (restaurant_id, label, seats) VALUES ($1, 'Pages', 2) RETURNING id`, [seed.restaurant])).rows[0]!.id);
    const created: string[] = [];
    for (let i = 0; i < 25; i++) {
      const r = await call('POST', ordersPath(), { token: manager, key: newKey(), body: orderBody(table) });
      created.push(r.body.id);
    }
    const seen: { id: string; created_at: string }[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 3; page++) {
      const q: string = `?table_id=${table}&limit=10${cursor ? `&cursor=${cursor}` : ''}`;
      const r = await call('GET', `${ordersPath()}${q}`, { token: manager });
      expect(r.status).toBe(200);
      seen.push(...r.body.orders);
      cursor = r.body.next_cursor;
      // New orders between page fetches: newer than the cursor, so never on a later page.
      for (let i = 0; i < 3; i++) await call('POST', ordersPath(), { token: manager, key: newKey(), body: orderBody(table) });
      if (page < 2) expect(cursor).toEqual(expect.any(String));
    }
    expect(cursor).toBeNull();
    expect(seen.map((o) => o.id)).toEqual([...created].reverse());
    expect(new Set(seen.map((o) => o.id)).size).toBe(25);
  });

  test('filters by status and restaurant-local date', async () => {
    const staff = await token('staff');
    const r = await call('POST', ordersPath(), { token: staff, key: newKey(), body: orderBody(seed.tables[3]) });
    await call('PATCH', `${ordersPath()}/${r.body.id}/status`, { token: staff, body: { status: 'cancelled' } });
    const cancelled = await call('GET', `${ordersPath()}?status=cancelled&limit=100`, { token: staff });
    expect(cancelled.body.orders.map((o: { id: string }) => o.id)).toContain(r.body.id);
    expect(cancelled.body.orders.every((o: { status: string }) => o.status === 'cancelled')).toBe(true);
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Bangkok' }).format(new Date());
    const onDay = await call('GET', `${ordersPath()}?date=${today}&status=cancelled`, { token: staff });
    expect(onDay.body.orders.map((o: { id: string }) => o.id)).toContain(r.body.id);
    const otherDay = await call('GET', `${ordersPath()}?date=2000-01-01`, { token: staff });
    expect(otherDay.body).toEqual({ orders: [], next_cursor: null });
  });
});

describe('status machine and events', () => {
  test('pending to completed, invalid transitions 409, cancel after preparing 409, events on the stream', async () => {
    const staff = await token('staff');
    const kitchen = await token('kitchen');
    const before = {
      created: await metricValue('orders_created_total'),
      kitchen: await metricValue('kitchen_preparation_seconds', {}, 'count'),
      processing: await metricValue('order_processing_seconds', {}, 'count'),
      served: await metricValue('order_status_changes_total', { status: 'served' }),
    };
    const created = await call('POST', ordersPath(), { token: staff, key: newKey(), body: orderBody(seed.tables[2]) });
    const id = created.body.id as string;
    const patch = (status: string, who = staff) => call('PATCH', `${ordersPath()}/${id}/status?created_at=${encodeURIComponent(created.body.created_at)}`, { token: who, body: { status } });

    const skip = await patch('ready');
    expect(skip.status).toBe(409);
    expect(skip.body.error.message).toBe('cannot change status from pending to ready');
    expect((await patch('confirmed')).body.confirmed_at).toEqual(expect.any(String));
    expect((await patch('preparing', kitchen)).status).toBe(200);
    const cancel = await patch('cancelled');
    expect(cancel.status).toBe(409);
    expect(cancel.body.error.details).toEqual({ from: 'preparing', to: 'cancelled' });
    for (const status of ['ready', 'served', 'completed']) expect((await patch(status)).status).toBe(200);
    const final = await call('GET', `${ordersPath()}/${id}`, { token: staff });
    expect(final.body.status).toBe('completed');
    for (const column of ['confirmed_at', 'preparing_at', 'ready_at', 'served_at', 'completed_at']) expect(final.body[column]).toEqual(expect.any(String));
    expect(final.body.cancelled_at).toBeNull();
    expect((await patch('completed')).status).toBe(409);

    // One order through the kitchen: one preparation time, one processing time (409s count nothing).
    expect(await metricValue('orders_created_total')).toBe(before.created + 1);
    expect(await metricValue('kitchen_preparation_seconds', {}, 'count')).toBe(before.kitchen + 1);
    expect(await metricValue('order_processing_seconds', {}, 'count')).toBe(before.processing + 1);
    expect(await metricValue('order_status_changes_total', { status: 'served' })).toBe(before.served + 1);

    // The stream is app:orders:<id> on the server although the API client has keyPrefix 'app:'.
    let events: ReturnType<typeof orderEventSchema.parse>[] = [];
    await eventually('the events of the order', async () => {
      const entries = await rawRedis.xrange(orderStreamName(seed.restaurant), '-', '+');
      events = entries.map(([, fields]) => orderEventSchema.parse(JSON.parse(fields[1]!))).filter((e) => e.order_id === id);
      return events.length === 6;
    });
    expect(events.map((e) => [e.type, e.previous_status, e.status])).toEqual([
      ['order.created', undefined, 'pending'],
      ['order.status_changed', 'pending', 'confirmed'],
      ['order.status_changed', 'confirmed', 'preparing'],
      ['order.status_changed', 'preparing', 'ready'],
      ['order.status_changed', 'ready', 'served'],
      ['order.status_changed', 'served', 'completed'],
    ]);
    expect(events[0]).toMatchObject({ v: 1, restaurant_id: seed.restaurant, table_id: seed.tables[2], total_cents: created.body.total_cents });
  });

  test('Redis down: the order is created, its event waits in the outbox and reaches the stream once Redis is back', async () => {
    const staff = await token('staff');
    let id = '';
    await redisServer.stop();
    try {
      await eventually('the client to notice', () => redis.status !== 'ready');
      const r = await call('POST', ordersPath(), { token: staff, key: newKey(), body: orderBody() });
      expect(r.status).toBe(201);
      id = r.body.id as string;
      // Committed with the order, and kept while the relay cannot append it.
      const { rows } = await pg.query<{ event: { order_id: string; type: string } }>('SELECT event FROM order_event_outbox WHERE restaurant_id = $1', [seed.restaurant]);
      expect(rows.map((row) => [row.event.type, row.event.order_id])).toContainEqual(['order.created', id]);
      // The relay keeps them while it cannot reach Redis.
      expect(await relay.drainOnce()).toEqual({ busy: false, published: 0, selected: 0, redisUnavailable: true });
      expect(await metricValue('order_event_outbox_pending')).toBeGreaterThanOrEqual(1);
    } finally {
      await redisServer.start();
    }
    // Redis restarted empty: the stream now holds exactly what the outbox kept.
    await eventually('the event in the stream', async () => {
      const entries = await rawRedis.xrange(orderStreamName(seed.restaurant), '-', '+').catch(() => []);
      return entries.some(([, fields]) => orderEventSchema.parse(JSON.parse(fields[1]!)).order_id === id);
    }, 15_000);
    await eventually('the outbox empty', async () => (await metricValue('order_event_outbox_pending')) === 0);
  });
});
