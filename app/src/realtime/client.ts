/**
 * A small typed client for the realtime service (README.md documents the protocol for front-end
 * teams): connects with a bearer token, keeps the id of the last message, reconnects with
 * exponential backoff and full jitter, resumes from that id (missed events are replayed, none is
 * delivered twice), and surfaces `resync` when the server can no longer replay. A connection-limit
 * refusal (4002) waits out a long backoff instead: reconnecting at once would be refused again and
 * keep the socket count up (a tab that loops is the flood the limit is there for).
 *
 * It depends on no Node API: pass `connect` to choose the WebSocket implementation (the `ws`
 * package in Node, with the token in the `Authorization` header; the browser's WebSocket, with
 * the token in the `bearer` subprotocol (protocol.ts, tokenSubprotocols), is the default where it
 * exists).
 */
import type { OrderEvent } from '../events/order-events';
import { CLOSE_CODES, tokenSubprotocols, type ResyncReason, type RoomKind, type ServerMessage } from './protocol';
import { compareStreamIds } from './stream-ids';

/** The subset of the WebSocket API the client uses (browser WebSocket and `ws` both have it). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string | Buffer }) => void) | null;
  onerror: ((event: { message?: string; error?: unknown }) => void) | null;
}

export interface ReadyInfo {
  readonly id: string;
  readonly room: RoomKind;
  /** Events replayed on this connection before `ready`. */
  readonly replayed: number;
}

export interface RealtimeClientOptions {
  /** `wss://host/ws` (no query string; the client adds `last_id`). */
  readonly url: string;
  /** The access token, or a function called before every connection attempt (to refresh it). */
  readonly token: string | (() => string | Promise<string>);
  /** Resume from this id on the first connection. @default - start with live events */
  readonly lastId?: string;
  /** Opens a socket. @default - globalThis.WebSocket with the token in the `bearer` subprotocol */
  readonly connect?: (url: string, token: string) => WebSocketLike;
  /** First reconnect delay ceiling; doubles per failed attempt. @default 250 */
  readonly initialBackoffMs?: number;
  /** @default 10000 */
  readonly maxBackoffMs?: number;
  /**
   * After a 4002 (too many connections for this token or table) the next attempt waits between
   * half of this and all of it.
   * @default 30000
   */
  readonly connectionLimitBackoffMs?: number;
  /** @default Math.random */
  readonly random?: () => number;
  readonly onEvent?: (event: OrderEvent, id: string) => void;
  readonly onReady?: (info: ReadyInfo) => void;
  /** Reload state from the REST API; live events continue after `id`. */
  readonly onResync?: (id: string, reason: ResyncReason | undefined) => void;
  /** `retryInMs`: when the next attempt starts (undefined when it will not reconnect). */
  readonly onClose?: (info: { code: number; reason: string; willReconnect: boolean; retryInMs?: number }) => void;
  readonly onError?: (error: Error) => void;
}

/** Codes after which reconnecting would fail the same way (a client bug). */
const FATAL_CLOSE_CODES = new Set<number>([CLOSE_CODES.policyViolation, CLOSE_CODES.messageTooBig]);

/** Full-jitter backoff: uniformly random up to min(max, initial * 2^attempt). */
export function backoffDelayMs(attempt: number, initialMs: number, maxMs: number, random: () => number): number {
  return Math.floor(random() * Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30)));
}

/** After a connection-limit refusal: between half of `limitBackoffMs` and all of it, never soon. */
export function connectionLimitDelayMs(limitBackoffMs: number, random: () => number): number {
  return Math.floor(limitBackoffMs / 2 + (random() * limitBackoffMs) / 2);
}

export class RealtimeClient {
  private socket: WebSocketLike | undefined;
  private lastSeenId: string | undefined;
  private attempt = 0;
  private stopped = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private live = false;

  constructor(private readonly options: RealtimeClientOptions) {
    this.lastSeenId = options.lastId;
    void this.open();
  }

  /** The id to resume from: the last message's id. */
  get lastId(): string | undefined {
    return this.lastSeenId;
  }

  /** True between `ready` and the next close. */
  get isLive(): boolean {
    return this.live;
  }

  /** Asks the server to replay from `lastId` on the open connection. */
  resume(lastId: string): void {
    this.lastSeenId = lastId;
    this.socket?.send(JSON.stringify({ type: 'resume', last_id: lastId }));
  }

  /** Closes for good (no reconnect). */
  close(): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.socket?.close(1000, 'client closed');
  }

  private async open(): Promise<void> {
    if (this.stopped) return;
    let token: string;
    try {
      token = typeof this.options.token === 'string' ? this.options.token : await this.options.token();
    } catch (error) {
      this.options.onError?.(error as Error);
      return this.scheduleReconnect();
    }
    if (this.stopped) return;
    const url = new URL(this.options.url);
    if (this.lastSeenId !== undefined) url.searchParams.set('last_id', this.lastSeenId);
    let socket: WebSocketLike;
    try {
      socket = (this.options.connect ?? browserConnect)(url.toString(), token);
    } catch (error) {
      this.options.onError?.(error as Error);
      return this.scheduleReconnect();
    }
    this.socket = socket;
    socket.onmessage = (message) => this.onMessage(String(message.data));
    socket.onerror = (event) => this.options.onError?.(new Error(event.message ?? 'websocket error'));
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.live = false;
      const willReconnect = !this.stopped && !FATAL_CLOSE_CODES.has(event.code);
      const retryInMs = willReconnect ? this.nextDelayMs(event.code) : undefined;
      this.options.onClose?.({ code: event.code, reason: String(event.reason ?? ''), willReconnect, retryInMs });
      if (retryInMs !== undefined) this.scheduleReconnect(retryInMs);
    };
  }

  private nextDelayMs(closeCode?: number): number {
    const random = this.options.random ?? Math.random;
    const exponential = backoffDelayMs(this.attempt++, this.options.initialBackoffMs ?? 250, this.options.maxBackoffMs ?? 10_000, random);
    if (closeCode !== CLOSE_CODES.connectionLimit) return exponential;
    return Math.max(exponential, connectionLimitDelayMs(this.options.connectionLimitBackoffMs ?? 30_000, random));
  }

  private scheduleReconnect(delayMs = this.nextDelayMs()): void {
    if (this.stopped) return;
    this.reconnectTimer = setTimeout(() => void this.open(), delayMs);
  }

  private onMessage(data: string): void {
    let message: ServerMessage;
    try {
      message = JSON.parse(data) as ServerMessage;
    } catch {
      this.options.onError?.(new Error('server sent a message that is not JSON'));
      return;
    }
    switch (message.type) {
      case 'event':
        // Never twice: ids only grow, so anything at or before the last id was seen already.
        if (this.lastSeenId !== undefined && compareStreamIds(message.id, this.lastSeenId) <= 0) return;
        this.lastSeenId = message.id;
        this.options.onEvent?.(message.event, message.id);
        return;
      case 'ready':
        this.lastSeenId = this.laterOf(message.id);
        this.attempt = 0;
        this.live = true;
        this.options.onReady?.({ id: message.id, room: message.room, replayed: message.replayed });
        return;
      case 'resync':
        this.lastSeenId = message.id;
        this.options.onResync?.(message.id, message.reason);
        return;
      case 'pong':
        return;
    }
  }

  private laterOf(id: string): string {
    return this.lastSeenId === undefined || compareStreamIds(id, this.lastSeenId) > 0 ? id : this.lastSeenId;
  }
}

/** The browser's WebSocket; the token goes in a subprotocol, never in the URL (protocol.ts says why). */
export function browserConnect(url: string, token: string): WebSocketLike {
  const Native = (globalThis as { WebSocket?: new (url: string, protocols: string[]) => WebSocketLike }).WebSocket;
  if (!Native) throw new Error('no global WebSocket: pass `connect` (e.g. with the ws package)');
  return new Native(url, tokenSubprotocols(token));
}
