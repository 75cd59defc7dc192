/**
 * What every public response carries and every public request leaves behind, whichever path
 * served it: the express application (app.ts) or the fast lane in front of it (fast-lane.ts).
 * Written once so the two cannot drift apart.
 *
 * - `X-Request-Id`: the incoming one when it looks like an id (no log injection, bounded), else a
 *   fresh UUID.
 * - `Connection: close` while draining: nginx then sends this connection's next request to another pod.
 * - `Cache-Control: no-store` (responses carry bearer-token data: no cache may keep one unless its
 *   route says otherwise; the menu sets its own) and `X-Content-Type-Options: nosniff`.
 * - On `finish`: the request's duration metric and one log line, through a child logger without
 *   the redaction pass (logger.ts says why it is safe and what it saves).
 *
 * Plain `setHeader` on node's ServerResponse: these values need none of express's content-type or
 * array handling, and the fast lane has no express response.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { createRequestLogger, type Logger } from '../logger';
import type { AppMetrics } from '../metrics';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{8,128}$/;

/** The request's id: the incoming X-Request-Id when it looks like one, else a new UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID();
}

/** The headers every public response starts with (a route may replace Cache-Control). */
export function setEnvelopeHeaders(res: ServerResponse, requestId: string, draining: boolean): void {
  res.setHeader('X-Request-Id', requestId);
  if (draining) res.setHeader('Connection', 'close');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
}

export interface RequestObserver {
  /**
   * Records the request's metric and log line when its response finishes. `route` is asked then
   * (express knows the matched route only after routing); `path` is the path without the query.
   * The duration runs from `startedAt` (performance.now()), by default from now.
   */
  onFinish(req: IncomingMessage, res: ServerResponse, requestId: string, path: () => string, route: () => string, startedAt?: number): void;
}

export function createRequestObserver(logger: Logger, metrics: Pick<AppMetrics, 'httpRequestDuration'>): RequestObserver {
  const requestLogger = createRequestLogger(logger);
  return {
    onFinish(req, res, requestId, path, route, startedAt = performance.now()) {
      res.on('finish', () => {
        const durationMs = performance.now() - startedAt;
        const label = route();
        metrics.httpRequestDuration.observe({ route: label, method: req.method ?? 'GET', status: String(res.statusCode) }, durationMs / 1000);
        requestLogger.info(
          { requestId, method: req.method, route: label, path: path(), status: res.statusCode, durationMs: Math.round(durationMs * 10) / 10 },
          'request',
        );
      });
    },
  };
}
