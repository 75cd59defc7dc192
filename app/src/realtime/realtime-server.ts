/**
 * The realtime service: an HTTP server with the websocket upgrade at `/ws`, an internal one
 * (INTERNAL_PORT, for the kubelet and Prometheus only) with `/healthz`, `/readyz` and `/metrics`,
 * the stream consumer that feeds every local room, and the heartbeat.
 *
 * Readiness fails only while draining. Not while Redis is down: every pod shares it, so a Redis
 * failover would take every pod out of the Service at once and nginx would answer 502 to every
 * upgrade; the open websockets stay up and resume delivery once Redis is back (stream-consumer.ts).
 *
 * Sockets over the per-subject or per-table cap (`connection-limits.ts`) are closed with 4002 right
 * after the handshake: a browser sees that code (it never sees the status of a refused upgrade), so
 * the client can back off instead of reconnecting in a loop.
 *
 * Shutdown (`drain`, then `close`): upgrades are refused with 503 and readiness fails; after the
 * drain delay every connection is closed with 1001 (the client reconnects to another pod and
 * resumes from its last id); then the consumer stops and the listener closes.
 */
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Redis } from 'ioredis';
import { WebSocketServer, type WebSocket } from 'ws';
import { LIVENESS_PATH, METRICS_PATH, READINESS_PATH } from '../../../contract/constants';
import type { AppConfig } from '../config';
import type { Logger } from '../logger';
import type { TokenVerifier } from '../auth/verify-token';
import { ConnectionLimits, type ConnectionLimitKind } from './connection-limits';
import { startHeartbeat } from './heartbeat';
import { CLOSE_CODES, REALTIME_PATH, TOKEN_SUBPROTOCOL } from './protocol';
import type { RealtimeMetrics } from './realtime-metrics';
import { RoomRegistry } from './rooms';
import { Session } from './session';
import { StreamConsumer } from './stream-consumer';
import { streamIdSchema } from './stream-ids';
import { authenticateUpgrade, refuseUpgrade } from './upgrade-auth';

/**
 * A socket refused by a connection cap gets this long to answer the 4002 close frame; then it is
 * terminated, so a flooding client that ignores close frames holds nothing (ws would wait 30 s).
 */
const REFUSED_SOCKET_CLOSE_TIMEOUT_MS = 1000;

const LIMIT_CLOSE_REASONS: Readonly<Record<ConnectionLimitKind, string>> = {
  subject: 'too many connections for this token: close one, retry later',
  table: 'too many connections for this table: close one, retry later',
};

export type RealtimeConfig = Pick<
  AppConfig,
  | 'WS_HEARTBEAT_INTERVAL_MS'
  | 'WS_REPLAY_WINDOW_MS'
  | 'WS_MAX_BUFFERED_BYTES'
  | 'WS_MAX_PAYLOAD_BYTES'
  | 'WS_STREAM_BLOCK_MS'
  | 'WS_MAX_SOCKETS_PER_SUBJECT'
  | 'WS_MAX_SOCKETS_PER_TABLE'
  | 'WS_CLIENT_MESSAGE_BURST'
  | 'WS_CLIENT_MESSAGES_PER_SECOND'
>;

export interface RealtimeServerOptions {
  readonly config: RealtimeConfig;
  readonly logger: Logger;
  readonly metrics: RealtimeMetrics;
  readonly verifyToken: TokenVerifier;
  /** Replays, position look-ups and readiness. */
  readonly commands: Redis;
  /** Dedicated to XREAD BLOCK; must have `maxRetriesPerRequest: 0` (see stream-consumer.ts). */
  readonly reader: Redis;
}

export interface RealtimeServer {
  readonly server: http.Server;
  /** Probes and metrics: listen on INTERNAL_PORT (ws-main.ts). */
  readonly internalServer: http.Server;
  readonly connections: () => number;
  /** Refuses new upgrades (503) and fails readiness. */
  startDraining(): void;
  /** Closes every connection with `code` and resolves once all are closed (terminating stragglers after `timeoutMs`). */
  closeConnections(code: number, timeoutMs: number): Promise<void>;
  /** Stops the heartbeat and the consumer and closes the listener (connections must be closed first). */
  close(): Promise<void>;
}

export function createRealtimeServer(options: RealtimeServerOptions): RealtimeServer {
  const { config, logger, metrics, commands } = options;
  const rooms = new RoomRegistry<Session>();
  const sockets = new Set<WebSocket>();
  const limits = new ConnectionLimits({ maxPerSubject: config.WS_MAX_SOCKETS_PER_SUBJECT, maxPerTable: config.WS_MAX_SOCKETS_PER_TABLE });
  let draining = false;

  const consumer = new StreamConsumer({
    reader: options.reader,
    commands,
    blockMs: config.WS_STREAM_BLOCK_MS,
    logger,
    onReadError: () => metrics.streamReadErrors.inc(),
    dispatch: (entry) => {
      for (const key of entry.roomKeys) {
        const members = rooms.membersOf(key);
        if (members) for (const session of members) session.offerLive(entry);
      }
      metrics.deliveryLag.observe(Math.max(0, Date.now() - entry.appendedAtMs) / 1000);
    },
  });
  consumer.start();
  metrics.observeConnections(() => rooms.countByKind());

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.WS_MAX_PAYLOAD_BYTES,
    perMessageDeflate: false,
    clientTracking: false,
    // A browser that authenticated with the token subprotocol must see it selected (or it fails the
    // handshake); the `bearer.<token>` entry is never echoed.
    handleProtocols: (offered) => (offered.has(TOKEN_SUBPROTOCOL) ? TOKEN_SUBPROTOCOL : false),
  });
  const heartbeat = startHeartbeat({
    intervalMs: config.WS_HEARTBEAT_INTERVAL_MS,
    sockets: () => sockets,
    onDead: () => metrics.droppedClients.inc({ reason: 'heartbeat' }),
  });
  const sessionDependencies = {
    commands,
    consumer,
    rooms,
    metrics,
    logger,
    replayWindowMs: config.WS_REPLAY_WINDOW_MS,
    maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
    messageRate: { burst: config.WS_CLIENT_MESSAGE_BURST, perSecond: config.WS_CLIENT_MESSAGES_PER_SECOND },
  };

  const server = http.createServer((req, res) => {
    void handleHttp(req, res).catch((error: unknown) => {
      logger.error({ err: error }, 'http endpoint failed');
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  server.keepAliveTimeout = 65_000;

  // Probes and metrics are on the internal server only: every other request here is a 404.
  async function handleHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'GET') return void res.writeHead(405, { Allow: 'GET' }).end();
    json(res, 404, { error: 'not_found' });
  }

  const internalServer = http.createServer((req, res) => {
    void handleInternal(req, res).catch((error: unknown) => {
      logger.error({ err: error }, 'internal endpoint failed');
      if (!res.headersSent) res.writeHead(500).end();
    });
  });

  async function handleInternal(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') return void res.writeHead(405, { Allow: 'GET' }).end();
    if (path === LIVENESS_PATH) return json(res, 200, { status: 'ok' });
    if (path === READINESS_PATH) return json(res, draining ? 503 : 200, { status: draining ? 'not_ready' : 'ready', draining });
    if (path === METRICS_PATH) {
      res.writeHead(200, { 'Content-Type': metrics.registry.contentType, 'Cache-Control': 'no-store' });
      return void res.end(await metrics.registry.metrics());
    }
    json(res, 404, { error: 'not_found' });
  }

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined); // a client resetting mid-handshake must not crash the process
    void handleUpgrade(req, socket, head).catch((error: unknown) => {
      logger.error({ err: error }, 'upgrade failed');
      socket.destroy();
    });
  });

  async function handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://realtime.invalid');
    if (url.pathname !== REALTIME_PATH) {
      metrics.upgradeRejections.inc({ reason: 'not_found' });
      return refuseUpgrade(socket, 404);
    }
    if (draining) {
      metrics.upgradeRejections.inc({ reason: 'draining' });
      return refuseUpgrade(socket, 503);
    }
    const credentials = await authenticateUpgrade(options.verifyToken, req, url);
    if (!credentials) {
      metrics.upgradeRejections.inc({ reason: 'unauthorized' });
      return refuseUpgrade(socket, 401, { 'WWW-Authenticate': 'Bearer' });
    }
    const lastIdParam = url.searchParams.get('last_id');
    const lastId = lastIdParam === null ? undefined : streamIdSchema.safeParse(lastIdParam);
    if (lastId && !lastId.success) {
      metrics.upgradeRejections.inc({ reason: 'bad_request' });
      return refuseUpgrade(socket, 400);
    }
    if (draining || socket.destroyed) return refuseUpgrade(socket, 503);
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.once('close', () => sockets.delete(ws));
      ws.on('error', (error) => logger.debug({ err: error.message }, 'websocket error'));
      // Counted here, synchronously, once the handshake is done: no race between check and count,
      // and no slot held by a handshake that never completed.
      const admission = limits.admit(credentials.claims);
      if (!admission.admitted) {
        metrics.connectionLimitRefusals.inc({ limit: admission.limit });
        ws.close(CLOSE_CODES.connectionLimit, LIMIT_CLOSE_REASONS[admission.limit]);
        setTimeout(() => ws.terminate(), REFUSED_SOCKET_CLOSE_TIMEOUT_MS).unref();
        return;
      }
      ws.once('close', admission.release);
      heartbeat.watch(ws);
      new Session(ws, credentials, sessionDependencies).start(lastId?.data);
    });
  }

  return {
    server,
    internalServer,
    connections: () => sockets.size,
    startDraining: () => {
      draining = true;
    },
    closeConnections: async (code, timeoutMs) => {
      const open = [...sockets];
      if (open.length === 0) return;
      const allClosed = Promise.all(open.map((ws) => new Promise<void>((resolve) => (ws.readyState === ws.CLOSED ? resolve() : ws.once('close', () => resolve())))));
      for (const ws of open) ws.close(code, code === CLOSE_CODES.goingAway ? 'server shutting down: reconnect and resume' : undefined);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([allClosed, timedOut]);
      clearTimeout(timer);
      for (const ws of sockets) ws.terminate();
    },
    close: async () => {
      heartbeat.stop();
      await consumer.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      if (internalServer.listening) {
        const internalClosed = new Promise<void>((resolve) => internalServer.close(() => resolve()));
        internalServer.closeAllConnections();
        await internalClosed;
      }
    },
  };
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify(body));
}
