/**
 * The express applications of the order API, built from their dependencies (no globals, no
 * process.env), so tests build as many as they like against real services.
 *
 * Two applications on two ports. The public one (PORT, behind nginx) serves only `/v1` and answers
 * 404 for everything else, `/healthz`, `/readyz` and `/metrics` included, in any case and with a
 * trailing slash. The internal one (INTERNAL_PORT) serves those three for the kubelet and
 * Prometheus, which reach pods directly; the NetworkPolicies admit only the monitoring namespace
 * (and the kubelet) there.
 *
 * Public middleware order: request id, request log + metrics (on finish), default response
 * headers (`Cache-Control: no-store`, `X-Content-Type-Options: nosniff`; routes that may be cached
 * set their own), the per-address rate limit (before anything reads the request), the
 * read-your-writes token scope (consistency-token.ts), JSON body (limit) and the NUL refusal
 * (input.ts, one layer, skipped for a request with neither body nor query string), `/v1`, 404,
 * the error handler. Per-route: load shedding (non-critical classes only) before authentication,
 * then the rate limit keyed by the verified subject (rate-limit.ts: decided in memory, counted in
 * Redis in batches).
 *
 * The request's log line and duration metric are written on `finish`; the line goes through a
 * child logger without the redaction pass (logger.ts says why it is safe and what it saves). The
 * request id, the default headers and that line come from request-envelope.ts, which the fast lane
 * shares.
 *
 * In front of express, `handler` runs the fast lane (fast-lane.ts): routes register their happy
 * path there with `kit.fast` (the cached menu, the order create) and it answers those requests with
 * node's own request and response; everything else, and every request it hands back, goes through
 * the express application below as before.
 *
 * No compression middleware: nginx in front gzips responses (and the `compression` package is not
 * a dependency); the menu, the one hot body, comes with its codings prepared once per version
 * (menu/menu-representation.ts).
 */
import type { RequestListener } from 'node:http';
import express, { Router, type Express, type Request, type RequestHandler, type Response } from 'express';
import type { Redis } from 'ioredis';
import { LIVENESS_PATH, METRICS_PATH, READINESS_PATH } from '../../../contract/constants';
import type { AppConfig } from '../config';
import type { DatabaseManager } from '../db/database-manager';
import { notFound } from '../errors';
import type { Logger } from '../logger';
import { UNMATCHED_ROUTE, type AppMetrics } from '../metrics';
import type { Role } from '../auth/claims';
import { authClaims, authenticate, requireRole, requireSameRestaurant } from '../auth/middleware';
import { createTokenVerifier, type KeySource, type TokenVerifier } from '../auth/verify-token';
import { consistencyToken } from './consistency-token';
import { cors } from './cors';
import { errorHandler } from './error-handler';
import { createFastLane, type FastRoute } from './fast-lane';
import { liveness, readiness } from './health';
import { readInput } from './input';
import { createLoadShedder, type LoadSheddingOptions } from './load-shedding';
import { createRateLimiters, type LimitClass, type RateLimit, type RouteClass } from './rate-limit';
import { createRequestObserver, requestIdOf, setEnvelopeHeaders } from './request-envelope';

/** JSON bodies above this are refused with 413 (an order with 100 lines is a few KB). */
export const JSON_BODY_LIMIT = '100kb';
/** The same limit in bytes, for the fast lane's own body reads (body-parser reads '100kb' as 102,400). */
const JSON_BODY_LIMIT_BYTES = 100 * 1024;
/** nginx (a pod in the cluster, loopback locally) is the only proxy in front of the api. */
const TRUSTED_PROXIES: readonly string[] = ['loopback', 'uniquelocal'];
const ROUTE_BASE = Symbol('route base');

export interface RouteKit {
  readonly authenticate: RequestHandler;
  readonly rateLimit: (routeClass: RouteClass) => RequestHandler;
  /** Load shedding; only for non-critical route classes. */
  readonly shed: (routeClass: RouteClass) => RequestHandler;
  readonly requireRole: (...roles: Role[]) => RequestHandler;
  readonly requireSameRestaurant: (paramName?: string) => RequestHandler;
  /** First middleware of every nested router, so the metrics route label keeps its mount path. */
  readonly trackRouteBase: RequestHandler;
  readonly verifyToken: TokenVerifier;
  /** Answers a route's happy path before express (fast-lane.ts); the express route stays for everything else. */
  readonly fast: (route: FastRoute) => void;
}

export interface AppDependencies {
  readonly config: AppConfig;
  readonly db: DatabaseManager;
  readonly logger: Logger;
  readonly metrics: AppMetrics;
  /** JWKS key source: `remoteKeySet(config)` in production, `createLocalJWKSet` in tests. */
  readonly jwks: KeySource;
  /** Rate limits use it (with an in-memory fallback). @default - memory-only limits */
  readonly redis?: Redis;
  /** @default DEFAULT_RATE_LIMITS, and `client` from CLIENT_RATE_LIMIT_REQUESTS per CLIENT_RATE_LIMIT_WINDOW_SECONDS */
  readonly rateLimits?: Partial<Record<LimitClass, RateLimit>>;
  /** @default - DEFAULT_* thresholds, live event-loop delay, pool waiting from `db.poolStats()` */
  readonly loadShedding?: LoadSheddingOptions;
  /** Mounts the domain routes on the `/v1` router. */
  readonly routes?: (v1: Router, kit: RouteKit) => void;
}

export interface AppHandle {
  /** The public API (PORT): the fast lane, then `app`. What the server listens with. */
  readonly handler: RequestListener;
  /** The public API's express application, without the fast lane. */
  readonly app: Express;
  /** Requests the fast lane answered itself. */
  fastLaneAnswered(): number;
  /** Probes and metrics (INTERNAL_PORT): `/healthz`, `/readyz`, `/metrics`. */
  readonly internalApp: Express;
  /** Readiness answers 503 from now on; requests are still served. */
  startDraining(): void;
  isDraining(): boolean;
  /** Stops the app's timers (event-loop sampling, rate-limit syncs). The caller closes db and redis. */
  close(): void;
}

function routeLabel(req: Request, res: Response): string {
  if (!req.route) return UNMATCHED_ROUTE;
  const base = (res.locals as Record<symbol, string | undefined>)[ROUTE_BASE] ?? '';
  return `${base}${String(req.route.path)}`;
}

export function createApp(deps: AppDependencies): AppHandle {
  const { config, db, logger, metrics } = deps;
  let draining = false;
  const verifyToken = createTokenVerifier({ issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, keys: deps.jwks });
  const limiters = createRateLimiters({
    redis: deps.redis,
    limits: { client: { points: config.CLIENT_RATE_LIMIT_REQUESTS, windowSeconds: config.CLIENT_RATE_LIMIT_WINDOW_SECONDS }, ...deps.rateLimits },
    metrics,
    logger,
  });
  const rateLimit = limiters.byRoute;
  const shedder = createLoadShedder(
    {
      poolWaiting: () => db.poolStats().reduce((sum, pool) => sum + pool.waiting, 0),
      ...deps.loadShedding,
    },
    metrics,
  );
  const trackRouteBase: RequestHandler = (req, res, next) => {
    (res.locals as Record<symbol, string>)[ROUTE_BASE] = req.baseUrl;
    next();
  };
  const observer = createRequestObserver(logger, metrics);
  const fastLane = createFastLane({
    corsOrigins: new Set(config.CORS_ALLOWED_ORIGINS),
    verifyToken,
    limiters,
    observer,
    trustProxy: TRUSTED_PROXIES,
    isDraining: () => draining,
    logger,
    bodyLimitBytes: JSON_BODY_LIMIT_BYTES,
  });
  const kit: RouteKit = {
    authenticate: authenticate(verifyToken),
    rateLimit,
    shed: shedder.shed,
    requireRole,
    requireSameRestaurant,
    trackRouteBase,
    verifyToken,
    fast: (route) => fastLane.add(route),
  };

  const app = express();
  app.disable('x-powered-by');
  // nginx (a pod in the cluster, loopback locally) is the only proxy: req.ip is then the client.
  app.set('trust proxy', TRUSTED_PROXIES);

  app.use((req, res, next) => {
    const id = requestIdOf(req);
    (req as Request & { id?: string }).id = id;
    setEnvelopeHeaders(res, id, draining);
    observer.onFinish(
      req,
      res,
      id,
      () => req.path,
      () => routeLabel(req, res),
    );
    next();
  });
  app.use(cors(config.CORS_ALLOWED_ORIGINS));
  app.use(limiters.byClient);
  app.use(consistencyToken());
  app.use(readInput(express.json({ limit: JSON_BODY_LIMIT })));

  const v1 = Router();
  v1.use(trackRouteBase);
  v1.get('/whoami', kit.authenticate, rateLimit('read'), (_req, res) => {
    res.json({ claims: authClaims(res) });
  });
  deps.routes?.(v1, kit);
  app.use('/v1', v1);

  app.use(() => {
    throw notFound('route');
  });
  app.use(errorHandler(logger));

  const internalApp = express();
  internalApp.disable('x-powered-by');
  internalApp.get(LIVENESS_PATH, liveness);
  internalApp.get(READINESS_PATH, readiness({ isDraining: () => draining }));
  internalApp.get(METRICS_PATH, async (_req, res) => {
    res.set({ 'Content-Type': metrics.registry.contentType, 'Cache-Control': 'no-store' }).send(await metrics.registry.metrics());
  });
  internalApp.use(() => {
    throw notFound('route');
  });
  internalApp.use(errorHandler(logger));

  return {
    handler: (req, res) => {
      if (!fastLane.handle(req, res, app)) app(req, res);
    },
    app,
    fastLaneAnswered: () => fastLane.answered,
    internalApp,
    startDraining: () => {
      draining = true;
    },
    isDraining: () => draining,
    close: () => {
      shedder.close();
      limiters.close();
    },
  };
}
