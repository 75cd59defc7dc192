/**
 * Reads the order streams of the restaurants this instance has clients for, with XREAD BLOCK on a
 * dedicated connection, and hands every entry to `dispatch`.
 *
 * Not a consumer group: every instance must see every event of its restaurants (a group would
 * split them across pods). Each stream's position is the last id read, kept in memory:
 *
 * - A restaurant starts at its stream's last entry when its first local client joins (resolved
 *   to a concrete id with XREVRANGE on the command connection, never `$`: `$` re-evaluated after a
 *   reconnect would skip what was added during the outage). A missing stream starts at `0-0`.
 * - While Redis is unreachable the positions stay; reads resume from them when it returns, so
 *   nothing appended after the outage is skipped, and clients keep their sockets.
 * - A blocked XREAD cannot take a new stream, and Redis's CLIENT UNBLOCK is a `@dangerous` command
 *   the ElastiCache user may not run; so when a restaurant is added during a read, the reading
 *   connection is dropped and reopened. The reader runs with `maxRetriesPerRequest: 0`, so the
 *   interrupted XREAD rejects at once and is never re-sent with the old stream list. Positions
 *   advance only for entries actually received, so nothing is lost by the interruption.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logger';
import { orderStreamName } from '../events/order-events';
import { decodeEntry, prefixedCommandKey, type DeliverableEntry } from './stream-entry';
import { compareStreamIds, STREAM_START_ID } from './stream-ids';

/** Most entries one XREAD returns per stream; a burst is drained over several reads. */
export const STREAM_READ_COUNT = 1000;
const RETRY_MIN_DELAY_MS = 50;
const RETRY_MAX_DELAY_MS = 2000;

export interface StreamConsumerOptions {
  /** Dedicated to XREAD BLOCK (a blocked connection answers nothing else). */
  readonly reader: Redis;
  /** For the position look-ups of new restaurants. */
  readonly commands: Redis;
  readonly blockMs: number;
  readonly logger: Logger;
  /** Called for every order event read, in stream order per restaurant. */
  readonly dispatch: (entry: DeliverableEntry) => void;
  /** Called once per failed read (metrics). */
  readonly onReadError?: () => void;
}

export class StreamConsumer {
  private readonly positions = new Map<string, string>();
  private readonly starting = new Map<string, Promise<void>>();
  private readonly fullNameToRestaurant = new Map<string, string>();
  private readonly wanted = new Set<string>();
  private stopped = false;
  private reading: string[] | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: StreamConsumerOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Resolves once the restaurant's stream has a position (retries while Redis is unavailable). */
  track(restaurantId: string): Promise<void> {
    this.wanted.add(restaurantId);
    if (this.positions.has(restaurantId)) return Promise.resolve();
    let starting = this.starting.get(restaurantId);
    if (!starting) {
      starting = this.resolveStart(restaurantId).finally(() => this.starting.delete(restaurantId));
      this.starting.set(restaurantId, starting);
    }
    return starting;
  }

  /** Stops reading the restaurant's stream (its last local client left). */
  untrack(restaurantId: string): void {
    this.wanted.delete(restaurantId);
    this.positions.delete(restaurantId);
  }

  /** The id of the last entry dispatched (or the start position); undefined when not tracked. */
  position(restaurantId: string): string | undefined {
    return this.positions.get(restaurantId);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    if (this.reading) this.options.reader.disconnect(false);
    await this.loop;
  }

  private async resolveStart(restaurantId: string): Promise<void> {
    const { commands, logger } = this.options;
    for (let attempt = 1; ; attempt++) {
      if (this.stopped || !this.wanted.has(restaurantId)) return;
      try {
        const last = await commands.xrevrange(prefixedCommandKey(commands, restaurantId), '+', '-', 'COUNT', 1);
        if (!this.wanted.has(restaurantId) || this.positions.has(restaurantId)) return;
        this.positions.set(restaurantId, last[0]?.[0] ?? STREAM_START_ID);
        this.fullNameToRestaurant.set(orderStreamName(restaurantId), restaurantId);
        this.interruptRead(restaurantId);
        return;
      } catch (error) {
        if (attempt === 1) logger.warn({ restaurantId, err: (error as Error).message }, 'cannot read stream position yet; retrying');
        await delay(Math.min(RETRY_MIN_DELAY_MS * 2 ** attempt, RETRY_MAX_DELAY_MS));
      }
    }
  }

  private interruptRead(restaurantId: string): void {
    this.wake?.();
    if (this.reading && !this.reading.includes(restaurantId)) this.options.reader.disconnect(true);
  }

  private async run(): Promise<void> {
    const { reader, logger, blockMs } = this.options;
    let failures = 0;
    while (!this.stopped) {
      const restaurants = [...this.positions.keys()];
      if (restaurants.length === 0 || reader.status !== 'ready') {
        await this.idle(reader, restaurants.length === 0 ? undefined : RETRY_MAX_DELAY_MS);
        continue;
      }
      const ids = restaurants.map((r) => this.positions.get(r)!);
      const keys = restaurants.map((r) => prefixedCommandKey(reader, r));
      this.reading = restaurants;
      let reply: [string, [string, string[]][]][] | null;
      try {
        reply = (await reader.xread('COUNT', STREAM_READ_COUNT, 'BLOCK', blockMs, 'STREAMS', ...keys, ...ids)) as typeof reply;
        failures = 0;
      } catch (error) {
        this.reading = undefined;
        if (this.stopped) break;
        // A dropped connection (interruption or outage) is not a read failure; anything else is.
        if (reader.status === 'ready') {
          failures += 1;
          this.options.onReadError?.();
          if (failures === 1) logger.warn({ err: (error as Error).message }, 'stream read failed; retrying');
          await delay(Math.min(RETRY_MIN_DELAY_MS * 2 ** failures, RETRY_MAX_DELAY_MS));
        }
        continue;
      }
      this.reading = undefined;
      for (const [fullName, entries] of reply ?? []) {
        const restaurantId = this.fullNameToRestaurant.get(fullName);
        if (restaurantId === undefined) continue;
        for (const [id, fields] of entries) {
          // Untracked (or re-tracked at a later position) while the read was in flight.
          const position = this.positions.get(restaurantId);
          if (position === undefined || compareStreamIds(id, position) <= 0) continue;
          this.positions.set(restaurantId, id);
          const entry = decodeEntry(restaurantId, id, fields);
          if (entry) this.options.dispatch(entry);
          else logger.warn({ restaurantId, id }, 'skipped a stream entry that is not a known order event');
        }
      }
    }
  }

  /** Waits for a new stream, the reader's `ready`, `stop`, or `timeoutMs`. */
  private idle(reader: Redis, timeoutMs: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        reader.off('ready', done);
        this.wake = undefined;
        resolve();
      };
      this.wake = done;
      reader.once('ready', done);
      if (timeoutMs !== undefined) timer = setTimeout(done, timeoutMs);
    });
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
