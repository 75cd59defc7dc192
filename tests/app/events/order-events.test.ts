/** The order event stream on a real Redis: schema on the wire, trimming by age, loss counted. */
import { Redis } from 'ioredis';
import { parseConfig } from '../../../app/src/config';
import { createOrderEventPublisher, orderEventSchema, orderStreamName, type OrderEvent } from '../../../app/src/events/order-events';
import { ORDER_STREAM_RETENTION_MS } from '../../../contract/constants';
import { startRedis, type RedisServer } from '../../../tools/services/redis-server';
import { testEnvironment } from '../db/database-manager-fixtures';
import { httpTestConfig, memoryLogger } from '../http/support';

let server: RedisServer;
let client: Redis;
let admin: Redis;

beforeAll(async () => {
  server = await startRedis();
  // The API's client has keyPrefix 'app:'; the stream name must not get it twice.
  client = new Redis({ host: server.host, port: server.port, keyPrefix: 'app:' });
  admin = new Redis({ host: server.host, port: server.port });
  // One entry per stream node, so approximate (`~`) trimming is exact enough to observe.
  await admin.config('SET', 'stream-node-max-entries', '1');
});
afterAll(async () => {
  client?.disconnect();
  admin?.disconnect();
  await server?.stop();
});

const event = (orderId: string): OrderEvent => ({
  v: 1,
  type: 'order.created',
  restaurant_id: '41',
  order_id: orderId,
  table_id: '7',
  status: 'pending',
  occurred_at: new Date().toISOString(),
  total_cents: 1200,
});

test('events older than the retention are trimmed on the next append; younger ones stay', async () => {
  const stream = orderStreamName('41');
  const now = Date.now();
  await admin.xadd(stream, `${now - ORDER_STREAM_RETENTION_MS - 60_000}-0`, 'event', 'too old');
  await admin.xadd(stream, `${now - ORDER_STREAM_RETENTION_MS + 60_000}-0`, 'event', 'inside the window');
  const { logger } = memoryLogger(httpTestConfig());
  const publisher = createOrderEventPublisher({ redis: client, logger });
  await publisher.publish(event('1001'));
  const entries = await admin.xrange(stream, '-', '+');
  expect(entries.map(([, fields]) => fields[1])).toEqual(['inside the window', expect.any(String)]);
  expect(orderEventSchema.parse(JSON.parse(entries[1]![1][1]!))).toMatchObject({ order_id: '1001' });
  expect(publisher.failures()).toBe(0);
});

test('a failed append is counted and reported, never thrown', async () => {
  const { logger, lines } = memoryLogger(httpTestConfig());
  let lost = 0;
  const offline = new Redis({ host: server.host, port: 1, lazyConnect: true, enableOfflineQueue: false });
  const publisher = createOrderEventPublisher({ redis: offline, logger, onLost: () => (lost += 1) });
  await expect(publisher.publish(event('1002'))).resolves.toBeUndefined();
  expect(publisher.failures()).toBe(1);
  expect(lost).toBe(1);
  expect(lines.find((l) => l.msg === 'order event not published')).toMatchObject({ reason: 'redis wait' });
  offline.disconnect();
});

test('the websocket replay window may not exceed the retention', () => {
  expect(() => parseConfig(testEnvironment({ SERVICE_ROLE: 'ws', WS_REPLAY_WINDOW_MS: String(ORDER_STREAM_RETENTION_MS + 1) }))).toThrow(
    `WS_REPLAY_WINDOW_MS must be at most ${ORDER_STREAM_RETENTION_MS} (the order streams' retention)`,
  );
  expect(parseConfig(testEnvironment({ SERVICE_ROLE: 'ws', WS_REPLAY_WINDOW_MS: String(ORDER_STREAM_RETENTION_MS) })).WS_REPLAY_WINDOW_MS).toBe(ORDER_STREAM_RETENTION_MS);
});
