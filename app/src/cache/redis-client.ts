/**
 * ioredis clients built from the environment contract, tuned for a cache that must never make a
 * request wait for Redis:
 *
 * - `keyPrefix: 'app:'`: the ElastiCache RBAC user may only touch `app:*` keys and `app:*` channels
 *   (the data stack's access string). ioredis applies the prefix to keys only, never to pub/sub
 *   channels: channel names carry it themselves (see `invalidation-bus.ts`).
 * - `enableOfflineQueue: false` and a small `maxRetriesPerRequest`: while Redis is unreachable a
 *   command fails at once instead of queueing until the connection returns; `commandTimeoutMs`
 *   bounds a command on a connection that is up but slow. The caller (the cache's circuit breaker)
 *   decides what a failure means.
 * - Reconnects forever with exponential backoff capped at `reconnectMaxDelayMs`.
 * - REDIS_AUTH=iam: the RBAC user authenticates with a short-lived ElastiCache IAM token as its
 *   password. ioredis reads `options.password` on every (re)connect, so the client connects only
 *   after a first token is fetched and a timer keeps the password fresh for reconnects. Open
 *   connections stay authenticated (ElastiCache closes them after 12 hours; the reconnect then uses
 *   a fresh token). The signer is injected: process entries pass `iamTokenProviders(config).redis`
 *   (app/src/aws/iam-auth.ts).
 * - An `error` listener logs once per outage (ioredis emits `error` for every failed reconnect) and
 *   never lets an unhandled `error` event kill the process.
 */
import Redis, { type RedisOptions } from 'ioredis';
import { REDIS_KEY_PREFIX } from '../../../contract/constants';
import type { AppConfig } from '../config';

/** The subset of a pino logger the cache uses (pino's `logger.warn(fields, message)`). */
export interface CacheLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** Returns an ElastiCache IAM authentication token for the RBAC user (valid 15 minutes). */
export type RedisIamTokenProvider = (identity: { readonly host: string; readonly port: number; readonly user: string }) => Promise<string>;

export type RedisClientConfig = Pick<AppConfig, 'REDIS_HOST' | 'REDIS_PORT' | 'REDIS_TLS' | 'REDIS_AUTH' | 'REDIS_USER'>;

export interface RedisClientOptions {
  /** Names the connection in logs (`cache`, `cache-subscriber`, ...). */
  readonly name: string;
  /** @default - JSON lines on stderr */
  readonly logger?: CacheLogger;
  /** Required with REDIS_AUTH=iam. */
  readonly iamTokenProvider?: RedisIamTokenProvider;
  /** @default 1 */
  readonly maxRetriesPerRequest?: number;
  /** A command without a reply after this long fails. @default 500 */
  readonly commandTimeoutMs?: number;
  /** @default 2000 */
  readonly connectTimeoutMs?: number;
  /**
   * How long a disconnecting socket may take to close before it is destroyed. ioredis's own 2 s
   * timer also lingers after closing a client that was between reconnects, holding up process exit.
   * @default 200
   */
  readonly disconnectTimeoutMs?: number;
  /** First reconnect delay; doubles per attempt. @default 50 */
  readonly reconnectBaseDelayMs?: number;
  /** @default 2000 */
  readonly reconnectMaxDelayMs?: number;
  /** How often a fresh IAM token replaces the password for later reconnects. @default 600000 (10 minutes; tokens live 15) */
  readonly iamTokenRefreshMs?: number;
  /**
   * A pub/sub subscriber connection: no `commandTimeout` (a subscription waits forever) and no
   * automatic resubscription (the owner subscribes on every `ready`, see `invalidation-bus.ts`).
   * @default false
   */
  readonly subscriber?: boolean;
}

export interface RedisClient {
  readonly redis: Redis;
  /** Quits gracefully when connected, else disconnects; stops reconnecting and token refresh. */
  close(): Promise<void>;
}

export const stderrCacheLogger: CacheLogger = {
  info: (fields, message) => process.stderr.write(`${JSON.stringify({ level: 'info', msg: message, ...fields })}\n`),
  warn: (fields, message) => process.stderr.write(`${JSON.stringify({ level: 'warn', msg: message, ...fields })}\n`),
  error: (fields, message) => process.stderr.write(`${JSON.stringify({ level: 'error', msg: message, ...fields })}\n`),
};

/** Exponential backoff from `baseMs`, capped at `maxMs`; attempt counts from 1. */
export function reconnectDelayMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30), maxMs);
}

export function redisOptionsFor(config: RedisClientConfig, options: RedisClientOptions): RedisOptions {
  const base = options.reconnectBaseDelayMs ?? 50;
  const max = options.reconnectMaxDelayMs ?? 2000;
  return {
    host: config.REDIS_HOST,
    port: config.REDIS_PORT,
    username: config.REDIS_USER,
    tls: config.REDIS_TLS ? { servername: config.REDIS_HOST } : undefined,
    keyPrefix: REDIS_KEY_PREFIX,
    enableOfflineQueue: false,
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? 1,
    commandTimeout: options.subscriber ? undefined : (options.commandTimeoutMs ?? 500),
    connectTimeout: options.connectTimeoutMs ?? 2000,
    disconnectTimeout: options.disconnectTimeoutMs ?? 200,
    retryStrategy: (attempt) => reconnectDelayMs(attempt, base, max),
    autoResubscribe: !options.subscriber,
    // IAM clients connect once the first token is in place.
    lazyConnect: config.REDIS_AUTH === 'iam',
  };
}

export function createRedisClient(config: RedisClientConfig, options: RedisClientOptions): RedisClient {
  const logger = options.logger ?? stderrCacheLogger;
  if (config.REDIS_AUTH === 'iam' && !options.iamTokenProvider) {
    throw new Error('REDIS_AUTH=iam needs an ElastiCache IAM token provider (pass iamTokenProviders(config).redis)');
  }
  const redis = new Redis(redisOptionsFor(config, options));
  const fields = { redis: options.name, host: config.REDIS_HOST, port: config.REDIS_PORT };

  let loggedOutage = false;
  let closing = false;
  redis.on('error', (err: Error) => {
    if (loggedOutage || closing) return;
    loggedOutage = true;
    logger.warn({ ...fields, err: err.message }, 'redis connection error; reconnecting with backoff');
  });
  redis.on('ready', () => {
    if (loggedOutage) logger.info(fields, 'redis connection restored');
    loggedOutage = false;
  });

  let refreshTimer: NodeJS.Timeout | undefined;
  if (config.REDIS_AUTH === 'iam') {
    const provider = options.iamTokenProvider!;
    const identity = { host: config.REDIS_HOST, port: config.REDIS_PORT, user: config.REDIS_USER ?? '' };
    const refresh = async (): Promise<void> => {
      try {
        redis.options.password = await provider(identity);
      } catch (err) {
        logger.error({ ...fields, err: (err as Error).message }, 'could not fetch an ElastiCache IAM token; retrying');
        // Without a token every reconnect fails: try again soon rather than at the next refresh.
        if (!closing) setTimeout(() => void refresh(), options.reconnectMaxDelayMs ?? 2000).unref();
      }
    };
    void refresh().then(() => {
      if (!closing) redis.connect().catch(() => undefined /* the error listener logs; ioredis retries */);
    });
    refreshTimer = setInterval(() => void refresh(), options.iamTokenRefreshMs ?? 600_000);
    refreshTimer.unref();
  }

  return {
    redis,
    close: async () => {
      closing = true;
      if (refreshTimer) clearInterval(refreshTimer);
      if (redis.status === 'ready') {
        try {
          await redis.quit();
          return;
        } catch {
          // fall through: the connection broke while quitting
        }
      }
      redis.disconnect(false);
    },
  };
}

/** Resolves once the client is connected and ready, or rejects after `timeoutMs`. */
export function whenReady(redis: Redis, timeoutMs = 5000): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`redis not ready after ${timeoutMs} ms (status ${redis.status})`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}
