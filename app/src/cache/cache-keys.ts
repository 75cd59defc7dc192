/**
 * The cached kinds of data, their key names and TTLs: the one place that knows how a cache key is
 * spelled, so the cache, the invalidation bus and the metrics agree.
 *
 * Keys are written without the `app:` prefix: the Redis client adds it (`keyPrefix`), because the
 * ElastiCache RBAC user may only touch `app:*` keys. The key's first segment is its kind, which is
 * the `kind` label of the cache metrics.
 *
 * TTLs: `ttlMs` bounds how long Redis (L2) keeps an entry; `l1TtlMs` bounds how long one process
 * serves its in-memory copy. Invalidations normally drop copies at once, but Redis pub/sub is
 * at-most-once (a process that is disconnected misses messages), so the L1 TTL is the staleness
 * bound when a message is lost, and it is kept short for data whose staleness hurts.
 */

export const CACHE_KINDS = ['menu', 'order-status', 'settings', 'session'] as const;
export type CacheKind = (typeof CACHE_KINDS)[number];

/** How long one kind is cached in each layer. */
export interface CachePolicy {
  /** Time to live in Redis (L2). */
  readonly ttlMs: number;
  /** Time to live in the process (L1); at most `ttlMs`. @default - `ttlMs` */
  readonly l1TtlMs?: number;
}

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;

export const CACHE_POLICIES: Readonly<Record<CacheKind, CachePolicy>> = {
  /** A restaurant's menu: read on every guest visit, changed by staff a few times a day. */
  menu: { ttlMs: 5 * MINUTE_MS, l1TtlMs: 60 * SECOND_MS },
  /** One order's status: polled by guests, changed by the kitchen every few minutes. */
  'order-status': { ttlMs: 30 * SECOND_MS, l1TtlMs: 5 * SECOND_MS },
  /** A restaurant's settings (hours, tax, service charge): rarely changed. */
  settings: { ttlMs: 10 * MINUTE_MS, l1TtlMs: 60 * SECOND_MS },
  /** A user's session: read on every request of that user, dropped on logout. */
  session: { ttlMs: 30 * MINUTE_MS, l1TtlMs: 60 * SECOND_MS },
};

/** Key builders, one per kind: `menu:<restaurantId>`, `order-status:<orderId>`, ... */
export const cacheKeys = {
  menu: (restaurantId: string | number): string => `menu:${restaurantId}`,
  orderStatus: (orderId: string | number): string => `order-status:${orderId}`,
  settings: (restaurantId: string | number): string => `settings:${restaurantId}`,
  session: (userId: string | number): string => `session:${userId}`,
} as const;

const KINDS = new Set<string>(CACHE_KINDS);

/** The kind of a key built by `cacheKeys`; `other` for anything else (keeps metric labels bounded). */
export function kindOfKey(key: string): CacheKind | 'other' {
  const kind = key.slice(0, key.indexOf(':'));
  return KINDS.has(kind) ? (kind as CacheKind) : 'other';
}
