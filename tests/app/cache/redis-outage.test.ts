/** Redis goes down and comes back (harness `stop()`/`start()`): reads never fail, the breaker opens and recovers. */
import Redis from 'ioredis';
import { cacheKeys } from '../../../app/src/cache/cache-keys';
import { startRedis, type RedisServer } from '../../../tools/services/redis-server';
import { countingLoader, eventually, metricValue, startCacheProcess, type CacheProcess } from './cache-fixtures';

let server: RedisServer;
let proc: CacheProcess;
const policy = { ttlMs: 60_000, l1TtlMs: 60_000 };

beforeAll(async () => {
  server = await startRedis();
  proc = await startCacheProcess(server.port, { redisTimeoutMs: 100, breakerResetTimeoutMs: 500, breakerVolumeThreshold: 3 });
});

afterAll(async () => {
  await proc?.close();
  await server?.stop();
});

test('reads fall back to the loader behind an open breaker, and L2 returns after Redis does', async () => {
  const warm = cacheKeys.menu('warm');
  await proc.cache.set(warm, { items: ['cached before the outage'] }, policy);

  await server.stop();

  // Reads keep working: L1 still answers, cold keys come from the loader, nothing throws.
  expect(await proc.cache.get(warm, async () => 'not called', policy)).toEqual({ items: ['cached before the outage'] });
  for (let i = 0; i < 5; i++) {
    const loader = countingLoader({ from: 'database', i });
    expect(await proc.cache.get(cacheKeys.menu(`down-${i}`), loader.load, policy)).toEqual({ from: 'database', i });
    expect(loader.calls()).toBe(1);
  }
  await eventually('the breaker to open', () => proc.cache.redisCircuit === 'open', 1_000);
  expect(await metricValue(proc.registry, 'cache_redis_circuit_open')).toBe(1);

  // While open, calls do not reach Redis at all: each read costs the loader only.
  const before = { ...proc.cache.breakerStats() };
  for (let i = 0; i < 20; i++) {
    const t0 = Date.now();
    expect(await proc.cache.get(cacheKeys.orderStatus(`down-${i}`), async () => 'pending', policy)).toBe('pending');
    // Loose on purpose (noisy CI): well under the 500 ms ioredis command timeout; the rejects count
    // below is the exact proof that no call reached Redis.
    expect(Date.now() - t0).toBeLessThan(400);
  }
  const after = proc.cache.breakerStats();
  expect(after.rejects - before.rejects).toBe(40); // an L2 read and an L2 write per cold get, all short-circuited
  expect(after.failures - before.failures).toBe(0);

  // An invalidation while Redis is down is kept, not thrown, and retried once Redis is back.
  expect(await proc.bus.invalidateMenu('down-0')).toEqual({ l2Deleted: false, published: false });
  expect(proc.bus.pendingCount).toBe(1);

  await server.start();

  // Half-open probes close the breaker once the client has reconnected.
  await eventually(
    'the breaker to close',
    async () => {
      await proc.cache.get(cacheKeys.settings(`probe-${Date.now()}`), async () => 'settings', policy);
      return proc.cache.redisCircuit === 'closed';
    },
    5_000,
    20,
  );
  expect(await metricValue(proc.registry, 'cache_redis_circuit_open')).toBe(0);

  // The subscriber missed messages while down: on resubscribing, the whole L1 was dropped.
  await eventually('L1 to be cleared after the subscriber reconnected', () => !proc.cache.hasLocal(warm), 5_000, 10);
  await eventually('the pending invalidation to be retried', async () => {
    if (proc.bus.pendingCount > 0) await proc.bus.invalidateSettings('nudge');
    return proc.bus.pendingCount === 0;
  }, 5_000, 20);

  // L2 is used again.
  const raw = new Redis(server.port, '127.0.0.1');
  try {
    const key = cacheKeys.menu('after');
    const loader = countingLoader({ items: ['fresh'] });
    await proc.cache.get(key, loader.load, policy);
    expect(await raw.exists(`app:${key}`)).toBe(1);
    proc.cache.clearLocal();
    const l2Before = await metricValue(proc.registry, 'cache_hits_total', { layer: 'l2', kind: 'menu' });
    expect(await proc.cache.get(key, loader.load, policy)).toEqual({ items: ['fresh'] });
    expect(loader.calls()).toBe(1);
    expect(await metricValue(proc.registry, 'cache_hits_total', { layer: 'l2', kind: 'menu' })).toBe(l2Before + 1);
  } finally {
    raw.disconnect();
  }
});

test('a slow Redis (every client paused) costs at most the breaker timeout per call, then opens the breaker', async () => {
  // A fresh process: the breaker's rolling window of the outage test above would dilute the failure rate.
  const slow = await startCacheProcess(server.port, { redisTimeoutMs: 100, breakerResetTimeoutMs: 500, breakerVolumeThreshold: 3 });
  const admin = new Redis(server.port, '127.0.0.1');
  try {
    await admin.call('CLIENT', 'PAUSE', '1000', 'ALL');
    const durations: number[] = [];
    for (let i = 0; slow.cache.redisCircuit !== 'open' && i < 10; i++) {
      const t0 = Date.now();
      expect(await slow.cache.get(cacheKeys.menu(`slow-${i}`), async () => 'from database', policy)).toBe('from database');
      durations.push(Date.now() - t0);
    }
    expect(slow.cache.redisCircuit).toBe('open');
    expect(durations.length).toBeLessThanOrEqual(2);
    // An L2 read and an L2 write, each cut off at redisTimeoutMs (100 ms), well under the 500 ms command timeout.
    for (const d of durations) expect(d).toBeLessThan(350);
    const t0 = Date.now();
    expect(await slow.cache.get(cacheKeys.menu('slow-open'), async () => 'from database', policy)).toBe('from database');
    expect(Date.now() - t0).toBeLessThan(400); // open: no wait for Redis (its pause lasts 1 s)
  } finally {
    admin.disconnect(); // the pause (1 s) ends by itself: on Redis 7.0 even CLIENT UNPAUSE waits for it
    await slow.close();
  }
});
