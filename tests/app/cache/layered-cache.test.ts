/** L1 + L2 read-through against a real Redis: layers, TTLs, single flight, metrics. */
import Redis from 'ioredis';
import { register as globalRegistry, Registry } from 'prom-client';
import { CACHE_POLICIES, cacheKeys, kindOfKey } from '../../../app/src/cache/cache-keys';
import { createLayeredCache } from '../../../app/src/cache/layered-cache';
import { startRedis, type RedisServer } from '../../../tools/services/redis-server';
import { countingLoader, eventually, metricValue, startCacheProcess, type CacheProcess } from './cache-fixtures';

let server: RedisServer;
let raw: Redis;
let proc: CacheProcess;
let keySeq = 0;
/** A fresh menu key per test, so tests do not see each other's entries. */
const freshKey = () => cacheKeys.menu(`r${++keySeq}-${Date.now()}`);
const shortPolicy = { ttlMs: 5_000, l1TtlMs: 5_000 };

beforeAll(async () => {
  server = await startRedis();
  raw = new Redis(server.port, '127.0.0.1');
  proc = await startCacheProcess(server.port);
});

afterAll(async () => {
  await proc?.close();
  raw?.disconnect();
  await server?.stop();
});

describe('layers', () => {
  test('a miss calls the loader once, writes L2 under app: with a PX ttl, then serves L1', async () => {
    const key = freshKey();
    const loader = countingLoader({ items: ['pad thai'] });
    expect(await proc.cache.get(key, loader.load, shortPolicy)).toEqual({ items: ['pad thai'] });
    expect(await proc.cache.get(key, loader.load, shortPolicy)).toEqual({ items: ['pad thai'] });
    expect(loader.calls()).toBe(1);
    expect(JSON.parse((await raw.get(`app:${key}`))!)).toEqual({ items: ['pad thai'] });
    const pttl = await raw.pttl(`app:${key}`);
    expect(pttl).toBeGreaterThan(4_000);
    expect(pttl).toBeLessThanOrEqual(5_000);
    expect(await raw.exists(key)).toBe(0);
  });

  test('after L1 is cleared the value comes from L2, not the loader', async () => {
    const key = freshKey();
    const loader = countingLoader({ price: 120 });
    await proc.cache.get(key, loader.load, shortPolicy);
    proc.cache.clearLocal();
    expect(proc.cache.hasLocal(key)).toBe(false);
    expect(await proc.cache.get(key, loader.load, shortPolicy)).toEqual({ price: 120 });
    expect(loader.calls()).toBe(1);
    expect(proc.cache.hasLocal(key)).toBe(true);
  });

  test('the L1 ttl expires first (L2 answers), then the L2 ttl (the loader answers)', async () => {
    const key = freshKey();
    const policy = { ttlMs: 400, l1TtlMs: 100 };
    const loader = countingLoader('v');
    await proc.cache.get(key, loader.load, policy);
    await eventually('L1 entry to expire', () => !proc.cache.hasLocal(key), 1_000, 10);
    const l2HitsBefore = await metricValue(proc.registry, 'cache_hits_total', { layer: 'l2', kind: 'menu' });
    await proc.cache.get(key, loader.load, policy);
    expect(loader.calls()).toBe(1);
    expect(await metricValue(proc.registry, 'cache_hits_total', { layer: 'l2', kind: 'menu' })).toBe(l2HitsBefore + 1);
    await eventually('L2 entry to expire', async () => (await raw.exists(`app:${key}`)) === 0, 2_000, 20);
    proc.cache.clearLocal();
    await proc.cache.get(key, loader.load, policy);
    expect(loader.calls()).toBe(2);
  });

  test('set writes both layers; delete drops both', async () => {
    const key = cacheKeys.session(`u${Date.now()}`);
    await proc.cache.set(key, { userId: 7, role: 'staff' }, CACHE_POLICIES.session);
    expect(proc.cache.hasLocal(key)).toBe(true);
    expect(JSON.parse((await raw.get(`app:${key}`))!)).toEqual({ userId: 7, role: 'staff' });
    expect(await proc.cache.delete(key)).toBe(true);
    expect(proc.cache.hasLocal(key)).toBe(false);
    expect(await raw.exists(`app:${key}`)).toBe(0);
  });

  test('null and undefined results are returned but not cached', async () => {
    const key = freshKey();
    const loader = countingLoader<null>(null);
    expect(await proc.cache.get(key, loader.load, shortPolicy)).toBeNull();
    expect(await proc.cache.get(key, loader.load, shortPolicy)).toBeNull();
    expect(loader.calls()).toBe(2);
    expect(await raw.exists(`app:${key}`)).toBe(0);
  });

  test('falsy values (0, empty string) are cached like any other', async () => {
    const key = freshKey();
    const loader = countingLoader(0);
    expect(await proc.cache.get(key, loader.load, shortPolicy)).toBe(0);
    expect(await proc.cache.get(key, loader.load, shortPolicy)).toBe(0);
    expect(loader.calls()).toBe(1);
  });

  test('a loader error reaches the caller and nothing is cached', async () => {
    const key = freshKey();
    await expect(proc.cache.get(key, async () => Promise.reject(new Error('db down')), shortPolicy)).rejects.toThrow('db down');
    expect(proc.cache.hasLocal(key)).toBe(false);
    expect(await raw.exists(`app:${key}`)).toBe(0);
  });
});

describe('single flight', () => {
  test('50 concurrent gets of a cold key call the loader once and all get the value', async () => {
    const key = freshKey();
    const loader = countingLoader({ items: ['green curry'] }, 50);
    const results = await Promise.all(Array.from({ length: 50 }, () => proc.cache.get(key, loader.load, shortPolicy)));
    expect(loader.calls()).toBe(1);
    expect(results).toHaveLength(50);
    for (const r of results) expect(r).toEqual({ items: ['green curry'] });
  });

  test('a get after an invalidation does not join the flight that started before it', async () => {
    const key = freshKey();
    let version = 1;
    let loaderStarted!: () => void;
    const firstLoadStarted = new Promise<void>((resolve) => (loaderStarted = resolve));
    const load = async () => {
      const seen = version;
      loaderStarted();
      await new Promise((r) => setTimeout(r, 50));
      return { version: seen };
    };
    const before = proc.cache.get(key, load, shortPolicy);
    // Change the data only once the first load has read it (a fixed sleep raced on busy machines).
    await firstLoadStarted;
    version = 2;
    proc.cache.dropLocal(key);
    const after = proc.cache.get(key, load, shortPolicy);
    expect(await before).toEqual({ version: 1 });
    expect(await after).toEqual({ version: 2 });
    expect(await proc.cache.get(key, load, shortPolicy)).toEqual({ version: 2 });
  });
});

describe('metrics', () => {
  test('count l1 and l2 hits and misses by kind, on the injected registry only', async () => {
    const registry = new Registry();
    const cache = createLayeredCache({ redis: proc.client.redis, registry });
    try {
      const menu = freshKey();
      const order = cacheKeys.orderStatus(`o${Date.now()}`);
      await cache.get(menu, async () => 'm', shortPolicy); // miss
      await cache.get(menu, async () => 'm', shortPolicy); // l1
      await cache.get(menu, async () => 'm', shortPolicy); // l1
      cache.clearLocal();
      await cache.get(menu, async () => 'm', shortPolicy); // l2
      await cache.get(order, async () => 'pending', CACHE_POLICIES['order-status']); // miss
      expect(await metricValue(registry, 'cache_misses_total', { kind: 'menu' })).toBe(1);
      expect(await metricValue(registry, 'cache_misses_total', { kind: 'order-status' })).toBe(1);
      expect(await metricValue(registry, 'cache_hits_total', { layer: 'l1', kind: 'menu' })).toBe(2);
      expect(await metricValue(registry, 'cache_hits_total', { layer: 'l2', kind: 'menu' })).toBe(1);
      expect(await metricValue(registry, 'cache_redis_circuit_open')).toBe(0);
      const text = await registry.metrics();
      expect(text).toContain('cache_hits_total{layer="l1",kind="menu"} 2');
      expect(text).toContain('cache_invalidations_total');
      expect(globalRegistry.getSingleMetric('cache_hits_total')).toBeUndefined();
    } finally {
      await cache.close();
    }
  });

  test('unknown key shapes are labelled "other", keeping label values bounded', () => {
    expect(kindOfKey('menu:1')).toBe('menu');
    expect(kindOfKey('order-status:9')).toBe('order-status');
    expect(kindOfKey('whatever:1')).toBe('other');
    expect(kindOfKey('nocolon')).toBe('other');
  });
});

describe('policies', () => {
  test('documented defaults: menu 5 min, order status 30 s, settings 10 min, sessions 30 min; L1 never longer than L2', () => {
    expect(CACHE_POLICIES.menu.ttlMs).toBe(300_000);
    expect(CACHE_POLICIES['order-status'].ttlMs).toBe(30_000);
    expect(CACHE_POLICIES.settings.ttlMs).toBe(600_000);
    expect(CACHE_POLICIES.session.ttlMs).toBe(1_800_000);
    for (const p of Object.values(CACHE_POLICIES)) expect(p.l1TtlMs ?? p.ttlMs).toBeLessThanOrEqual(p.ttlMs);
  });

  test('fails when a ttl is not a positive integer', async () => {
    await expect(proc.cache.get('menu:1', async () => 1, { ttlMs: 0 })).rejects.toThrow('ttlMs must be a positive integer, got 0 (key "menu:1")');
    await expect(proc.cache.get('menu:1', async () => 1, { ttlMs: 1000, l1TtlMs: -5 })).rejects.toThrow('l1TtlMs must be a positive integer, got -5 (key "menu:1")');
  });
});
