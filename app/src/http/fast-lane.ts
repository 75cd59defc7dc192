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
 *   decides again and writes the 429 with its headers (a refusal counts nothing); a limit the request
 *   passed here is marked on it (`markDecided`), so express, if it gets the request after all,
 *   applies that decision instead of counting the request twice.
 * - A POST route (the order create) gets its JSON body read and parsed by the lane when its headers
 *   say JSON of a known length within the limit, unencoded; anything but its happy path (a body that
 *   is not JSON, a validation error, a refusal of the service) is handed to express with the body
 *   already parsed, and express answers it as it always did.
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
import etag from 'etag';
import proxyaddr from 'proxy-addr';
import type { AuthClaims, Role } from '../auth/claims';
import { bearerToken } from '../auth/middleware';
import type { TokenVerifier } from '../auth/verify-token';
import type { Logger } from '../logger';
import { setActualCorsHeaders } from './cors';
import { LANE_BODY_ERROR } from './input';
import { clientLimitKey, markDecided, principalLimitKey, type LimitClass, type RateLimitDecision, type RateLimiters, type RouteClass } from './rate-limit';
import { requestIdOf, setEnvelopeHeaders, type RequestObserver } from './request-envelope';

/** A response written from memory. */
export type FastResponder = (req: IncomingMessage, res: ServerResponse) => void;

interface FastRouteBase {
  /** The express route it stands for, as metrics and logs name it (`/v1/restaurants/:restaurantId/menu`). */
  readonly label: string;
  /** The whole path, anchored; its first group is the restaurant id the token must belong to. */
  readonly pattern: RegExp;
  /** The route class of its rate limit (the express route's `kit.rateLimit(...)`). */
  readonly routeClass: RouteClass;
}

export interface FastGetRoute extends FastRouteBase {
  readonly method: 'GET';
  /** The response from memory for this restaurant and principal, or undefined to leave the request to express. */
  answer(restaurantId: string, claims: Readonly<AuthClaims>): FastResponder | undefined;
}

/** What a POST route gets once the lane has read and parsed the JSON body. */
export interface FastPostRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly restaurantId: string;
  readonly claims: Readonly<AuthClaims>;
  /** The parsed JSON body: an object or an array, as express's JSON parser would hand it on. */
  readonly body: unknown;
  /**
   * Leaves the request to express with its body already parsed (express's JSON parser sees a read
   * body and keeps `req.body`): for anything but the happy path, so express writes every refusal.
   * Only before anything was written, and only when nothing was done that must not be done twice.
   */
  toExpress(): void;
  /** Writes a JSON response as express's `res.json` would (Content-Type, Content-Length, weak ETag), with the lane's headers. */
  sendJson(status: number, value: unknown, headers?: Readonly<Record<string, string>>): void;
}

export interface FastPostRoute extends FastRouteBase {
  readonly method: 'POST';
  /** Roles the express route admits; another role goes to express (its 403). */
  readonly roles: readonly Role[];
  /** Checks on the headers alone (an Idempotency-Key, ...); false leaves the request to express before its body is read. */
  accepts(req: IncomingMessage): boolean;
  handle(request: FastPostRequest): void;
}

export type FastRoute = FastGetRoute | FastPostRoute;

/** A POST body the lane reads itself: JSON, no Content-Encoding, a Content-Length within the limit. */
const JSON_CONTENT_TYPE = /^application\/json\s*(;\s*charset=utf-8\s*)?$/i;

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
  /** The JSON body limit in bytes (app.ts JSON_BODY_LIMIT); a longer body goes to express (413). */
  readonly bodyLimitBytes: number;
}

export interface FastLane {
  add(route: FastRoute): void;
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
  const routes: FastRoute[] = [];
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
    add(route: FastRoute) {
      if (!route.pattern.source.startsWith('^') || !route.pattern.source.endsWith('$')) throw new Error(`fast lane route ${route.label}: its pattern must be anchored (^...$)`);
      routes.push(route);
    },

    handle(req, res, toExpress) {
      const url = req.url;
      const method = req.method;
      if ((method !== 'GET' && method !== 'POST') || url === undefined || url.includes('?')) return false;
      let route: FastRoute | undefined;
      let match: RegExpExecArray | null = null;
      for (const candidate of routes) {
        if (candidate.method !== method) continue;
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
      let respond: FastResponder | undefined;
      if (route.method === 'GET') {
        respond = route.answer(claims.restaurant_id, claims);
        if (respond === undefined) return false;
      } else if (!route.roles.includes(claims.role) || !readableBody(req, options.bodyLimitBytes) || !route.accepts(req)) {
        return false;
      }

      // The lane owns the request from here.
      const startedAt = performance.now();
      const answering = route;
      const address = proxyaddr(req, trust);
      /** The envelope, CORS and limit headers, and the log line and metric on finish: once the lane writes. */
      const prepare = (limit: RateLimitDecision | undefined) => {
        const requestId = requestIdOf(req);
        setEnvelopeHeaders(res, requestId, options.isDraining());
        options.observer.onFinish(req, res, requestId, () => url, () => answering.label, startedAt);
        setActualCorsHeaders(options.corsOrigins, req.headers.origin, res);
        if (limit !== undefined) options.limiters.setPassHeaders(answering.routeClass, res, limit);
        answered += 1;
      };
      withDecision(decide('client', clientLimitKey(address)), (client) => {
        // A refusal counted nothing: express decides again (and refuses) with nothing marked.
        if (client !== undefined && !client.allowed) return toExpress(req, res);
        if (client !== undefined) markDecided(req, 'client', client);
        const handOver = () => toExpress(req, res);
        // The route limit, as express's route decides it: for a POST after its body parsed, so a
        // body express's parser refuses is not counted against it.
        const routeLimit = (then: (limit: RateLimitDecision | undefined) => void) =>
          withDecision(decide(answering.routeClass, principalLimitKey(claims.sub)), (limit) => {
            if (limit !== undefined && !limit.allowed) return handOver();
            // Past it: express, if it gets the request after all, applies this decision instead of counting again.
            if (limit !== undefined) markDecided(req, answering.routeClass, limit);
            then(limit);
          });
        if (answering.method === 'GET') {
          return routeLimit((limit) => {
            prepare(limit);
            respond!(req, res);
          });
        }
        readJsonBody(req, (body) => {
          if (body === BODY_UNREADABLE) return handOver();
          routeLimit((limit) =>
            answering.handle({
              req,
              res,
              restaurantId: claims.restaurant_id,
              claims,
              body,
              toExpress: handOver,
              sendJson: (status, value, headers) => {
                prepare(limit);
                sendJson(res, status, value, headers);
              },
            }),
          );
        });
      });
      return true;
    },

    get answered() {
      return answered;
    },
  };
}

/** Whether the lane may read this POST's body itself: JSON by Content-Type, not encoded, of a known length within the limit. */
function readableBody(req: IncomingMessage, limitBytes: number): boolean {
  const type = req.headers['content-type'];
  const encoding = req.headers['content-encoding'];
  const length = req.headers['content-length'];
  if (type === undefined || !JSON_CONTENT_TYPE.test(type)) return false;
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') return false;
  if (req.headers['transfer-encoding'] !== undefined || length === undefined || !/^[0-9]{1,9}$/.test(length)) return false;
  return Number(length) <= limitBytes;
}

const BODY_UNREADABLE = Symbol('body unreadable');

/**
 * Reads the body (its length is known and bounded: readableBody) and parses it. A body that is not
 * JSON, or JSON that is not an object or array, is marked for express (LANE_BODY_ERROR) and handed
 * over; a request that ends early or fails is left alone (its socket is gone; express would do no more).
 */
function readJsonBody(req: IncomingMessage, then: (body: unknown) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.once('error', () => undefined);
  req.once('end', () => {
    if (!req.complete) return;
    let text = Buffer.concat(chunks).toString('utf8');
    // As body-parser reads JSON: a UTF-8 byte order mark is dropped (iconv-lite's decoder), and an
    // empty body is an empty object (its "common client-side mistake" rule).
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    let body: unknown = {};
    try {
      if (text.length > 0) body = JSON.parse(text);
    } catch (error) {
      return markUnreadable(req, then, error);
    }
    if (body === null || typeof body !== 'object') return markUnreadable(req, then, new SyntaxError('JSON body must be an object or an array'));
    (req as IncomingMessage & { body?: unknown }).body = body;
    then(body);
  });
}

function markUnreadable(req: IncomingMessage, then: (body: unknown) => void, cause: unknown): void {
  // What body-parser's JSON parser raises, so express's error handler answers as it always did.
  (req as IncomingMessage & { [LANE_BODY_ERROR]?: unknown })[LANE_BODY_ERROR] = Object.assign(new Error('request body is not valid JSON', { cause }), {
    status: 400,
    type: 'entity.parse.failed',
    expose: true,
  });
  then(BODY_UNREADABLE);
}

/** As express's `res.json`: the JSON text as UTF-8, its length and a weak ETag of it (express's default `etag` setting). */
function sendJson(res: ServerResponse, status: number, value: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  for (const [name, headerValue] of Object.entries(headers)) res.setHeader(name, headerValue);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', body.length);
  res.setHeader('ETag', etag(body, { weak: true }));
  res.statusCode = status;
  res.end(body);
}
