/**
 * The order event outbox on a real PostgreSQL primary + replica and a real Redis: the triggers
 * write the v1 event in the order's transaction, the relay appends in id order, one relay at a
 * time, and a Redis outage delays events without losing one.
 */
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { createDatabaseManager, type DatabaseManager, type DatabaseManagerOptions } from '../../../app/src/db/database-manager';
import { jobClientConfig } from '../../../app/src/db/job-connection';
import { orderEventSchema, orderStreamName, type OrderEvent } from '../../../app/src/events/order-events';
import {
  createOutboxRelay,
  LOCAL_WAKEUP_SESSION_SETTINGS,
  OUTBOX_CHANNEL,
  RELAY_LOCK_KEY,
  RELAY_TRANSACTION_NAME,
  type OutboxRelay,
  type OutboxRelayOptions,
} from '../../../app/src/events/outbox-relay';
import { startPostgresCluster, type PostgresCluster } from '../../../tools/services/postgres-cluster';
import { startRedis, type RedisServer } from '../../../tools/services/redis-server';
import { clusterConfig, eventually, recordingLogger } from '../db/database-manager-fixtures';
import { applySchema, connect } from '../db/migrate-support';
import { httpTestConfig, memoryLogger } from '../http/support';

let cluster: PostgresCluster;
let redisServer: RedisServer;
let pg: Client;
let raw: Redis;
const managers: DatabaseManager[] = [];
const clients: Redis[] = [];
const relays: OutboxRelay[] = [];
const restaurants: string[] = [];
const tables = new Map<string, string>();

beforeAll(async () => {
  [cluster, redisServer] = await Promise.all([startPostgresCluster(), startRedis()]);
  await applySchema(cluster);
  pg = await connect(cluster);
  raw = new Redis({ host: redisServer.host, port: redisServer.port });
  raw.on('error', () => undefined);
  const r = await pg.query<{ id: string }>(
    `INSERT INTO restaurants (slug, name, timezone, currency) SELECT 'r' || g, 'R' || g, 'UTC', 'THB' FROM generate_series(1, 3) g RETURNING id`,
  );
  restaurants.push(...r.rows.map((x) => String(x.id)));
  for (const restaurant of restaurants) {
    const t = await pg.query<{ id: string }>(`INSERT INTO tables (restaurant_id, label, seats) VALUES ($1, 'T1', 4) RETURNING id`, [restaurant]);
    tables.set(restaurant, String(t.rows[0]!.id));
  }
}, 120_000);

afterEach(async () => {
  await Promise.all(relays.splice(0).map((relay) => relay.stop()));
  await pg.query('DELETE FROM order_event_outbox');
});

afterAll(async () => {
  await Promise.all(managers.map((db) => db.close()));
  for (const client of clients) client.disconnect();
  raw?.disconnect();
  await pg?.end();
  await Promise.all([cluster?.stop(), redisServer?.stop()]);
});

/** One api process's view: its own pool, Redis client (with the API's keyPrefix) and relay. */
async function newRelay(
  overrides: Partial<OutboxRelayOptions> = {},
  dbOptions: DatabaseManagerOptions = {},
): Promise<{ relay: OutboxRelay; redis: Redis; log: ReturnType<typeof memoryLogger>; db: DatabaseManager }> {
  const db = createDatabaseManager(clusterConfig(cluster), { logger: recordingLogger(), ...dbOptions });
  managers.push(db);
  const redis = new Redis({ host: redisServer.host, port: redisServer.port, keyPrefix: 'app:', maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 1000 });
  redis.on('error', () => undefined);
  clients.push(redis);
  await eventually('the relay client ready', () => redis.status === 'ready');
  const log = memoryLogger(httpTestConfig());
  const relay = createOutboxRelay({ db, redis, logger: log.logger, listenConnection: jobClientConfig(clusterConfig(cluster)), ...overrides });
  relays.push(relay);
  return { relay, redis, log, db };
}

/** One api process as api-main.ts wires it: its sessions do not notify, its commits wake its relay. */
async function newLocalWakeupRelay(overrides: Partial<OutboxRelayOptions> = {}, dbOptions: DatabaseManagerOptions = {}) {
  let relay: OutboxRelay | undefined;
  const made = await newRelay(overrides, {
    ...dbOptions,
    sessionSettings: LOCAL_WAKEUP_SESSION_SETTINGS,
    onCommitted: (name) => {
      dbOptions.onCommitted?.(name);
      relay?.wake(name);
    },
  });
  relay = made.relay;
  return made;
}

const INSERT_ORDER = `INSERT INTO orders (restaurant_id, table_id, total_cents) VALUES ($1, $2, 100) RETURNING id::text AS id`;

async function createOrder(restaurant: string, totalCents = 1000, client: Client = pg): Promise<{ id: string; created_at: string }> {
  const { rows } = await client.query<{ id: string; created_at: string }>(
    `INSERT INTO orders (restaurant_id, table_id, total_cents) VALUES ($1, $2, $3) RETURNING id::text, created_at::text`,
    [restaurant, tables.get(restaurant), totalCents],
  );
  return rows[0]!;
}

async function setStatus(order: { id: string }, status: string): Promise<void> {
  await pg.query('UPDATE orders SET status = $2 WHERE id = $1', [order.id, status]);
}

async function outboxEvents(): Promise<unknown[]> {
  return (await pg.query<{ event: unknown }>('SELECT event FROM order_event_outbox ORDER BY id')).rows.map((r) => r.event);
}

async function streamEvents(restaurant: string): Promise<OrderEvent[]> {
  const entries = await raw.xrange(orderStreamName(restaurant), '-', '+');
  return entries.map(([, fields]) => orderEventSchema.parse(JSON.parse(fields[1]!)));
}

const key = (e: OrderEvent) => `${e.order_id}:${e.status}`;

describe('the outbox triggers', () => {
  test('a create and a status change write v1 events that pass orderEventSchema, with the database times', async () => {
    const [restaurant] = restaurants;
    const order = await createOrder(restaurant!, 4250);
    await setStatus(order, 'confirmed');
    const [created, changed] = (await outboxEvents()).map((e) => orderEventSchema.parse(e));
    const times = await pg.query<{ created_at: string; updated_at: string }>(
      `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at,
              to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated_at FROM orders WHERE id = $1`,
      [order.id],
    );
    expect(created).toEqual({
      v: 1,
      type: 'order.created',
      restaurant_id: restaurant,
      order_id: order.id,
      table_id: tables.get(restaurant!),
      status: 'pending',
      occurred_at: times.rows[0]!.created_at,
      total_cents: 4250,
    });
    expect(changed).toEqual({
      v: 1,
      type: 'order.status_changed',
      restaurant_id: restaurant,
      order_id: order.id,
      table_id: tables.get(restaurant!),
      status: 'confirmed',
      previous_status: 'pending',
      occurred_at: times.rows[0]!.updated_at,
    });
  });

  test('an order without a table has table_id null; an update that keeps the status writes nothing', async () => {
    const { rows } = await pg.query<{ id: string }>(`INSERT INTO orders (restaurant_id, total_cents) VALUES ($1, 0) RETURNING id::text`, [restaurants[0]]);
    await pg.query(`UPDATE orders SET status = status, notes = 'no change' WHERE id = $1`, [rows[0]!.id]);
    const events = (await outboxEvents()).map((e) => orderEventSchema.parse(e));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'order.created', table_id: null, total_cents: 0 });
  });

  test('the event commits with the order or not at all: a rolled-back create leaves no outbox row', async () => {
    await pg.query('BEGIN');
    const order = await createOrder(restaurants[0]!);
    expect(await outboxEvents()).toHaveLength(1);
    await pg.query('ROLLBACK');
    expect(await outboxEvents()).toEqual([]);
    expect((await pg.query('SELECT 1 FROM orders WHERE id = $1', [order.id])).rowCount).toBe(0);
  });

  test('a month partition created after the migration gets the triggers too', async () => {
    await pg.query(`CREATE TABLE orders_2099_01 PARTITION OF orders FOR VALUES FROM ('2099-01-01') TO ('2099-02-01')`);
    try {
      const { rows } = await pg.query<{ id: string }>(
        `INSERT INTO orders (restaurant_id, table_id, total_cents, created_at) VALUES ($1, $2, 1, '2099-01-15T10:00:00Z') RETURNING id::text`,
        [restaurants[0], tables.get(restaurants[0]!)],
      );
      await setStatus({ id: rows[0]!.id }, 'cancelled');
      const events = (await outboxEvents()).map((e) => orderEventSchema.parse(e));
      expect(events.map((e) => [e.type, e.status, e.occurred_at.slice(0, 10)])).toEqual([
        ['order.created', 'pending', '2099-01-15'],
        ['order.status_changed', 'cancelled', expect.any(String)],
      ]);
    } finally {
      await pg.query(`DELETE FROM orders WHERE created_at >= '2099-01-01'`);
      await pg.query('ALTER TABLE orders DETACH PARTITION orders_2099_01');
      await pg.query('DROP TABLE orders_2099_01');
    }
  });
});

describe('the relay', () => {
  test('appends every event to its restaurant stream in order, strips the keyPrefix, and empties the outbox', async () => {
    const [a, b] = restaurants as [string, string];
    const published: number[] = [];
    const { relay } = await newRelay({ onPublished: (n) => published.push(n) });
    const orders = [await createOrder(a), await createOrder(b), await createOrder(a)];
    for (const status of ['confirmed', 'preparing', 'ready']) for (const order of orders) await setStatus(order, status);
    const before = await Promise.all([a, b].map(async (r) => (await streamEvents(r)).length));
    relay.start();
    await eventually('the outbox empty', async () => (await relay.pending()) === 0);
    const [streamA, streamB] = await Promise.all([a, b].map(async (r, i) => (await streamEvents(r)).slice(before[i])));
    expect(streamA!.map(key)).toEqual([orders[0], orders[2]].flatMap((o) => [`${o!.id}:pending`]).concat(['confirmed', 'preparing', 'ready'].flatMap((s) => [`${orders[0]!.id}:${s}`, `${orders[2]!.id}:${s}`])));
    expect(streamB!.map(key)).toEqual(['pending', 'confirmed', 'preparing', 'ready'].map((s) => `${orders[1]!.id}:${s}`));
    expect(published.reduce((x, y) => x + y, 0)).toBe(12);
    // Stream names on the server carry the prefix once.
    expect(await raw.exists(`app:app:orders:${a}`)).toBe(0);
  });

  test('a NOTIFY wakes it: an event committed after start arrives without the fallback timer', async () => {
    const [restaurant] = restaurants;
    // A poll interval far longer than the test: only LISTEN can deliver in time.
    const { relay } = await newRelay({ pollIntervalMs: 3_600_000 });
    relay.start();
    await eventually('the startup drain', async () => (await relay.pending()) === 0);
    const order = await createOrder(restaurant!);
    await eventually('the event in the stream', async () => (await streamEvents(restaurant!)).some((e) => e.order_id === order.id));
  });

  test('notifications in quick succession share batches: 30 orders committed one by one reach the stream in at most two', async () => {
    const [restaurant] = restaurants;
    const batches: number[] = [];
    // Far longer than the commits below take: they all land within one interval of the startup drain.
    const { relay } = await newRelay({ minBatchIntervalMs: 2000, onPublished: (n) => batches.push(n) });
    relay.start();
    await eventually('the startup drain', async () => (await relay.pending()) === 0);
    const before = batches.length;
    const writers = await Promise.all([0, 1, 2].map(() => connect(cluster)));
    const made: string[] = [];
    try {
      await Promise.all(writers.map(async (writer) => {
        for (let n = 0; n < 10; n++) made.push((await createOrder(restaurant!, 100, writer)).id);
      }));
    } finally {
      await Promise.all(writers.map((w) => w.end()));
    }
    // Counted after each batch's COMMIT (its XADDs reach the stream before that).
    await eventually('30 events published', () => batches.slice(before).reduce((x, y) => x + y, 0) >= 30, 15_000);
    const after = batches.slice(before);
    expect(after.reduce((x, y) => x + y, 0)).toBe(30);
    const streamed = new Set((await streamEvents(restaurant!)).map((e) => e.order_id));
    expect(made.filter((id) => !streamed.has(id))).toEqual([]);
    expect(after.length).toBeLessThanOrEqual(2);
  });

  test('a row that commits after higher ids were relayed is still relayed: the scan floor waits for older transactions', async () => {
    const [restaurant] = restaurants;
    const { relay } = await newRelay();
    const slow = await connect(cluster);
    const streamed = async () => new Set((await streamEvents(restaurant!)).map((e) => e.order_id));
    try {
      await slow.query('BEGIN');
      // Takes its outbox id first, commits last.
      const late = await createOrder(restaurant!, 100, slow);
      const early = await createOrder(restaurant!);
      for (let i = 0; i < 3; i++) expect(await relay.drainOnce()).toMatchObject({ busy: false });
      const more = await createOrder(restaurant!);
      for (let i = 0; i < 3; i++) expect(await relay.drainOnce()).toMatchObject({ busy: false });
      const before = await streamed();
      expect([before.has(early.id), before.has(more.id), before.has(late.id)]).toEqual([true, true, false]);
      await slow.query('COMMIT');
      expect(await relay.drainOnce()).toMatchObject({ busy: false, published: 1 });
      expect((await streamed()).has(late.id)).toBe(true);
      expect(await relay.pending()).toBe(0);
    } finally {
      await slow.end();
    }
  });

  test('fails when minBatchIntervalMs is negative', async () => {
    await expect(newRelay({ minBatchIntervalMs: -1 })).rejects.toThrow('minBatchIntervalMs must be 0 or more, got -1');
  });

  test('batches drain in id order until the outbox is empty', async () => {
    const [restaurant] = restaurants;
    const orders = [];
    for (let i = 0; i < 7; i++) orders.push(await createOrder(restaurant!));
    const before = (await streamEvents(restaurant!)).length;
    const { relay } = await newRelay({ batchSize: 3 });
    const first = await relay.drainOnce();
    expect(first).toMatchObject({ busy: false, published: 3, selected: 3 });
    expect(await relay.pending()).toBe(4);
    relay.start();
    await eventually('the outbox empty', async () => (await relay.pending()) === 0);
    expect((await streamEvents(restaurant!)).slice(before).map((e) => e.order_id)).toEqual(orders.map((o) => o.id));
  });

  test('a relay that does not get the advisory lock publishes nothing and keeps the rows', async () => {
    await createOrder(restaurants[0]!);
    const holder = await connect(cluster);
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock($1::bigint)', [RELAY_LOCK_KEY]);
      const { relay } = await newRelay();
      expect(await relay.drainOnce()).toEqual({ busy: true, published: 0, selected: 0 });
      expect(await relay.pending()).toBe(1);
      await holder.query('ROLLBACK');
      expect(await relay.drainOnce()).toMatchObject({ busy: false, published: 1 });
    } finally {
      await holder.end();
    }
  });

  test('two relays with their own connections, under concurrent writers: every event once, in order per order and per restaurant', async () => {
    const befores = await Promise.all(restaurants.map(async (r) => (await streamEvents(r)).length));
    const first = await newRelay({ batchSize: 5 });
    const second = await newRelay({ batchSize: 5 });
    first.relay.start();
    second.relay.start();
    // Writers on their own connections: each order goes through its whole life while the relays run.
    const writers = await Promise.all(restaurants.map(() => connect(cluster)));
    const lives = ['confirmed', 'preparing', 'ready', 'served', 'completed'];
    const made: { restaurant: string; id: string }[] = [];
    try {
      await Promise.all(
        writers.map(async (writer, i) => {
          const restaurant = restaurants[i]!;
          for (let n = 0; n < 8; n++) {
            const order = await createOrder(restaurant, 100, writer);
            made.push({ restaurant, id: order.id });
            for (const status of lives) await writer.query('UPDATE orders SET status = $2 WHERE id = $1', [order.id, status]);
          }
        }),
      );
    } finally {
      await Promise.all(writers.map((w) => w.end()));
    }
    await eventually('the outbox empty', async () => (await first.relay.pending()) === 0, 15_000);
    for (const [i, restaurant] of restaurants.entries()) {
      const events = (await streamEvents(restaurant)).slice(befores[i]);
      const ids = made.filter((m) => m.restaurant === restaurant).map((m) => m.id);
      // One writer per restaurant, so the commit order is known: the stream must follow it exactly, with no duplicates.
      expect(events.map(key)).toEqual(ids.flatMap((id) => ['pending', ...lives].map((s) => `${id}:${s}`)));
    }
  });

  test('Redis stopped: orders are accepted, events wait in the outbox, and after the restart every one reaches the stream in order', async () => {
    const [a, b] = restaurants as [string, string];
    const { relay, redis } = await newRelay({ maxBackoffMs: 200 });
    relay.start();
    await eventually('the startup drain', async () => (await relay.pending()) === 0);
    await redisServer.stop();
    const made: { restaurant: string; id: string }[] = [];
    try {
      await eventually('the client to notice', () => redis.status !== 'ready');
      for (let n = 0; n < 6; n++) {
        const restaurant = n % 2 === 0 ? a : b;
        const order = await createOrder(restaurant);
        made.push({ restaurant, id: order.id });
        await setStatus(order, 'confirmed');
      }
      expect(await relay.drainOnce()).toMatchObject({ published: 0, redisUnavailable: true });
      expect(await relay.pending()).toBe(12);
    } finally {
      await redisServer.start();
    }
    await eventually('the outbox empty', async () => (await relay.pending()) === 0, 20_000);
    for (const restaurant of [a, b]) {
      const ids = made.filter((m) => m.restaurant === restaurant).map((m) => m.id);
      // Redis restarted empty: the stream is exactly what waited in the outbox.
      expect((await streamEvents(restaurant)).map(key)).toEqual(ids.flatMap((id) => [`${id}:pending`, `${id}:confirmed`]));
    }
  });

  test('an XADD Redis refuses keeps that row and the ones after it, counts a failure, and is retried until it goes through', async () => {
    const [a, , c] = restaurants as [string, string, string];
    // A string where c's stream should be: XADD answers WRONGTYPE for c only.
    await raw.set(orderStreamName(c), 'not a stream');
    let failures = 0;
    const { relay, log } = await newRelay({ onFailure: () => (failures += 1), maxBackoffMs: 200 });
    const before = (await streamEvents(a)).length;
    const first = await createOrder(a);
    const blocked = await createOrder(c);
    const after = await createOrder(a);
    const result = await relay.drainOnce();
    expect(result).toMatchObject({ busy: false, published: 1, selected: 3 });
    expect(String(result.error)).toMatch(/WRONGTYPE/);
    // Only the prefix before the refused XADD is deleted: per-restaurant order holds.
    expect(await relay.pending()).toBe(2);
    relay.start();
    await eventually('a failed batch, logged', () => failures > 0 && log.lines.some((l) => l.msg === 'order event relay: batch failed; the events stay in the outbox'));
    expect(await relay.pending()).toBe(2);
    await raw.del(orderStreamName(c));
    await eventually('the outbox empty', async () => (await relay.pending()) === 0);
    expect((await streamEvents(c)).map(key)).toEqual([`${blocked.id}:pending`]);
    // At least once: the event after the refused one may be appended again, never before the earlier ones.
    const streamA = (await streamEvents(a)).slice(before).map(key);
    expect([...new Set(streamA)]).toEqual([`${first.id}:pending`, `${after.id}:pending`]);
    expect(streamA[0]).toBe(`${first.id}:pending`);
  });

  test('stop ends the LISTEN connection and the timers', async () => {
    const { relay } = await newRelay();
    relay.start();
    const listening = async () =>
      Number((await pg.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE query = 'LISTEN order_event_outbox' AND pid <> pg_backend_pid()`)).rows[0]!.n);
    await eventually('the LISTEN connection', async () => (await listening()) === 1);
    await relay.stop();
    await eventually('no LISTEN connection', async () => (await listening()) === 0);
    const order = await createOrder(restaurants[0]!);
    expect(await relay.pending()).toBe(1);
    expect((await streamEvents(restaurants[0]!)).some((e) => e.order_id === order.id)).toBe(false);
  });
});

describe('local wake-ups (the api: its own commits wake its relay, its order writes do not notify)', () => {
  /** Notifications on the outbox channel while `during` runs (and 300 ms after it). */
  async function notificationsDuring(during: () => Promise<void>): Promise<number> {
    const listener = await connect(cluster);
    let heard = 0;
    listener.on('notification', () => (heard += 1));
    try {
      await listener.query(`LISTEN ${OUTBOX_CHANNEL}`);
      await during();
      await new Promise((resolve) => setTimeout(resolve, 300));
      return heard;
    } finally {
      await listener.end();
    }
  }

  test('a session with the local wake-up setting writes its event without a NOTIFY; any other session still notifies', async () => {
    const [restaurant] = restaurants;
    const local = new Client({ ...jobClientConfig(clusterConfig(cluster)), options: '-c restaurant.outbox_wakeup=local' });
    await local.connect();
    try {
      expect((await local.query<{ v: string }>(`SELECT current_setting('restaurant.outbox_wakeup') AS v`)).rows[0]!.v).toBe('local');
      const before = (await outboxEvents()).length;
      expect(await notificationsDuring(async () => void (await local.query(INSERT_ORDER, [restaurant, tables.get(restaurant!)])))).toBe(0);
      expect((await outboxEvents()).length).toBe(before + 1);
      expect(await notificationsDuring(async () => void (await createOrder(restaurant!)))).toBe(1);
    } finally {
      await local.end();
    }
  });

  test('a commit of its own process wakes the relay: the event arrives with neither a NOTIFY nor the fallback timer', async () => {
    const [restaurant] = restaurants;
    const { relay, db } = await newLocalWakeupRelay({ pollIntervalMs: 3_600_000 });
    relay.start();
    await eventually('the startup drain', async () => (await relay.pending()) === 0);
    let id = '';
    const heard = await notificationsDuring(async () => {
      id = (await db.write<{ id: string }>({ text: INSERT_ORDER, values: [restaurant, tables.get(restaurant!)] })).rows[0]!.id;
    });
    expect(heard).toBe(0);
    await eventually('the event in the stream', async () => (await streamEvents(restaurant!)).some((e) => e.order_id === id));
  });

  test('a wake-up that finds another relay holding the lock tries again until it gets it', async () => {
    const [restaurant] = restaurants;
    const batches: string[] = [];
    const { relay, db } = await newLocalWakeupRelay({ pollIntervalMs: 3_600_000 }, { onQuery: (name) => void batches.push(name) });
    relay.start();
    await eventually('the startup drain', async () => (await relay.pending()) === 0);
    const holder = await connect(cluster);
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock($1::bigint)', [RELAY_LOCK_KEY]);
      const before = batches.filter((n) => n === RELAY_TRANSACTION_NAME).length;
      const { id } = (await db.write<{ id: string }>({ text: INSERT_ORDER, values: [restaurant, tables.get(restaurant!)] })).rows[0]!;
      // Busy batches retried (minBatchIntervalMs, doubling), the row still waiting.
      await eventually('two busy batches', () => batches.filter((n) => n === RELAY_TRANSACTION_NAME).length >= before + 2);
      expect(await relay.pending()).toBe(1);
      await holder.query('ROLLBACK');
      await eventually('the event in the stream', async () => (await streamEvents(restaurant!)).some((e) => e.order_id === id));
    } finally {
      await holder.end();
    }
  });

  test("the relay's own batches do not wake it: an idle relay runs no batch after the startup drain", async () => {
    const batches: string[] = [];
    const { relay } = await newLocalWakeupRelay({ pollIntervalMs: 3_600_000 }, { onQuery: (name) => void batches.push(name) });
    relay.start();
    // The start drains once, and once more when its LISTEN connection is up.
    await eventually('the startup batches', () => batches.filter((n) => n === RELAY_TRANSACTION_NAME).length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = batches.filter((n) => n === RELAY_TRANSACTION_NAME).length;
    expect(after).toBeLessThanOrEqual(3);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(batches.filter((n) => n === RELAY_TRANSACTION_NAME).length).toBe(after);
  });
});
