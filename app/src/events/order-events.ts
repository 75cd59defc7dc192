/**
 * Order events on Redis Streams: the contract with the websocket service.
 *
 * Stream: `app:orders:<restaurantId>` (one per restaurant), trimmed by age on every XADD
 * (`MINID ~ <now - ORDER_STREAM_RETENTION_MS>`): the websocket service replays what a client
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
 * Delivery: after the database transaction commits, best effort. When Redis is down (client not
 * `ready`) or XADD fails, the event is logged and counted (`failures`) and the request still
 * succeeds: such an event is LOST for stream consumers (the websocket service should resync from the
 * API on reconnect). The robust follow-up is a transactional outbox table drained by a relay.
 * A process crash between COMMIT and XADD loses the event the same way.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Logger } from '../logger';

export const ORDER_EVENT_VERSION = 1;
/** Twice the websocket service's default replay window (config.ts checks WS_REPLAY_WINDOW_MS against it). */
export const ORDER_STREAM_RETENTION_MS = 30 * 60_000;
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
  return `app:orders:${restaurantId}`;
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
      const full = orderStreamName(event.restaurant_id);
      const prefix = redis.options.keyPrefix ?? '';
      const key = prefix && full.startsWith(prefix) ? full.slice(prefix.length) : full;
      try {
        // `~` lets Redis trim whole macro nodes only: cheap, and it never keeps less than asked.
        const minId = `${Date.now() - ORDER_STREAM_RETENTION_MS}-0`;
        await redis.xadd(key, 'MINID', '~', minId, '*', 'event', JSON.stringify(orderEventSchema.parse(event)));
      } catch (err) {
        lost(event, 'xadd failed', err);
      }
    },
  };
}
