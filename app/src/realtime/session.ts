/**
 * One websocket connection: its room, its delivery cursor, replays on request, client messages
 * (rate-limited per connection), backpressure and token expiry.
 *
 * Lifecycle: join the room (live events are buffered from here), wait until the instance reads the
 * restaurant's stream, then either replay from the client's `last_id` or start at the stream's
 * current position, flush the buffer, and send `ready`. Work that touches Redis (start, resume) runs
 * one step at a time per connection; while Redis is unavailable the step retries and the socket
 * stays open.
 */
import type { Redis } from 'ioredis';
import { WebSocket, type RawData } from 'ws';
import type { Logger } from '../logger';
import { DEFAULT_CLOCK_TOLERANCE_SECONDS } from '../auth/verify-token';
import { MessageRateLimit } from './message-rate-limit';
import { CLOSE_CODES, parseClientMessage, type ServerMessage } from './protocol';
import { roomFor, type Room, type RoomRegistry } from './rooms';
import type { DropReason, RealtimeMetrics } from './realtime-metrics';
import { DeliveryCursor, replayMissed } from './replay';
import type { DeliverableEntry } from './stream-entry';
import type { StreamConsumer } from './stream-consumer';
import { STREAM_START_ID } from './stream-ids';
import type { UpgradeCredentials } from './upgrade-auth';

/** Live events held for one connection while its replay runs; more means it cannot keep up. */
export const MAX_BUFFERED_EVENTS_DURING_REPLAY = 10_000;
const RETRY_MIN_DELAY_MS = 100;
const RETRY_MAX_DELAY_MS = 2000;
/** setTimeout's limit; longer token lifetimes are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface SessionDependencies {
  readonly commands: Redis;
  readonly consumer: Pick<StreamConsumer, 'track' | 'untrack' | 'position'>;
  readonly rooms: RoomRegistry<Session>;
  readonly metrics: RealtimeMetrics;
  readonly logger: Logger;
  readonly replayWindowMs: number;
  readonly maxBufferedBytes: number;
  /** Per-connection token bucket for client messages and protocol pings. */
  readonly messageRate: { readonly burst: number; readonly perSecond: number };
}

export class Session {
  readonly room: Room;
  private readonly cursor = new DeliveryCursor(STREAM_START_ID, MAX_BUFFERED_EVENTS_DURING_REPLAY);
  private work: Promise<void> = Promise.resolve();
  private expiryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly delivered: { inc(): void };
  private readonly messageRate: MessageRateLimit;

  constructor(
    readonly socket: WebSocket,
    private readonly credentials: UpgradeCredentials,
    private readonly deps: SessionDependencies,
  ) {
    this.room = roomFor(credentials.claims);
    this.delivered = deps.metrics.messagesDelivered.labels({ room: this.room.kind });
    this.messageRate = new MessageRateLimit(deps.messageRate);
  }

  /** Joins the room and starts delivery; `lastId` (query parameter) replays what the client missed. */
  start(lastId: string | undefined): void {
    const { rooms, consumer } = this.deps;
    this.cursor.beginReplay(STREAM_START_ID);
    rooms.join(this.room, this);
    this.socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    // ws answers protocol pings by itself; a flood of them costs a pong each, so they share the bucket.
    this.socket.on('ping', () => this.withinRate());
    this.socket.once('close', () => this.onClose());
    this.armExpiry();
    this.enqueue(async () => {
      await this.retrying('track stream', () => consumer.track(this.room.restaurantId));
      if (lastId !== undefined) return this.replayFrom(lastId, false);
      this.cursor.skipTo(consumer.position(this.room.restaurantId) ?? STREAM_START_ID);
      this.goLive(0);
    });
  }

  /** A live event of one of this connection's rooms. */
  offerLive(entry: DeliverableEntry): void {
    if (this.closed) return;
    const result = this.cursor.offerLive(entry);
    if (result === 'send') this.sendEntry(entry);
    else if (result === 'overflow') this.drop('slow_consumer', CLOSE_CODES.slowConsumer, 'slow consumer: reconnect and resume');
  }

  /** Closes with `code` (1001 at shutdown). */
  close(code: number, reason: string): void {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close(code, reason);
  }

  get isLive(): boolean {
    return !this.cursor.isReplaying;
  }

  /** Takes a token for one client frame; closes with 1008 when the client is over its rate. */
  private withinRate(): boolean {
    if (this.closed) return false;
    if (this.messageRate.take()) return true;
    this.drop('rate_limit', CLOSE_CODES.policyViolation, 'message rate limit exceeded');
    return false;
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (!this.withinRate()) return;
    const message = isBinary ? undefined : parseClientMessage(data.toString());
    if (!message) {
      this.drop('policy', CLOSE_CODES.policyViolation, 'invalid message');
      return;
    }
    if (message.type === 'ping') {
      this.enqueue(async () => this.send({ type: 'pong', id: this.cursor.position }));
      return;
    }
    this.enqueue(() => this.replayFrom(message.last_id, true));
  }

  private async replayFrom(lastId: string, restart: boolean): Promise<void> {
    const { commands, metrics, consumer } = this.deps;
    if (restart) this.cursor.beginReplay(lastId);
    else this.cursor.skipTo(lastId);
    const outcome = await this.retrying('replay', () =>
      replayMissed({
        redis: commands,
        restaurantId: this.room.restaurantId,
        cursor: this.cursor,
        accepts: (entry) => entry.roomKeys.includes(this.room.key),
        send: (entry) => this.sendEntry(entry),
        windowMs: this.deps.replayWindowMs,
        isOpen: () => !this.closed,
      }),
    );
    if (this.closed || outcome === undefined) return;
    if (outcome.kind === 'resync') {
      metrics.resyncs.inc();
      if (outcome.reason === 'ahead_of_stream') {
        // Back to where the stream stands, or every later event would look already delivered.
        metrics.resumesAheadOfStream.inc();
        this.cursor.rewindTo(outcome.streamId ?? STREAM_START_ID);
      }
      this.cursor.skipTo(consumer.position(this.room.restaurantId) ?? this.cursor.position);
      this.send({ type: 'resync', id: this.cursor.position, reason: outcome.reason });
      this.goLive(0);
      return;
    }
    metrics.replays.inc();
    metrics.replayedEvents.inc(outcome.count);
    this.goLive(outcome.count);
  }

  private goLive(replayed: number): void {
    for (const entry of this.cursor.finishReplay()) this.sendEntry(entry);
    this.send({ type: 'ready', id: this.cursor.position, room: this.room.kind, replayed });
  }

  private sendEntry(entry: DeliverableEntry): void {
    if (this.sendRaw(entry.message)) this.delivered.inc();
  }

  private send(message: ServerMessage): void {
    this.sendRaw(JSON.stringify(message));
  }

  /** A Buffer is sent as a text frame without re-encoding (the fan-out shares one per event). */
  private sendRaw(data: string | Buffer): boolean {
    if (this.closed || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(data, { binary: false });
    if (this.socket.bufferedAmount > this.deps.maxBufferedBytes) {
      this.drop('slow_consumer', CLOSE_CODES.slowConsumer, 'slow consumer: reconnect and resume');
    }
    return true;
  }

  /** Closes the connection for `reason`; it stops receiving at once (the close frame may take a while to flush). */
  private drop(reason: Exclude<DropReason, 'heartbeat'>, code: number, text: string): void {
    if (this.closed) return;
    this.deps.metrics.droppedClients.inc({ reason });
    this.detach();
    this.socket.close(code, text);
  }

  private enqueue(step: () => Promise<void>): void {
    this.work = this.work.then(step).catch((error: unknown) => {
      this.deps.logger.error({ err: error, room: this.room.kind }, 'websocket session failed');
      if (!this.closed) {
        this.detach();
        this.socket.close(CLOSE_CODES.internalError, 'internal error');
      }
    });
  }

  /** Runs `step` until it succeeds (Redis may be unavailable) or the connection closes. */
  private async retrying<T>(what: string, step: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 1; !this.closed; attempt++) {
      try {
        return await step();
      } catch (error) {
        if (attempt === 1) this.deps.logger.warn({ err: (error as Error).message, what }, 'websocket session step failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_MIN_DELAY_MS * 2 ** attempt, RETRY_MAX_DELAY_MS)));
      }
    }
    return undefined;
  }

  private armExpiry(): void {
    const { expiresAtMs } = this.credentials;
    if (expiresAtMs === undefined) return;
    // The verifier accepts tokens up to the clock tolerance past `exp`; closing earlier would let
    // the client reconnect with the same token and loop.
    const closeAt = expiresAtMs + DEFAULT_CLOCK_TOLERANCE_SECONDS * 1000;
    const wait = closeAt - Date.now();
    this.expiryTimer = setTimeout(() => {
      if (Date.now() >= closeAt) this.drop('token_expired', CLOSE_CODES.tokenExpired, 'token expired: reconnect with a fresh token');
      else this.armExpiry();
    }, Math.max(0, Math.min(wait, MAX_TIMER_MS)));
    this.expiryTimer.unref();
  }

  private detach(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    if (this.deps.rooms.leave(this.room, this)) this.deps.consumer.untrack(this.room.restaurantId);
  }

  private onClose(): void {
    this.detach();
  }
}
