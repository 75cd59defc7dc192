/**
 * A two-layer read-through cache: an in-process LRU (L1) in front of Redis (L2), JSON values.
 *
 * - `get(key, loader, policy)`: L1, then L2, then the loader (the database). Concurrent misses for
 *   one key in one process share one flight, so a cold key costs one loader call per process.
 * - Every Redis call goes through one circuit breaker (opossum). When Redis is down or slow the
 *   breaker opens, L2 is skipped without waiting, and `get` serves L1 or the loader: a Redis outage
 *   never fails a read. After `breakerResetTimeoutMs` one call probes Redis (half-open) and a
 *   success closes the breaker.
 * - Loader results `null` and `undefined` are returned but not cached (no negative caching: a
 *   missing row that appears a moment later is seen at once). Loader errors reach every caller of
 *   the flight and are not cached.
 * - An invalidation that arrives while a flight is loading (`dropLocal`, `delete`, `set`,
 *   `clearLocal`) detaches that flight: later `get`s start a new one, and the old flight's value
 *   is handed to its waiting callers but written to neither layer, so a value read before a change
 *   never lands in the cache after the change's invalidation.
 *
 * The cache does not own the Redis client (the process shares it); `close()` stops the breaker and
 * empties L1.
 */
import { LRUCache } from 'lru-cache';
import CircuitBreaker from 'opossum';
import type Redis from 'ioredis';
import type { Registry } from 'prom-client';
import { kindOfKey, type CachePolicy } from './cache-keys';
import { createCacheMetrics, type CacheMetrics } from './cache-metrics';
import { stderrCacheLogger, type CacheLogger } from './redis-client';

export interface LayeredCacheOptions {
  /** The shared command client (`createRedisClient`); the cache does not close it. */
  readonly redis: Redis;
  /** Where the cache metrics are registered (not the global default registry). */
  readonly registry: Registry;
  /** @default - JSON lines on stderr */
  readonly logger?: CacheLogger;
  /** Most entries L1 holds; the least recently used go first. @default 10000 */
  readonly l1MaxEntries?: number;
  /** A Redis call slower than this counts as a failure. @default 250 */
  readonly redisTimeoutMs?: number;
  /** How long the breaker stays open before a probe. @default 5000 */
  readonly breakerResetTimeoutMs?: number;
  /** Failure percentage in the rolling window that opens the breaker. @default 50 */
  readonly breakerErrorThresholdPercentage?: number;
  /** Calls in the rolling window before the breaker may open. @default 5 */
  readonly breakerVolumeThreshold?: number;
  /** @default 10000 */
  readonly breakerRollingWindowMs?: number;
}

export type RedisCircuitState = 'closed' | 'open' | 'half-open';

interface Flight {
  promise: Promise<unknown>;
  detached: boolean;
}

interface L1Entry {
  readonly value: unknown;
}

type RedisCall = () => Promise<unknown>;

function validatePolicy(key: string, policy: CachePolicy): { ttlMs: number; l1TtlMs: number } {
  const { ttlMs } = policy;
  if (!Number.isInteger(ttlMs) || ttlMs <= 0) throw new Error(`ttlMs must be a positive integer, got ${ttlMs} (key "${key}")`);
  const l1TtlMs = policy.l1TtlMs ?? ttlMs;
  if (!Number.isInteger(l1TtlMs) || l1TtlMs <= 0) throw new Error(`l1TtlMs must be a positive integer, got ${l1TtlMs} (key "${key}")`);
  return { ttlMs, l1TtlMs: Math.min(l1TtlMs, ttlMs) };
}

export class LayeredCache {
  readonly metrics: CacheMetrics;
  private readonly redis: Redis;
  private readonly logger: CacheLogger;
  private readonly l1: LRUCache<string, L1Entry>;
  private readonly flights = new Map<string, Flight>();
  private readonly breaker: CircuitBreaker<[RedisCall], unknown>;

  constructor(options: LayeredCacheOptions) {
    const l1MaxEntries = options.l1MaxEntries ?? 10_000;
    if (!Number.isInteger(l1MaxEntries) || l1MaxEntries <= 0) throw new Error(`l1MaxEntries must be a positive integer, got ${l1MaxEntries}`);
    this.redis = options.redis;
    this.logger = options.logger ?? stderrCacheLogger;
    this.metrics = createCacheMetrics(options.registry);
    this.l1 = new LRUCache<string, L1Entry>({ max: l1MaxEntries });
    this.breaker = new CircuitBreaker((call: RedisCall) => call(), {
      name: 'redis-cache',
      timeout: options.redisTimeoutMs ?? 250,
      resetTimeout: options.breakerResetTimeoutMs ?? 5000,
      errorThresholdPercentage: options.breakerErrorThresholdPercentage ?? 50,
      volumeThreshold: options.breakerVolumeThreshold ?? 5,
      rollingCountTimeout: options.breakerRollingWindowMs ?? 10_000,
    });
    const gauge = this.metrics.redisCircuitOpen;
    gauge.set(0);
    this.breaker.on('open', () => {
      gauge.set(1);
      this.logger.warn({ breaker: 'redis-cache' }, 'redis circuit breaker opened: cache reads fall through to the loader');
    });
    this.breaker.on('halfOpen', () => gauge.set(1));
    this.breaker.on('close', () => {
      gauge.set(0);
      this.logger.info({ breaker: 'redis-cache' }, 'redis circuit breaker closed: L2 in use again');
    });
  }

  get redisCircuit(): RedisCircuitState {
    if (this.breaker.opened) return 'open';
    if (this.breaker.halfOpen) return 'half-open';
    return 'closed';
  }

  /** Breaker counters of the current rolling window (`fires`, `rejects`, `failures`, ...). */
  breakerStats(): Readonly<CircuitBreaker.Stats> {
    return this.breaker.stats;
  }

  async get<T>(key: string, loader: () => Promise<T>, policy: CachePolicy): Promise<T> {
    const ttls = validatePolicy(key, policy);
    const kind = kindOfKey(key);
    const local = this.l1.get(key);
    if (local) {
      this.metrics.hits.inc({ layer: 'l1', kind });
      return local.value as T;
    }
    const running = this.flights.get(key);
    if (running) return running.promise as Promise<T>;

    const flight: Flight = { promise: Promise.resolve(), detached: false };
    flight.promise = this.fill(key, kind, loader, ttls, flight).finally(() => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    });
    this.flights.set(key, flight);
    return flight.promise as Promise<T>;
  }

  /** Writes both layers (write-through). Other processes' L1 copies stay: use the bus for changes. */
  async set<T>(key: string, value: T, policy: CachePolicy): Promise<void> {
    const ttls = validatePolicy(key, policy);
    this.dropLocal(key);
    if (value === null || value === undefined) return;
    this.l1.set(key, { value }, { ttl: ttls.l1TtlMs });
    await this.writeL2(key, value, ttls.ttlMs);
  }

  /** Drops the key from both layers. Resolves false when Redis could not be reached (L2 may be stale). */
  async delete(key: string): Promise<boolean> {
    this.dropLocal(key);
    try {
      await this.breaker.fire(() => this.redis.del(key));
      return true;
    } catch {
      return false;
    }
  }

  /** Drops this process's copy only (an invalidation message from another process). */
  dropLocal(key: string): void {
    this.l1.delete(key);
    const flight = this.flights.get(key);
    if (flight) {
      flight.detached = true;
      this.flights.delete(key);
    }
  }

  /** Drops every L1 entry and detaches every flight. */
  clearLocal(): void {
    this.l1.clear();
    for (const flight of this.flights.values()) flight.detached = true;
    this.flights.clear();
  }

  /**
   * The L1 value of `key`, synchronously, counted as an L1 hit; undefined when L1 holds none (then
   * `get` reads through). Lets a hot read skip `get`'s promise when the value is in memory.
   */
  getLocal<T>(key: string): T | undefined {
    const local = this.l1.get(key);
    if (local === undefined) return undefined;
    this.metrics.hits.inc({ layer: 'l1', kind: kindOfKey(key) });
    return local.value as T;
  }

  /** Whether L1 holds a live (unexpired) entry for the key. */
  hasLocal(key: string): boolean {
    return this.l1.has(key);
  }

  get localSize(): number {
    return this.l1.size;
  }

  async close(): Promise<void> {
    this.breaker.shutdown();
    this.clearLocal();
  }

  private async fill<T>(key: string, kind: string, loader: () => Promise<T>, ttls: { ttlMs: number; l1TtlMs: number }, flight: Flight): Promise<T> {
    const cached = await this.readL2(key);
    if (cached !== undefined) {
      this.metrics.hits.inc({ layer: 'l2', kind });
      if (!flight.detached) this.l1.set(key, { value: cached }, { ttl: ttls.l1TtlMs });
      return cached as T;
    }
    this.metrics.misses.inc({ kind });
    const value = await loader();
    if (value !== null && value !== undefined && !flight.detached) {
      this.l1.set(key, { value }, { ttl: ttls.l1TtlMs });
      await this.writeL2(key, value, ttls.ttlMs);
    }
    return value;
  }

  /** The parsed L2 value; undefined on a miss, a Redis failure or an open breaker. */
  private async readL2(key: string): Promise<unknown> {
    let raw: unknown;
    try {
      raw = await this.breaker.fire(() => this.redis.get(key));
    } catch {
      return undefined;
    }
    if (typeof raw !== 'string') return undefined;
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      this.logger.warn({ key }, 'unreadable cache entry in redis; reloading');
      return undefined;
    }
  }

  private async writeL2(key: string, value: unknown, ttlMs: number): Promise<void> {
    try {
      await this.breaker.fire(() => this.redis.set(key, JSON.stringify(value), 'PX', ttlMs));
    } catch {
      // L1 holds the value; the next process to miss L2 reloads it.
    }
  }
}

export function createLayeredCache(options: LayeredCacheOptions): LayeredCache {
  return new LayeredCache(options);
}
