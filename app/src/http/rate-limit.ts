/**
 * Rate limiting per principal and route class, in Redis (rate-limiter-flexible), so the limit holds
 * across every API process of a location. The key is the token's `sub` when `authenticate` ran
 * before this middleware, else the client IP (`req.ip`, which honours `trust proxy`: nginx is the
 * only proxy in front of us and sends the address it accepted the connection from).
 *
 * The `client` class comes first, before anything else reads the request (body parsing, token
 * checks): a budget per client address for every request, so a flood without a token, with a
 * forged one (each costs a signature check) or to unknown routes is refused cheaply. nginx limits
 * per address as well, per nginx pod (nginx/nginx-config.ts); this one holds location-wide.
 *
 * Redis down: `rejectIfRedisNotReady` sends a request straight to the in-memory insurance limiter
 * (per process, so effectively limit x processes) instead of waiting for ioredis' offline queue.
 * Rate limiting never answers 5xx: if even the insurance limiter fails, the request passes.
 *
 * Headers (IETF draft "RateLimit header fields", the widely deployed form): `RateLimit-Limit`,
 * `RateLimit-Remaining`, `RateLimit-Reset` (seconds) on every limited response, `Retry-After` on 429.
 */
import type { RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
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

export interface RateLimiterOptions {
  readonly redis?: Redis;
  /** @default DEFAULT_RATE_LIMITS, and DEFAULT_CLIENT_RATE_LIMIT for `client` */
  readonly limits?: Partial<Record<LimitClass, RateLimit>>;
  readonly metrics: AppMetrics;
  readonly logger: Logger;
}

export type RateLimitMiddleware = (routeClass: RouteClass) => RequestHandler;

export interface RateLimiters {
  /** Per principal (the token's subject, else the address) and route class; after `authenticate`. */
  readonly byRoute: RateLimitMiddleware;
  /** Per client address, for every request, before anything else reads it; sets headers only on 429. */
  readonly byClient: RequestHandler;
}

function setHeaders(res: Response, limit: RateLimit, result: RateLimiterRes): void {
  res.set({
    'RateLimit-Limit': String(limit.points),
    'RateLimit-Remaining': String(Math.max(0, result.remainingPoints)),
    'RateLimit-Reset': String(Math.max(0, Math.ceil(result.msBeforeNext / 1000))),
  });
}

export function createRateLimiters(options: RateLimiterOptions): RateLimiters {
  const build = (limitClass: LimitClass, limit: RateLimit): RateLimiterAbstract => {
    const keyPrefix = `ratelimit:${limitClass}`;
    const memory = new RateLimiterMemory({ points: limit.points, duration: limit.windowSeconds, keyPrefix });
    return options.redis
      ? new RateLimiterRedis({
          storeClient: options.redis,
          points: limit.points,
          duration: limit.windowSeconds,
          keyPrefix,
          rejectIfRedisNotReady: true,
          insuranceLimiter: memory,
        })
      : memory;
  };
  /** Consumes one point of `key`; throws the 429 when none is left, lets the request through when the limiter itself fails. */
  const consume = async (limitClass: LimitClass, limit: RateLimit, limiter: RateLimiterAbstract, key: string, res: Response, headersOnPass: boolean): Promise<void> => {
    let result: RateLimiterRes;
    try {
      result = await limiter.consume(key);
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        setHeaders(res, limit, rejection);
        options.metrics.rateLimitRejections.inc({ route_class: limitClass });
        throw tooManyRequests(rejection.msBeforeNext / 1000);
      }
      options.logger.warn({ err: rejection, limitClass }, 'rate limiter failed; request let through');
      return;
    }
    if (headersOnPass) setHeaders(res, limit, result);
  };

  const routeLimiters = new Map<RouteClass, { limit: RateLimit; limiter: RateLimiterAbstract }>();
  for (const routeClass of ROUTE_CLASSES) {
    const limit = options.limits?.[routeClass] ?? DEFAULT_RATE_LIMITS[routeClass];
    routeLimiters.set(routeClass, { limit, limiter: build(routeClass, limit) });
  }
  const clientLimit = options.limits?.client ?? DEFAULT_CLIENT_RATE_LIMIT;
  const clientLimiter = build('client', clientLimit);

  return {
    byRoute: (routeClass) => {
      const { limit, limiter } = routeLimiters.get(routeClass)!;
      return async (req, res, next) => {
        const subject = optionalAuthClaims(res)?.sub;
        const principal = subject === undefined ? `ip:${req.ip ?? 'unknown'}` : `sub:${subject}`;
        await consume(routeClass, limit, limiter, principal, res, true);
        next();
      };
    },
    byClient: async (req, res, next) => {
      await consume('client', clientLimit, clientLimiter, `ip:${req.ip ?? 'unknown'}`, res, false);
      next();
    },
  };
}
