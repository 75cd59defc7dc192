/**
 * The cache's Prometheus metrics, registered on an injected registry (never the global default),
 * so two caches in one test, or one process's several registries, do not collide. Creating them
 * twice on one registry returns the metrics already there.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface CacheMetrics {
  /** `layer`: l1 | l2; `kind`: see `cache-keys.ts`. */
  readonly hits: Counter<'layer' | 'kind'>;
  /** A miss in both layers: the loader (the database) was called. */
  readonly misses: Counter<'kind'>;
  /** 1 while the Redis circuit breaker is open or half-open (L2 bypassed), 0 when closed. */
  readonly redisCircuitOpen: Gauge;
  /** `source`: local (this process invalidated) | remote (a message from another process). */
  readonly invalidations: Counter<'kind' | 'source'>;
}

function existing<T>(registry: Registry, name: string): T | undefined {
  return registry.getSingleMetric(name) as T | undefined;
}

export function createCacheMetrics(registry: Registry): CacheMetrics {
  const registers = [registry];
  return {
    hits:
      existing(registry, 'cache_hits_total') ??
      new Counter({ name: 'cache_hits_total', help: 'Cache hits by layer (l1 in-process, l2 Redis) and kind', labelNames: ['layer', 'kind'], registers }),
    misses:
      existing(registry, 'cache_misses_total') ??
      new Counter({ name: 'cache_misses_total', help: 'Cache misses in both layers (the loader ran) by kind', labelNames: ['kind'], registers }),
    redisCircuitOpen:
      existing(registry, 'cache_redis_circuit_open') ??
      new Gauge({ name: 'cache_redis_circuit_open', help: '1 while the Redis circuit breaker is open or half-open, else 0', registers }),
    invalidations:
      existing(registry, 'cache_invalidations_total') ??
      new Counter({ name: 'cache_invalidations_total', help: 'Cache invalidations by kind and source (local or remote)', labelNames: ['kind', 'source'], registers }),
  };
}
