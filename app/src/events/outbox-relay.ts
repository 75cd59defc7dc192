/**
 * The order event outbox relay: moves the rows that triggers on `orders` wrote into
 * `order_event_outbox` (migration 20261128220000000_order-event-outbox.sql) onto the restaurants'
 * Redis streams (order-events.ts), in id order, and deletes them.
 *
 * When: at once on `wake()`, which the api calls after each commit of its own on the primary (its
 * database manager's `onCommitted`); at once on `NOTIFY order_event_outbox` (a dedicated LISTEN
 * connection to the primary, reconnected when it drops), which the triggers send at COMMIT for
 * every other writer (a job, a psql session); on Redis becoming ready; and every `pollIntervalMs`
 * as a fallback (a lost LISTEN connection, a notification that arrived while another relay held
 * the lock).
 *
 * Why the api's writes do not notify: a NOTIFY in every order transaction cost PostgreSQL about
 * 0.08 ms and the api 0.05 ms per order, reached every api process, and serializes commits on
 * the notification queue's lock (migration 20261205220000000_outbox-local-wakeup.sql). The api's
 * sessions start with `LOCAL_WAKEUP_SESSION_SETTINGS`, which tells the trigger to skip it. A woken
 * relay that finds another holding the lock tries again (after `minBatchIntervalMs`, doubling up to
 * `pollIntervalMs`) until it gets it: the holder may have read before this process's rows
 * committed, and no notification tells it about them.
 *
 * Batches start at most every `minBatchIntervalMs` while notifications keep coming (a full batch
 * goes on at once): under load every order commit notifies, and a batch per notification meant
 * 1,067 batches in 8 s at 1,600 orders/s on the harness, 291 with 25 ms between them. The first
 * notification after a quiet spell is served at once, so an event waits at most that interval
 * longer than before.
 *
 * One batch is one transaction on the primary:
 * 1. `pg_try_advisory_xact_lock(RELAY_LOCK_KEY)`: one relay across every api process works at a
 *    time, so batches never interleave and a restaurant's stream gets the outbox's id order. A relay
 *    that does not get the lock does nothing: the holder hears the same notifications and drains.
 * 2. `SELECT ... WHERE id > floor ORDER BY id LIMIT batchSize` (below); XADD each event on one pipeline.
 * 3. DELETE the ids whose XADD succeeded, up to the first failure (later ones are sent again, so
 *    order holds), and COMMIT. A failure backs off (doubling up to `maxBackoffMs`) and retries:
 *    Redis down or refusing XADD keeps the rows, nothing is lost.
 * The lock and the rows are released when the transaction ends, including when the process dies.
 *
 * Where a batch starts (`floor`): the rows a batch deletes stay in the primary key index as dead
 * entries until VACUUM, and `ORDER BY id` from the start walks all of them every batch (2 to 9 ms a
 * batch at 1,500 orders/s on the harness, growing until autovacuum runs). So a batch reads from
 * `floor`, an id at or below which no row waits and none can still commit. Ids are taken at
 * insert, not at commit, so a row below an id already relayed can still appear, but only from a
 * transaction that was running when that batch read: the outbox's only writers are the triggers
 * on `orders`, which run after the order row was written, so that transaction had its id (xid)
 * before it took its outbox id, before the relayed row committed. Each successful batch therefore
 * leaves a candidate, the highest id below which it deleted every row it saw and the next xid to
 * be assigned right after it read (`pg_snapshot_xmax`, read later than its SELECT); a later batch
 * raises `floor` to the candidate once every transaction older than that xid has ended
 * (`pg_snapshot_xmin` read before its SELECT), and its SELECT, from the old floor, saw and
 * deleted whatever they committed below the candidate. The sequence must stay `CACHE 1` (the
 * identity default) and never restart: either would hand out ids below `floor`. `floor` is a
 * property of the table, not of one relay, so each relay keeps its own and another relay's
 * batches only delete rows.
 *
 * At least once: a relay that dies (or loses the database) after XADD and before COMMIT leaves the
 * rows, and the next batch appends them again under new stream ids; so does an XADD that timed out
 * on our side but ran on the server. Consumers apply events idempotently (an event is identified by
 * order_id + status; it carries the status after the change, and a repeat comes before any later
 * event of the order, whose outbox id is higher); the websocket service dedupes by stream id only,
 * so clients see the repeat (app/src/realtime/README.md: "Apply events idempotently").
 *
 * A row that does not parse as an `OrderEvent` is a bug in the trigger; it is logged at error
 * level, counted as a failure and deleted, rather than blocking every restaurant's events behind it.
 */
import type { Redis } from 'ioredis';
import { Client, type ClientConfig } from 'pg';
import type { DatabaseManager } from '../db/database-manager';
import type { Logger } from '../logger';
import { appendOrderEvent, orderEventSchema, type OrderEvent } from './order-events';

/** The advisory lock (one bigint key space, apart from two-int4 keys) only the relay takes. */
export const RELAY_LOCK_KEY = '8271939904311523';
/** The channel the outbox triggers notify. */
export const OUTBOX_CHANNEL = 'order_event_outbox';
/**
 * Session settings of a process whose relay is woken by its own commits: its order writes do not
 * notify (migration 20261205220000000_outbox-local-wakeup.sql). Only for a process that runs a
 * relay and calls its `wake()` after each commit (the database manager's `onCommitted`, app/src/api-main.ts).
 */
export const LOCAL_WAKEUP_SESSION_SETTINGS: Readonly<Record<string, string>> = { 'restaurant.outbox_wakeup': 'local' };
/** The name of the relay's own batch transaction: its commit must not wake the relay again. */
export const RELAY_TRANSACTION_NAME = 'orders.outbox_relay';

export interface OutboxRelayOptions {
  readonly db: DatabaseManager;
  /** The client to XADD with (its keyPrefix is stripped from stream names). */
  readonly redis: Redis;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Connection to the primary for LISTEN (not a pooled one: it stays in LISTEN). @default - no LISTEN, the timer only */
  readonly listenConnection?: ClientConfig;
  /** Rows per transaction. @default 200 */
  readonly batchSize?: number;
  /** Fallback drain interval. @default 1000 */
  readonly pollIntervalMs?: number;
  /** Least time between the starts of two batches, unless the first was full. @default 25 */
  readonly minBatchIntervalMs?: number;
  /** Longest wait between retries after a failure. @default 5000 */
  readonly maxBackoffMs?: number;
  /** Wait before reconnecting a lost LISTEN connection. @default 1000 */
  readonly listenReconnectMs?: number;
  /** Events appended to a stream (counted when their rows are deleted). */
  readonly onPublished?: (count: number) => void;
  /** A batch that failed (XADD refused or timed out, Redis lost mid-batch, database error) or an invalid row; not a batch skipped because the Redis client is not connected. */
  readonly onFailure?: () => void;
}

export interface DrainResult {
  /** Another relay holds the lock. */
  readonly busy: boolean;
  /** Rows appended and deleted. */
  readonly published: number;
  /** Rows this batch looked at (a full batch means there may be more). */
  readonly selected: number;
  /** The Redis client was not connected: no transaction was opened, the rows wait. */
  readonly redisUnavailable?: boolean;
  readonly error?: unknown;
}

export interface OutboxRelay {
  /** Starts listening and the fallback timer, and drains once. Idempotent. */
  start(): void;
  /**
   * A write of this process committed (it may have written outbox rows without a notification):
   * drain soon, retrying while another relay holds the lock. Ignores the relay's own batches.
   */
  wake(name?: string): void;
  /** One batch, now (tests and the loop). Never rejects. */
  drainOnce(): Promise<DrainResult>;
  /** Rows waiting in the outbox (every relay's, it is one table). */
  pending(): Promise<number>;
  /** Stops timers and LISTEN and waits for the batch in flight. Idempotent. */
  stop(): Promise<void>;
}

const DEFAULTS = { batchSize: 200, pollIntervalMs: 1000, minBatchIntervalMs: 25, maxBackoffMs: 5000, listenReconnectMs: 1000 } as const;
const FIRST_BACKOFF_MS = 100;

interface OutboxRow {
  id: string;
  event: unknown;
}

/** The highest id below which a batch deleted every row it saw, and the next xid after it read. */
interface FloorCandidate {
  readonly id: bigint;
  readonly xmax: bigint;
}

export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { db, redis, logger } = options;
  const batchSize = options.batchSize ?? DEFAULTS.batchSize;
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULTS.pollIntervalMs;
  const maxBackoffMs = options.maxBackoffMs ?? DEFAULTS.maxBackoffMs;
  const listenReconnectMs = options.listenReconnectMs ?? DEFAULTS.listenReconnectMs;
  const minBatchIntervalMs = options.minBatchIntervalMs ?? DEFAULTS.minBatchIntervalMs;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  if (!(minBatchIntervalMs >= 0)) throw new Error(`minBatchIntervalMs must be 0 or more, got ${minBatchIntervalMs}`);

  let started = false;
  let stopped = false;
  let running: Promise<void> | undefined;
  let again = false;
  let backoffMs = 0;
  let backoffUntil = 0;
  let lastBatchStartedAt = -Infinity;
  let floor = 0n;
  let candidate: FloorCandidate | undefined;
  let backlog = false;
  /** A wake-up is waiting for a batch that held the lock. */
  let woken = false;
  let busyRetries = 0;
  let poll: NodeJS.Timeout | undefined;
  let retry: NodeJS.Timeout | undefined;
  let listenRetry: NodeJS.Timeout | undefined;
  let listener: Client | undefined;

  const failed = (error: unknown, message: string) => {
    options.onFailure?.();
    backoffMs = Math.min(maxBackoffMs, backoffMs === 0 ? FIRST_BACKOFF_MS : backoffMs * 2);
    backoffUntil = Date.now() + backoffMs;
    logger.warn({ err: error, retryInMs: backoffMs }, message);
    clearTimeout(retry);
    retry = setTimeout(kick, backoffMs);
  };

  async function drainOnce(): Promise<DrainResult> {
    // Not connected (starting, or Redis down): no transaction at all; the client's `ready` event
    // starts the next batch. Not a failure: the pending gauge shows an outage that lasts.
    if (redis.status !== 'ready') return { busy: false, published: 0, selected: 0, redisUnavailable: true };
    try {
      const batch = await db.transaction(
        async (client): Promise<{ result: DrainResult; next?: { floor: bigint; candidate: FloorCandidate | undefined } }> => {
          // The xmin comes from this statement's snapshot, taken before the SELECT below.
          const lock = await client.query<{ locked: boolean; xmin: string }>(
            'SELECT pg_try_advisory_xact_lock($1::bigint) AS locked, pg_snapshot_xmin(pg_current_snapshot())::text AS xmin',
            [RELAY_LOCK_KEY],
          );
          if (!lock.rows[0]?.locked) return { result: { busy: true, published: 0, selected: 0 } };
          const olderEnded = candidate !== undefined && BigInt(lock.rows[0].xmin) >= candidate.xmax;
          // ORDER BY o.id, the bigint: a bare `id` would sort by the text output column.
          const { rows } = await client.query<OutboxRow>('SELECT o.id::text AS id, o.event FROM order_event_outbox o WHERE o.id > $2 ORDER BY o.id LIMIT $1', [
            batchSize,
            floor.toString(),
          ]);
          if (rows.length === 0) {
            // Everything visible above the floor was taken (nothing): the candidate holds once its transactions ended.
            return { result: { busy: false, published: 0, selected: 0 }, next: olderEnded ? { floor: candidate!.id, candidate: undefined } : undefined };
          }

          const done: string[] = [];
          const sent: { id: string; event: OrderEvent }[] = [];
          const pipeline = redis.pipeline();
          for (const row of rows) {
            const parsed = orderEventSchema.safeParse(row.event);
            if (!parsed.success) {
              options.onFailure?.();
              logger.error({ outboxId: row.id, event: row.event, issues: parsed.error.issues }, 'order event outbox row is not a valid event; dropped');
              done.push(row.id);
              continue;
            }
            appendOrderEvent(pipeline, redis, parsed.data);
            sent.push({ id: row.id, event: parsed.data });
          }
          let error: unknown;
          let published = 0;
          let firstFailedId: bigint | undefined;
          if (sent.length > 0) {
            const results = (await pipeline.exec()) ?? [];
            for (let i = 0; i < sent.length; i++) {
              const failure = results[i]?.[0] ?? (results[i] ? null : new Error('no reply to XADD'));
              if (failure) {
                error = failure;
                // Invalid rows after the first failure stay for the next batch too (order of deletion does not matter for them).
                firstFailedId = BigInt(sent[i]!.id);
                done.splice(0, done.length, ...done.filter((id) => BigInt(id) < firstFailedId!));
                break;
              }
              done.push(sent[i]!.id);
              published += 1;
            }
          }
          let xmax: bigint | undefined;
          if (done.length > 0) {
            // The xmax comes from the DELETE's snapshot, taken after the SELECT.
            const deleted = await client.query<{ xmax: string }>(
              'WITH gone AS (DELETE FROM order_event_outbox WHERE id = ANY($1::bigint[])) SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xmax',
              [done],
            );
            xmax = BigInt(deleted.rows[0]!.xmax);
          }
          // Every row this batch saw at or below `reached` is deleted; rows beyond the first failure stay.
          const seen = rows.map((r) => BigInt(r.id)).filter((id) => firstFailedId === undefined || id < firstFailedId);
          const reached = seen.length > 0 ? seen[seen.length - 1]! : undefined;
          const tookAll = rows.length < batchSize && firstFailedId === undefined;
          let next: { floor: bigint; candidate: FloorCandidate | undefined } | undefined;
          if (olderEnded && (tookAll || (reached !== undefined && reached >= candidate!.id))) {
            next = { floor: candidate!.id, candidate: reached !== undefined && xmax !== undefined ? { id: reached, xmax } : undefined };
          } else if (candidate === undefined && reached !== undefined && xmax !== undefined) {
            next = { floor, candidate: { id: reached, xmax } };
          }
          return { result: { busy: false, published, selected: rows.length, error }, next };
        },
        { name: RELAY_TRANSACTION_NAME },
      );
      // Only after COMMIT: rows deleted in a batch that did not commit are still there.
      if (batch.next) {
        if (batch.next.floor > floor) floor = batch.next.floor;
        candidate = batch.next.candidate;
      }
      return batch.result;
    } catch (error) {
      return { busy: false, published: 0, selected: 0, error };
    }
  }

  async function loop(): Promise<void> {
    do {
      again = false;
      // After a busy batch of a wake-up: minBatchIntervalMs (at least 5 ms), doubling up to pollIntervalMs.
      const intervalMs = busyRetries === 0 ? minBatchIntervalMs : Math.min(pollIntervalMs, Math.max(5, minBatchIntervalMs) * 2 ** (busyRetries - 1));
      const waitMs = lastBatchStartedAt + intervalMs - Date.now();
      // Kicks during the wait set `again` and are served by the batch after it.
      if (!backlog && waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
      if (stopped) return;
      lastBatchStartedAt = Date.now();
      const serving = woken;
      woken = false;
      const result = await drainOnce();
      if (result.busy && serving) {
        // The holder may have read before our rows committed: try again until we hold the lock.
        woken = true;
        busyRetries += 1;
        again = true;
        continue;
      }
      if (!result.busy) busyRetries = 0;
      backlog = !result.busy && result.error === undefined && result.selected === batchSize;
      if (result.published > 0) options.onPublished?.(result.published);
      if (result.redisUnavailable) return;
      if (result.error !== undefined) {
        failed(result.error, 'order event relay: batch failed; the events stay in the outbox');
        return;
      }
      backoffMs = 0;
      if (!result.busy && result.selected === batchSize) again = true;
    } while (again && !stopped);
  }

  function kick(): void {
    if (stopped || !started) return;
    if (running) {
      again = true;
      return;
    }
    if (Date.now() < backoffUntil) return;
    running = loop()
      .catch((error: unknown) => logger.error({ err: error }, 'order event relay: unexpected failure'))
      .finally(() => {
        running = undefined;
      });
  }

  function listen(): void {
    if (stopped || !options.listenConnection) return;
    const client = new Client(options.listenConnection);
    listener = client;
    let lost = false;
    const reconnect = (error: unknown) => {
      if (lost) return;
      lost = true;
      if (listener === client) listener = undefined;
      client.end().catch(() => undefined);
      if (stopped) return;
      logger.warn({ err: error, retryInMs: listenReconnectMs }, 'order event relay: LISTEN connection lost; the timer drains meanwhile');
      listenRetry = setTimeout(listen, listenReconnectMs);
    };
    client.on('error', reconnect);
    client.on('end', () => reconnect(new Error('connection ended')));
    client.on('notification', () => kick());
    client
      .connect()
      .then(() => client.query(`LISTEN ${OUTBOX_CHANNEL}`))
      // Whatever committed while we were not listening.
      .then(() => kick())
      .catch(reconnect);
  }

  const onRedisReady = () => {
    backoffUntil = 0;
    kick();
  };

  return {
    drainOnce,
    wake(name) {
      if (name === RELAY_TRANSACTION_NAME) return;
      woken = true;
      kick();
    },
    start() {
      if (started || stopped) return;
      started = true;
      listen();
      redis.on('ready', onRedisReady);
      poll = setInterval(kick, pollIntervalMs);
      poll.unref();
      kick();
    },
    async pending() {
      const { rows } = await db.read<{ n: number }>({ text: 'SELECT count(*)::int AS n FROM order_event_outbox' }, { name: 'orders.outbox_pending', consistency: 'primary' });
      return rows[0]?.n ?? 0;
    },
    async stop() {
      stopped = true;
      clearInterval(poll);
      clearTimeout(retry);
      clearTimeout(listenRetry);
      redis.off('ready', onRedisReady);
      const client = listener;
      listener = undefined;
      await running;
      await client?.end().catch(() => undefined);
    },
  };
}
