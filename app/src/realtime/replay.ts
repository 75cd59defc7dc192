/**
 * Replay of missed events, and the per-connection cursor that makes the switch from replay to live
 * delivery gapless and duplicate-free.
 *
 * A connection joins its room before the replay reads anything, so every live event dispatched
 * from then on reaches it; while the replay runs, those live events wait in the cursor's buffer.
 * The replay reads with XRANGE from the exclusive `last_id` to the end of the stream, which is at
 * or after the consumer's position (it was read later), so replayed and buffered events overlap
 * rather than leave a gap; the cursor delivers each id once, in order, by comparing it with the
 * last id it delivered.
 *
 * Resync instead of replay when events after `last_id` may be gone (trimmed), when the first
 * missed event is older than the replay window, or when `last_id` is ahead of the stream (an id
 * this server never gave out: a client bug, another location's id, or a Redis that lost its data).
 * Replaying "nothing" from an id ahead of the stream would be silent and wrong: every later event
 * with a smaller id would be dropped as already seen. The client reloads from the REST API.
 */
import type { Redis } from 'ioredis';
import { orderStreamName } from '../events/order-events';
import type { ResyncReason } from './protocol';
import { decodeEntry, prefixedCommandKey, type DeliverableEntry } from './stream-entry';
import { compareStreamIds, STREAM_START_ID, streamIdTimeMs } from './stream-ids';

/** XRANGE page size: bounds the memory and event-loop time of one replay step. */
export const REPLAY_PAGE_SIZE = 500;

export type OfferResult = 'send' | 'duplicate' | 'buffered' | 'overflow';

export class DeliveryCursor {
  private lastId: string;
  private replaying = false;
  private buffer: DeliverableEntry[] = [];

  /** @param maxBufferedEvents live events held during a replay before the connection counts as too slow */
  constructor(
    startId: string,
    private readonly maxBufferedEvents: number,
  ) {
    this.lastId = startId;
  }

  get position(): string {
    return this.lastId;
  }

  get isReplaying(): boolean {
    return this.replaying;
  }

  /** Live events are buffered from now on; replayed events are those after `fromId`. */
  beginReplay(fromId: string): void {
    this.replaying = true;
    this.lastId = fromId;
    this.buffer = [];
  }

  /** A live event: send it now, hold it (replay running), or drop a duplicate. */
  offerLive(entry: DeliverableEntry): OfferResult {
    if (this.replaying) {
      if (this.buffer.length >= this.maxBufferedEvents) return 'overflow';
      this.buffer.push(entry);
      return 'buffered';
    }
    return this.advance(entry.id) ? 'send' : 'duplicate';
  }

  /** A replayed event: true when it is new to the client (and must be sent now). */
  offerReplayed(entry: DeliverableEntry): boolean {
    return this.advance(entry.id);
  }

  /** Moves the position to `id` without delivering (resync: the client reloads instead). */
  skipTo(id: string): void {
    if (compareStreamIds(id, this.lastId) > 0) this.lastId = id;
  }

  /** Moves the position back to `id` (a client's id ahead of the stream); buffered events after it are kept. */
  rewindTo(id: string): void {
    if (compareStreamIds(id, this.lastId) < 0) this.lastId = id;
  }

  /** Ends the replay: returns the buffered live events still to send, in order; live from now on. */
  finishReplay(): DeliverableEntry[] {
    const pending = this.buffer.filter((entry) => this.advance(entry.id));
    this.buffer = [];
    this.replaying = false;
    return pending;
  }

  private advance(id: string): boolean {
    if (compareStreamIds(id, this.lastId) <= 0) return false;
    this.lastId = id;
    return true;
  }
}

export interface StreamRetention {
  /** Oldest retained entry; undefined for an empty or missing stream. */
  readonly firstId?: string;
  readonly length: number;
  /** Entries ever added (Redis >= 7); undefined on older servers. */
  readonly entriesAdded?: number;
  /** The newest id the stream ever generated (XINFO `last-generated-id`); undefined for a missing stream. */
  readonly lastGeneratedId?: string;
}

/**
 * True when an entry after `lastId` may have been trimmed: `lastId` is before the oldest retained
 * entry and the stream has lost entries (or, before Redis 7, may have). A stream that never lost an
 * entry (new, or recreated after a Redis restart) replays in full.
 */
export function trimmedPast(lastId: string, retention: StreamRetention): boolean {
  if (retention.firstId === undefined || compareStreamIds(lastId, retention.firstId) >= 0) return false;
  if (retention.entriesAdded === undefined) return true;
  return retention.entriesAdded > retention.length;
}

/**
 * True when `lastId` is after everything the stream has handed out: after its last generated id,
 * or, for a stream that does not exist (yet, or any more), after the Redis server's clock (where
 * the next generated id will start).
 */
export function aheadOfStream(lastId: string, retention: StreamRetention, serverTimeMs: number): boolean {
  if (retention.lastGeneratedId !== undefined) return compareStreamIds(lastId, retention.lastGeneratedId) > 0;
  return streamIdTimeMs(lastId) > serverTimeMs;
}

/** True when the first missed event is older than the replay window. */
export function outsideWindow(firstMissedId: string, nowMs: number, windowMs: number): boolean {
  return streamIdTimeMs(firstMissedId) < nowMs - windowMs;
}

/** XINFO STREAM (ioredis does not prefix XINFO's key, so it gets the server-side name). */
export async function readRetention(redis: Redis, restaurantId: string): Promise<StreamRetention> {
  let reply: unknown[];
  try {
    reply = (await redis.xinfo('STREAM', orderStreamName(restaurantId))) as unknown[];
  } catch (error) {
    if (/no such key/i.test((error as Error).message)) return { length: 0 };
    throw error;
  }
  const field = (name: string) => reply[reply.indexOf(name) + 1];
  const first = field('first-entry') as [string, string[]] | null | undefined;
  const entriesAdded = reply.includes('entries-added') ? Number(field('entries-added')) : undefined;
  const lastGeneratedId = reply.includes('last-generated-id') ? field('last-generated-id') : undefined;
  return {
    firstId: first ? first[0] : undefined,
    length: Number(field('length')),
    entriesAdded,
    lastGeneratedId: typeof lastGeneratedId === 'string' ? lastGeneratedId : undefined,
  };
}

/** Redis's clock in milliseconds (stream ids are taken from it, not from this pod's clock). */
async function serverTimeMs(redis: Redis): Promise<number> {
  const [seconds, microseconds] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(microseconds) / 1000);
}

export type ReplayOutcome =
  | { kind: 'replayed'; count: number }
  /** `streamId`: where the stream stands (an `ahead_of_stream` client is moved back to it). */
  | { kind: 'resync'; reason: ResyncReason; streamId?: string };

export interface ReplayOptions {
  readonly redis: Redis;
  readonly restaurantId: string;
  readonly cursor: DeliveryCursor;
  /** Whether an entry belongs to the connection's room. */
  readonly accepts: (entry: DeliverableEntry) => boolean;
  readonly send: (entry: DeliverableEntry) => void;
  readonly windowMs: number;
  readonly nowMs?: () => number;
  /** False once the connection closed: the replay stops reading. */
  readonly isOpen: () => boolean;
}

/**
 * Sends the room's events after the cursor's position (set by `beginReplay`), page by page. Does
 * not call `finishReplay`: the caller does, also after a resync or a failure.
 */
export async function replayMissed(options: ReplayOptions): Promise<ReplayOutcome> {
  const { redis, restaurantId, cursor } = options;
  const now = options.nowMs ?? Date.now;
  const retention = await readRetention(redis, restaurantId);
  // TIME only for a missing stream: an existing one knows its last id.
  const redisNowMs = retention.lastGeneratedId === undefined ? await serverTimeMs(redis) : 0;
  if (aheadOfStream(cursor.position, retention, redisNowMs)) {
    return { kind: 'resync', reason: 'ahead_of_stream', streamId: retention.lastGeneratedId ?? STREAM_START_ID };
  }
  if (trimmedPast(cursor.position, retention)) return { kind: 'resync', reason: 'trimmed' };
  const key = prefixedCommandKey(redis, restaurantId);
  let count = 0;
  let first = true;
  for (;;) {
    if (!options.isOpen()) return { kind: 'replayed', count };
    const page = await redis.xrange(key, `(${cursor.position}`, '+', 'COUNT', REPLAY_PAGE_SIZE);
    if (first && page.length > 0 && outsideWindow(page[0]![0], now(), options.windowMs)) return { kind: 'resync', reason: 'outside_window' };
    first = false;
    for (const [id, fields] of page) {
      const entry = decodeEntry(restaurantId, id, fields);
      if (entry && options.accepts(entry)) {
        if (cursor.offerReplayed(entry)) {
          options.send(entry);
          count += 1;
        }
      } else {
        // Not for this room (or not an order event): the position still moves past it.
        cursor.skipTo(id);
      }
    }
    if (page.length < REPLAY_PAGE_SIZE) return { kind: 'replayed', count };
  }
}
