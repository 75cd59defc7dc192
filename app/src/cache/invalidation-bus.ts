/**
 * Cache invalidation across processes over Redis pub/sub.
 *
 * The process that changes data calls an intent method (`invalidateMenu(restaurantId)`, ...): it
 * drops its own L1 copy and the L2 entry at once, then publishes `{ kind, key, origin }` on
 * `app:cache-invalidation`; every other process drops its L1 copy when the message arrives.
 *
 * - The channel carries the `app:` prefix itself: ioredis's `keyPrefix` applies to keys, never to
 *   pub/sub channels, and the RBAC user may only use `app:*` channels.
 * - The subscriber has its own connection (a subscribed connection can run no other commands),
 *   which the bus creates and owns.
 * - Pub/sub is at-most-once: messages published while this process's subscriber is disconnected
 *   are lost, so its L1 may hold entries that were invalidated during the outage. Whenever the
 *   subscriber (re)subscribes after the first time, the bus clears the whole L1: after that, every
 *   L1 entry was loaded by a process that hears invalidations again.
 * - When the publisher cannot reach Redis (breaker open, error), the invalidation is kept and
 *   retried when the publisher's connection is ready again or on the next invalidation, so a stale
 *   L2 entry does not outlive the outage by a whole TTL. The method never throws: the data change
 *   that caused it has already happened.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type Redis from 'ioredis';
import { cacheKeys, kindOfKey, type CacheKind } from './cache-keys';
import type { LayeredCache } from './layered-cache';
import { REDIS_KEY_PREFIX } from '../../../contract/constants';
import { createRedisClient, stderrCacheLogger, type CacheLogger, type RedisClient, type RedisClientConfig, type RedisClientOptions } from './redis-client';

export const INVALIDATION_CHANNEL = `${REDIS_KEY_PREFIX}cache-invalidation`;

/** Version 1 of the message on `app:cache-invalidation` (JSON). */
export interface InvalidationMessage {
  readonly v: 1;
  readonly kind: CacheKind | 'other';
  /** The cache key without the `app:` prefix, e.g. `menu:42`. */
  readonly key: string;
  /** The publishing process (`host/pid/random`); a process ignores its own messages. */
  readonly origin: string;
}

export interface InvalidationResult {
  /** The L2 entry was deleted. */
  readonly l2Deleted: boolean;
  /** The message reached Redis (delivered to every subscribed process). */
  readonly published: boolean;
}

export interface InvalidationBusOptions {
  readonly cache: LayeredCache;
  /** The shared command client that publishes (not closed by the bus). */
  readonly publisher: Redis;
  /** @default - JSON lines on stderr */
  readonly logger?: CacheLogger;
  /** Required with REDIS_AUTH=iam, for the subscriber connection. */
  readonly iamTokenProvider?: RedisClientOptions['iamTokenProvider'];
  /** Connection tuning of the subscriber (reconnect backoff). */
  readonly subscriberOptions?: Omit<RedisClientOptions, 'name' | 'logger' | 'iamTokenProvider' | 'subscriber'>;
  /** @default - `<hostname>/<pid>/<random>` */
  readonly originId?: string;
  /** Most failed invalidations kept for retry; older ones are dropped (their L2 entries expire by TTL). @default 10000 */
  readonly maxPendingInvalidations?: number;
}

export type RemoteInvalidationListener = (message: InvalidationMessage) => void;

function parseMessage(payload: string): InvalidationMessage | undefined {
  try {
    const m = JSON.parse(payload) as Partial<InvalidationMessage>;
    if (m.v === 1 && typeof m.key === 'string' && typeof m.origin === 'string') return { v: 1, kind: kindOfKey(m.key), key: m.key, origin: m.origin };
  } catch {
    // fall through
  }
  return undefined;
}

export class InvalidationBus {
  readonly originId: string;
  /** Resolves once the subscriber first confirmed its subscription. */
  readonly ready: Promise<void>;
  private readonly cache: LayeredCache;
  private readonly publisher: Redis;
  private readonly logger: CacheLogger;
  private readonly subscriberClient: RedisClient;
  private readonly listeners = new Set<RemoteInvalidationListener>();
  private readonly pending = new Map<string, CacheKind | 'other'>();
  private readonly maxPending: number;
  private subscribedOnce = false;
  private closed = false;
  private readonly onPublisherReady = () => void this.retryPending();

  constructor(config: RedisClientConfig, options: InvalidationBusOptions) {
    this.cache = options.cache;
    this.publisher = options.publisher;
    this.logger = options.logger ?? stderrCacheLogger;
    this.originId = options.originId ?? `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
    this.maxPending = options.maxPendingInvalidations ?? 10_000;
    this.subscriberClient = createRedisClient(config, {
      ...options.subscriberOptions,
      name: 'cache-subscriber',
      logger: this.logger,
      iamTokenProvider: options.iamTokenProvider,
      subscriber: true,
    });
    const subscriber = this.subscriberClient.redis;
    let confirmFirst: () => void = () => undefined;
    this.ready = new Promise<void>((resolve) => (confirmFirst = resolve));
    subscriber.on('message', (channel: string, payload: string) => {
      if (channel === INVALIDATION_CHANNEL) this.receive(payload);
    });
    subscriber.on('ready', () => {
      subscriber.subscribe(INVALIDATION_CHANNEL).then(
        () => {
          if (this.subscribedOnce) {
            this.cache.clearLocal();
            this.logger.info({ channel: INVALIDATION_CHANNEL }, 'cache invalidation subscriber reconnected: L1 cleared (messages sent while disconnected are lost)');
          }
          this.subscribedOnce = true;
          confirmFirst();
        },
        (err: Error) => this.logger.warn({ channel: INVALIDATION_CHANNEL, err: err.message }, 'could not subscribe to cache invalidations; retrying on reconnect'),
      );
    });
    this.publisher.on('ready', this.onPublisherReady);
  }

  invalidateMenu(restaurantId: string | number): Promise<InvalidationResult> {
    return this.invalidate('menu', cacheKeys.menu(restaurantId));
  }

  invalidateOrderStatus(orderId: string | number): Promise<InvalidationResult> {
    return this.invalidate('order-status', cacheKeys.orderStatus(orderId));
  }

  invalidateSettings(restaurantId: string | number): Promise<InvalidationResult> {
    return this.invalidate('settings', cacheKeys.settings(restaurantId));
  }

  invalidateSession(userId: string | number): Promise<InvalidationResult> {
    return this.invalidate('session', cacheKeys.session(userId));
  }

  /** Drops L1 here and L2 at once, then tells every other process. Never throws. */
  async invalidate(kind: CacheKind | 'other', key: string): Promise<InvalidationResult> {
    this.cache.metrics.invalidations.inc({ kind, source: 'local' });
    if (this.pending.size > 0) void this.retryPending();
    const result = await this.deleteAndPublish(key);
    if (!result.l2Deleted || !result.published) this.remember(key, kind);
    else this.pending.delete(key);
    return result;
  }

  /** Called after this process dropped a key because another process invalidated it. */
  onRemoteInvalidation(listener: RemoteInvalidationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Invalidations waiting for Redis to come back. */
  get pendingCount(): number {
    return this.pending.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.publisher.off('ready', this.onPublisherReady);
    this.listeners.clear();
    await this.subscriberClient.close();
  }

  private async deleteAndPublish(key: string): Promise<InvalidationResult> {
    const l2Deleted = await this.cache.delete(key);
    // With the breaker open Redis is known to be down: do not wait for a publish to fail.
    if (this.cache.redisCircuit === 'open') return { l2Deleted, published: false };
    const message: InvalidationMessage = { v: 1, kind: kindOfKey(key), key, origin: this.originId };
    try {
      await this.publisher.publish(INVALIDATION_CHANNEL, JSON.stringify(message));
      return { l2Deleted, published: true };
    } catch {
      return { l2Deleted, published: false };
    }
  }

  private remember(key: string, kind: CacheKind | 'other'): void {
    if (this.pending.size >= this.maxPending) {
      const oldest = this.pending.keys().next().value;
      if (oldest !== undefined) this.pending.delete(oldest);
    }
    this.pending.set(key, kind);
    this.logger.warn({ key }, 'cache invalidation could not reach redis; will retry');
  }

  private async retryPending(): Promise<void> {
    for (const key of [...this.pending.keys()]) {
      if (this.closed) return;
      const result = await this.deleteAndPublish(key);
      if (!result.l2Deleted || !result.published) return;
      this.pending.delete(key);
    }
  }

  private receive(payload: string): void {
    const message = parseMessage(payload);
    if (!message) {
      this.logger.warn({ channel: INVALIDATION_CHANNEL }, 'ignored a malformed cache invalidation message');
      return;
    }
    if (message.origin === this.originId) return;
    this.cache.dropLocal(message.key);
    this.cache.metrics.invalidations.inc({ kind: message.kind, source: 'remote' });
    for (const listener of this.listeners) listener(message);
  }
}

export function createInvalidationBus(config: RedisClientConfig, options: InvalidationBusOptions): InvalidationBus {
  return new InvalidationBus(config, options);
}
