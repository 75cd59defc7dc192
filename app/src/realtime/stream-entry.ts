/**
 * One stream entry made ready to deliver: validated once per instance, serialized once, sent to
 * every member of its rooms as the same string. Entries that fail the event schema (an unknown
 * version `v`, a foreign producer) are skipped: consumers must ignore what they do not know.
 */
import type { Redis } from 'ioredis';
import { orderEventSchema, orderStreamName, type OrderEvent } from '../events/order-events';
import { roomKeysForEvent } from './rooms';
import { streamIdTimeMs } from './stream-ids';

export interface DeliverableEntry {
  readonly id: string;
  readonly event: OrderEvent;
  /** The `event` server message, serialized and UTF-8 encoded once; every recipient gets the same bytes. */
  readonly message: Buffer;
  readonly roomKeys: readonly string[];
  /** When Redis appended the entry (from its id). */
  readonly appendedAtMs: number;
}

/** Decodes an XRANGE/XREAD entry (`[id, [field, value, ...]]`); undefined when it is not an order event of `restaurantId`. */
export function decodeEntry(restaurantId: string, id: string, fields: readonly string[]): DeliverableEntry | undefined {
  let raw: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'event') raw = fields[i + 1];
  }
  if (raw === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const parsed = orderEventSchema.safeParse(json);
  // An event in another restaurant's stream is never delivered: isolation must not depend on the producer.
  if (!parsed.success || parsed.data.restaurant_id !== restaurantId) return undefined;
  const event = parsed.data;
  return {
    id,
    event,
    message: Buffer.from(JSON.stringify({ type: 'event', id, event })),
    roomKeys: roomKeysForEvent(event),
    appendedAtMs: streamIdTimeMs(id),
  };
}

/**
 * The stream key to pass to ioredis for commands whose key ioredis prefixes (XREAD, XRANGE,
 * XREVRANGE): the server-side name without the client's `keyPrefix` (see order-events.ts).
 */
export function prefixedCommandKey(redis: Pick<Redis, 'options'>, restaurantId: string): string {
  const full = orderStreamName(restaurantId);
  const prefix = redis.options.keyPrefix ?? '';
  return prefix && full.startsWith(prefix) ? full.slice(prefix.length) : full;
}
