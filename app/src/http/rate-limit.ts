/**
 * Rate limiting per principal and route class, in Redis (rate-limiter-flexible), so the limit holds
 * across every API process of a location. The key is the token's `sub` when `authenticate` ran
 * before this middleware, else the client IP (`req.ip`, which honours `trust proxy`: nginx is the
 * only proxy in front of us).
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
import { tooManyRequests } from '../errors';
import type { Logger } from '../logger';
import type { AppMetrics } from '../metrics';

export const ROUTE_CLASSES = ['read', 'write', 'analytics'] as const;
export type RouteClass = (typeof ROUTE_CLASSES)[number];

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

export interface RateLimiterOptions {
  readonly redis?: Redis;
  readonly limits?: Partial<Record<RouteClass, RateLimit>>;
  readonly metrics: AppMetrics;
  readonly logger: Logger;
}

export type RateLimitMiddleware = (routeClass: RouteClass) => RequestHandler;

function setHeaders(res: Response, limit: RateLimit, result: RateLimiterRes): void {
  res.set({
    'RateLimit-Limit': String(limit.points),
    'RateLimit-Remaining': String(Math.max(0, result.remainingPoints)),
    'RateLimit-Reset': String(Math.max(0, Math.ceil(result.msBeforeNext / 1000))),
  });
}

export function createRateLimiter(options: RateLimiterOptions): RateLimitMiddleware {
  const limiters = new Map<RouteClass, { limit: RateLimit; limiter: RateLimiterAbstract }>();
  for (const routeClass of ROUTE_CLASSES) {
    const limit = options.limits?.[routeClass] ?? DEFAULT_RATE_LIMITS[routeClass];
    const keyPrefix = `ratelimit:${routeClass}`;
    const memory = new RateLimiterMemory({ points: limit.points, duration: limit.windowSeconds, keyPrefix });
    const limiter = options.redis
      ? new RateLimiterRedis({
          storeClient: options.redis,
          points: limit.points,
          duration: limit.windowSeconds,
          keyPrefix,
          rejectIfRedisNotReady: true,
          insuranceLimiter: memory,
        })
      : memory;
    limiters.set(routeClass, { limit, limiter });
  }

  return (routeClass) => {
    const { limit, limiter } = limiters.get(routeClass)!;
    return async (req, res, next) => {
      const subject = optionalAuthClaims(res)?.sub;
      const principal = subject === undefined ? `ip:${req.ip ?? 'unknown'}` : `sub:${subject}`;
      let result: RateLimiterRes;
      try {
        result = await limiter.consume(principal);
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) {
          setHeaders(res, limit, rejection);
          options.metrics.rateLimitRejections.inc({ route_class: routeClass });
          throw tooManyRequests(rejection.msBeforeNext / 1000);
        }
        options.logger.warn({ err: rejection, routeClass }, 'rate limiter failed; request let through');
        next();
        return;
      }
      setHeaders(res, limit, result);
      next();
    };
  };
}
