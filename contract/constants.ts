/**
 * The deployment contract of the api image: facts the services (`app/`) and the stacks that
 * deploy them (`stacks/`) both depend on, each written once. Both sides write the ports, probe
 * paths, Redis key prefix and heartbeat; the stream retention bounds a variable of the environment
 * schema (environment.ts); the service account names are the identities the image's roles run
 * under, which two stacks (data: IAM trust; app: the ServiceAccounts) must agree on.
 *
 * A leaf module: it imports nothing, so both sides import it without importing each other
 * (tests/architecture/imports.test.ts keeps it that way). A value one side alone reads stays there.
 */

/** Port the api and ws processes serve on (`PORT`'s default); the app stack's containers, Services and nginx upstreams use it. */
export const APP_HTTP_PORT = 8080;

/**
 * Port of the probes and Prometheus metrics (`INTERNAL_PORT`'s default), named `internal` in the
 * app stack's containers: the kubelet and Prometheus reach it; the Service and nginx do not, and
 * the public port answers 404 for these paths.
 */
export const APP_INTERNAL_PORT = 9090;

/** Liveness on APP_INTERNAL_PORT: the process turns; it must not touch dependencies, or a database blip restarts every pod. */
export const LIVENESS_PATH = '/healthz';
/**
 * Readiness on APP_INTERNAL_PORT: the process can take traffic (listening, not draining). It
 * checks no shared dependency: a Redis or RDS failover would otherwise take every pod out of the
 * Service at once.
 */
export const READINESS_PATH = '/readyz';
/** Prometheus metrics on APP_INTERNAL_PORT (the app stack's scrape annotations name it). */
export const METRICS_PATH = '/metrics';

/** PostgreSQL's port: what the data stack's RDS instances listen on and `DATABASE_PORT`'s default. */
export const DATABASE_PORT = 5432;
/** Redis's port: what the data stack's ElastiCache group listens on and `REDIS_PORT`'s default. */
export const REDIS_PORT = 6379;

/**
 * Every key, stream and pub/sub channel the app uses starts with this prefix (ioredis `keyPrefix`
 * for keys; stream and channel names carry it themselves). The data stack's ElastiCache RBAC user
 * may touch nothing else.
 */
export const REDIS_KEY_PREFIX = 'app:';

/**
 * Websocket ping interval (`WS_HEARTBEAT_INTERVAL_MS`'s default). The app stack passes the same
 * value to the ws containers and to nginx, which derives its websocket read timeout from it, so a
 * process started without the variable agrees with the nginx in front of it.
 */
export const DEFAULT_WS_HEARTBEAT_INTERVAL_MS = 25_000;

/**
 * How long the order streams keep events: the producer trims by age on every XADD
 * (app/src/events/order-events.ts), and the environment schema refuses a `WS_REPLAY_WINDOW_MS`
 * above it (a replay of trimmed events cannot be promised). Twice the default replay window.
 */
export const ORDER_STREAM_RETENTION_MS = 30 * 60_000;

/**
 * Kubernetes service account of every pod of the api image except the database bootstrap Job:
 * the app stack creates it, and the data stack's app IAM role trusts exactly
 * `system:serviceaccount:<location>:api`.
 */
export const APP_SERVICE_ACCOUNT_NAME = 'api';
/**
 * Kubernetes service account of the database bootstrap Job (`SERVICE_ROLE=db-bootstrap`): the
 * app stack creates it, and the data stack's bootstrap IAM role, the only one that may read the
 * master secret, trusts exactly this one.
 */
export const DATABASE_BOOTSTRAP_SERVICE_ACCOUNT_NAME = 'db-bootstrap';
