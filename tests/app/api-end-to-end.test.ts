/**
 * The order API as it ships: the migration Job's bundle applies the schema, then the api bundle
 * (app/dist/api-main.js) serves the menu and takes an order end to end against a real PostgreSQL
 * primary + replica and Redis, writes its events to the restaurant's stream, and stops cleanly.
 */
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import Redis from 'ioredis';
import { applySchema } from './db/migrate-support';
import { AUDIENCE, createTokenMint, ISSUER } from './http/support';
import { apiProcessEnvironment } from '../../tools/services/api-environment';
import { appEntryCommand } from '../../tools/services/app-process';
import { freePort, waitFor } from '../../tools/services/processes';
import { startPostgresCluster, type PostgresCluster } from '../../tools/services/postgres-cluster';
import { startRedis, type RedisServer } from '../../tools/services/redis-server';

let cluster: PostgresCluster;
let redisServer: RedisServer;
let jwksServer: http.Server;
let mint: Awaited<ReturnType<typeof createTokenMint>>;

beforeAll(async () => {
  [cluster, redisServer, mint] = await Promise.all([startPostgresCluster(), startRedis(), createTokenMint()]);
  jwksServer = http.createServer((_req, res) => res.setHeader('Content-Type', 'application/json').end(JSON.stringify(mint.publicJwks)));
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  await applySchema(cluster);
}, 120_000);
afterAll(async () => {
  await new Promise((resolve) => jwksServer?.close(resolve));
  await Promise.all([cluster?.stop(), redisServer?.stop()]);
});

test('menu, idempotent order, status change and events through the api process', async () => {
  const [restaurant] = await cluster.admin<{ id: string }>(`INSERT INTO restaurants (slug, name, timezone, currency) VALUES ('e2e', 'E2E Cafe', 'Asia/Bangkok', 'THB') RETURNING id::text`);
  const [category] = await cluster.admin<{ id: string }>(`INSERT INTO menu_categories (restaurant_id, name) VALUES (${restaurant!.id}, 'Mains') RETURNING id::text`);
  const [item] = await cluster.admin<{ id: string }>(`INSERT INTO menu_items (restaurant_id, category_id, name, price_cents) VALUES (${restaurant!.id}, ${category!.id}, 'Pad thai', 12000) RETURNING id::text`);
  const [table] = await cluster.admin<{ id: string }>(`INSERT INTO tables (restaurant_id, label, seats) VALUES (${restaurant!.id}, 'T1', 4) RETURNING id::text`);

  const [port, internalPort] = await Promise.all([freePort(), freePort()]);
  const { command, args } = appEntryCommand('api-main');
  const child = spawn(command, args, {
    env: apiProcessEnvironment({
      cluster,
      redis: redisServer,
      port,
      internalPort,
      jwksUrl: `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}/jwks.json`,
      issuer: ISSUER,
      audience: AUDIENCE,
      shutdownGraceMs: 4000,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}/v1/restaurants/${restaurant!.id}`;
  try {
    for (let started = Date.now(); ; ) {
      if ((await fetch(`http://127.0.0.1:${internalPort}/readyz`).then((r) => r.status, () => 0)) === 200) break;
      if (Date.now() - started > 30_000) throw new Error(`api never became ready:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const guest = await mint.sign({ sub: 'guest-1', role: 'guest', restaurant_id: restaurant!.id, table_id: table!.id });
    const staff = await mint.sign({ sub: 'staff-1', role: 'staff', restaurant_id: restaurant!.id });
    const auth = (token: string) => ({ Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' });

    const menu = await fetch(`${base}/menu`, { headers: auth(guest) });
    expect(menu.status).toBe(200);
    expect(JSON.stringify(await menu.json())).toContain('Pad thai');
    const etag = menu.headers.get('etag')!;
    expect((await fetch(`${base}/menu`, { headers: { ...auth(guest), 'If-None-Match': etag } })).status).toBe(304);

    const body = JSON.stringify({ table_id: Number(table!.id), items: [{ menu_item_id: Number(item!.id), quantity: 2 }] });
    const create = () => fetch(`${base}/orders`, { method: 'POST', headers: { ...auth(guest), 'Idempotency-Key': 'e2e-1' }, body });
    const first = await create();
    expect(first.status).toBe(201);
    const order = (await first.json()) as { id: string; total_cents: number; created_at: string };
    expect(order.total_cents).toBe(24000);
    const retry = await create();
    expect(retry.status).toBe(201);
    expect(((await retry.json()) as { id: string }).id).toBe(order.id);
    expect(await cluster.admin('SELECT count(*)::int AS n FROM orders')).toEqual([{ n: 1 }]);

    const confirm = await fetch(`${base}/orders/${order.id}/status?created_at=${encodeURIComponent(order.created_at)}`, {
      method: 'PATCH',
      headers: auth(staff),
      body: JSON.stringify({ status: 'confirmed' }),
    });
    expect(confirm.status).toBe(200);

    // The outbox relay appends events after their transaction commits, asynchronously: wait for
    // the second one rather than read the stream at once.
    const events = new Redis(redisServer.port, '127.0.0.1');
    const eventTypes = async () =>
      (await events.xrange(`app:orders:${restaurant!.id}`, '-', '+')).map(([, fields]) => (JSON.parse(fields[1]!) as { type: string }).type);
    await waitFor('the relay to append both order events', async () => (await eventTypes()).length >= 2);
    expect(await eventTypes()).toEqual(['order.created', 'order.status_changed']);
    events.disconnect();

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}, 120_000);
