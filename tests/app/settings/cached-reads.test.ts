/**
 * Restaurant settings and order status through the layered cache, with two API instances (each its
 * own L1, database manager and bus) on one real Redis and a real primary + replica: a cold key costs
 * one database query per instance, a change made through one instance reaches the other's readers
 * within 100 ms, and bad input writes nothing.
 */
import type { Client } from 'pg';
import { createDatabaseManager, type DatabaseManager } from '../../../app/src/db/database-manager';
import { registerOrderRoutes } from '../../../app/src/orders/order-routes';
import { registerSettingsRoutes } from '../../../app/src/settings/settings-routes';
import { startPostgresCluster, type PostgresCluster } from '../../../tools/services/postgres-cluster';
import { startRedis, type RedisServer } from '../../../tools/services/redis-server';
import { startCacheProcess, type CacheProcess } from '../cache/cache-fixtures';
import { clusterConfig, eventually, recordingLogger } from '../db/database-manager-fixtures';
import { applySchema, connect } from '../db/migrate-support';
import { createTokenMint, getJson, httpTestConfig, memoryLogger, startApp, type RunningApp, type TokenMint } from '../http/support';

interface Instance {
  readonly app: RunningApp;
  readonly db: DatabaseManager;
  readonly cache: CacheProcess;
  readonly queries: string[];
  close(): Promise<void>;
}

let cluster: PostgresCluster;
let redis: RedisServer;
let sql: Client;
let mint: TokenMint;
let one: Instance;
let two: Instance;
let cafe: string;
let other: string;
let table: string;
let otherTable: string;
let item: string;

async function startInstance(): Promise<Instance> {
  const queries: string[] = [];
  const db = createDatabaseManager(clusterConfig(cluster), { logger: recordingLogger(), onQuery: (name) => void queries.push(name) });
  const cache = await startCacheProcess(redis.port);
  const { logger } = memoryLogger(httpTestConfig());
  const app = await startApp({
    jwks: mint.jwks,
    db,
    routes: (v1, kit) => {
      registerSettingsRoutes(v1, kit, { db, cache: cache.cache, bus: cache.bus, logger });
      registerOrderRoutes(v1, kit, { db, logger, statusCache: { cache: cache.cache, bus: cache.bus } });
    },
  });
  return {
    app,
    db,
    cache,
    queries,
    close: async () => {
      await app.close();
      await cache.close();
      await db.close();
    },
  };
}

const token = (role: 'guest' | 'staff' | 'kitchen' | 'manager', restaurantId = cafe, tableId = table) =>
  mint.sign({ sub: `${role}-${restaurantId}`, role, restaurant_id: restaurantId, ...(role === 'guest' ? { table_id: tableId } : {}) });

async function call(instance: Instance, method: string, path: string, auth: string, body?: unknown, headers: Record<string, string> = {}) {
  return getJson(`${instance.app.url}/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${auth}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

const settingsRow = async (id: string) => (await sql.query('SELECT settings, updated_at FROM restaurants WHERE id = $1', [id])).rows[0];

beforeAll(async () => {
  [cluster, redis, mint] = await Promise.all([startPostgresCluster(), startRedis(), createTokenMint()]);
  await applySchema(cluster);
  sql = await connect(cluster);
  const r = await sql.query<{ id: string }>(
    `INSERT INTO restaurants (slug, name, timezone, currency, settings) VALUES
       ('cafe', 'Cafe', 'Asia/Bangkok', 'THB', '{"ordering_open": true, "tax_rate_percent": 7}'), ('other', 'Other', 'UTC', 'GBP', '{}')
     RETURNING id::text`,
  );
  [cafe, other] = r.rows.map((x) => x.id) as [string, string];
  const t = await sql.query<{ id: string }>(`INSERT INTO tables (restaurant_id, label, seats) VALUES ($1, 'T1', 4), ($1, 'T2', 2) RETURNING id::text`, [cafe]);
  [table, otherTable] = t.rows.map((x) => x.id) as [string, string];
  const c = await sql.query<{ id: string }>(`INSERT INTO menu_categories (restaurant_id, name) VALUES ($1, 'Mains') RETURNING id::text`, [cafe]);
  item = (await sql.query<{ id: string }>(`INSERT INTO menu_items (restaurant_id, category_id, name, price_cents) VALUES ($1, $2, 'Curry', 18000) RETURNING id::text`, [cafe, c.rows[0]!.id])).rows[0]!.id;
  await cluster.waitForReplica();
  one = await startInstance();
  two = await startInstance();
}, 120_000);

afterAll(async () => {
  await one?.close();
  await two?.close();
  await sql?.end();
  await redis?.stop();
  await cluster?.stop();
});

describe('restaurant settings', () => {
  const path = () => `/restaurants/${cafe}/settings`;

  test('every role reads them; a cold key costs one query per instance however many readers', async () => {
    const before = one.queries.filter((q) => q === 'settings.load').length;
    const reads = await Promise.all(['guest', 'staff', 'kitchen', 'manager', 'guest', 'staff'].map(async (role) => call(one, 'GET', path(), await token(role as 'guest'))));
    for (const r of reads) {
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ restaurant_id: cafe, currency: 'THB', timezone: 'Asia/Bangkok', settings: { ordering_open: true, tax_rate_percent: 7 } });
    }
    expect(one.queries.filter((q) => q === 'settings.load').length - before).toBeLessThanOrEqual(1);
  });

  test('a manager change through one instance reaches the other within 100 ms; null removes a field', async () => {
    const manager = await token('manager');
    expect((await call(two, 'GET', path(), manager)).body.settings.ordering_open).toBe(true); // warm two's L1
    const changed = await call(one, 'PATCH', path(), manager, { ordering_open: false, service_charge_percent: 10, tax_rate_percent: null });
    expect(changed.status).toBe(200);
    expect(changed.body.settings).toEqual({ ordering_open: false, service_charge_percent: 10 });
    const waited = await eventually('instance two to see the change', async () => (await call(two, 'GET', path(), manager)).body.settings.ordering_open === false, 2_000);
    expect(waited).toBeLessThan(100);
    expect((await settingsRow(cafe)).settings).toEqual({ ordering_open: false, service_charge_percent: 10 });
  });

  test('a manager closing ordering through one instance: the next order through the other is 409 ordering_closed and writes nothing; reopening lets orders in', async () => {
    const manager = await token('manager');
    const guest = await token('guest');
    const order = () =>
      call(two, 'POST', `/restaurants/${cafe}/orders`, guest, { table_id: table, items: [{ menu_item_id: item, quantity: 1 }] }, { 'Idempotency-Key': `closing-${Date.now()}-${Math.random()}` });
    const orderCount = async () => (await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM orders')).rows[0]!.n;
    expect((await call(one, 'PATCH', path(), manager, { ordering_open: true })).status).toBe(200);
    expect((await call(one, 'PATCH', path(), manager, { ordering_open: false })).status).toBe(200);
    const before = await orderCount();
    const closed = await order();
    expect(closed.status).toBe(409);
    expect(closed.body.error).toMatchObject({ code: 'ordering_closed', message: 'ordering is closed at this restaurant', details: { setting: 'ordering_open' } });
    expect(await orderCount()).toBe(before);

    expect((await call(one, 'PATCH', path(), manager, { ordering_open: true })).status).toBe(200);
    expect((await order()).status).toBe(201);
  });

  test.each([
    [{ tax_rate_percent: 31 }, 'body.tax_rate_percent: must be at most 30'],
    [{ tax_rate_percent: 7.005 }, 'body.tax_rate_percent: must have at most two decimals'],
    [{ ordering_open: 'yes' }, 'body.ordering_open: Invalid input: expected boolean, received string'],
    [{ opening_hours: { mon: [{ open: '25:00', close: '23:00' }] } }, 'body.opening_hours.mon.0.open: must be a time HH:MM'],
    [{ opening_hours: { someday: [] } }, 'body.opening_hours.someday: is not allowed'],
    [{ colour: 'red' }, 'body.colour: is not allowed'],
    [{}, 'body: must change at least one setting'],
  ])('%j is a 400 naming the field, and nothing is written', async (body, message) => {
    const before = await settingsRow(cafe);
    const r = await call(one, 'PATCH', path(), await token('manager'), body);
    expect(r.status).toBe(400);
    expect(r.body.error.message).toBe(message);
    expect(await settingsRow(cafe)).toEqual(before);
  });

  test('staff may not change them, nor a manager of another restaurant; nothing is written', async () => {
    const before = await settingsRow(cafe);
    expect((await call(one, 'PATCH', path(), await token('staff'), { ordering_open: true })).status).toBe(403);
    expect((await call(one, 'PATCH', path(), await token('manager', other), { ordering_open: true })).status).toBe(403);
    expect((await call(one, 'GET', path(), await token('staff', other))).status).toBe(403);
    expect(await settingsRow(cafe)).toEqual(before);
  });
});

describe('order status polling', () => {
  // Open whatever the settings tests left.
  beforeAll(() => sql.query(`UPDATE restaurants SET settings = settings || '{"ordering_open": true}' WHERE id = $1`, [cafe]));

  async function createOrder(tableId = table): Promise<{ id: string; created_at: string }> {
    const r = await call(one, 'POST', `/restaurants/${cafe}/orders`, await token('staff'), { table_id: tableId, items: [{ menu_item_id: item, quantity: 1 }] }, {
      'Idempotency-Key': `status-${Date.now()}-${Math.random()}`,
    });
    expect(r.status).toBe(201);
    return r.body;
  }

  test('polls are served from the cache; a status change through one instance reaches the other within 100 ms', async () => {
    const order = await createOrder();
    const guest = await token('guest');
    const statusPath = `/restaurants/${cafe}/orders/${order.id}/status`;
    const loadsBefore = two.queries.filter((q) => q === 'orders.status').length;
    for (let i = 0; i < 5; i += 1) expect((await call(two, 'GET', statusPath, guest)).body).toMatchObject({ id: order.id, status: 'pending', table_id: table });
    expect(two.queries.filter((q) => q === 'orders.status').length - loadsBefore).toBe(1);

    const staff = await token('staff');
    const confirmed = await call(one, 'PATCH', `/restaurants/${cafe}/orders/${order.id}/status?created_at=${encodeURIComponent(order.created_at)}`, staff, { status: 'confirmed' });
    expect(confirmed.status).toBe(200);
    const waited = await eventually('instance two to see confirmed', async () => (await call(two, 'GET', statusPath, guest)).body.status === 'confirmed', 2_000);
    expect(waited).toBeLessThan(100);
  });

  test("a guest of another table, or another restaurant's staff, gets no status", async () => {
    const order = await createOrder();
    const statusPath = `/restaurants/${cafe}/orders/${order.id}/status`;
    expect((await call(one, 'GET', statusPath, await token('guest', cafe, otherTable))).status).toBe(404);
    expect((await call(one, 'GET', statusPath, await token('staff', other))).status).toBe(403);
    // The cache key is the order id: asking under another restaurant's path must not leak it.
    expect((await call(one, 'GET', `/restaurants/${other}/orders/${order.id}/status`, await token('staff', other))).status).toBe(404);
    expect((await call(one, 'GET', `/restaurants/${cafe}/orders/not-an-id/status`, await token('staff'))).body.error.message).toBe('params.orderId: must be a positive integer id');
  });
});
