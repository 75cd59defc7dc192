/**
 * The fast lane: GET requests that the process can answer from memory (today the cached menu,
 * registered by menu/menu-routes.ts) are answered before express sees them, by node's own
 * request and response objects.
 *
 * Why: express costs more than the work of a cached read. On the bench machine a node:http
 * hello-world served about 87,000 req/s and the same route in express 5 about 11,000 (autocannon,
 * 100 connections, one after the other in one run), and a cached menu read through express cost
 * the api 0.162 ms of CPU against 0.086 ms for express's hello-world (`npm run bench:api`, README).
 * The app's own work on such a read (token check, two rate limits, a log line, a metric, a Buffer
 * write) is a fraction of that; routing through a dozen middleware layers, express's request and
 * response decoration and its response helpers were the rest.
 *
 * The lane answers only the happy path and leaves everything else to express, untouched:
 * - not a GET, a query string, a path the route's pattern does not match exactly (trailing slash,
 *   case, encoding), no `Authorization: Bearer <jwt>`, a token not already verified and cached
 *   (verified-token-cache.ts: the lane never verifies a signature), a token of another restaurant,
 *   or a route that has nothing in memory: express answers, with its 401, 403, 404 or database read.
 * - The two rate limits are decided as express would (the client's address limit, then the route
 *   class's limit keyed by the token's subject: rate-limit.ts). A refusal goes to express too, which
 *   decides again and writes the 429 with its headers; a refusal counts nothing, and the address
 *   limit a request passed here is marked (`CLIENT_LIMIT_COUNTED`) so express does not count it twice.
 * - What every response carries (request id, `Cache-Control`, `nosniff`, `Connection: close` while
 *   draining), the CORS headers and the request's metric and log line come from the same functions
 *   express uses (request-envelope.ts, cors.ts), with the route label express would give.
 * `tests/app/http/fast-lane.test.ts` compares the lane's answers with express's for the same
 * requests, header by header.
 *
 * The client address is what express's `req.ip` says with the app's `trust proxy` setting (the
 * proxy-addr package express itself uses, with the same trusted ranges).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import proxyaddr from 'proxy-addr';
import type { AuthClaims } from '../auth/claims';
import { bearerToken } from '../auth/middleware';
import type { TokenVerifier } from '../auth/verify-token';
import type { Logger } from '../logger';
import { setActualCorsHeaders } from './cors';
import { CLIENT_LIMIT_COUNTED, clientLimitKey, principalLimitKey, type LimitClass, type RateLimitDecision, type RateLimiters, type RouteClass } from './rate-limit';
import { requestIdOf, setEnvelopeHeaders, type RequestObserver } from './request-envelope';

/** A response written from memory. */
export type FastResponder = (req: IncomingMessage, res: ServerResponse) => void;

export interface FastGetRoute {
  /** The express route it stands for, as metrics and logs name it (`/v1/restaurants/:restaurantId/menu`). */
  readonly label: string;
  /** The whole path, anchored; its first group is the restaurant id the token must belong to. */
  readonly pattern: RegExp;
  /** The route class of its rate limit (the express route's `kit.rateLimit(...)`). */
  readonly routeClass: RouteClass;
  /** The response from memory for this restaurant and principal, or undefined to leave the request to express. */
  answer(restaurantId: string, claims: Readonly<AuthClaims>): FastResponder | undefined;
}

export interface FastLaneOptions {
  /** CORS_ALLOWED_ORIGINS. */
  readonly corsOrigins: ReadonlySet<string>;
  readonly verifyToken: TokenVerifier;
  readonly limiters: Pick<RateLimiters, 'decide' | 'setPassHeaders'>;
  readonly observer: RequestObserver;
  /** The express app's `trust proxy` ranges, for the client address. */
  readonly trustProxy: readonly string[];
  readonly isDraining: () => boolean;
  readonly logger: Pick<Logger, 'warn'>;
}

export interface FastLane {
  add(route: FastGetRoute): void;
  /**
   * Answers the request (now, or after a rate limit's sync) and returns true, or returns false
   * having changed nothing, for express to answer. `toExpress` hands over a request the lane took
   * but a rate limit refused.
   */
  handle(req: IncomingMessage, res: ServerResponse, toExpress: (req: IncomingMessage, res: ServerResponse) => void): boolean;
  /** Requests the lane answered itself (tests and the bench read it). */
  readonly answered: number;
}

export function createFastLane(options: FastLaneOptions): FastLane {
  const routes: FastGetRoute[] = [];
  const trust = proxyaddr.compile([...options.trustProxy]);
  let answered = 0;

  /** A decision, or undefined when the limiter failed (the request goes through, as in the middleware). */
  const decide = (limitClass: LimitClass, key: string): RateLimitDecision | Promise<RateLimitDecision | undefined> | undefined => {
    try {
      const decision = options.limiters.decide(limitClass, key);
      if (!(decision instanceof Promise)) return decision;
      return decision.catch((error: unknown) => {
        options.logger.warn({ err: error, limitClass }, 'rate limiter failed; request let through');
        return undefined;
      });
    } catch (error) {
      options.logger.warn({ err: error, limitClass }, 'rate limiter failed; request let through');
      return undefined;
    }
  };
  /** Runs `then` with the decision, synchronously when the limiter decided synchronously. */
  const withDecision = (decision: ReturnType<typeof decide>, then: (d: RateLimitDecision | undefined) => void): void => {
    if (decision instanceof Promise) void decision.then(then);
    else then(decision);
  };

  return {
    add(route) {
      if (!route.pattern.source.startsWith('^') || !route.pattern.source.endsWith('$')) throw new Error(`fast lane route ${route.label}: its pattern must be anchored (^...$)`);
      routes.push(route);
    },

    handle(req, res, toExpress) {
      const url = req.url;
      if (req.method !== 'GET' || url === undefined || url.includes('?')) return false;
      let route: FastGetRoute | undefined;
      let match: RegExpExecArray | null = null;
      for (const candidate of routes) {
        match = candidate.pattern.exec(url);
        if (match !== null) {
          route = candidate;
          break;
        }
      }
      if (route === undefined || match === null) return false;
      const token = bearerToken(req.headers.authorization);
      const claims = token === undefined ? undefined : options.verifyToken.cached(token);
      if (claims === undefined || claims.restaurant_id !== match[1]) return false;
      const respond = route.answer(claims.restaurant_id, claims);
      if (respond === undefined) return false;

      // The lane owns the request from here.
      const startedAt = performance.now();
      const answeringRoute = route;
      const address = proxyaddr(req, trust);
      withDecision(decide('client', clientLimitKey(address)), (client) => {
        if (client !== undefined && !client.allowed) return toExpress(req, res);
        withDecision(decide(answeringRoute.routeClass, principalLimitKey(claims.sub)), (limit) => {
          if (limit !== undefined && !limit.allowed) {
            (req as IncomingMessage & { [CLIENT_LIMIT_COUNTED]?: boolean })[CLIENT_LIMIT_COUNTED] = client !== undefined;
            return toExpress(req, res);
          }
          const requestId = requestIdOf(req);
          setEnvelopeHeaders(res, requestId, options.isDraining());
          options.observer.onFinish(req, res, requestId, () => url, () => answeringRoute.label, startedAt);
          setActualCorsHeaders(options.corsOrigins, req.headers.origin, res);
          if (limit !== undefined) options.limiters.setPassHeaders(answeringRoute.routeClass, res, limit);
          answered += 1;
          respond(req, res);
        });
      });
      return true;
    },

    get answered() {
      return answered;
    },
  };
}
