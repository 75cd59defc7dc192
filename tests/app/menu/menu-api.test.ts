/**
 * The menu API (app/src/menu) on real PostgreSQL (primary + replica) and Redis: ETag/304 and
 * Cache-Control, one database load for many reads, invalidation across two app instances, the
 * staff writes, authorization across restaurants and bad input that writes nothing.
 */
import * as http from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import type { Client } from 'pg';
import { createDatabaseManager, type DatabaseManager } from '../../../app/src/db/database-manager';
import { registerMenuRoutes, MENU_CACHE_CONTROL } from '../../../app/src/menu/menu-routes';
import { startPostgresCluster, type PostgresCluster } from '../../../tools/services/postgres-cluster';
import { startRedis, type RedisServer } from '../../../tools/services/redis-server';
import { eventually, metricValue, startCacheProcess, type CacheProcess } from '../cache/cache-fixtures';
import { clusterConfig, recordingLogger } from '../db/database-manager-fixtures';
import { applySchema, connect } from '../db/migrate-support';
import { createTokenMint, getJson, httpTestConfig, memoryLogger, startApp, type RunningApp, type TokenMint } from '../http/support';

interface Instance {
  readonly app: RunningApp;
  readonly db: DatabaseManager;
  readonly cache: CacheProcess;
  /** Names of the queries this instance ran (`menu.load`, ...). */
  readonly queries: string[];
  close(): Promise<void>;
}

describe('menu API', () => {
  let cluster: PostgresCluster;
  let redis: RedisServer;
  let sql: Client;
  let mint: TokenMint;
  let one: Instance;
  let two: Instance;
  let riverside: string;
  let harbour: string;
  let mains: string;
  let drinks: string;
  let harbourCategory: string;
  let curry: string;

  async function startInstance(): Promise<Instance> {
    const queries: string[] = [];
    const db = createDatabaseManager(clusterConfig(cluster), { logger: recordingLogger(), onQuery: (name) => void queries.push(name) });
    const cache = await startCacheProcess(redis.port);
    const { logger } = memoryLogger(httpTestConfig());
    const app = await startApp({ jwks: mint.jwks, db, routes: (v1, kit) => void registerMenuRoutes(v1, kit, { db, cache: cache.cache, bus: cache.bus, logger }) });
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

  const token = (role: 'guest' | 'staff' | 'kitchen' | 'manager', restaurantId: string) =>
    mint.sign({ sub: `${role}-${restaurantId}`, role, restaurant_id: restaurantId, ...(role === 'guest' ? { table_id: '1' } : {}) });

  async function call(instance: Instance, method: string, path: string, auth: string, body?: unknown, headers: Record<string, string> = {}) {
    return getJson(`${instance.app.url}/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${auth}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  const itemCount = async () => Number((await sql.query<{ n: string }>('SELECT count(*) AS n FROM menu_items')).rows[0]!.n);
  const itemRow = async (id: string) => (await sql.query('SELECT name, description, price_cents, is_available, category_id::text FROM menu_items WHERE id = $1', [id])).rows[0];

  beforeAll(async () => {
    [cluster, redis, mint] = await Promise.all([startPostgresCluster(), startRedis(), createTokenMint()]);
    await applySchema(cluster);
    sql = await connect(cluster);
    const r = await sql.query<{ id: string; slug: string }>(
      `INSERT INTO restaurants (slug, name, timezone, currency) VALUES ('riverside', 'Riverside', 'Asia/Bangkok', 'THB'), ('harbour', 'Harbour', 'Europe/London', 'GBP')
       RETURNING id::text, slug`,
    );
    riverside = r.rows.find((x) => x.slug === 'riverside')!.id;
    harbour = r.rows.find((x) => x.slug === 'harbour')!.id;
    const c = await sql.query<{ id: string; name: string }>(
      `INSERT INTO menu_categories (restaurant_id, name, sort_order) VALUES ($1, 'Mains', 1), ($1, 'Drinks', 2), ($2, 'Harbour mains', 1) RETURNING id::text, name`,
      [riverside, harbour],
    );
    mains = c.rows.find((x) => x.name === 'Mains')!.id;
    drinks = c.rows.find((x) => x.name === 'Drinks')!.id;
    harbourCategory = c.rows.find((x) => x.name === 'Harbour mains')!.id;
    const i = await sql.query<{ id: string; name: string }>(
      `INSERT INTO menu_items (restaurant_id, category_id, name, price_cents, is_available) VALUES
         ($1, $2, 'Green curry', 18000, true), ($1, $2, 'Pad thai', 15000, true), ($1, $2, 'Sold out soup', 9000, false),
         ($1, $3, 'Iced tea', 6000, true), ($4, $5, 'Fish and chips', 1450, true)
       RETURNING id::text, name`,
      [riverside, mains, drinks, harbour, harbourCategory],
    );
    curry = i.rows.find((x) => x.name === 'Green curry')!.id;
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

  describe('GET /restaurants/:id/menu', () => {
    test('200 with categories and their available items sorted, a strong ETag and private Cache-Control; If-None-Match gives 304 without a body', async () => {
      const guest = await token('guest', riverside);
      const first = await call(one, 'GET', `/restaurants/${riverside}/menu`, guest);
      expect(first.status).toBe(200);
      expect(first.headers.get('cache-control')).toBe(MENU_CACHE_CONTROL);
      const etag = first.headers.get('etag')!;
      expect(etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
      expect(first.body.currency).toBe('THB');
      expect(first.body.categories.map((c: { name: string }) => c.name)).toEqual(['Mains', 'Drinks']);
      expect(first.body.categories[0].items.map((i: { name: string }) => i.name)).toEqual(['Green curry', 'Pad thai']);
      expect(first.body.categories[1].items.map((i: { name: string }) => i.name)).toEqual(['Iced tea']);

      const response = await fetch(`${one.app.url}/v1/restaurants/${riverside}/menu`, { headers: { authorization: `Bearer ${guest}`, 'if-none-match': etag } });
      expect(response.status).toBe(304);
      expect(await response.text()).toBe('');
      expect(response.headers.get('etag')).toBe(etag);

      const other = await call(one, 'GET', `/restaurants/${riverside}/menu`, guest, undefined, { 'if-none-match': '"something-else"' });
      expect(other.status).toBe(200);
    });

    test('a browser gets the brotli coding, a gzip client gzip, with Vary kept from the CORS middleware and the one ETag', async () => {
      const origin = 'https://guest.example.com';
      const withCors = await startApp({
        jwks: mint.jwks,
        db: one.db,
        config: httpTestConfig({ CORS_ALLOWED_ORIGINS: origin }),
        routes: (v1, kit) => void registerMenuRoutes(v1, kit, { db: one.db, cache: one.cache.cache, bus: one.cache.bus, logger: memoryLogger(httpTestConfig()).logger }),
      });
      try {
        const headers = { authorization: `Bearer ${await token('guest', riverside)}`, origin };
        const raw = (acceptEncoding: string) =>
          new Promise<http.IncomingMessage & { body: Buffer }>((resolve, reject) => {
            http
              .get(`${withCors.url}/v1/restaurants/${riverside}/menu`, { headers: { ...headers, 'accept-encoding': acceptEncoding } }, (response) => {
                const chunks: Buffer[] = [];
                response.on('data', (chunk: Buffer) => chunks.push(chunk));
                response.on('end', () => resolve(Object.assign(response, { body: Buffer.concat(chunks) })));
              })
              .on('error', reject);
          });
        const [br, gzip, plain] = [await raw('gzip, deflate, br'), await raw('gzip'), await raw('identity')];
        expect([br.headers['content-encoding'], gzip.headers['content-encoding'], plain.headers['content-encoding']]).toEqual(['br', 'gzip', undefined]);
        expect(brotliDecompressSync(br.body).toString()).toBe(plain.body.toString());
        expect(gunzipSync(gzip.body).toString()).toBe(plain.body.toString());
        for (const answer of [br, gzip, plain]) {
          expect(answer.headers.vary).toBe('Origin, Accept-Encoding, Authorization');
          expect(answer.headers.etag).toBe(plain.headers.etag);
          expect(answer.headers['access-control-allow-origin']).toBe(origin);
        }
        const notModified = await fetch(`${withCors.url}/v1/restaurants/${riverside}/menu`, { headers: { ...headers, 'if-none-match': plain.headers.etag! } });
        expect(notModified.status).toBe(304);
        expect(notModified.headers.get('vary')).toBe('Origin, Accept-Encoding, Authorization');
      } finally {
        await withCors.close();
      }
    });

    test('every role of the restaurant may read it; another restaurant is 403, no token 401, unknown restaurant 404, bad id 400', async () => {
      for (const role of ['staff', 'kitchen', 'manager'] as const) {
        expect((await call(one, 'GET', `/restaurants/${riverside}/menu`, await token(role, riverside))).status).toBe(200);
      }
      expect((await call(one, 'GET', `/restaurants/${riverside}/menu`, await token('guest', harbour))).status).toBe(403);
      expect((await getJson(`${one.app.url}/v1/restaurants/${riverside}/menu`)).status).toBe(401);
      expect((await call(one, 'GET', '/restaurants/999999/menu', await token('guest', '999999'))).status).toBe(404);
      const bad = await call(one, 'GET', '/restaurants/abc/menu', await token('guest', riverside));
      expect(bad.status).toBe(400);
      expect(bad.body.error.details.fields[0].field).toBe('params.restaurantId');
    });

    test('many reads of a cold menu cost one database load', async () => {
      const staff = await token('staff', harbour);
      const loadsBefore = one.queries.filter((q) => q === 'menu.load').length;
      const missesBefore = await metricValue(one.cache.registry, 'cache_misses_total', { kind: 'menu' });
      const concurrent = await Promise.all(Array.from({ length: 20 }, () => call(one, 'GET', `/restaurants/${harbour}/menu`, staff)));
      for (let i = 0; i < 10; i += 1) concurrent.push(await call(one, 'GET', `/restaurants/${harbour}/menu`, staff));
      expect(concurrent.every((r) => r.status === 200)).toBe(true);
      expect(new Set(concurrent.map((r) => r.headers.get('etag'))).size).toBe(1);
      expect(one.queries.filter((q) => q === 'menu.load').length - loadsBefore).toBe(1);
      expect((await metricValue(one.cache.registry, 'cache_misses_total', { kind: 'menu' })) - missesBefore).toBe(1);
    });

    test('an availability change changes the ETag, hides the item, and the second instance sees it within 100 ms', async () => {
      const manager = await token('manager', riverside);
      const before1 = await call(one, 'GET', `/restaurants/${riverside}/menu`, manager);
      const before2 = await call(two, 'GET', `/restaurants/${riverside}/menu`, manager);
      expect(before2.headers.get('etag')).toBe(before1.headers.get('etag'));
      expect(two.cache.cache.hasLocal(`menu:${riverside}`)).toBe(true);

      const changed = await call(one, 'PUT', `/restaurants/${riverside}/menu-items/${curry}/availability`, manager, { is_available: false });
      expect(changed.status).toBe(200);
      expect(changed.body.is_available).toBe(false);
      const names = (menu: { categories: { items: { name: string }[] }[] }) => menu.categories.flatMap((c) => c.items.map((i) => i.name));

      // The writing instance: read-your-writes, at once.
      const after1 = await call(one, 'GET', `/restaurants/${riverside}/menu`, manager, undefined, { 'if-none-match': before1.headers.get('etag')! });
      expect(after1.status).toBe(200);
      expect(after1.headers.get('etag')).not.toBe(before1.headers.get('etag'));
      expect(names(after1.body)).not.toContain('Green curry');

      // The other instance, through the bus.
      const elapsed = await eventually(
        'the second instance to drop Green curry',
        async () => {
          const r = await call(two, 'GET', `/restaurants/${riverside}/menu`, manager);
          return r.status === 200 && !names(r.body).includes('Green curry');
        },
        2_000,
      );
      expect(elapsed).toBeLessThan(100);
      const after2 = await call(two, 'GET', `/restaurants/${riverside}/menu`, manager);
      expect(after2.headers.get('etag')).toBe(after1.headers.get('etag'));

      const back = await call(two, 'PUT', `/restaurants/${riverside}/menu-items/${curry}/availability`, await token('kitchen', riverside), { is_available: true });
      expect(back.status).toBe(200);
      expect(names((await call(two, 'GET', `/restaurants/${riverside}/menu`, manager)).body)).toContain('Green curry');
    });
  });

  describe('writes', () => {
    test('create: 201 with the item and Location; it shows on the menu at once', async () => {
      const staff = await token('staff', riverside);
      const created = await call(one, 'POST', `/restaurants/${riverside}/menu-items`, staff, { category_id: drinks, name: 'Thai iced coffee', price_cents: 7000 });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ restaurant_id: riverside, category_id: drinks, name: 'Thai iced coffee', description: null, price_cents: 7000, is_available: true });
      expect(created.headers.get('location')).toBe(`/v1/restaurants/${riverside}/menu-items/${created.body.id}`);
      const menu = await call(one, 'GET', `/restaurants/${riverside}/menu`, staff);
      expect(menu.body.categories[1].items.map((i: { name: string }) => i.name)).toContain('Thai iced coffee');

      const hidden = await call(one, 'POST', `/restaurants/${riverside}/menu-items`, staff, { category_id: Number(drinks), name: 'Secret', description: 'later', price_cents: 0, is_available: false });
      expect(hidden.status).toBe(201);
      expect(hidden.body.is_available).toBe(false);
    });

    test('update: partial change of name, description, price and category', async () => {
      const manager = await token('manager', riverside);
      const created = await call(one, 'POST', `/restaurants/${riverside}/menu-items`, manager, { category_id: mains, name: 'Massaman', price_cents: 20000 });
      const id = created.body.id as string;
      const updated = await call(one, 'PATCH', `/restaurants/${riverside}/menu-items/${id}`, manager, { price_cents: 21000, description: 'beef' });
      expect(updated.status).toBe(200);
      expect(updated.body).toMatchObject({ name: 'Massaman', price_cents: 21000, description: 'beef', category_id: mains });
      const moved = await call(one, 'PATCH', `/restaurants/${riverside}/menu-items/${id}`, manager, { category_id: drinks, name: 'Massaman (large)' });
      expect(moved.body).toMatchObject({ name: 'Massaman (large)', category_id: drinks, price_cents: 21000 });
      const menu = await call(two, 'GET', `/restaurants/${riverside}/menu`, manager);
      expect(menu.body.categories[1].items.find((i: { id: string }) => i.id === id)).toMatchObject({ name: 'Massaman (large)', price_cents: 21000 });
      expect(await itemRow(id)).toMatchObject({ name: 'Massaman (large)', price_cents: 21000, description: 'beef', category_id: drinks });
    });

    test('roles and restaurants: guest 403, kitchen may only set availability, staff of another restaurant 403; nothing written', async () => {
      const count = await itemCount();
      const body = { category_id: mains, name: 'Nope', price_cents: 100 };
      expect((await call(one, 'POST', `/restaurants/${riverside}/menu-items`, await token('guest', riverside), body)).status).toBe(403);
      expect((await call(one, 'POST', `/restaurants/${riverside}/menu-items`, await token('kitchen', riverside), body)).status).toBe(403);
      expect((await call(one, 'POST', `/restaurants/${riverside}/menu-items`, await token('staff', harbour), body)).status).toBe(403);
      expect((await call(one, 'PATCH', `/restaurants/${riverside}/menu-items/${curry}`, await token('staff', harbour), { price_cents: 1 })).status).toBe(403);
      expect((await call(one, 'PATCH', `/restaurants/${riverside}/menu-items/${curry}`, await token('guest', riverside), { price_cents: 1 })).status).toBe(403);
      expect((await call(one, 'PUT', `/restaurants/${riverside}/menu-items/${curry}/availability`, await token('guest', riverside), { is_available: false })).status).toBe(403);
      expect((await call(one, 'PUT', `/restaurants/${riverside}/menu-items/${curry}/availability`, await token('kitchen', harbour), { is_available: false })).status).toBe(403);
      expect(await itemCount()).toBe(count);
      expect(await itemRow(curry)).toMatchObject({ price_cents: 18000, is_available: true });
    });

    test('unknown restaurant and unknown item are 404', async () => {
      const ghost = await token('manager', '999999');
      expect((await call(one, 'POST', '/restaurants/999999/menu-items', ghost, { category_id: mains, name: 'x', price_cents: 1 })).status).toBe(404);
      const manager = await token('manager', riverside);
      const missing = await call(one, 'PATCH', `/restaurants/${riverside}/menu-items/999999`, manager, { price_cents: 1 });
      expect(missing.status).toBe(404);
      // Another restaurant's item is "not found" here, never changed.
      const fish = (await sql.query<{ id: string }>(`SELECT id::text FROM menu_items WHERE name = 'Fish and chips'`)).rows[0]!.id;
      expect((await call(one, 'PUT', `/restaurants/${riverside}/menu-items/${fish}/availability`, manager, { is_available: false })).status).toBe(404);
      expect(await itemRow(fish)).toMatchObject({ is_available: true });
    });

    const valid = () => ({ category_id: mains, name: 'Valid', price_cents: 100 });
    const badCases: [string, () => { method: string; path: string; body: unknown }, number, string][] = [
      ['price not an integer', () => ({ method: 'POST', path: `/restaurants/${riverside}/menu-items`, body: { ...valid(), price_cents: 10.5 } }), 400, 'body.price_cents'],
      ['price as a string', () => ({ method: 'POST', path: `/restaurants/${riverside}/menu-items`, body: { ...valid(), price_cents: '100' } }), 400, 'body.price_cents'],
      ['negative price', () => ({ method: 'POST', path: `/restaurants/${riverside}/menu-items`, body: { ...valid(), price_cents: -1 } }), 400, 'body.price_cents'],
      ['price above the maximum', () => ({ method: 'POST', path: `/restaurants/${riverside}/menu-items`, body: { ...valid(), price_cents: 10_000_001 } }), 400, 'body.price_cents'],
      ['unknown field', () => ({ method: 'POST', path: `/restaurants/${riverside}/menu-items`, body: { ...valid(), restaurant_id: harbour } }), 400, 'body.restaurant_id'],
      ['name too long', () => ({ method: 'POST', path: `/restaurants/${riverside}/menu-items`, body: { ...valid(), name: 'x'.repeat(121) } }), 400, 'body.name'],
      ['empty name', () => ({ method: 'POST', path: `/restaurants/${riverside}/menu-items`, body: { ...valid(), name: '   ' } }), 400, 'body.name'],
      ['description too long', () => ({ method: 'POST', path: `/restaurants/${riverside}/menu-items`, body: { ...valid(), description: 'x'.repeat(1001) } }), 400, 'body.description'],
      ['missing category', () => ({ method: 'POST', path: `/restaurants/${riverside}/menu-items`, body: { name: 'Valid', price_cents: 1 } }), 400, 'body.category_id'],
      ['category of another restaurant', () => ({ method: 'POST', path: `/restaurants/${riverside}/menu-items`, body: { ...valid(), category_id: harbourCategory } }), 422, 'body.category_id'],
      ['unknown category', () => ({ method: 'POST', path: `/restaurants/${riverside}/menu-items`, body: { ...valid(), category_id: '999999' } }), 422, 'body.category_id'],
      ['missing body', () => ({ method: 'POST', path: `/restaurants/${riverside}/menu-items`, body: undefined }), 400, 'body.category_id'],
      ['non-numeric restaurant id', () => ({ method: 'POST', path: '/restaurants/riverside/menu-items', body: valid() }), 400, 'params.restaurantId'],
      ['non-numeric item id', () => ({ method: 'PATCH', path: `/restaurants/${riverside}/menu-items/1e3`, body: { price_cents: 1 } }), 400, 'params.itemId'],
      ['update moving to another restaurant\'s category', () => ({ method: 'PATCH', path: `/restaurants/${riverside}/menu-items/${curry}`, body: { category_id: harbourCategory } }), 422, 'body.category_id'],
      ['update with an unknown field', () => ({ method: 'PATCH', path: `/restaurants/${riverside}/menu-items/${curry}`, body: { is_available: false } }), 400, 'body.is_available'],
      ['empty update', () => ({ method: 'PATCH', path: `/restaurants/${riverside}/menu-items/${curry}`, body: {} }), 400, 'body'],
      ['bad boolean', () => ({ method: 'PUT', path: `/restaurants/${riverside}/menu-items/${curry}/availability`, body: { is_available: 'false' } }), 400, 'body.is_available'],
      ['availability without a body', () => ({ method: 'PUT', path: `/restaurants/${riverside}/menu-items/${curry}/availability`, body: undefined }), 400, 'body.is_available'],
      ['malformed JSON', () => ({ method: 'POST', path: `/restaurants/${riverside}/menu-items`, body: '{"name": ' }), 400, ''],
    ];

    test.each(badCases.map(([name, make, status, field]) => [name, status, field || '(no field)', make] as const))(
      'bad input: %s → %i naming %s, nothing written',
      async (_name, status, field, make) => {
      const { method, path, body } = make();
      const count = await itemCount();
      const curryBefore = await itemRow(curry);
      const response = await call(one, method, path, await token('manager', riverside), body);
      expect(response.status).toBe(status);
      if (field !== '(no field)') {
        const named = [response.body.error.details?.field, ...(response.body.error.details?.fields ?? []).map((f: { field: string }) => f.field)];
        expect(named).toContain(field);
        expect(response.body.error.message).toContain(field);
      }
      expect(await itemCount()).toBe(count);
      expect(await itemRow(curry)).toEqual(curryBefore);
      },
    );
  });
});
