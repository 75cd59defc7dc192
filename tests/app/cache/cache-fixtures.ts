/** Shared by the cache tests: a "process" worth of cache clients against a harness Redis. */
import { Registry } from 'prom-client';
import { createInvalidationBus, type InvalidationBus } from '../../../app/src/cache/invalidation-bus';
import { createLayeredCache, type LayeredCache, type LayeredCacheOptions } from '../../../app/src/cache/layered-cache';
import { createRedisClient, whenReady, type CacheLogger, type RedisClient, type RedisClientConfig } from '../../../app/src/cache/redis-client';

export function redisConfig(port: number): RedisClientConfig {
  return { REDIS_HOST: '127.0.0.1', REDIS_PORT: port, REDIS_TLS: false, REDIS_AUTH: 'none', REDIS_USER: undefined };
}

export const quietLogger: CacheLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Fast reconnects so outage tests recover in well under a second. */
export const fastReconnect = { reconnectBaseDelayMs: 20, reconnectMaxDelayMs: 100 };

export interface CacheProcess {
  readonly client: RedisClient;
  readonly cache: LayeredCache;
  readonly bus: InvalidationBus;
  readonly registry: Registry;
  close(): Promise<void>;
}

/** What one API process builds: its command client, its cache, its bus, its own registry. */
export async function startCacheProcess(port: number, cacheOptions: Partial<LayeredCacheOptions> = {}): Promise<CacheProcess> {
  const config = redisConfig(port);
  const registry = new Registry();
  const client = createRedisClient(config, { name: 'cache', logger: quietLogger, ...fastReconnect });
  await whenReady(client.redis);
  const cache = createLayeredCache({ redis: client.redis, registry, logger: quietLogger, ...cacheOptions });
  const bus = createInvalidationBus(config, { cache, publisher: client.redis, logger: quietLogger, subscriberOptions: fastReconnect });
  await bus.ready;
  return {
    client,
    cache,
    bus,
    registry,
    close: async () => {
      await bus.close();
      await cache.close();
      await client.close();
    },
  };
}

/** A loader that counts its calls. */
export function countingLoader<T>(value: T, delayMs = 0): { calls: () => number; load: () => Promise<T> } {
  let calls = 0;
  return {
    calls: () => calls,
    load: async () => {
      calls += 1;
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      return value;
    },
  };
}

/** Polls `check` every millisecond until it holds; resolves the elapsed ms or fails naming what it waited for. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5_000, intervalMs = 1): Promise<number> {
  const startedAt = Date.now();
  for (;;) {
    if (await check()) return Date.now() - startedAt;
    if (Date.now() - startedAt > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  const match = values.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want));
  return match?.value ?? 0;
}
