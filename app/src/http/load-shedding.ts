/**
 * Load shedding for non-critical route classes (analytics): when the process is overloaded, they
 * answer 503 with Retry-After at once, so the capacity left goes to ordering. Critical routes never
 * pass through this middleware. Two signals:
 * - event-loop delay: p99 of `monitorEventLoopDelay` over the last sampling window (a saturated
 *   loop delays every request in the process);
 * - database pool waiting: callers queued for a connection, summed over all pools.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { RequestHandler } from 'express';
import { serviceUnavailable } from '../errors';
import type { AppMetrics } from '../metrics';
import type { RouteClass } from './rate-limit';

/** @default thresholds: a 200 ms p99 loop delay is far past a healthy API (single-digit ms). */
export const DEFAULT_MAX_EVENT_LOOP_DELAY_MS = 200;
/** @default a queue of 10 waiting callers means the pools are saturated. */
export const DEFAULT_MAX_POOL_WAITING = 10;
export const SHED_RETRY_AFTER_SECONDS = 5;
const SAMPLE_WINDOW_MS = 1000;

export interface LoadSheddingOptions {
  /** @default DEFAULT_MAX_EVENT_LOOP_DELAY_MS */
  readonly maxEventLoopDelayMs?: number;
  /** @default DEFAULT_MAX_POOL_WAITING */
  readonly maxPoolWaiting?: number;
  /** @default - p99 of monitorEventLoopDelay over the previous window */
  readonly eventLoopDelayMs?: () => number;
  /** @default - 0 (no pools known) */
  readonly poolWaiting?: () => number;
}

export interface LoadShedder {
  /** Middleware for a route class; put it before authentication and any work. */
  shed(routeClass: RouteClass): RequestHandler;
  /** Why the process would shed now, or undefined. */
  overloadReason(): 'event_loop' | 'db_pool' | undefined;
  close(): void;
}

export function createLoadShedder(options: LoadSheddingOptions, metrics: AppMetrics): LoadShedder {
  const maxDelayMs = options.maxEventLoopDelayMs ?? DEFAULT_MAX_EVENT_LOOP_DELAY_MS;
  const maxWaiting = options.maxPoolWaiting ?? DEFAULT_MAX_POOL_WAITING;
  let sampler: { timer: NodeJS.Timeout; stop(): void } | undefined;
  let delayOf = options.eventLoopDelayMs;
  if (!delayOf) {
    const histogram = monitorEventLoopDelay({ resolution: 10 });
    histogram.enable();
    let lastP99Ms = 0;
    const timer = setInterval(() => {
      lastP99Ms = histogram.percentile(99) / 1e6;
      histogram.reset();
    }, SAMPLE_WINDOW_MS);
    timer.unref();
    sampler = { timer, stop: () => histogram.disable() };
    delayOf = () => lastP99Ms;
  }
  const eventLoopDelayMs = delayOf;
  const poolWaiting = options.poolWaiting ?? (() => 0);

  const overloadReason = () => {
    if (eventLoopDelayMs() > maxDelayMs) return 'event_loop' as const;
    if (poolWaiting() > maxWaiting) return 'db_pool' as const;
    return undefined;
  };

  return {
    overloadReason,
    shed: (routeClass) => (_req, _res, next) => {
      const reason = overloadReason();
      if (reason) {
        metrics.loadShedRejections.inc({ route_class: routeClass, reason });
        throw serviceUnavailable('overloaded, retry later', SHED_RETRY_AFTER_SECONDS, { reason });
      }
      next();
    },
    close: () => {
      if (sampler) {
        clearInterval(sampler.timer);
        sampler.stop();
        sampler = undefined;
      }
    },
  };
}
