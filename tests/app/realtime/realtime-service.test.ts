/**
 * The realtime service as it ships (ws-main processes) against a real Redis on loopback: upgrade
 * authentication, room isolation across restaurants and tables, replay and resync (a `last_id`
 * ahead of the stream included), client message validation and rate limit, connection caps per
 * token subject and table, the heartbeat, backpressure and SIGTERM.
 */
import WebSocket from 'ws';
import { startRedis, type RedisServer } from '../../../tools/services/redis-server';
import { compareStreamIds } from '../../../app/src/realtime/stream-ids';
import { tokenSubprotocols } from '../../../app/src/realtime/protocol';
import { createTokenMint } from '../http/support';
import { waitFor } from '../../../tools/services/processes';
import {
  eventPublisher,
  type EventPublisher,
  openRaw,
  orderEvent,
  publishAndGetId,
  type RawConnection,
  startJwksServer,
  startWsProcess,
  TestClient,
  type JwksServer,
  type WsProcess,
} from './support';

let redis: RedisServer;
let jwks: JwksServer;
let pub: EventPublisher;
let servers: WsProcess[] = [];
const clients: TestClient[] = [];

beforeAll(async () => {
  [redis, jwks] = await Promise.all([startRedis(), startJwksServer()]);
  pub = await eventPublisher(redis);
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

  test('accepts a valid token in the bearer subprotocol, as browsers send it, and selects `bearer` without echoing the token', async () => {
    const token = await staff('1');
    const ws = new WebSocket(servers[0]!.url, tokenSubprotocols(token));
    const selected = await new Promise<string>((resolve, reject) => {
      ws.on('open', () => resolve(ws.protocol));
      ws.on('error', reject);
    });
    ws.close();
    expect(tokenSubprotocols(token)).toEqual(['bearer', `bearer.${token}`]);
    expect(selected).toBe('bearer');
  });

  test('answers 401 to the bearer subprotocol without a token entry or with a foreign token', async () => {
    const url = servers[0]!.url;
    const foreign = await (await createTokenMint()).sign({ sub: 'x', role: 'staff', restaurant_id: '1' });
    expect(await upgradeStatus(url, { 'Sec-WebSocket-Protocol': 'bearer' })).toBe(401);
    expect(await upgradeStatus(url, { 'Sec-WebSocket-Protocol': `bearer, bearer.${foreign}` })).toBe(401);
    // Offering the subprotocol decides: a valid query token does not rescue a bad subprotocol one.
    expect(await upgradeStatus(`${url}?access_token=${await staff('1')}`, { 'Sec-WebSocket-Protocol': 'bearer, bearer.not-a-jwt' })).toBe(401);
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

describe('replay and resync', () => {
  test('a reconnecting client gets what it missed, in order, then live events, with no duplicate', async () => {
    const [a, b] = servers.map((s) => s.url) as [string, string];
    const first = client(a, await staff('21'));
    await first.ready();
    const e1 = orderEvent('21', '1');
    const e2 = orderEvent('21', null);
    await pub.publisher.publish(e1);
    await pub.publisher.publish(e2);
    await first.until('e2', () => first.orderIds().includes(e2.order_id));
    const lastId = first.client.lastId!;
    first.close();

    const missed = [orderEvent('21', '2'), orderEvent('22', '2'), orderEvent('21', '1', { type: 'order.status_changed', status: 'ready', previous_status: 'preparing', total_cents: undefined })];
    for (const event of missed) await pub.publisher.publish(event);
    const second = client(b, await staff('21'), { lastId });
    await second.ready();
    expect(second.readies[0]).toMatchObject({ room: 'restaurant', replayed: 2 });
    const e5 = orderEvent('21', '3');
    await pub.publisher.publish(e5);
    await second.until('e5', () => second.orderIds().includes(e5.order_id));
    expect(second.orderIds()).toEqual([missed[0]!.order_id, missed[2]!.order_id, e5.order_id]);
    expect(second.resyncs).toEqual([]);
  });

  test('a guest replays only the events of its own table', async () => {
    const before = await publishAndGetId(pub, orderEvent('23', '7'));
    const events = [orderEvent('23', '7'), orderEvent('23', '8'), orderEvent('23', null), orderEvent('24', '7'), orderEvent('23', '7')];
    for (const event of events) await pub.publisher.publish(event);
    const table7 = client(servers[2]!.url, await guest('23', '7'), { lastId: before });
    await table7.ready();
    expect(table7.orderIds()).toEqual([events[0]!.order_id, events[4]!.order_id]);
    expect(table7.readies[0]!.replayed).toBe(2);
  });

  test('a resume message on an open connection replays from the given id', async () => {
    const c = client(servers[1]!.url, await kitchen('25'));
    await c.ready();
    const events = [orderEvent('25', '1'), orderEvent('25', '2'), orderEvent('25', '3')];
    for (const event of events) await pub.publisher.publish(event);
    await c.until('third event', () => c.events.length === 3);
    c.client.resume(c.events[0]!.id);
    await c.ready(2);
    expect(c.orderIds()).toEqual([...events, events[1]!, events[2]!].map((e) => e.order_id));
    expect(c.readies[1]!.replayed).toBe(2);
  });

  test('resync when the first missed event is older than the replay window, then live events', async () => {
    const old = `${Date.now() - 20 * 60_000}-0`;
    await pub.redis.xadd('app:orders:31', old, 'event', JSON.stringify(orderEvent('31', '1')));
    await pub.publisher.publish(orderEvent('31', '1'));
    const c = client(servers[0]!.url, await staff('31'), { lastId: '1-0' });
    await c.ready();
    expect(c.resyncs).toHaveLength(1);
    expect(c.events).toEqual([]);
    const live = orderEvent('31', '2');
    await pub.publisher.publish(live);
    await c.until('live event after resync', () => c.orderIds().includes(live.order_id));
    expect(await servers[0]!.metric('ws_resyncs_total')).toBeGreaterThanOrEqual(1);
  });

  test('resync when entries after last_id were trimmed; replay when they are retained', async () => {
    const ids: string[] = [];
    const events = [0, 1, 2, 3, 4].map(() => orderEvent('32', null));
    for (const event of events) ids.push(await publishAndGetId(pub, event));
    await pub.redis.xtrim('app:orders:32', 'MAXLEN', 2);
    const trimmed = client(servers[1]!.url, await staff('32'), { lastId: ids[0] });
    const retained = client(servers[2]!.url, await staff('32'), { lastId: ids[3] });
    await Promise.all([trimmed.ready(), retained.ready()]);
    expect(trimmed.resyncs).toHaveLength(1);
    expect(trimmed.events).toEqual([]);
    expect(retained.resyncs).toEqual([]);
    expect(retained.orderIds()).toEqual([events[4]!.order_id]);
  });
});

describe('resume from an id ahead of the stream', () => {
  test('answers resync (ahead_of_stream) at the stream position, then delivers live events', async () => {
    const last = await publishAndGetId(pub, orderEvent('34', null));
    const ahead = `${Number(last.split('-')[0]) + 60_000}-0`;
    const c = client(servers[0]!.url, await staff('34'), { lastId: ahead });
    await c.ready();
    expect(c.resyncs).toEqual([last]);
    expect(c.resyncReasons).toEqual(['ahead_of_stream']);
    expect(c.readies[0]!.id).toBe(last);
    // Without the resync the server and client would skip every event up to the bogus id.
    const live = orderEvent('34', '1');
    await pub.publisher.publish(live);
    await c.until('live event after the resync', () => c.orderIds().includes(live.order_id));
    expect(c.orderIds()).toEqual([live.order_id]);
    expect(await servers[0]!.metric('ws_resumes_ahead_of_stream_total')).toBeGreaterThanOrEqual(1);
  });

  test('a resume message ahead of the stream on an open connection, and an id ahead of the clock on a stream never written', async () => {
    const open = client(servers[1]!.url, await kitchen('35'));
    await open.ready();
    await publishAndGetId(pub, orderEvent('35', null));
    await open.until('first event', () => open.events.length === 1);
    open.client.resume('99999999999999-0');
    await open.ready(2);
    expect(open.resyncReasons).toEqual(['ahead_of_stream']);
    expect(open.resyncs).toEqual([open.events[0]!.id]);

    const empty = client(servers[2]!.url, await staff('36'), { lastId: `${Date.now() + 3_600_000}-0` });
    await empty.ready();
    expect(empty.resyncReasons).toEqual(['ahead_of_stream']);
    expect(empty.resyncs).toEqual(['0-0']);
    const live = orderEvent('36', null);
    await pub.publisher.publish(live);
    await empty.until('the first event of the new stream', () => empty.orderIds().includes(live.order_id));
  });
});

/** Opens a raw socket, waits for `ready`, sends `data`, resolves with the close code. */
function closeCodeAfterSending(url: string, token: string, data: string | Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` } });
    ws.on('message', (message) => {
      if ((JSON.parse(message.toString()) as { type: string }).type === 'ready') ws.send(data);
    });
    ws.on('close', (code) => resolve(code));
    ws.on('error', reject);
  });
}

describe('client messages', () => {
  test.each([
    ['not JSON', 'hello'],
    ['an unknown type', JSON.stringify({ type: 'subscribe', room: 'restaurant:1' })],
    ['a resume with a malformed id', JSON.stringify({ type: 'resume', last_id: 'abc' })],
    ['an extra field', JSON.stringify({ type: 'ping', room: 'x' })],
  ])('closes with 1008 on %s', async (_name, data) => {
    expect(await closeCodeAfterSending(servers[0]!.url, await staff('41'), data)).toBe(1008);
  });

  test('closes with 1009 on a message above the payload limit', async () => {
    expect(await closeCodeAfterSending(servers[0]!.url, await staff('41'), JSON.stringify({ type: 'ping', pad: 'x'.repeat(5000) }))).toBe(1009);
  });

  test('answers ping with pong and keeps the connection', async () => {
    const token = await staff('41');
    const reply = await new Promise<{ type: string; id: string }>((resolve, reject) => {
      const ws = new WebSocket(servers[0]!.url, { headers: { Authorization: `Bearer ${token}` } });
      ws.on('message', (message) => {
        const parsed = JSON.parse(message.toString()) as { type: string; id: string };
        if (parsed.type === 'ready') ws.send(JSON.stringify({ type: 'ping' }));
        if (parsed.type === 'pong') {
          resolve(parsed);
          ws.close();
        }
      });
      ws.on('error', reject);
    });
    expect(reply).toEqual({ type: 'pong', id: expect.stringMatching(/^\d+-\d+$/) });
  });
});

describe('message rate limit', () => {
  /** Sends `burst` frames at once after `ready`; resolves with the close code and reason. */
  function closeAfterBurst(url: string, token: string, send: (ws: WebSocket) => void, burst: number): Promise<{ code: number; reason: string }> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` } });
      ws.on('message', (message) => {
        if ((JSON.parse(message.toString()) as { type: string }).type === 'ready') for (let i = 0; i < burst; i++) send(ws);
      });
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
      ws.on('error', reject);
    });
  }

  test.each<[string, (ws: WebSocket) => void]>([
    ['application pings', (ws) => ws.send(JSON.stringify({ type: 'ping' }))],
    ['protocol-level pings', (ws) => ws.ping()],
    ['resume requests (each one an XRANGE on Redis)', (ws) => ws.send(JSON.stringify({ type: 'resume', last_id: '1-0' }))],
  ])('a burst of 100 %s closes the socket with 1008', async (_name, send) => {
    const before = await servers[1]!.metric('ws_dropped_clients_total{reason="rate_limit"}');
    expect(await closeAfterBurst(servers[1]!.url, await staff('42'), send, 100)).toEqual({ code: 1008, reason: 'message rate limit exceeded' });
    expect(await servers[1]!.metric('ws_dropped_clients_total{reason="rate_limit"}')).toBe(before + 1);
  });

  test('a burst within the limit is answered, and the connection stays', async () => {
    const token = await staff('42');
    const pongs = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(servers[1]!.url, { headers: { Authorization: `Bearer ${token}` } });
      let count = 0;
      ws.on('message', (message) => {
        const type = (JSON.parse(message.toString()) as { type: string }).type;
        if (type === 'ready') for (let i = 0; i < 10; i++) ws.send(JSON.stringify({ type: 'ping' }));
        if (type === 'pong' && ++count === 10) {
          resolve(count);
          ws.close();
        }
      });
      ws.on('close', (code) => (count < 10 ? reject(new Error(`closed with ${code} after ${count} pongs`)) : undefined));
      ws.on('error', reject);
    });
    expect(pongs).toBe(10);
  });
});

describe('connection limits', () => {
  let limited: WsProcess;
  const open: WebSocket[] = [];
  beforeAll(async () => {
    limited = await startWsProcess({ redis, jwksUrl: jwks.url, extra: { WS_MAX_SOCKETS_PER_SUBJECT: '2', WS_MAX_SOCKETS_PER_TABLE: '3' } });
  });
  afterAll(async () => {
    for (const ws of open) ws.terminate();
    await limited?.process.stop('SIGKILL');
  });
  const connect = async (token: string): Promise<RawConnection> => {
    const result = await openRaw(limited.url, token);
    if (result.outcome === 'ready') open.push(result.socket);
    return result;
  };
  const guestOf = (sub: string, tableId: string) => jwks.mint.sign({ sub, role: 'guest', restaurant_id: '61', table_id: tableId });

  test('a subject over its cap is closed with 4002 at once; a released slot admits it again', async () => {
    const token = await guestOf('guest-61-a', '1');
    expect((await connect(token)).outcome).toBe('ready');
    expect((await connect(token)).outcome).toBe('ready');
    expect(await connect(token)).toEqual({ outcome: 'closed', code: 4002, reason: 'too many connections for this token: close one, retry later' });
    expect(await limited.metric('ws_connection_limit_refusals_total{limit="subject"}')).toBe(1);
    open.shift()!.close();
    await waitFor('a slot freed by the close', async () => {
      const again = await connect(token);
      return again.outcome === 'ready';
    }, 10_000);
  });

  test('a table over its cap refuses another guest subject of it, not other tables or staff', async () => {
    const results = [];
    for (const sub of ['guest-61-b', 'guest-61-c', 'guest-61-d', 'guest-61-e']) results.push(await connect(await guestOf(sub, '2')));
    expect(results.map((r) => r.outcome)).toEqual(['ready', 'ready', 'ready', 'closed']);
    expect(results[3]).toEqual({ outcome: 'closed', code: 4002, reason: 'too many connections for this table: close one, retry later' });
    expect(await limited.metric('ws_connection_limit_refusals_total{limit="table"}')).toBe(1);
    expect((await connect(await guestOf('guest-61-f', '3'))).outcome).toBe('ready');
    expect((await connect(await staff('61'))).outcome).toBe('ready');
  });

  test('the typed client backs off after 4002 instead of reconnecting at once', async () => {
    const token = await guestOf('guest-61-g', '4');
    expect((await connect(token)).outcome).toBe('ready');
    expect((await connect(token)).outcome).toBe('ready');
    const c = new TestClient(limited.url, token);
    clients.push(c);
    await c.until('refused', () => c.closes.length > 0);
    expect(c.closes[0]).toMatchObject({ code: 4002, willReconnect: true, retryInMs: expect.any(Number) });
    expect(c.closes[0]!.retryInMs).toBeGreaterThanOrEqual(15_000);
  });
});

describe('heartbeat, backpressure and shutdown', () => {
  test('terminates a client that does not answer pings and keeps one that does', async () => {
    const server = await startWsProcess({ redis, jwksUrl: jwks.url, extra: { WS_HEARTBEAT_INTERVAL_MS: '200' } });
    try {
      const alive = client(server.url, await staff('51'));
      await alive.ready();
      const token = await staff('51');
      const deadCode = await new Promise<number>((resolve, reject) => {
        const dead = new WebSocket(server.url, { headers: { Authorization: `Bearer ${token}` }, autoPong: false });
        dead.on('close', (code) => resolve(code));
        dead.on('error', reject);
      });
      expect(deadCode).toBe(1006); // terminated: no close frame
      expect(await server.metric('ws_dropped_clients_total{reason="heartbeat"}')).toBe(1);
      const after = orderEvent('51', null);
      await pub.publisher.publish(after);
      await alive.until('event after the dead client was dropped', () => alive.orderIds().includes(after.order_id));
      expect(alive.closes).toEqual([]);
    } finally {
      await server.process.stop('SIGKILL');
    }
  });

  test('closes a client that does not read with 4000 while another client on the same instance gets every event', async () => {
    const server = await startWsProcess({ redis, jwksUrl: jwks.url, extra: { WS_MAX_BUFFERED_BYTES: '65536' } });
    try {
      const fast = client(server.url, await staff('52'));
      await fast.ready();
      const token = await staff('52');
      const slow = new WebSocket(server.url, { headers: { Authorization: `Bearer ${token}` } });
      const slowClosed = new Promise<number>((resolve) => slow.on('close', (code) => resolve(code)));
      await new Promise<void>((resolve) => slow.on('message', (m) => (JSON.parse(m.toString()) as { type: string }).type === 'ready' && resolve()));
      const slowSocket = (slow as unknown as { _socket: { pause(): void; resume(): void } })._socket;
      slowSocket.pause();

      // Publish until the server gives up on the slow client (kernel buffers absorb a few MB first).
      let published = 0;
      let lastOrderId = '';
      for (let batch = 0; batch < 200 && (await server.metric('ws_dropped_clients_total{reason="slow_consumer"}')) === 0; batch++) {
        const events = Array.from({ length: 500 }, () => orderEvent('52', null));
        await Promise.all(events.map((event) => pub.publisher.publish(event)));
        published += events.length;
        lastOrderId = events.at(-1)!.order_id;
      }
      expect(await server.metric('ws_dropped_clients_total{reason="slow_consumer"}')).toBe(1);
      await fast.until('every published event', () => fast.events.length >= published && fast.orderIds().includes(lastOrderId), 60_000);
      expect(fast.events).toHaveLength(published);
      expect(fast.closes).toEqual([]);
      slowSocket.resume();
      expect(await slowClosed).toBe(4000);
    } finally {
      await server.process.stop('SIGKILL');
    }
  }, 120_000);

  test('SIGTERM closes clients with 1001 and exits 0', async () => {
    const server = await startWsProcess({ redis, jwksUrl: jwks.url });
    try {
      const a = client(server.url, await staff('53'));
      const b = client(server.url, await guest('53', '1'));
      await Promise.all([a.ready(), b.ready()]);
      server.process.child.kill('SIGTERM');
      await a.until('close', () => a.closes.length > 0);
      await b.until('close', () => b.closes.length > 0);
      expect(a.closes[0]).toMatchObject({ code: 1001, willReconnect: true });
      expect(b.closes[0]).toMatchObject({ code: 1001, willReconnect: true });
      expect(await server.exited).toBe(0);
    } finally {
      await server.process.stop('SIGKILL');
    }
  });
});
