/** Invalidation across processes over real Redis pub/sub: in one jest process and across two OS processes. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import Redis from 'ioredis';
import { CACHE_POLICIES, cacheKeys } from '../../../app/src/cache/cache-keys';
import { INVALIDATION_CHANNEL } from '../../../app/src/cache/invalidation-bus';
import { startRedis, type RedisServer } from '../../../tools/services/redis-server';
import { countingLoader, eventually, metricValue, startCacheProcess, type CacheProcess } from './cache-fixtures';

let server: RedisServer;
let a: CacheProcess;
let b: CacheProcess;
let raw: Redis;

beforeAll(async () => {
  server = await startRedis();
  raw = new Redis(server.port, '127.0.0.1');
  [a, b] = await Promise.all([startCacheProcess(server.port), startCacheProcess(server.port)]);
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  raw?.disconnect();
  await server?.stop();
});

describe('two caches with separate connections and L1s', () => {
  test('A invalidates a menu: B drops its L1 copy within 100 ms and reloads on the next get', async () => {
    const key = cacheKeys.menu(101);
    const loadA = countingLoader({ items: ['old'] });
    const loadB = countingLoader({ items: ['old'] });
    await a.cache.get(key, loadA.load, CACHE_POLICIES.menu);
    await b.cache.get(key, loadB.load, CACHE_POLICIES.menu); // from L2
    expect(loadB.calls()).toBe(0);
    expect(b.cache.hasLocal(key)).toBe(true);

    const publishedAt = Date.now();
    const result = await a.bus.invalidateMenu(101);
    expect(result).toEqual({ l2Deleted: true, published: true });
    expect(a.cache.hasLocal(key)).toBe(false);
    expect(await raw.exists(`app:${key}`)).toBe(0);
    await eventually("B's L1 copy to be dropped", () => !b.cache.hasLocal(key), 1_000);
    expect(Date.now() - publishedAt).toBeLessThan(100);

    const reload = countingLoader({ items: ['new'] });
    expect(await b.cache.get(key, reload.load, CACHE_POLICIES.menu)).toEqual({ items: ['new'] });
    expect(reload.calls()).toBe(1);
    expect(await metricValue(a.registry, 'cache_invalidations_total', { kind: 'menu', source: 'local' })).toBe(1);
    expect(await metricValue(b.registry, 'cache_invalidations_total', { kind: 'menu', source: 'remote' })).toBe(1);
    expect(await metricValue(a.registry, 'cache_invalidations_total', { kind: 'menu', source: 'remote' })).toBe(0);
  });

  test.each([
    ['invalidateOrderStatus', 'order-status', cacheKeys.orderStatus(555)],
    ['invalidateSettings', 'settings', cacheKeys.settings(7)],
    ['invalidateSession', 'session', cacheKeys.session(42)],
  ] as const)('%s drops %s entries everywhere', async (method, kind, key) => {
    await b.cache.set(key, { v: 1 }, CACHE_POLICIES[kind]);
    const id = key.slice(key.indexOf(':') + 1);
    await a.bus[method](id);
    await eventually(`B to drop ${key}`, () => !b.cache.hasLocal(key), 1_000);
    expect(await raw.exists(`app:${key}`)).toBe(0);
  });

  test('messages go out on app:cache-invalidation (prefixed by hand) and carry kind, key and origin', async () => {
    const listener = new Redis(server.port, '127.0.0.1');
    try {
      const received: string[] = [];
      listener.on('message', (_channel: string, m: string) => received.push(m));
      await listener.subscribe('app:cache-invalidation');
      expect(INVALIDATION_CHANNEL).toBe('app:cache-invalidation');
      await a.bus.invalidateSettings(9);
      await eventually('the message', () => received.length === 1, 1_000);
      expect(JSON.parse(received[0]!)).toEqual({ v: 1, kind: 'settings', key: 'settings:9', origin: a.bus.originId });
    } finally {
      listener.disconnect();
    }
  });

  test('malformed messages are ignored', async () => {
    const key = cacheKeys.menu(202);
    await b.cache.set(key, 'x', CACHE_POLICIES.menu);
    await raw.publish('app:cache-invalidation', 'not json');
    await raw.publish('app:cache-invalidation', JSON.stringify({ v: 2, key }));
    await a.bus.invalidateMenu(999); // a valid message after the bad ones: once it has arrived, so have they
    await eventually('the valid message', async () => (await metricValue(b.registry, 'cache_invalidations_total', { kind: 'menu', source: 'remote' })) >= 2, 1_000);
    expect(b.cache.hasLocal(key)).toBe(true);
  });
});

describe('two OS processes', () => {
  let child: ChildProcessWithoutNullStreams | undefined;

  afterEach(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  });

  test('the child drops its L1 copy within 100 ms of the parent publishing', async () => {
    const root = path.resolve(__dirname, '../../..');
    child = spawn(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), path.join(__dirname, 'invalidation-child.ts'), String(server.port), '303'], {
      cwd: root,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const events: Record<string, unknown>[] = [];
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: child.stdout }).on('line', (line) => events.push(JSON.parse(line) as Record<string, unknown>));

    await eventually(`the child to cache the menu (stderr: ${stderr})`, () => events.some((e) => e.event === 'cached' || e.event === 'error'), 20_000, 10);
    expect(events[0]).toEqual({ event: 'cached', menu: { items: ['child copy'] }, inL1: true });

    const publishedAt = Date.now();
    await a.bus.invalidateMenu(303);
    await eventually('the child to report the drop', () => events.some((e) => e.event === 'dropped'), 2_000);
    const dropped = events.find((e) => e.event === 'dropped')!;
    expect(dropped.origin).toBe(a.bus.originId);
    const latencyMs = (dropped.atMs as number) - publishedAt;
    expect(latencyMs).toBeGreaterThanOrEqual(0);
    expect(latencyMs).toBeLessThan(100);
  });
});
