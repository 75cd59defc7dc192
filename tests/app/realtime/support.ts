/**
 * Shared by the realtime tests: a real Redis and a JWKS server on loopback, ws-main processes
 * started the way every app entry is started in tests (`appEntryCommand`), a publisher that
 * appends order events through the same module the API uses, and clients built on the typed
 * client with waits on conditions (never fixed sleeps).
 */
import * as http from 'node:http';
import Redis from 'ioredis';
import WebSocket from 'ws';
import { createOrderEventPublisher, type OrderEvent, type OrderEventPublisher } from '../../../app/src/events/order-events';
import { whenReady } from '../../../app/src/cache/redis-client';
import { createLogger } from '../../../app/src/logger';
import { RealtimeClient, type ReadyInfo, type WebSocketLike } from '../../../app/src/realtime/client';
import type { ResyncReason } from '../../../app/src/realtime/protocol';
import { appEntryCommand } from '../../../tools/services/app-process';
import { freePort, startProcess, waitFor, type StartedProcess } from '../../../tools/services/processes';
import type { RedisServer } from '../../../tools/services/redis-server';
import { AUDIENCE, createTokenMint, ISSUER, type TokenMint } from '../http/support';

export { AUDIENCE, ISSUER };

export interface JwksServer {
  readonly mint: TokenMint;
  readonly url: string;
  close(): Promise<void>;
}

export async function startJwksServer(): Promise<JwksServer> {
  const mint = await createTokenMint();
  const server = http.createServer((_req, res) => res.setHeader('Content-Type', 'application/json').end(JSON.stringify(mint.publicJwks)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    mint,
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks.json`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The environment contract of a ws process on the loopback harness (the database is never used by it). */
export function wsProcessEnvironment(options: { redis: RedisServer; port: number; internalPort: number; jwksUrl: string; extra?: Record<string, string> }): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    SERVICE_ROLE: 'ws',
    LOCATION_ID: 'test-cafe',
    PORT: String(options.port),
    INTERNAL_PORT: String(options.internalPort),
    LOG_LEVEL: 'warn',
    SHUTDOWN_GRACE_MS: '4000',
    DATABASE_PRIMARY_HOST: '127.0.0.1',
    DATABASE_NAME: 'unused',
    DATABASE_USER: 'unused',
    DATABASE_AUTH: 'password',
    DATABASE_PASSWORD: 'unused',
    DATABASE_SSL: 'disable',
    REDIS_HOST: options.redis.host,
    REDIS_PORT: String(options.redis.port),
    REDIS_TLS: 'false',
    REDIS_AUTH: 'none',
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    JWT_JWKS_URL: options.jwksUrl,
    ...options.extra,
  };
}

export interface WsProcess {
  readonly port: number;
  /** Probes and metrics (`/readyz`, `/metrics`). */
  readonly internalUrl: string;
  readonly url: string;
  readonly process: StartedProcess;
  readonly exited: Promise<number | null>;
  /** The value of a metric sample (`name{labels}` exactly as exposed), 0 when absent. */
  metric(sample: string): Promise<number>;
}

export async function startWsProcess(options: { redis: RedisServer; jwksUrl: string; extra?: Record<string, string> }): Promise<WsProcess> {
  const [port, internalPort] = await Promise.all([freePort(), freePort()]);
  const { command, args } = appEntryCommand('ws-main');
  const started = startProcess(command, args, { env: wsProcessEnvironment({ ...options, port, internalPort }) });
  const exited = new Promise<number | null>((resolve) => started.child.once('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${internalPort}`;
  await waitFor(`ws-main on port ${port} ready`, async () => (await fetch(`${base}/readyz`)).status === 200, 30_000, () => started.output());
  return {
    port,
    internalUrl: base,
    url: `ws://127.0.0.1:${port}/ws`,
    process: started,
    exited,
    metric: async (sample) => {
      const text = await (await fetch(`${base}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
      return line ? Number(line.slice(sample.length + 1)) : 0;
    },
  };
}

export interface EventPublisher {
  readonly publisher: OrderEventPublisher;
  readonly redis: Redis;
  close(): void;
}

/**
 * A publisher on a plain (unprefixed) client, through the API's own order-events module. Resolves
 * once connected: the publisher drops events while its client is not ready.
 */
export async function eventPublisher(redis: RedisServer): Promise<EventPublisher> {
  const client = new Redis(redis.port, redis.host, { maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  await whenReady(client);
  const logger = createLogger({ LOG_LEVEL: 'error', SERVICE_ROLE: 'api', LOCATION_ID: 'test-cafe' });
  return { publisher: createOrderEventPublisher({ redis: client, logger }), redis: client, close: () => client.disconnect() };
}

let orderSequence = 1000;
export function orderEvent(restaurantId: string, tableId: string | null, overrides: Partial<OrderEvent> = {}): OrderEvent {
  orderSequence += 1;
  return {
    v: 1,
    type: 'order.created',
    restaurant_id: restaurantId,
    order_id: String(orderSequence),
    table_id: tableId,
    status: 'pending',
    occurred_at: new Date().toISOString(),
    total_cents: 1000,
    ...overrides,
  };
}

/** Publishes and returns the stream id (the publisher resolves after XADD answered). */
export async function publishAndGetId(pub: EventPublisher, event: OrderEvent): Promise<string> {
  await pub.publisher.publish(event);
  const [last] = await pub.redis.xrevrange(`app:orders:${event.restaurant_id}`, '+', '-', 'COUNT', 1);
  return last![0];
}

export function nodeConnect(url: string, token: string): WebSocketLike {
  return new WebSocket(url, { headers: { Authorization: `Bearer ${token}` } }) as unknown as WebSocketLike;
}

/** The typed client plus everything it observed, and condition waits. */
export class TestClient {
  readonly events: { id: string; event: OrderEvent }[] = [];
  readonly readies: ReadyInfo[] = [];
  readonly resyncs: string[] = [];
  readonly resyncReasons: (ResyncReason | undefined)[] = [];
  readonly closes: { code: number; reason: string; willReconnect: boolean; retryInMs?: number }[] = [];
  readonly client: RealtimeClient;

  constructor(urls: string | (() => string), token: string, options: { lastId?: string } = {}) {
    const pick = typeof urls === 'string' ? () => urls : urls;
    this.client = new RealtimeClient({
      url: 'ws://placeholder.invalid/ws',
      token,
      lastId: options.lastId,
      initialBackoffMs: 20,
      maxBackoffMs: 200,
      // The url is chosen per attempt (a killed server's clients reconnect to another).
      connect: (url, t) => nodeConnect(url.replace('ws://placeholder.invalid/ws', pick()), t),
      onEvent: (event, id) => this.events.push({ id, event }),
      onReady: (info) => this.readies.push(info),
      onResync: (id, reason) => {
        this.resyncs.push(id);
        this.resyncReasons.push(reason);
      },
      onClose: (info) => this.closes.push(info),
    });
  }

  orderIds(): string[] {
    return this.events.map((e) => e.event.order_id);
  }

  async until(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
    await waitFor(what, async () => condition(), timeoutMs, () => `events: ${JSON.stringify(this.orderIds())} readies: ${this.readies.length} closes: ${JSON.stringify(this.closes)}`);
  }

  /** Waits for `ready` number `n` (1 = the first connection). */
  ready(n = 1): Promise<void> {
    return this.until(`ready #${n}`, () => this.readies.length >= n);
  }

  close(): void {
    this.client.close();
  }
}

/** How a raw connection attempt ended: live (`ready` received), closed by the server first, or refused at the upgrade. */
export type RawConnection =
  | { readonly outcome: 'ready'; readonly socket: WebSocket }
  | { readonly outcome: 'closed'; readonly code: number; readonly reason: string }
  | { readonly outcome: 'refused'; readonly status: number; readonly headers: http.IncomingHttpHeaders; readonly body: string };

/**
 * Opens a websocket with the `ws` package (no reconnects) and resolves once its fate is known.
 * `tokenIn: 'query'` sends the token as browsers do (`?access_token=`).
 */
export function openRaw(url: string, token: string, options: { localAddress?: string; tokenIn?: 'header' | 'query' } = {}): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (result: RawConnection) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    const inQuery = options.tokenIn === 'query';
    const ws = new WebSocket(inQuery ? `${url}?access_token=${token}` : url, {
      headers: inQuery ? {} : { Authorization: `Bearer ${token}` },
      localAddress: options.localAddress,
      perMessageDeflate: false,
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        settle({ outcome: 'refused', status: res.statusCode ?? 0, headers: res.headers, body });
        ws.terminate();
      });
    });
    ws.on('message', (data) => {
      if ((JSON.parse(data.toString()) as { type: string }).type === 'ready') settle({ outcome: 'ready', socket: ws });
    });
    ws.on('close', (code, reason) => settle({ outcome: 'closed', code, reason: reason.toString() }));
    ws.on('error', (error) => {
      if (!settled) reject(error);
    });
  });
}
