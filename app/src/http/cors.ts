/**
 * CORS for the web client (app/web), which the CDN serves from another origin than the API's
 * (`https://cdn.<location>` calling `https://api.<location>`). Exactly the origins of
 * CORS_ALLOWED_ORIGINS (contract/environment.ts) get CORS headers; with none configured (the
 * default, and the local platform, which serves the client and the API on one origin) this
 * middleware does nothing and the API stays same-origin only.
 *
 * - Preflights (`OPTIONS` with `Access-Control-Request-Method`) from an allowed origin are answered
 *   here with 204, before authentication and rate limits: a preflight carries no token. The
 *   methods are the API's; the headers are the ones the client sends (`Authorization`,
 *   `Content-Type`, `Idempotency-Key`, `X-Consistency-Token`). A preflight from any other origin
 *   is answered 204 without them, which the browser treats as a refusal.
 * - Actual responses to an allowed origin name it in `Access-Control-Allow-Origin` and expose the
 *   headers the client reads (the consistency token, the request id, `Location`, `ETag`, and the
 *   rate limit and `Retry-After` headers for backing off).
 * - No credentials: the API takes bearer tokens, never cookies.
 * - `Vary: Origin` on every response once origins are configured, so no cache hands one origin's
 *   answer (with or without the header) to another.
 *
 * Hand-written rather than the `cors` package: the policy is a fixed list and a dozen lines, and
 * the package's defaults (reflect any origin, `*`) are the ones to avoid.
 */
import type { ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { CONSISTENCY_TOKEN_HEADER } from '../db/request-consistency';
import { IDEMPOTENCY_HEADER } from '../orders/order-schemas';

export const CORS_ALLOWED_METHODS: readonly string[] = ['GET', 'POST', 'PUT', 'PATCH'];
export const CORS_ALLOWED_HEADERS: readonly string[] = ['Authorization', 'Content-Type', IDEMPOTENCY_HEADER, CONSISTENCY_TOKEN_HEADER];
export const CORS_EXPOSED_HEADERS: readonly string[] = [
  CONSISTENCY_TOKEN_HEADER,
  'X-Request-Id',
  'Location',
  'ETag',
  'Retry-After',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
];
/** How long a browser may reuse a preflight answer (Chromium caps it at 2 hours). */
export const CORS_MAX_AGE_SECONDS = 600;

const EXPOSED = CORS_EXPOSED_HEADERS.join(', ');

/**
 * The CORS headers of an actual (not preflight) response, on node's response: what `cors` sets
 * before passing a request on, and what the fast lane (fast-lane.ts) sets itself. Nothing when no
 * origin is configured.
 */
export function setActualCorsHeaders(allowed: ReadonlySet<string>, origin: string | undefined, res: ServerResponse): void {
  if (allowed.size === 0) return;
  // The first Vary of the response (cors runs before every route); a route adds its own after it.
  res.setHeader('Vary', 'Origin');
  if (origin !== undefined && allowed.has(origin)) {
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Expose-Headers', EXPOSED);
  }
}

export function cors(allowedOrigins: readonly string[]): RequestHandler {
  const allowed = new Set(allowedOrigins);
  return (req, res, next) => {
    if (allowed.size === 0) return next();
    const origin = req.get('origin');
    const isPreflight = req.method === 'OPTIONS' && req.get('access-control-request-method') !== undefined;
    if (!isPreflight) {
      setActualCorsHeaders(allowed, origin, res);
      return next();
    }
    res.vary('Origin');
    const isAllowed = origin !== undefined && allowed.has(origin);
    if (isAllowed) res.set('Access-Control-Allow-Origin', origin);
    res.vary('Access-Control-Request-Headers');
    if (isAllowed) {
      res.set({
        'Access-Control-Allow-Methods': CORS_ALLOWED_METHODS.join(', '),
        'Access-Control-Allow-Headers': CORS_ALLOWED_HEADERS.join(', '),
        'Access-Control-Max-Age': String(CORS_MAX_AGE_SECONDS),
      });
    }
    res.status(204).end();
  };
}
