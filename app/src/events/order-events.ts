/**
 * Order events on Redis Streams: the contract with the websocket service.
 *
 * Stream: `app:orders:<restaurantId>` (one per restaurant), trimmed by age on every XADD
 * (`MINID ~ <now - ORDER_STREAM_RETENTION_MS>`, in contract/constants.ts, which the environment
 * schema checks WS_REPLAY_WINDOW_MS against): the websocket service replays what a client
 * missed for up to WS_REPLAY_WINDOW_MS, so retention is set by time, not by count (a count keeps
 * less time exactly when a restaurant is busiest). Memory: an entry is about 400 bytes, so a
 * restaurant at 50 events/s (a very busy peak) holds 90,000 entries, about 36 MB, for 30 minutes.
 * Entry: one field, `event`, whose value is the JSON of an `OrderEvent` (schema below). Consumers
 * parse it with `orderEventSchema` and must ignore events whose `v` they do not know; a breaking
 * change bumps `v` and the producer writes both versions during a migration window.
 *
 * ioredis `keyPrefix` DOES apply to XADD's stream key (ioredis prefixes every argument its
 * command table marks as a key, and XADD's first argument is a key). The API's client has
 * `keyPrefix: 'app:'`, so the publisher strips the client's prefix from the full stream name
 * before calling XADD: the stream is `app:orders:<id>` on the server with or without a prefixed client.
 *
 * Delivery: the API does not publish itself. Triggers on `orders` write each event into the
 * `order_event_outbox` table in the transaction of the change (migration
 * 20261128220000000_order-event-outbox.sql), and the outbox relay (outbox-relay.ts) appends them
 * with `appendOrderEvent` in id order and deletes them: nothing is lost while Redis is down or when
 * an api dies after COMMIT. At least once: a relay that dies between XADD and its DELETE commit
 * appends that batch again under new stream ids, so consumers must apply events idempotently (the
 * websocket service dedupes by stream id only; an event's identity is order_id + status).
 * `createOrderEventPublisher` (direct, best-effort XADD) remains for tools and tests that feed
 * streams without a database.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { ORDER_STREAM_RETENTION_MS, REDIS_KEY_PREFIX } from '../../../contract/constants';
import type { Logger } from '../logger';

export const ORDER_EVENT_VERSION = 1;
export const ORDER_STATUSES = ['pending', 'confirmed', 'preparing', 'ready', 'served', 'completed', 'cancelled'] as const;

const id = z.string().regex(/^[1-9][0-9]{0,18}$/);

export const orderEventSchema = z
  .object({
    v: z.literal(ORDER_EVENT_VERSION),
    type: z.enum(['order.created', 'order.status_changed']),
    restaurant_id: id,
    order_id: id,
    /** Null for orders without a table (not produced by the API today). */
    table_id: id.nullable(),
    /** The status after the event. */
    status: z.enum(ORDER_STATUSES),
    /** order.status_changed only. */
    previous_status: z.enum(ORDER_STATUSES).optional(),
    /** ISO 8601 UTC, the database time of the change. */
    occurred_at: z.string().datetime({ offset: true }),
    /** order.created only. */
    total_cents: z.number().int().nonnegative().optional(),
  })
  .strict();

export type OrderEvent = z.infer<typeof orderEventSchema>;

/** The stream name on the server (with the `app:` prefix the ElastiCache user is limited to). */
export function orderStreamName(restaurantId: string): string {
  return `${REDIS_KEY_PREFIX}orders:${restaurantId}`;
}

/** The stream key to pass to `redis`: the server-side name without the client's `keyPrefix`. */
export function orderStreamKey(redis: Redis, restaurantId: string): string {
  const full = orderStreamName(restaurantId);
  const prefix = redis.options.keyPrefix ?? '';
  return prefix && full.startsWith(prefix) ? full.slice(prefix.length) : full;
}

/** XADD of one event, validated, trimming by age: to run on the client or queue on a pipeline. */
export function appendOrderEvent<T>(target: { xadd(key: string, minid: 'MINID', approx: '~', threshold: string, id: '*', field: string, value: string): T }, redis: Redis, event: OrderEvent, nowMs = Date.now()): T {
  // `~` lets Redis trim whole macro nodes only: cheap, and it never keeps less than asked.
  const minId = `${nowMs - ORDER_STREAM_RETENTION_MS}-0`;
  return target.xadd(orderStreamKey(redis, event.restaurant_id), 'MINID', '~', minId, '*', 'event', JSON.stringify(orderEventSchema.parse(event)));
}

export interface OrderEventPublisher {
  /** Never rejects: failures are logged and counted. Resolves once XADD answered or failed. */
  publish(event: OrderEvent): Promise<void>;
  /** Events that could not be appended since start. */
  failures(): number;
}

export function createOrderEventPublisher(options: { redis?: Redis; logger: Logger; onLost?: () => void }): OrderEventPublisher {
  const { redis, logger } = options;
  let failed = 0;
  const lost = (event: OrderEvent, reason: string, err?: unknown) => {
    failed += 1;
    options.onLost?.();
    logger.warn({ err, event: { type: event.type, order_id: event.order_id, restaurant_id: event.restaurant_id }, reason }, 'order event not published');
  };
  return {
    failures: () => failed,
    publish: async (event) => {
      if (!redis) return lost(event, 'no redis client');
      // Not ready: skip instead of filling the offline queue and delaying every later command.
      if (redis.status !== 'ready') return lost(event, `redis ${redis.status}`);
      try {
        await appendOrderEvent(redis, redis, event);
      } catch (err) {
        lost(event, 'xadd failed', err);
      }
    },
  };
}
