/**
 * `npm run bench:ws`: the realtime service under load on this machine. Real Redis, three ws-main
 * processes (the bundles that ship), N clients (1,000 then 5,000) spread over the three with the
 * typed client, and a publisher appending order events at a steady rate to a few restaurants'
 * streams through the API's own order-events module.
 *
 * Measures: delivery latency p50/p99 (publish call to receipt, same clock: publisher and clients
 * share this process), events lost (each client checks it got every event of its room, in order,
 * exactly once), and memory per connection (RSS growth of the ws processes / connections).
 * Target: p99 < 100 ms at 5,000 clients, 0 lost. Writes bench-results/ws-bench.json.
 *
 * The load generator shares the machine's two cores with Redis and the three servers, so latency
 * includes this process's own event-loop time for receiving every message.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import WebSocket from 'ws';
import Redis from 'ioredis';
import { buildApp } from '../../app/build';
import { whenReady } from '../../app/src/cache/redis-client';
import { createOrderEventPublisher, type OrderEvent } from '../../app/src/events/order-events';
import { createLogger } from '../../app/src/logger';
import { RealtimeClient, type WebSocketLike } from '../../app/src/realtime/client';
import { roomFor, roomKeysForEvent } from '../../app/src/realtime/rooms';
import { renderTable } from '../../stacks/cli/table';
import { AUDIENCE, createTokenMint, ISSUER } from '../services/token-mint';
import { appEntryCommand } from '../services/app-process';
import { freePort, startProcess, waitFor, type StartedProcess } from '../services/processes';
import { startRedis, type RedisServer } from '../services/redis-server';

const REPO = path.resolve(__dirname, '../..');
const CLIENT_COUNTS = (process.env.WS_BENCH_CLIENTS ?? '1000,5000').split(',').map(Number);
const RESTAURANTS = ['101', '102', '103', '104'];
const TABLES_PER_RESTAURANT = 20;
const EVENTS_PER_SECOND = Number(process.env.WS_BENCH_RATE ?? 50);
const DURATION_SECONDS = Number(process.env.WS_BENCH_SECONDS ?? 15);
const CONNECT_CONCURRENCY = 200;
const P99_TARGET_MS = 100;

interface PhaseResult {
  clients: number;
  events_published: number;
  messages_expected: number;
  messages_received: number;
  events_lost: number;
  duplicates_or_out_of_order: number;
  latency_p50_ms: number;
  latency_p99_ms: number;
  latency_max_ms: number;
  rss_per_connection_kib: number;
  connect_seconds: number;
  reconnects: number;
  /** p99 of the events published in each second of the run (where the tail comes from). */
  latency_p99_by_second_ms: number[];
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function rssKib(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

function openFilesLimit(): string {
  const limits = fs.readFileSync('/proc/self/limits', 'utf8');
  const line = limits.split('\n').find((l) => l.startsWith('Max open files'));
  return line ? line.replace(/\s+/g, ' ').trim() : 'unknown';
}

async function startWs(redis: RedisServer, jwksUrl: string): Promise<{ url: string; process: StartedProcess; port: number }> {
  const [port, internalPort] = await Promise.all([freePort(), freePort()]);
  const { command, args } = appEntryCommand('ws-main');
  const started = startProcess(command, args, {
    cwd: REPO,
    env: {
      PATH: process.env.PATH ?? '',
      SERVICE_ROLE: 'ws',
      LOCATION_ID: 'bench-cafe',
      PORT: String(port),
      INTERNAL_PORT: String(internalPort),
      LOG_LEVEL: 'warn',
      DATABASE_PRIMARY_HOST: '127.0.0.1',
      DATABASE_NAME: 'unused',
      DATABASE_USER: 'unused',
      DATABASE_AUTH: 'password',
      DATABASE_PASSWORD: 'unused',
      DATABASE_SSL: 'disable',
      REDIS_HOST: redis.host,
      REDIS_PORT: String(redis.port),
      REDIS_TLS: 'false',
      REDIS_AUTH: 'none',
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      JWT_JWKS_URL: jwksUrl,
      // The bench shares one token per identity over thousands of sockets to measure fan-out; the
      // per-token and per-table caps (what protects a real location) would refuse most of them.
      WS_MAX_SOCKETS_PER_SUBJECT: '1000000',
      WS_MAX_SOCKETS_PER_TABLE: '1000000',
    },
  });
  await waitFor(`ws-main on ${port}`, async () => (await fetch(`http://127.0.0.1:${internalPort}/readyz`)).status === 200, 30_000, () => started.output());
  return { url: `ws://127.0.0.1:${port}/ws`, process: started, port };
}

interface BenchClient {
  readonly roomKey: string;
  readonly client: RealtimeClient;
  received: string[];
  ready: boolean;
  reconnects: number;
}

async function runPhase(clientCount: number, redis: RedisServer, jwksUrl: string, mint: Awaited<ReturnType<typeof createTokenMint>>): Promise<PhaseResult> {
  const servers = await Promise.all([0, 1, 2].map(() => startWs(redis, jwksUrl)));
  const publisherRedis = new Redis(redis.port, redis.host, { maxRetriesPerRequest: 1 });
  try {
    await whenReady(publisherRedis);
    const publisher = createOrderEventPublisher({ redis: publisherRedis, logger: createLogger({ LOG_LEVEL: 'error', SERVICE_ROLE: 'api', LOCATION_ID: 'bench' }) });
    const baselineKib = servers.reduce((sum, s) => sum + rssKib(s.process.child.pid!), 0);

    // Claims mix: 10% staff, 5% kitchen, the rest guests over the tables; tokens shared per identity.
    const tokenCache = new Map<string, Promise<string>>();
    const token = (claims: Record<string, string>) => {
      const key = JSON.stringify(claims);
      if (!tokenCache.has(key)) tokenCache.set(key, mint.sign({ sub: key, ...claims }, { expiresIn: '1h' }));
      return tokenCache.get(key)!;
    };
    const publishedAt = new Map<string, number>();
    const latencies = new Float64Array(clientCount * EVENTS_PER_SECOND * DURATION_SECONDS);
    const bySecond: number[][] = Array.from({ length: DURATION_SECONDS + 1 }, () => []);
    let samples = 0;
    let t0 = 0;
    const clients: BenchClient[] = [];
    const connectStarted = performance.now();
    for (let start = 0; start < clientCount; start += CONNECT_CONCURRENCY) {
      const batch: Promise<void>[] = [];
      for (let i = start; i < Math.min(clientCount, start + CONNECT_CONCURRENCY); i++) {
        const restaurant = RESTAURANTS[i % RESTAURANTS.length]!;
        const slot = Math.floor(i / RESTAURANTS.length) % 20;
        const claims: Record<string, string> =
          slot < 2 ? { role: 'staff', restaurant_id: restaurant } : slot < 3 ? { role: 'kitchen', restaurant_id: restaurant } : { role: 'guest', restaurant_id: restaurant, table_id: String(1 + (i % TABLES_PER_RESTAURANT)) };
        const roomKey = roomFor({ sub: 'x', ...claims } as Parameters<typeof roomFor>[0]).key;
        const server = servers[i % servers.length]!;
        const bearer = await token(claims);
        batch.push(
          new Promise<void>((resolve) => {
            const state: BenchClient = {
              roomKey,
              received: [],
              ready: false,
              reconnects: 0,
              client: new RealtimeClient({
                url: server.url,
                token: bearer,
                initialBackoffMs: 100,
                maxBackoffMs: 2000,
                connect: (url, t) => new WebSocket(url, { headers: { Authorization: `Bearer ${t}` }, perMessageDeflate: false }) as unknown as WebSocketLike,
                onEvent: (event) => {
                  const sent = publishedAt.get(event.order_id);
                  if (sent !== undefined && samples < latencies.length) {
                    const latency = performance.now() - sent;
                    latencies[samples++] = latency;
                    bySecond[Math.min(DURATION_SECONDS, Math.floor((sent - t0) / 1000))]!.push(latency);
                  }
                  state.received.push(event.order_id);
                },
                onReady: () => {
                  if (state.ready) state.reconnects += 1;
                  state.ready = true;
                  resolve();
                },
              }),
            };
            clients.push(state);
          }),
        );
      }
      await Promise.all(batch);
    }
    const connectSeconds = (performance.now() - connectStarted) / 1000;
    const connectedKib = servers.reduce((sum, s) => sum + rssKib(s.process.child.pid!), 0);

    // Steady rate, scheduled against the clock (no drift from publish time).
    const total = EVENTS_PER_SECOND * DURATION_SECONDS;
    const events: OrderEvent[] = [];
    t0 = performance.now();
    for (let n = 0; n < total; n++) {
      const due = t0 + (n * 1000) / EVENTS_PER_SECOND;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const restaurant = RESTAURANTS[n % RESTAURANTS.length]!;
      const event: OrderEvent = {
        v: 1,
        type: 'order.created',
        restaurant_id: restaurant,
        order_id: String(1_000_000 + n),
        table_id: String(1 + (n % TABLES_PER_RESTAURANT)),
        status: 'pending',
        occurred_at: new Date().toISOString(),
        total_cents: 4200,
      };
      events.push(event);
      publishedAt.set(event.order_id, performance.now());
      void publisher.publish(event);
    }
    const expectedFor = (roomKey: string) => events.filter((e) => roomKeysForEvent(e).includes(roomKey)).map((e) => e.order_id);
    const expectedByRoom = new Map<string, string[]>();
    for (const c of clients) if (!expectedByRoom.has(c.roomKey)) expectedByRoom.set(c.roomKey, expectedFor(c.roomKey));
    const messagesExpected = clients.reduce((sum, c) => sum + expectedByRoom.get(c.roomKey)!.length, 0);
    const received = () => clients.reduce((sum, c) => sum + c.received.length, 0);
    await waitFor('every client to receive its events', async () => received() >= messagesExpected, 60_000).catch(() => undefined);

    let lost = 0;
    let disorder = 0;
    for (const c of clients) {
      const want = expectedByRoom.get(c.roomKey)!;
      const got = new Set(c.received);
      lost += want.filter((id) => !got.has(id)).length;
      if (c.received.length !== got.size || c.received.join(',') !== want.filter((id) => got.has(id)).join(',')) disorder += 1;
    }
    const sorted = latencies.slice(0, samples).sort();
    for (const c of clients) c.client.close();
    if (publisher.failures() > 0) process.stderr.write(`publisher failures: ${publisher.failures()}\n`);
    return {
      clients: clientCount,
      events_published: total,
      messages_expected: messagesExpected,
      messages_received: received(),
      events_lost: lost,
      duplicates_or_out_of_order: disorder,
      latency_p50_ms: Number(percentile(sorted, 50).toFixed(2)),
      latency_p99_ms: Number(percentile(sorted, 99).toFixed(2)),
      latency_max_ms: Number((sorted[sorted.length - 1] ?? NaN).toFixed(2)),
      rss_per_connection_kib: Number(((connectedKib - baselineKib) / clientCount).toFixed(1)),
      connect_seconds: Number(connectSeconds.toFixed(2)),
      reconnects: clients.reduce((sum, c) => sum + c.reconnects, 0),
      latency_p99_by_second_ms: bySecond.filter((l) => l.length > 0).map((l) => Number(percentile(Float64Array.from(l).sort(), 99).toFixed(1))),
    };
  } finally {
    publisherRedis.disconnect();
    await Promise.all(servers.map((s) => s.process.stop('SIGTERM')));
  }
}

async function main(): Promise<number> {
  const built = await buildApp();
  process.stdout.write(`bundled ${built.entries.map((e) => e.name).join(', ')} in ${(built.elapsedMs / 1000).toFixed(2)} s\n`);
  process.stdout.write(`file descriptors: ${openFilesLimit()} (each client costs one here and one in a ws process)\n`);
  const mint = await createTokenMint();
  const jwks = JSON.stringify(mint.publicJwks);
  const jwksServer = http.createServer((_req, res) => res.setHeader('Content-Type', 'application/json').end(jwks));
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}/jwks.json`;
  const loadBefore = os.loadavg()[0]!;
  process.stdout.write(`load average (1 min) before: ${loadBefore.toFixed(2)} on ${os.cpus().length} cores (other work on the machine inflates latency)\n`);
  const redis = await startRedis();
  const results: PhaseResult[] = [];
  try {
    for (const count of CLIENT_COUNTS) {
      process.stdout.write(`\n${count} clients over 3 ws processes, ${EVENTS_PER_SECOND} events/s for ${DURATION_SECONDS} s into ${RESTAURANTS.length} restaurants...\n`);
      results.push(await runPhase(count, redis, jwksUrl, mint));
    }
  } finally {
    await redis.stop();
    await new Promise((resolve) => jwksServer.close(resolve));
  }
  const headers = ['clients', 'events', 'messages expected', 'received', 'lost', 'dup/out of order', 'p50 ms', 'p99 ms', 'max ms', 'RSS/conn KiB', 'connect s', 'reconnects'];
  const rows = results.map((r) => [r.clients, r.events_published, r.messages_expected, r.messages_received, r.events_lost, r.duplicates_or_out_of_order, r.latency_p50_ms, r.latency_p99_ms, r.latency_max_ms, r.rss_per_connection_kib, r.connect_seconds, r.reconnects].map(String));
  process.stdout.write(`\n${renderTable(headers, rows)}\n\n`);
  const at5000 = results.find((r) => r.clients === 5000);
  const targets = [
    { target: 'events lost = 0 (every phase)', met: results.every((r) => r.events_lost === 0 && r.duplicates_or_out_of_order === 0) },
    { target: `p99 < ${P99_TARGET_MS} ms at 5,000 clients`, met: at5000 !== undefined && at5000.latency_p99_ms < P99_TARGET_MS },
  ];
  const loadAfter = os.loadavg()[0]!;
  process.stdout.write(`load average (1 min) after: ${loadAfter.toFixed(2)}\n`);
  for (const t of targets) process.stdout.write(`${t.met ? 'MET   ' : 'MISSED'}  ${t.target}\n`);
  const out = path.join(REPO, 'bench-results/ws-bench.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(
    out,
    `${JSON.stringify({ at: new Date().toISOString(), node: process.version, open_files_limit: openFilesLimit(), load_average_before: loadBefore, load_average_after: loadAfter, events_per_second: EVENTS_PER_SECOND, duration_seconds: DURATION_SECONDS, restaurants: RESTAURANTS.length, results, targets }, null, 2)}\n`,
  );
  process.stdout.write(`wrote ${path.relative(REPO, out)}\n`);
  return targets.every((t) => t.met) ? 0 : 1;
}

void main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
