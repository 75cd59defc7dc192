/**
 * The whole path as it ships: an order created and moved through the API process (PostgreSQL
 * primary + replica, Redis) reaches the right clients on all three ws processes, and nobody else.
 */
import { applySchema } from '../db/migrate-support';
import { apiProcessEnvironment } from '../../../tools/services/api-environment';
import { appEntryCommand } from '../../../tools/services/app-process';
import { freePort, startProcess, waitFor, type StartedProcess } from '../../../tools/services/processes';
import { startPostgresCluster, type PostgresCluster } from '../../../tools/services/postgres-cluster';
import { startRedis, type RedisServer } from '../../../tools/services/redis-server';
import { AUDIENCE, eventPublisher, ISSUER, orderEvent, startJwksServer, startWsProcess, TestClient, type JwksServer, type WsProcess } from './support';

let cluster: PostgresCluster;
let redis: RedisServer;
let jwks: JwksServer;
let api: StartedProcess;
let apiBase: string;
let servers: WsProcess[] = [];
const clients: TestClient[] = [];

beforeAll(async () => {
  [cluster, redis, jwks] = await Promise.all([startPostgresCluster(), startRedis(), startJwksServer()]);
  await applySchema(cluster);
  const [port, internalPort] = await Promise.all([freePort(), freePort()]);
  const { command, args } = appEntryCommand('api-main');
  api = startProcess(command, args, {
    env: apiProcessEnvironment({ cluster, redis, port, internalPort, jwksUrl: jwks.url, issuer: ISSUER, audience: AUDIENCE, shutdownGraceMs: 4000 }),
  });
  apiBase = `http://127.0.0.1:${port}`;
  [servers] = await Promise.all([
    Promise.all([0, 1, 2].map(() => startWsProcess({ redis, jwksUrl: jwks.url }))),
    waitFor('api ready', async () => (await fetch(`http://127.0.0.1:${internalPort}/readyz`)).status === 200, 30_000, () => api.output()),
  ]);
}, 120_000);
afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all([...servers.map((s) => s.process.stop('SIGKILL')), api?.stop('SIGKILL')]);
  await Promise.all([cluster?.stop(), redis?.stop(), jwks?.close()]);
});

test('an order created and confirmed through the API reaches staff, kitchen and its table on three instances, and nobody else', async () => {
  const [restaurant] = await cluster.admin<{ id: string }>(`INSERT INTO restaurants (slug, name, timezone, currency) VALUES ('rt', 'Realtime Cafe', 'Asia/Bangkok', 'THB') RETURNING id::text`);
  const [other] = await cluster.admin<{ id: string }>(`INSERT INTO restaurants (slug, name, timezone, currency) VALUES ('rt2', 'Other Cafe', 'Asia/Bangkok', 'THB') RETURNING id::text`);
  const [category] = await cluster.admin<{ id: string }>(`INSERT INTO menu_categories (restaurant_id, name) VALUES (${restaurant!.id}, 'Mains') RETURNING id::text`);
  const [item] = await cluster.admin<{ id: string }>(`INSERT INTO menu_items (restaurant_id, category_id, name, price_cents) VALUES (${restaurant!.id}, ${category!.id}, 'Khao soi', 9000) RETURNING id::text`);
  const tables = await cluster.admin<{ id: string }>(`INSERT INTO tables (restaurant_id, label, seats) VALUES (${restaurant!.id}, 'T1', 2), (${restaurant!.id}, 'T2', 2) RETURNING id::text`);
  const [t1, t2] = [tables[0]!.id, tables[1]!.id];
  const rid = restaurant!.id;
  const sign = (claims: Record<string, string>) => jwks.mint.sign({ sub: `${claims.role}-1`, restaurant_id: rid, ...claims });
  const [a, b, c] = servers.map((s) => s.url) as [string, string, string];

  const staff = new TestClient(a, await sign({ role: 'staff' }));
  const kitchen = new TestClient(b, await sign({ role: 'kitchen' }));
  const table1 = new TestClient(c, await sign({ role: 'guest', table_id: t1 }));
  const table2 = new TestClient(a, await sign({ role: 'guest', table_id: t2 }));
  const otherStaff = new TestClient(b, await sign({ role: 'staff', restaurant_id: other!.id }));
  clients.push(staff, kitchen, table1, table2, otherStaff);
  await Promise.all(clients.map((x) => x.ready()));

  const guestToken = await sign({ role: 'guest', table_id: t1 });
  const created = await fetch(`${apiBase}/v1/restaurants/${rid}/orders`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${guestToken}`, 'Content-Type': 'application/json', 'Idempotency-Key': 'rt-1' },
    body: JSON.stringify({ table_id: Number(t1), items: [{ menu_item_id: Number(item!.id), quantity: 1 }] }),
  });
  expect(created.status).toBe(201);
  const order = (await created.json()) as { id: string; created_at: string };
  const confirmed = await fetch(`${apiBase}/v1/restaurants/${rid}/orders/${order.id}/status?created_at=${encodeURIComponent(order.created_at)}`, {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${await sign({ role: 'kitchen' })}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ status: 'confirmed' }),
  });
  expect(confirmed.status).toBe(200);

  const expected = [
    { type: 'order.created', order_id: order.id, table_id: t1, status: 'pending' },
    { type: 'order.status_changed', order_id: order.id, table_id: t1, status: 'confirmed', previous_status: 'pending' },
  ];
  for (const x of [staff, kitchen, table1]) {
    await x.until('both events', () => x.events.length >= 2);
    expect(x.events.map((e) => e.event)).toEqual(expected.map((e) => expect.objectContaining({ ...e, restaurant_id: rid })));
  }
  // Nobody else: markers for the other table and the other restaurant arrive, and nothing before them.
  const pub = await eventPublisher(redis);
  try {
    const markerT2 = orderEvent(rid, t2);
    const markerOther = orderEvent(other!.id, null);
    await pub.publisher.publish(markerT2);
    await pub.publisher.publish(markerOther);
    await table2.until('its marker', () => table2.events.length > 0);
    await otherStaff.until('its marker', () => otherStaff.events.length > 0);
    expect(table2.orderIds()).toEqual([markerT2.order_id]);
    expect(otherStaff.orderIds()).toEqual([markerOther.order_id]);
  } finally {
    pub.close();
  }
}, 120_000);
