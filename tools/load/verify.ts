/**
 * Checks after a load run: the orders in the database against the acknowledged idempotency keys,
 * what websocket clients received against the Redis streams, and figures from the api's /metrics.
 */
import Redis from 'ioredis';
import { orderEventSchema, orderStreamName, type OrderEvent } from '../../app/src/events/order-events';
import { roomKeysForEvent } from '../../app/src/realtime/rooms';
import { compareStreamIds } from '../../app/src/realtime/stream-ids';
import type { PostgresCluster } from '../services/postgres-cluster';
import type { PeakLoad } from './peak-load';

export interface OrderCheck {
  readonly issued: number;
  readonly acknowledged: number;
  /** Never acknowledged although retried until the deadline. */
  readonly unacknowledged: number;
  /** Answered with a 4xx retrying cannot fix. */
  readonly rejected: string[];
  readonly ordersInDatabase: number;
  /** Acknowledged keys without their order in the database. */
  readonly lost: number;
  /** Orders in the database beyond one per acknowledged key (made by no key, or twice for one). */
  readonly duplicates: number;
  /** Orders whose acknowledged status chain ended at a status the database disagrees with. */
  readonly statusMismatches: number;
  readonly exact: boolean;
}

export async function highestOrderId(cluster: PostgresCluster): Promise<string> {
  const [row] = await cluster.admin<{ id: string }>('SELECT coalesce(max(id), 0)::text AS id FROM orders');
  return row!.id;
}

/** Orders made after `sinceOrderId` in the load's restaurants must be exactly the acknowledged keys' orders. */
export async function checkOrders(cluster: PostgresCluster, load: PeakLoad, sinceOrderId: string, restaurantIds: readonly string[]): Promise<OrderCheck> {
  const orders = [...load.orders.values()];
  const acked = orders.filter((o) => o.orderId !== undefined);
  const rows = await cluster.admin<{ id: string; status: string; key: string | null }>(
    `SELECT o.id::text, o.status, k.key
       FROM orders o
       LEFT JOIN idempotency_keys k ON k.restaurant_id = o.restaurant_id AND k.order_id = o.id
      WHERE o.id > ${Number(sinceOrderId)} AND o.restaurant_id IN (${restaurantIds.map(Number).join(',')})`,
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  const ackedIds = new Set(acked.map((o) => o.orderId!));
  const lost = acked.filter((o) => byId.get(o.orderId!)?.key !== o.key).length;
  const duplicates = rows.filter((r) => !ackedIds.has(r.id)).length + (acked.length - ackedIds.size);
  const statusMismatches = acked.filter((o) => byId.has(o.orderId!) && byId.get(o.orderId!)!.status !== o.status).length;
  const rejected = orders.filter((o) => o.rejected).map((o) => `${o.key}: ${o.rejected}`);
  const unacknowledged = orders.filter((o) => o.orderId === undefined && !o.rejected).length;
  return {
    issued: orders.length,
    acknowledged: acked.length,
    unacknowledged,
    rejected,
    ordersInDatabase: rows.length,
    lost,
    duplicates,
    statusMismatches,
    exact: lost === 0 && duplicates === 0 && unacknowledged === 0 && rows.length === acked.length && rejected.length === 0,
  };
}

export interface StreamEntry {
  readonly id: string;
  readonly event: OrderEvent;
}

/** Every entry of the restaurants' order streams, oldest first. */
export async function readStreams(redisUrl: string, restaurantIds: readonly string[]): Promise<Map<string, StreamEntry[]>> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect();
  try {
    const out = new Map<string, StreamEntry[]>();
    for (const id of restaurantIds) {
      const entries = await redis.xrange(orderStreamName(id), '-', '+');
      out.set(id, entries.map(([entryId, fields]) => ({ id: entryId, event: orderEventSchema.parse(JSON.parse(fields[fields.indexOf('event') + 1]!)) })));
    }
    return out;
  } finally {
    redis.disconnect();
  }
}

/** Appends `later` to `earlier` per restaurant (a stream snapshot before Redis lost its data). */
export function concatStreams(earlier: Map<string, StreamEntry[]>, later: Map<string, StreamEntry[]>): Map<string, StreamEntry[]> {
  const out = new Map<string, StreamEntry[]>();
  for (const id of new Set([...earlier.keys(), ...later.keys()])) out.set(id, [...(earlier.get(id) ?? []), ...(later.get(id) ?? [])]);
  return out;
}

export interface WsCheck {
  readonly clients: number;
  readonly expectedEvents: number;
  readonly receivedEvents: number;
  /** Events in the client's room in the stream that the client never got. */
  readonly missing: number;
  /** Clients that got an event twice or out of stream order. */
  readonly disorderedClients: number;
  readonly reconnects: number;
  readonly exact: boolean;
}

function expectedFor(observer: PeakLoad['observers'][number], streams: Map<string, StreamEntry[]>): string[] {
  const from = observer.firstReadyId ?? '0-0';
  return (streams.get(observer.restaurantId) ?? []).filter((e) => compareStreamIds(e.id, from) > 0 && roomKeysForEvent(e.event).includes(observer.roomKey)).map((e) => e.id);
}

/** True once every client has received the last event of its room in `streams`. */
export function wsCaughtUp(load: PeakLoad, streams: Map<string, StreamEntry[]>): boolean {
  return load.observers.every((o) => {
    const want = expectedFor(o, streams);
    return want.length === 0 || o.events.some((e) => e.id === want[want.length - 1]);
  });
}

export function checkWs(load: PeakLoad, streams: Map<string, StreamEntry[]>): WsCheck {
  let expected = 0;
  let received = 0;
  let missing = 0;
  let disordered = 0;
  for (const o of load.observers) {
    const want = expectedFor(o, streams);
    const got = o.events.map((e) => e.id);
    expected += want.length;
    received += got.length;
    const gotSet = new Set(got);
    missing += want.filter((id) => !gotSet.has(id)).length;
    if (got.length !== gotSet.size || got.join(',') !== want.filter((id) => gotSet.has(id)).join(',')) disordered += 1;
  }
  const reconnects = load.observers.reduce((sum, o) => sum + Math.max(0, o.readyAt.length - 1), 0);
  return { clients: load.observers.length, expectedEvents: expected, receivedEvents: received, missing, disorderedClients: disordered, reconnects, exact: missing === 0 && disordered === 0 };
}

/**
 * Order events the database implies (one creation plus one per status step reached) that never
 * reached a stream. The events go through the transactional outbox (app/src/events/outbox-relay.ts),
 * so this must be 0 once the outbox is empty (`outboxPending`). Delivery is at least once, so an
 * event is counted once however often it was appended (order id + status).
 */
export async function eventsMissingFromStreams(cluster: PostgresCluster, sinceOrderId: string, restaurantIds: readonly string[], streams: Map<string, StreamEntry[]>): Promise<number> {
  const [row] = await cluster.admin<{ events: string }>(
    `SELECT coalesce(sum(1 + CASE status WHEN 'confirmed' THEN 1 WHEN 'preparing' THEN 2 WHEN 'ready' THEN 3 WHEN 'served' THEN 4 WHEN 'completed' THEN 5 ELSE 0 END), 0)::text AS events
       FROM orders WHERE id > ${Number(sinceOrderId)} AND restaurant_id IN (${restaurantIds.map(Number).join(',')})`,
  );
  const inStreams = new Set<string>();
  for (const entries of streams.values()) {
    for (const e of entries) if (BigInt(e.event.order_id) > BigInt(sinceOrderId)) inStreams.add(`${e.event.order_id}:${e.event.status}`);
  }
  return Number(row!.events) - inStreams.size;
}

/** Order events still waiting in the outbox for the relay. */
export async function outboxPending(cluster: PostgresCluster): Promise<number> {
  const [row] = await cluster.admin<{ n: number }>('SELECT count(*)::int AS n FROM order_event_outbox');
  return row!.n;
}

// ---- the api's /metrics ----

export type MetricSamples = Map<string, number>;

/** Sums of the counters we report, over every api process (Prometheus text format). */
export async function scrapeApiMetrics(apiUrls: readonly string[]): Promise<MetricSamples> {
  const totals: MetricSamples = new Map();
  const add = (key: string, v: number) => totals.set(key, (totals.get(key) ?? 0) + v);
  await Promise.all(
    apiUrls.map(async (url) => {
      const text = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })
        .then((r) => r.text())
        .catch(() => '');
      for (const line of text.split('\n')) {
        const m = /^(cache_hits_total|cache_misses_total|db_query_duration_seconds_count|order_event_relay_failures_total)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
        if (!m) continue;
        const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
        const value = Number(m[3]);
        if (m[1] === 'db_query_duration_seconds_count') {
          if (labels.query === 'readiness') continue;
          const kind = WRITE_QUERIES.test(labels.query ?? '') ? 'write' : 'read';
          add(`db_${kind}_${labels.role}`, value);
        } else add(m[1]!, value);
      }
    }),
  );
  return totals;
}

/** Units of database work that write (db.write / db.transaction names); the rest are reads. */
const WRITE_QUERIES = /^(orders\.(create|change_status|outbox_relay)|menu\.insert_item|menu_images\.(replace|set_keys)|reservations\.(create|change_status)|tables\.set_status)$/;

export interface MetricFigures {
  readonly cacheHits: number;
  readonly cacheMisses: number;
  readonly cacheHitRatio: number;
  readonly readsOnReplica: number;
  readonly readsOnPrimary: number;
  readonly replicaReadShare: number;
  /** Outbox relay batches that failed (the events stayed in the outbox and were sent later). */
  readonly orderEventRelayFailures: number;
}

export function metricDelta(before: MetricSamples, after: MetricSamples): MetricFigures {
  const d = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);
  const hits = d('cache_hits_total');
  const misses = d('cache_misses_total');
  const replica = d('db_read_replica');
  const primary = d('db_read_primary');
  return {
    cacheHits: hits,
    cacheMisses: misses,
    cacheHitRatio: hits + misses > 0 ? hits / (hits + misses) : NaN,
    readsOnReplica: replica,
    readsOnPrimary: primary,
    replicaReadShare: replica + primary > 0 ? replica / (replica + primary) : NaN,
    orderEventRelayFailures: d('order_event_relay_failures_total'),
  };
}
