/**
 * The realtime service as it ships (ws-main processes) against a real Redis on loopback: upgrade
 * authentication, room isolation across restaurants and tables, replay and resync, client message
 * validation, the heartbeat, backpressure and SIGTERM.
 */
import WebSocket from 'ws';
import { startRedis, type RedisServer } from '../../support/services/redis-server';
import { waitFor } from '../../support/services/processes';
import { compareStreamIds } from '../../../app/src/realtime/stream-ids';
import { createTokenMint } from '../http/support';
import { eventPublisher, orderEvent, publishAndGetId, startJwksServer, startWsProcess, TestClient, type JwksServer, type WsProcess } from './support';

let redis: RedisServer;
let jwks: JwksServer;
let pub: ReturnType<typeof eventPublisher>;
let servers: WsProcess[] = [];
const clients: TestClient[] = [];

beforeAll(async () => {
  [redis, jwks] = await Promise.all([startRedis(), startJwksServer()]);
  pub = eventPublisher(redis);
  servers = await Promise.all([0, 1, 2].map(() => startWsProcess({ redis, jwksUrl: jwks.url })));
}, 60_000);
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});
afterAll(async () => {
  pub?.close();
  await Promise.all(servers.map((s) => s.process.stop('SIGKILL')));
  await Promise.all([redis?.stop(), jwks?.close()]);
});

const staff = (restaurantId: string) => jwks.mint.sign({ sub: `staff-${restaurantId}`, role: 'staff', restaurant_id: restaurantId });
const kitchen = (restaurantId: string) => jwks.mint.sign({ sub: `kitchen-${restaurantId}`, role: 'kitchen', restaurant_id: restaurantId });
const guest = (restaurantId: string, tableId: string) => jwks.mint.sign({ sub: `guest-${tableId}`, role: 'guest', restaurant_id: restaurantId, table_id: tableId });

function client(url: string, token: string, options: { lastId?: string } = {}): TestClient {
  const c = new TestClient(url, token, options);
  clients.push(c);
  return c;
}

/** The HTTP status of an upgrade attempt (101 when it succeeded). */
function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.close();
    });
    ws.on('error', (error) => (error.message.startsWith('Unexpected server response') ? undefined : reject(error)));
  });
}

describe('upgrade authentication', () => {
  test('answers 401 without a token, with a token signed by another key, and with a malformed header', async () => {
    const url = servers[0]!.url;
    const foreign = await (await createTokenMint()).sign({ sub: 'x', role: 'staff', restaurant_id: '1' });
    expect(await upgradeStatus(url)).toBe(401);
    expect(await upgradeStatus(url, { Authorization: `Bearer ${foreign}` })).toBe(401);
    expect(await upgradeStatus(url, { Authorization: 'Basic abc' })).toBe(401);
    expect(await upgradeStatus(`${url}?access_token=${foreign}`)).toBe(401);
    expect(await servers[0]!.metric('ws_upgrade_rejections_total{reason="unauthorized"}')).toBeGreaterThanOrEqual(4);
  });

  test('accepts a valid token in the header or the access_token query parameter', async () => {
    const token = await staff('1');
    expect(await upgradeStatus(servers[0]!.url, { Authorization: `Bearer ${token}` })).toBe(101);
    expect(await upgradeStatus(`${servers[0]!.url}?access_token=${token}`)).toBe(101);
  });
});

describe('rooms', () => {
  test('each client gets exactly the events of its room, on whichever instance it is connected', async () => {
    const [a, b, c] = servers.map((s) => s.url) as [string, string, string];
    const staff1 = client(a, await staff('11'));
    const kitchen1 = client(b, await kitchen('11'));
    const tableA = client(c, await guest('11', '101'));
    const tableB = client(a, await guest('11', '102'));
    const staff2 = client(b, await staff('12'));
    const tableX = client(c, await guest('12', '101')); // same table id, other restaurant
    const all = [staff1, kitchen1, tableA, tableB, staff2, tableX];
    await Promise.all(all.map((x) => x.ready()));

    const published = [
      orderEvent('11', '101'),
      orderEvent('11', '102'),
      orderEvent('12', '101'),
      orderEvent('11', null),
      orderEvent('11', '101', { type: 'order.status_changed', status: 'confirmed', previous_status: 'pending', total_cents: undefined }),
      orderEvent('12', '103'),
    ];
    for (const event of published) await pub.publisher.publish(event);
    // Markers: the last event every room gets; once a client has its marker it has everything before it.
    const markers = [orderEvent('11', '101'), orderEvent('11', '102'), orderEvent('12', '101')];
    for (const event of markers) await pub.publisher.publish(event);
    const ids = (events: typeof published) => events.map((e) => e.order_id);
    const expected = new Map<TestClient, string[]>([
      [staff1, ids([...published.filter((e) => e.restaurant_id === '11'), ...markers.filter((e) => e.restaurant_id === '11')])],
      [kitchen1, ids([...published.filter((e) => e.restaurant_id === '11'), ...markers.filter((e) => e.restaurant_id === '11')])],
      [tableA, ids([...published, ...markers].filter((e) => e.restaurant_id === '11' && e.table_id === '101'))],
      [tableB, ids([...published, ...markers].filter((e) => e.restaurant_id === '11' && e.table_id === '102'))],
      [staff2, ids([...published, ...markers].filter((e) => e.restaurant_id === '12'))],
      [tableX, ids([...published, ...markers].filter((e) => e.restaurant_id === '12' && e.table_id === '101'))],
    ]);
    for (const [x, want] of expected) await x.until(`last event ${want.at(-1)}`, () => x.orderIds().includes(want.at(-1)!));
    for (const [x, want] of expected) expect(x.orderIds()).toEqual(want);
    // Every message carries its stream id, in increasing order.
    for (const x of all) expect(x.events.map((e) => e.id)).toEqual(x.events.map((e) => e.id).sort(compareStreamIds));
  });
});
