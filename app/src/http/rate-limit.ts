/**
 * Rate limiting per principal and route class, held location-wide in Redis without a Redis round
 * trip per request. The key is the token's `sub` when `authenticate` ran before this middleware,
 * else the client IP (`req.ip`, which honours `trust proxy`: nginx is the only proxy in front of us
 * and sends the address it accepted the connection from).
 *
 * The `client` class comes first, before anything else reads the request (body parsing, token
 * checks): a budget per client address for every request, so a flood without a token, with a
 * forged one (each costs a signature check) or to unknown routes is refused cheaply. nginx limits
 * per address as well, per nginx pod (nginx/nginx-config.ts); this one holds location-wide.
 *
 * How a window is shared (`BatchedRateLimiter`): Redis keeps one fixed-window counter per class and
 * principal (`ratelimit:<class>:<principal>`, expiring with the window: the key and counting
 * rate-limiter-flexible used before, so old and new processes share a count during a rollout).
 * A process decides from memory: it admits while the count Redis reported at its last sync, plus
 * what it admitted since, is under the limit. It sends what it admitted to Redis in batches: every
 * `syncIntervalMs` (1 s) for every principal with news, in one script call, and at once for a
 * principal that reaches `batch` unsent admissions, whose next request waits for that sync. Each
 * sync brings back the window's count (every process's sent admissions) and when it ends. The
 * interval decides how soon processes see each other's admissions, not the bound below, and a
 * principal that sends several requests a second costs one key in one shared call per second.
 *
 * The error bound, stated: a process admits at most `batch` requests of a principal that Redis has
 * not counted yet, so across P processes a principal gets at most `points + P x batch` requests per
 * window. It is never refused before `points` (only refusals are decided from a count that can be
 * stale, and that count can only be low), except that admissions sent just after a window ended
 * count toward the next one. `batch` defaults to 5 % of the limit (`defaultBatch`): 30 for the
 * read limit of 600/min, so 4 api pods admit at most 720; 200 for the per-address 4,000 per 10 s;
 * limits under 40 get 1, which keeps a single process exact (its next request waits for the count
 * of the previous one). The batch is also what one principal may send per Redis round trip before
 * its requests wait for the sync: a relative batch keeps that far above any principal's rate.
 *
 * Redis down (the client not ready): requests go to the in-memory insurance limiter
 * (rate-limiter-flexible's RateLimiterMemory, per process, so effectively limit x processes)
 * instead of waiting. A failed sync drops the admissions it carried (they are past). Rate
 * limiting never answers 5xx: if even the insurance limiter fails, the request passes.
 *
 * Headers (IETF draft "RateLimit header fields", the widely deployed form): `RateLimit-Limit`,
 * `RateLimit-Remaining` (as this process knows it), `RateLimit-Reset` (seconds) on every limited
 * response, `Retry-After` on 429.
 */
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { optionalAuthClaims } from '../auth/middleware';
import { DEFAULT_CLIENT_RATE_LIMIT_REQUESTS, DEFAULT_CLIENT_RATE_LIMIT_WINDOW_SECONDS } from '../../../contract/environment';
import { tooManyRequests } from '../errors';
import type { Logger } from '../logger';
import type { AppMetrics } from '../metrics';

export const ROUTE_CLASSES = ['read', 'write', 'analytics'] as const;
export type RouteClass = (typeof ROUTE_CLASSES)[number];
/** Route classes plus `client`, the per-address budget checked before authentication. */
export type LimitClass = RouteClass | 'client';

export interface RateLimit {
  /** Requests allowed per window. */
  readonly points: number;
  readonly windowSeconds: number;
  /**
   * Admissions of one principal a process may make before Redis has counted them (see the module
   * comment for the error bound).
   * @default defaultBatch(points)
   */
  readonly batch?: number;
}

/**
 * Per principal per minute. Sized for a busy table or a staff tablet at peak, not for crawlers:
 * reads (menus, order status polling) are cheap and cached; writes (orders, status changes) cost a
 * transaction; analytics reads scan the summary view on replicas.
 * Moves to the environment contract once the stack sizes them per location.
 */
export const DEFAULT_RATE_LIMITS: Readonly<Record<RouteClass, RateLimit>> = {
  read: { points: 600, windowSeconds: 60 },
  write: { points: 120, windowSeconds: 60 },
  analytics: { points: 30, windowSeconds: 60 },
};

/** Per client address, location-wide, before authentication; sized in contract/environment.ts. */
export const DEFAULT_CLIENT_RATE_LIMIT: RateLimit = {
  points: DEFAULT_CLIENT_RATE_LIMIT_REQUESTS,
  windowSeconds: DEFAULT_CLIENT_RATE_LIMIT_WINDOW_SECONDS,
};

/** Share of a limit one process may admit before Redis counts it. */
export const BATCH_SHARE_OF_LIMIT = 0.05;
/** How often a process sends its admissions and learns the counts (every principal with news at once). */
export const DEFAULT_SYNC_INTERVAL_MS = 1000;

/** 5 % of the limit, at least 1 (a single process counts exactly). */
export function defaultBatch(points: number): number {
  return Math.max(1, Math.floor(points * BATCH_SHARE_OF_LIMIT));
}

/**
 * Principals one process keeps counts for. The least recently used is forgotten, its unsent
 * admissions with it: past this many active principals, a forgotten one may get one batch more.
 */
const MAX_PRINCIPALS_PER_CLASS = 100_000;

export interface RateLimiterOptions {
  readonly redis?: Redis;
  /** @default DEFAULT_RATE_LIMITS, and DEFAULT_CLIENT_RATE_LIMIT for `client` */
  readonly limits?: Partial<Record<LimitClass, RateLimit>>;
  readonly metrics: AppMetrics;
  readonly logger: Logger;
  /** @default DEFAULT_SYNC_INTERVAL_MS */
  readonly syncIntervalMs?: number;
}

export type RateLimitMiddleware = (routeClass: RouteClass) => RequestHandler;

export interface RateLimiters {
  /** Per principal (the token's subject, else the address) and route class; after `authenticate`. */
  readonly byRoute: RateLimitMiddleware;
  /** Per client address, for every request, before anything else reads it; sets headers only on 429. */
  readonly byClient: RequestHandler;
  /**
   * One decision against a class's limit, for the fast lane (fast-lane.ts), which has no express
   * request; the key is `clientLimitKey` or `principalLimitKey`. A throw means the limiter failed
   * (the middlewares let the request through then).
   */
  decide(limitClass: LimitClass, key: string): RateLimitDecision | Promise<RateLimitDecision>;
  /** The RateLimit-* headers of a request a route limit passed (what `byRoute` sets). */
  setPassHeaders(limitClass: LimitClass, res: ServerResponse, decision: RateLimitDecision): void;
  /** Stops the sync timers. */
  close(): void;
}

/**
 * Decisions the fast lane (fast-lane.ts) already made, and counted, for a request it then handed to
 * express: `byClient` and `byRoute` apply them (headers, refusal) instead of counting the request
 * again.
 */
export const DECIDED_LIMITS = Symbol('decided limits');
type WithDecidedLimits = { [DECIDED_LIMITS]?: Partial<Record<LimitClass, RateLimitDecision>> };

/** Records on `req` a decision made (and counted) outside the middlewares. */
export function markDecided(req: object, limitClass: LimitClass, decision: RateLimitDecision): void {
  const decided = ((req as WithDecidedLimits)[DECIDED_LIMITS] ??= {});
  decided[limitClass] = decision;
}

export const clientLimitKey = (address: string | undefined) => `ip:${address ?? 'unknown'}`;
export const principalLimitKey = (subject: string) => `sub:${subject}`;

/** The outcome of one request against a limit. */
export interface RateLimitDecision {
  readonly allowed: boolean;
  /** Requests this principal may still make in the window, as far as this process knows. */
  readonly remaining: number;
  /** Until the window ends. */
  readonly msBeforeReset: number;
}

interface Counter {
  /** The window's count in Redis at this process's last sync. */
  synced: number;
  /** Admitted here since, not sent yet. */
  pending: number;
  /** Admitted here and carried by the sync under way. */
  sending: number;
  /** performance.now() at which the window ends; undefined until a sync tells. */
  endsAt: number | undefined;
}

/**
 * Adds each key's admissions to its window counter, starting the window on first use, and returns
 * [count, ttl ms] per key. KEYS: the counters; ARGV: one increment per key, then the window in ms.
 * Several keys in one call is fine on the replication group (cluster mode off, one shard).
 */
const SYNC_SCRIPT = `
local window = ARGV[#KEYS + 1]
local result = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCRBY', key, ARGV[i])
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then
    redis.call('PEXPIRE', key, window)
    ttl = tonumber(window)
  end
  result[2 * i - 1] = count
  result[2 * i] = ttl
end
return result
`;
const SYNC_COMMAND = 'rateLimitSync';
/** Principals per script call: keeps each call's arguments and Redis's time in the script bounded. */
const MAX_KEYS_PER_SYNC = 1000;

type SyncingRedis = Redis & { [SYNC_COMMAND](keyCount: number, ...keysThenArguments: (string | number)[]): Promise<number[]> };

export interface BatchedRateLimiterOptions {
  readonly limitClass: LimitClass;
  readonly limit: RateLimit;
  /** @default - memory only (per process) */
  readonly redis?: Redis;
  /** @default DEFAULT_SYNC_INTERVAL_MS */
  readonly syncIntervalMs?: number;
}

/**
 * One limit (a class) shared through Redis by batched syncs; see the module comment. `consume`
 * answers synchronously, except for a principal with `batch` admissions Redis has not counted yet,
 * whose request waits for the sync, and while Redis is down (the insurance limiter is async).
 */
export class BatchedRateLimiter {
  readonly limit: RateLimit;
  readonly batch: number;
  private readonly keyPrefix: string;
  private readonly windowMs: number;
  private readonly redis: SyncingRedis | undefined;
  private readonly insurance: RateLimiterMemory;
  private readonly counters = new LRUCache<string, Counter>({ max: MAX_PRINCIPALS_PER_CLASS });
  /** Principals with admissions not sent yet. */
  private readonly unsent = new Map<string, Counter>();
  /** Requests waiting for the sync under way to finish (they decide again then). */
  private waiting: (() => void)[] = [];
  /** `flush` callers: released by the end of a sync that started after they asked. */
  private flushing: (() => void)[] = [];
  private syncing = false;
  private syncAgain = false;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(options: BatchedRateLimiterOptions) {
    const { limit, limitClass } = options;
    for (const field of ['points', 'windowSeconds'] as const) {
      if (!Number.isInteger(limit[field]) || limit[field] < 1) throw new Error(`rate limit ${limitClass}.${field} must be a positive integer, got ${limit[field]}`);
    }
    this.batch = limit.batch ?? defaultBatch(limit.points);
    if (!Number.isInteger(this.batch) || this.batch < 1 || this.batch > limit.points) {
      throw new Error(`rate limit ${limitClass}.batch must be an integer in 1..${limit.points} (points), got ${limit.batch}`);
    }
    const syncIntervalMs = options.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS;
    if (!Number.isInteger(syncIntervalMs) || syncIntervalMs < 1) throw new Error(`rate limit syncIntervalMs must be a positive integer, got ${syncIntervalMs}`);
    this.limit = limit;
    this.keyPrefix = `ratelimit:${limitClass}`;
    this.windowMs = limit.windowSeconds * 1000;
    this.insurance = new RateLimiterMemory({ points: limit.points, duration: limit.windowSeconds, keyPrefix: this.keyPrefix });
    if (options.redis) {
      if (!(SYNC_COMMAND in options.redis)) options.redis.defineCommand(SYNC_COMMAND, { lua: SYNC_SCRIPT });
      this.redis = options.redis as SyncingRedis;
      this.timer = setInterval(() => {
        if (this.unsent.size > 0) this.sync();
      }, syncIntervalMs);
      this.timer.unref();
    }
  }

  /** Counts one request of `key`: synchronous, unless it has to wait for a sync or Redis is down. */
  consume(key: string): RateLimitDecision | Promise<RateLimitDecision> {
    if (this.redis === undefined || this.redis.status !== 'ready') return this.consumeInsurance(key);
    const now = performance.now();
    let counter = this.counters.get(key);
    if (counter === undefined) {
      counter = { synced: 0, pending: 0, sending: 0, endsAt: undefined };
      this.counters.set(key, counter);
    } else if (counter.endsAt !== undefined && counter.endsAt <= now) {
      // The window is over; admissions not counted yet go to the next one.
      counter.synced = 0;
      counter.endsAt = undefined;
    }
    const used = counter.synced + counter.pending + counter.sending;
    const msBeforeReset = counter.endsAt === undefined ? this.windowMs : counter.endsAt - now;
    if (used >= this.limit.points) return { allowed: false, remaining: 0, msBeforeReset };
    if (counter.pending + counter.sending >= this.batch) return this.afterSync(key);
    counter.pending += 1;
    this.unsent.set(key, counter);
    if (counter.pending + counter.sending >= this.batch) this.sync();
    return { allowed: true, remaining: this.limit.points - used - 1, msBeforeReset };
  }

  /** Sends every admission not counted in Redis yet; resolves when that sync is done. */
  flush(): Promise<void> {
    if (this.redis === undefined) return Promise.resolve();
    const synced = new Promise<void>((resolve) => this.flushing.push(resolve));
    this.sync();
    return synced;
  }

  /** Stops the sync timer; admissions not sent yet are dropped (they are past). */
  close(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private afterSync(key: string): Promise<RateLimitDecision> {
    const synced = new Promise<void>((resolve) => this.waiting.push(resolve));
    this.sync();
    return synced.then(() => this.consume(key));
  }

  /** Starts a sync, or asks for another one after the sync under way. */
  private sync(): void {
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = true;
    void this.runSyncs();
  }

  private async runSyncs(): Promise<void> {
    do {
      this.syncAgain = false;
      const flushed = this.flushing;
      this.flushing = [];
      const unsent = [...this.unsent];
      this.unsent.clear();
      for (let start = 0; start < unsent.length; start += MAX_KEYS_PER_SYNC) await this.send(unsent.slice(start, start + MAX_KEYS_PER_SYNC));
      const released = this.waiting;
      this.waiting = [];
      for (const resolve of [...released, ...flushed]) resolve();
    } while (this.syncAgain);
    this.syncing = false;
  }

  /** One script call for these principals: their admissions in, the window's count and end back. */
  private async send(principals: readonly (readonly [string, Counter])[]): Promise<void> {
    const keys = principals.map(([key]) => `${this.keyPrefix}:${key}`);
    const increments = principals.map(([, counter]) => counter.pending);
    for (const [, counter] of principals) {
      counter.sending += counter.pending;
      counter.pending = 0;
    }
    const sentAt = performance.now();
    try {
      const reply = await this.redis![SYNC_COMMAND](keys.length, ...keys, ...increments, this.windowMs);
      principals.forEach(([, counter], i) => {
        counter.sending -= increments[i]!;
        counter.synced = Number(reply[2 * i]);
        // Measured from the send, so the window never ends later here than in Redis.
        counter.endsAt = sentAt + Number(reply[2 * i + 1]);
      });
    } catch {
      principals.forEach(([, counter], i) => {
        counter.sending -= increments[i]!;
      });
    }
  }

  private async consumeInsurance(key: string): Promise<RateLimitDecision> {
    try {
      const result = await this.insurance.consume(key);
      return { allowed: true, remaining: result.remainingPoints, msBeforeReset: result.msBeforeNext };
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return { allowed: false, remaining: 0, msBeforeReset: rejection.msBeforeNext };
      throw rejection;
    }
  }
}

export function createRateLimiters(options: RateLimiterOptions): RateLimiters {
  const limiters: BatchedRateLimiter[] = [];
  const limiterFor = (limitClass: LimitClass, limit: RateLimit) => {
    const limiter = new BatchedRateLimiter({ limitClass, limit, redis: options.redis, syncIntervalMs: options.syncIntervalMs });
    limiters.push(limiter);
    return limiter;
  };

  const setHeaders = (res: ServerResponse, limit: RateLimit, decision: RateLimitDecision): void => {
    res.setHeader('RateLimit-Limit', String(limit.points));
    res.setHeader('RateLimit-Remaining', String(Math.max(0, decision.remaining)));
    res.setHeader('RateLimit-Reset', String(Math.max(0, Math.ceil(decision.msBeforeReset / 1000))));
  };

  /** Passes the request on, or throws the 429 (with the headers) when the decision refuses it. */
  const apply = (limitClass: LimitClass, limiter: BatchedRateLimiter, decision: RateLimitDecision, res: Response, headersOnPass: boolean, next: NextFunction): void => {
    if (!decision.allowed) {
      setHeaders(res, limiter.limit, decision);
      options.metrics.rateLimitRejections.inc({ route_class: limitClass });
      throw tooManyRequests(decision.msBeforeReset / 1000);
    }
    if (headersOnPass) setHeaders(res, limiter.limit, decision);
    next();
  };

  /** Synchronous on most requests (no promise per request); a limiter failure lets the request through. */
  const middleware = (limitClass: LimitClass, limiter: BatchedRateLimiter, principal: (req: Request, res: Response) => string, headersOnPass: boolean): RequestHandler => {
    return (req, res, next) => {
      const decided = (req as WithDecidedLimits)[DECIDED_LIMITS]?.[limitClass];
      if (decided !== undefined) return apply(limitClass, limiter, decided, res, headersOnPass, next);
      let decision: RateLimitDecision | Promise<RateLimitDecision>;
      try {
        decision = limiter.consume(principal(req, res));
      } catch (error) {
        options.logger.warn({ err: error, limitClass }, 'rate limiter failed; request let through');
        return next();
      }
      if (!(decision instanceof Promise)) return apply(limitClass, limiter, decision, res, headersOnPass, next);
      return decision.then(
        (settled) => apply(limitClass, limiter, settled, res, headersOnPass, next),
        (error: unknown) => {
          options.logger.warn({ err: error, limitClass }, 'rate limiter failed; request let through');
          next();
        },
      );
    };
  };

  const byAddress = (req: Request) => clientLimitKey(req.ip);
  const byPrincipal = (req: Request, res: Response) => {
    const subject = optionalAuthClaims(res)?.sub;
    return subject === undefined ? byAddress(req) : principalLimitKey(subject);
  };
  const byClass = new Map<LimitClass, BatchedRateLimiter>();
  const routeLimiters = new Map<RouteClass, RequestHandler>();
  for (const routeClass of ROUTE_CLASSES) {
    const limiter = limiterFor(routeClass, options.limits?.[routeClass] ?? DEFAULT_RATE_LIMITS[routeClass]);
    byClass.set(routeClass, limiter);
    routeLimiters.set(routeClass, middleware(routeClass, limiter, byPrincipal, true));
  }
  const clientLimiter = limiterFor('client', options.limits?.client ?? DEFAULT_CLIENT_RATE_LIMIT);
  byClass.set('client', clientLimiter);

  return {
    byRoute: (routeClass) => routeLimiters.get(routeClass)!,
    byClient: middleware('client', clientLimiter, byAddress, false),
    decide: (limitClass, key) => byClass.get(limitClass)!.consume(key),
    setPassHeaders: (limitClass, res, decision) => setHeaders(res, byClass.get(limitClass)!.limit, decision),
    close: () => {
      for (const limiter of limiters) limiter.close();
    },
  };
}
