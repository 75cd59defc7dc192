/**
 * Failures the realtime service must ride out without losing an event: a ws process killed
 * (SIGKILL) mid-stream, its clients reconnecting to another instance and resuming; and Redis
 * stopped and restarted under live connections.
 */
import { waitFor } from '../../../tools/services/processes';
import { startRedis, type RedisServer } from '../../../tools/services/redis-server';
import { eventPublisher, type EventPublisher, orderEvent, startJwksServer, startWsProcess, TestClient, type JwksServer, type WsProcess } from './support';

let redis: RedisServer;
let jwks: JwksServer;
let pub: EventPublisher;
const clients: TestClient[] = [];
const processes: WsProcess[] = [];

beforeAll(async () => {
  [redis, jwks] = await Promise.all([startRedis(), startJwksServer()]);
  pub = await eventPublisher(redis);
}, 60_000);
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(processes.splice(0).map((p) => p.process.stop('SIGKILL')));
});
afterAll(async () => {
  pub?.close();
  await Promise.all([redis?.stop(), jwks?.close()]);
});

test('killing one ws process mid-stream loses no event for its clients after they reconnect to another', async () => {
  const servers = await Promise.all([0, 1, 2].map(() => startWsProcess({ redis, jwksUrl: jwks.url })));
  processes.push(...servers);
  const [victim, ...survivors] = servers as [WsProcess, WsProcess, WsProcess];
  let victimAlive = true;
  const tokens = await Promise.all([
    jwks.mint.sign({ sub: 's', role: 'staff', restaurant_id: '61' }),
    jwks.mint.sign({ sub: 'k', role: 'kitchen', restaurant_id: '61' }),
    jwks.mint.sign({ sub: 'g', role: 'guest', restaurant_id: '61', table_id: '5' }),
  ]);
  // Every client starts on the victim when it can; once it is dead, reconnects go to the survivors.
  let next = 0;
  const pick = () => (victimAlive ? victim.url : survivors[next++ % survivors.length]!.url);
  const onVictim = tokens.map((token) => new TestClient(pick, token));
  const elsewhere = [new TestClient(survivors[0]!.url, tokens[0]!), new TestClient(survivors[1]!.url, tokens[2]!)];
  clients.push(...onVictim, ...elsewhere);
  await Promise.all([...onVictim, ...elsewhere].map((c) => c.ready()));

  const published: ReturnType<typeof orderEvent>[] = [];
  for (let i = 0; i < 300; i++) {
    const event = orderEvent('61', i % 3 === 0 ? '5' : String(6 + (i % 4)));
    await pub.publisher.publish(event);
    published.push(event);
    if (i === 100) {
      // Mid-stream: some of the first 100 events may still be unsent when the process dies.
      victimAlive = false;
      await victim.process.stop('SIGKILL');
    }
  }
  const forTable5 = published.filter((e) => e.table_id === '5').map((e) => e.order_id);
  const all = published.map((e) => e.order_id);
  const expected = new Map<TestClient, string[]>([
    [onVictim[0]!, all],
    [onVictim[1]!, all],
    [onVictim[2]!, forTable5],
    [elsewhere[0]!, all],
    [elsewhere[1]!, forTable5],
  ]);
  for (const [c, want] of expected) await c.until(`last of ${want.length} events`, () => c.orderIds().includes(want.at(-1)!), 30_000);
  for (const [c, want] of expected) expect(c.orderIds()).toEqual(want);
  for (const c of onVictim) expect(c.readies.length).toBeGreaterThanOrEqual(2); // reconnected and resumed
  for (const c of elsewhere) expect(c.closes).toEqual([]);
}, 120_000);

test('Redis stopped and restarted: connections stay up and delivery resumes with nothing skipped', async () => {
  const servers = await Promise.all([0, 1].map(() => startWsProcess({ redis, jwksUrl: jwks.url })));
  processes.push(...servers);
  const staff = await jwks.mint.sign({ sub: 's', role: 'staff', restaurant_id: '62' });
  const guest = await jwks.mint.sign({ sub: 'g', role: 'guest', restaurant_id: '62', table_id: '1' });
  const a = new TestClient(servers[0]!.url, staff);
  const b = new TestClient(servers[1]!.url, guest);
  clients.push(a, b);
  await Promise.all([a.ready(), b.ready()]);

  const before = [orderEvent('62', '1'), orderEvent('62', '2')];
  for (const event of before) await pub.publisher.publish(event);
  await a.until('events before the outage', () => a.events.length === 2);

  await redis.stop();
  // Every pod shares Redis: readiness stays 200 (a failover must not empty the Service), while
  // the websockets stay open.
  for (let probe = 0; probe < 20; probe += 1) {
    for (const server of servers) expect((await fetch(`${server.internalUrl}/readyz`)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await redis.start(); // empty: the stream is recreated by the next XADD
  await waitFor('publisher reconnected', async () => pub.redis.status === 'ready');
  const after = [orderEvent('62', '1'), orderEvent('62', '3'), orderEvent('62', '1')];
  for (const event of after) await pub.publisher.publish(event);

  await a.until('events after the restart', () => a.orderIds().includes(after[2]!.order_id), 30_000);
  await b.until('table events after the restart', () => b.orderIds().includes(after[2]!.order_id), 30_000);
  expect(a.orderIds()).toEqual([...before, ...after].map((e) => e.order_id));
  expect(b.orderIds()).toEqual([...before, ...after].filter((e) => e.table_id === '1').map((e) => e.order_id));
  expect(a.closes).toEqual([]);
  expect(b.closes).toEqual([]);
}, 120_000);
