/**
 * The websocket protocol between the realtime service and its clients (documented for front-end
 * teams in README.md). Server messages are JSON objects with a `type` and the stream `id` they
 * leave the client at; client messages are validated with `clientMessageSchema` and anything else
 * closes the socket with 1008.
 */
import { z } from 'zod';
import type { OrderEvent } from '../events/order-events';
import { streamIdSchema } from './stream-ids';

/** The upgrade path; nginx proxies `location /ws` here unchanged. */
export const REALTIME_PATH = '/ws';

/**
 * How a browser authenticates: it cannot set headers on a WebSocket, but it can offer
 * subprotocols, which travel in the `Sec-WebSocket-Protocol` request header. The client offers
 * TOKEN_SUBPROTOCOL and `bearer.<token>` (`tokenSubprotocols`); the server selects
 * TOKEN_SUBPROTOCOL, so the token is never echoed. Unlike the `access_token` query parameter (still
 * accepted), the token stays out of the URL, and so out of nginx's error log (which records the
 * request line of a request whose upstream failed) and the browser's console (which prints the
 * URL of a failed handshake).
 */
export const TOKEN_SUBPROTOCOL = 'bearer';
const TOKEN_SUBPROTOCOL_PREFIX = `${TOKEN_SUBPROTOCOL}.`;

/** The subprotocols a browser offers to authenticate with `token`. */
export function tokenSubprotocols(token: string): string[] {
  return [TOKEN_SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token}`];
}

/**
 * The token of a `Sec-WebSocket-Protocol` header: undefined when TOKEN_SUBPROTOCOL is not offered,
 * null when it is but no `bearer.<token>` entry comes with it.
 */
export function subprotocolToken(header: string | undefined): string | null | undefined {
  if (header === undefined) return undefined;
  const offered = header.split(',').map((p) => p.trim());
  if (!offered.includes(TOKEN_SUBPROTOCOL)) return undefined;
  const entry = offered.find((p) => p.startsWith(TOKEN_SUBPROTOCOL_PREFIX));
  return entry === undefined ? null : entry.slice(TOKEN_SUBPROTOCOL_PREFIX.length);
}

export const CLOSE_CODES = {
  /** The server is shutting down (deploy, scale-in): reconnect (another pod answers) and resume. */
  goingAway: 1001,
  /** The client sent something that is not a valid client message: a client bug; do not retry blindly. */
  policyViolation: 1008,
  /** The client sent a message above the payload limit (closed by the ws library). */
  messageTooBig: 1009,
  /** An unexpected server error: reconnect with backoff and resume. */
  internalError: 1011,
  /** The client did not read fast enough (send buffer over the bound): reconnect and resume. */
  slowConsumer: 4000,
  /** The access token expired: reconnect with a fresh token and resume. */
  tokenExpired: 4001,
  /**
   * Too many open connections for this token's subject or this table (`realtime-server.ts`): close
   * a connection you no longer need; retry after a long backoff, never at once.
   */
  connectionLimit: 4002,
} as const;

/** Why the server answered a resume with `resync`. */
export type ResyncReason =
  /** The first missed event is older than the replay window. */
  | 'outside_window'
  /** Events after `last_id` may have been trimmed from the stream. */
  | 'trimmed'
  /** `last_id` is after the newest id the stream ever had: not an id this server gave out. */
  | 'ahead_of_stream';

export const clientMessageSchema = z.discriminatedUnion('type', [
  /** Replays every event after `last_id`, then continues live (the id of the last message received). */
  z.object({ type: z.literal('resume'), last_id: streamIdSchema }).strict(),
  /** Application-level liveness check (browsers cannot see protocol pings); answered with `pong`. */
  z.object({ type: z.literal('ping') }).strict(),
]);

export type ClientMessage = z.infer<typeof clientMessageSchema>;

export type RoomKind = 'restaurant' | 'kitchen' | 'table';

export type ServerMessage =
  /** One order event; `id` is its stream id: keep it and resume from it. */
  | { type: 'event'; id: string; event: OrderEvent }
  /** Replay (if any) is done; live events follow. `id` is the position to resume from. */
  | { type: 'ready'; id: string; room: RoomKind; replayed: number }
  /**
   * The requested `last_id` cannot be replayed (outside the replay window, trimmed, or ahead of the
   * stream): reload state from the REST API. Live events continue after `id`, so reload after
   * receiving this and apply later events.
   */
  | { type: 'resync'; id: string; reason: ResyncReason }
  | { type: 'pong'; id: string };

/** Parses one client frame; undefined when it is not a valid client message. */
export function parseClientMessage(data: string): ClientMessage | undefined {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return undefined;
  }
  const parsed = clientMessageSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}
