/**
 * The fast lane (app/src/http/fast-lane.ts) against express for the same requests, on the real
 * menu and order routes with PostgreSQL (primary + replica) and Redis: the same status, body and
 * headers (date and per-request values aside), the same log line and metric; and every request the
 * lane must not answer (unverified or foreign token, query string, trailing slash, HEAD, a refused
 * rate limit, an order that is not JSON, invalid or refused) answered by express exactly as before,
 * its rate limits counted once.
 */
import type { Server } from 'node:http';
import type { Client } from 'pg';
import { createDatabaseManager, type DatabaseManager } from '../../../app/src/db/database-manager';
import { boundPort, listen } from '../../../app/src/http/server';
import { registerMenuRoutes } from '../../../app/src/menu/menu-routes';
import { registerOrderRoutes } from '../../../app/src/orders/order-routes';
import { createMetrics } from '../../../app/src/metrics';
import { startPostgresCluster, type PostgresCluster } from '../../../tools/services/postgres-cluster';
import { startRedis, type RedisServer } from '../../../tools/services/redis-server';
import { startCacheProcess, type CacheProcess } from '../cache/cache-fixtures';
import { clusterConfig, recordingLogger } from '../db/database-manager-fixtures';
import { applySchema, connect } from '../db/migrate-support';
import { createTokenMint, httpTestConfig, memoryLogger, startApp, type RunningApp, type TokenMint } from './support';

const ORIGIN = 'https://cdn.riverside.example.com';
/** Differ per request by design. */
const PER_REQUEST = new Set(['date', 'x-request-id', 'ratelimit-remaining', 'ratelimit-reset']);

let cluster: PostgresCluster;
let redis: RedisServer;
let sql: Client;
let mint: TokenMint;
let db: DatabaseManager;
let cache: CacheProcess;
let app: RunningApp;
/** The same app's express application alone, on a port of its own: what the lane must match. */
let expressOnly: Server;
let expressUrl: string;
let riverside: string;
let harbour: string;
let table: string;
let items: string[];

beforeAll(async () => {
  [cluster, redis, mint] = await Promise.all([startPostgresCluster(), startRedis(), createTokenMint()]);
  await applySchema(cluster);
  sql = await connect(cluster);
  const r = await sql.query<{ id: string; slug: string }>(
    `INSERT INTO restaurants (slug, name, timezone, currency) VALUES ('riverside', 'Riverside', 'Asia/Bangkok', 'THB'), ('harbour', 'Harbour', 'UTC', 'GBP') RETURNING id::text, slug`,
  );
  riverside = r.rows.find((x) => x.slug === 'riverside')!.id;
  harbour = r.rows.find((x) => x.slug === 'harbour')!.id;
  const c = await sql.query<{ id: string }>(`INSERT INTO menu_categories (restaurant_id, name, sort_order) VALUES ($1, 'Mains', 1) RETURNING id::text`, [riverside]);
  items = (
    await sql.query<{ id: string }>(
      `INSERT INTO menu_items (restaurant_id, category_id, name, price_cents, is_available) VALUES ($1, $2, 'Green curry', 18000, true), ($1, $2, 'Pad thai', 15000, true) RETURNING id::text`,
      [riverside, c.rows[0]!.id],
    )
  ).rows.map((row) => row.id);
  table = (await sql.query<{ id: string }>(`INSERT INTO tables (restaurant_id, label, seats) VALUES ($1, 'T1', 4) RETURNING id::text`, [riverside])).rows[0]!.id;
  await cluster.waitForReplica();
  db = createDatabaseManager(clusterConfig(cluster), { logger: recordingLogger() });
  cache = await startCacheProcess(redis.port);
  app = await startApp({
    jwks: mint.jwks,
    db,
    config: httpTestConfig({ CORS_ALLOWED_ORIGINS: ORIGIN }),
    metrics: createMetrics({ defaultMetrics: false }),
    // Small read and write limits so refusals are reachable; the client limit stays the default.
    rateLimits: { read: { points: 40, windowSeconds: 60 }, write: { points: 5, windowSeconds: 60 } },
    routes: (v1, kit) => {
      const { logger } = memoryLogger(httpTestConfig());
      registerMenuRoutes(v1, kit, { db, cache: cache.cache, bus: cache.bus, logger });
      registerOrderRoutes(v1, kit, { db, logger });
    },
  });
  expressOnly = await listen(app.handle.app, 0, '127.0.0.1');
  expressUrl = `http://127.0.0.1:${boundPort(expressOnly)}`;
}, 120_000);

afterAll(async () => {
  expressOnly?.closeAllConnections();
  await new Promise<void>((resolve) => (expressOnly ? expressOnly.close(() => resolve()) : resolve()));
  await app?.close();
  await cache?.close();
  await db?.close();
  await sql?.end();
  await redis?.stop();
  await cluster?.stop();
});

const menuPath = () => `/v1/restaurants/${riverside}/menu`;
let subjects = 0;
/** A fresh principal each time, so one test's reads never meet another's limit. */
const guestToken = (restaurantId = riverside) => mint.sign({ sub: `guest-${(subjects += 1)}`, role: 'guest', restaurant_id: restaurantId, table_id: '1' });

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

async function get(base: string, path: string, headers: Record<string, string>, method = 'GET'): Promise<Answer> {
  // fetch would decode the body; compare the bytes on the wire.
  const response = await fetch(`${base}${path}`, { method, headers: { 'accept-encoding': 'identity', ...headers } });
  return { status: response.status, headers: Object.fromEntries(response.headers), body: Buffer.from(await response.arrayBuffer()) };
}

const stable = (headers: Record<string, string>) => Object.fromEntries(Object.entries(headers).filter(([name]) => !PER_REQUEST.has(name)));

/** Warms the token cache and the menu through express, then asks both ways; returns both answers. */
async function both(headers: (token: string) => Record<string, string>): Promise<{ lane: Answer; express: Answer; laneAnswered: boolean }> {
  const token = await guestToken();
  expect((await get(expressUrl, menuPath(), { authorization: `Bearer ${token}` })).status).toBe(200);
  const express = await get(expressUrl, menuPath(), headers(token));
  const before = app.handle.fastLaneAnswered();
  const lane = await get(app.url, menuPath(), headers(token));
  return { lane, express, laneAnswered: app.handle.fastLaneAnswered() === before + 1 };
}

describe('what the fast lane answers is what express answers', () => {
  test.each([
    ['identity', {}],
    ['gzip', { 'accept-encoding': 'gzip' }],
    ['brotli (a browser)', { 'accept-encoding': 'gzip, deflate, br, zstd' }],
    ['an allowed origin (CORS headers)', { origin: ORIGIN }],
    ['another origin (no CORS grant)', { origin: 'https://evil.example.com' }],
  ])('%s: same status, bytes and headers', async (_name, extra: Record<string, string>) => {
    const { lane, express, laneAnswered } = await both((token) => ({ authorization: `Bearer ${token}`, ...extra }));
    expect(laneAnswered).toBe(true);
    expect(lane.status).toBe(200);
    expect(lane.body.equals(express.body)).toBe(true);
    expect(stable(lane.headers)).toEqual(stable(express.headers));
    expect(lane.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(Object.keys(lane.headers)).toEqual(expect.arrayContaining(['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset']));
  });

  test('If-None-Match with the ETag: 304 without a body, same headers; an incoming X-Request-Id is kept', async () => {
    const etag = (await get(app.url, menuPath(), { authorization: `Bearer ${await guestToken()}` })).headers.etag!;
    const { lane, express, laneAnswered } = await both((token) => ({ authorization: `Bearer ${token}`, 'if-none-match': etag, 'x-request-id': 'req-0123456789' }));
    expect(laneAnswered).toBe(true);
    expect([lane.status, express.status]).toEqual([304, 304]);
    expect(lane.body.length).toBe(0);
    expect(lane.headers['x-request-id']).toBe('req-0123456789');
    expect(stable(lane.headers)).toEqual(stable(express.headers));
  });

  test('its log line and metric carry the express route label, path and status', async () => {
    const token = await guestToken();
    await get(app.url, menuPath(), { authorization: `Bearer ${token}` });
    const before = app.lines.length;
    const answered = app.handle.fastLaneAnswered();
    await get(app.url, menuPath(), { authorization: `Bearer ${token}`, 'x-request-id': 'lane-log-check-1' });
    expect(app.handle.fastLaneAnswered()).toBe(answered + 1);
    const line = app.lines.slice(before).find((l) => l.requestId === 'lane-log-check-1');
    expect(line).toMatchObject({ msg: 'request', method: 'GET', route: '/v1/restaurants/:restaurantId/menu', path: menuPath(), status: 200 });
    const metrics = await app.deps.metrics.registry.getSingleMetricAsString('http_request_duration_seconds');
    expect(metrics).toMatch(/http_request_duration_seconds_count\{route="\/v1\/restaurants\/:restaurantId\/menu",method="GET",status="200"\} \d+/);
  });
});

describe('what the fast lane leaves to express', () => {
  async function viaExpress(path: string, headers: Record<string, string>, method = 'GET'): Promise<Answer> {
    const before = app.handle.fastLaneAnswered();
    const answer = await get(app.url, path, headers, method);
    expect(app.handle.fastLaneAnswered()).toBe(before);
    return answer;
  }

  test('a token it has not verified before: express verifies it (then the next read takes the lane)', async () => {
    const token = await guestToken();
    expect((await viaExpress(menuPath(), { authorization: `Bearer ${token}` })).status).toBe(200);
    const before = app.handle.fastLaneAnswered();
    expect((await get(app.url, menuPath(), { authorization: `Bearer ${token}` })).status).toBe(200);
    expect(app.handle.fastLaneAnswered()).toBe(before + 1);
  });

  test('no token, a malformed one, a forged one: 401 from express', async () => {
    const token = await guestToken();
    await get(app.url, menuPath(), { authorization: `Bearer ${token}` });
    const [header, payload] = token.split('.');
    expect((await viaExpress(menuPath(), {})).status).toBe(401);
    expect((await viaExpress(menuPath(), { authorization: 'Basic abc' })).status).toBe(401);
    expect((await viaExpress(menuPath(), { authorization: `Bearer ${header}.${payload}.AAAA` })).status).toBe(401);
  });

  test("another restaurant's token: 403 from express", async () => {
    const token = await guestToken(harbour);
    await get(app.url, `/v1/restaurants/${harbour}/menu`, { authorization: `Bearer ${token}` });
    const answer = await viaExpress(menuPath(), { authorization: `Bearer ${token}` });
    expect(answer.status).toBe(403);
  });

  test('a query string, a trailing slash, another case, HEAD: express answers as it always did', async () => {
    const token = await guestToken();
    await get(app.url, menuPath(), { authorization: `Bearer ${token}` });
    const auth = { authorization: `Bearer ${token}` };
    expect((await viaExpress(`${menuPath()}?x=1`, auth)).status).toBe(200);
    expect((await viaExpress(`${menuPath()}/`, auth)).status).toBe(200);
    // express matches paths case-insensitively; the lane only the exact path.
    expect((await viaExpress(menuPath().replace('/menu', '/MENU'), auth)).status).toBe(200);
    expect((await viaExpress(menuPath(), auth, 'HEAD')).status).toBe(200);
  });

  test('past the read limit, the refusal comes from express: 429 with Retry-After and the error body', async () => {
    const token = await guestToken();
    const auth = { authorization: `Bearer ${token}` };
    const statuses: number[] = [];
    for (let i = 0; i < 42; i++) statuses.push((await get(app.url, menuPath(), auth)).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(40);
    expect(statuses.slice(40)).toEqual([429, 429]);
    const refused = await viaExpress(menuPath(), auth);
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(JSON.parse(refused.body.toString()).error.code).toBe('rate_limited');
  });
});

describe('order creates', () => {
  const ordersPath = () => `/v1/restaurants/${riverside}/orders`;
  let keys = 0;
  const orderBody = (overrides: Record<string, unknown> = {}) => JSON.stringify({ table_id: Number(table), items: [{ menu_item_id: Number(items[0]), quantity: 2, notes: 'mild' }], ...overrides });

  async function post(base: string, token: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
    const response = await fetch(`${base}${ordersPath()}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': `lane-${(keys += 1)}`, ...headers },
      body,
    });
    return { status: response.status, headers: Object.fromEntries(response.headers), body: Buffer.from(await response.arrayBuffer()) };
  }

  /** A token express has verified (so the lane may take its requests). */
  async function verifiedToken(): Promise<string> {
    const token = await guestToken();
    expect((await get(expressUrl, menuPath(), { authorization: `Bearer ${token}` })).status).toBe(200);
    return token;
  }

  /** Per order: the ids, times and the values derived from them. */
  const ORDER_SPECIFIC = new Set([...PER_REQUEST, 'etag', 'location', 'x-consistency-token', 'content-length']);
  const sameShape = (a: Record<string, string>, b: Record<string, string>) => {
    const keep = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).filter(([name]) => !ORDER_SPECIFIC.has(name)));
    expect(keep(a)).toEqual(keep(b));
    expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  };

  test('a 201 from the lane is what express writes: the same headers, a Location of the order, its own token; the key replays', async () => {
    const token = await verifiedToken();
    const express = await post(expressUrl, token, orderBody());
    const before = app.handle.fastLaneAnswered();
    const key = `lane-replay-${Date.now()}`;
    const lane = await post(app.url, token, orderBody(), { 'idempotency-key': key });
    expect(app.handle.fastLaneAnswered()).toBe(before + 1);
    expect([express.status, lane.status]).toEqual([201, 201]);
    sameShape(lane.headers, express.headers);
    const order = JSON.parse(lane.body.toString());
    expect(order).toMatchObject({ restaurant_id: riverside, table_id: table, status: 'pending', total_cents: 36000 });
    expect(order.items).toEqual([expect.objectContaining({ menu_item_id: items[0], quantity: 2, unit_price_cents: 18000, notes: 'mild' })]);
    expect(lane.headers.location).toBe(`${ordersPath()}/${order.id}?created_at=${encodeURIComponent(order.created_at)}`);
    expect(lane.headers['x-consistency-token']).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(lane.headers.etag).toMatch(/^W\/"/);
    const replay = await post(app.url, token, orderBody(), { 'idempotency-key': key });
    expect(replay.status).toBe(201);
    expect(JSON.parse(replay.body.toString())).toEqual(order);
  });

  test.each([
    ['not JSON', '{"table_id": ', {}, 400, 'invalid_json'],
    ['JSON that is not an object', '5', {}, 400, 'invalid_json'],
    ['an array', '[]', {}, 400, 'validation_failed'],
    ['a NUL in a note', 'NUL', {}, 400, 'validation_failed'],
    ['a field that is not allowed', 'EXTRA', {}, 400, 'validation_failed'],
    ['another table (a guest)', 'OTHER_TABLE', {}, 403, 'forbidden'],
    ['an unknown item', 'UNKNOWN_ITEM', {}, 422, 'unprocessable'],
    ['no Idempotency-Key', 'VALID', { 'idempotency-key': '' }, 400, 'validation_failed'],
    ['a text/plain body', 'VALID', { 'content-type': 'text/plain' }, 415, 'unsupported_media_type'],
    ['an empty body (an empty object to the parser)', '', {}, 400, 'validation_failed'],
  ])('%s: express answers, as it did without the lane', async (_name, kind, headers: Record<string, string>, status, code) => {
    const bodies: Record<string, string> = {
      NUL: orderBody({ items: [{ menu_item_id: Number(items[0]), quantity: 1, notes: 'a\u0000b' }] }),
      EXTRA: orderBody({ tip: 5 }),
      OTHER_TABLE: orderBody({ table_id: Number(table) + 1000 }),
      UNKNOWN_ITEM: orderBody({ items: [{ menu_item_id: 999999, quantity: 1 }] }),
      VALID: orderBody(),
    };
    const body = kind in bodies ? bodies[kind]! : kind;
    const token = await verifiedToken();
    const express = await post(expressUrl, token, body, headers);
    const before = app.handle.fastLaneAnswered();
    const lane = await post(app.url, token, body, headers);
    expect(app.handle.fastLaneAnswered()).toBe(before);
    expect([express.status, lane.status]).toEqual([status, status]);
    const [e, l] = [express, lane].map((a) => JSON.parse(a.body.toString()).error);
    expect(l.code).toBe(e.code);
    expect(l.code).toBe(code);
    expect(l.message).toBe(e.message);
  });

  test('a body with a UTF-8 byte order mark is read as the parser reads it: a 201 from the lane', async () => {
    const token = await verifiedToken();
    const express = await post(expressUrl, token, `\uFEFF${orderBody()}`);
    const before = app.handle.fastLaneAnswered();
    const lane = await post(app.url, token, `\uFEFF${orderBody()}`);
    expect(app.handle.fastLaneAnswered()).toBe(before + 1);
    expect([express.status, lane.status]).toEqual([201, 201]);
  });

  test('the write limit counts what express counts, once: refusals of the service, not bodies its parser refuses', async () => {
    // The write limit is 5 a minute. Express counts a request against it once its body parsed.
    const token = await verifiedToken();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await post(app.url, token, '{"broken')).status);
    const unknownItem = orderBody({ items: [{ menu_item_id: 999999, quantity: 1 }] });
    for (let i = 0; i < 6; i++) statuses.push((await post(app.url, token, unknownItem)).status);
    expect(statuses).toEqual([400, 400, 400, 400, 400, 400, 422, 422, 422, 422, 422, 429]);
  });
});

// Last: draining cannot be undone on a running app.
describe('draining', () => {
  test('the lane says Connection: close like express', async () => {
    app.handle.startDraining();
    const { lane, express, laneAnswered } = await both((token) => ({ authorization: `Bearer ${token}` }));
    expect(laneAnswered).toBe(true);
    expect([lane.headers.connection, express.headers.connection]).toEqual(['close', 'close']);
  });
});
