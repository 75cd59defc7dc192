/**
 * The environment contract of the api image's processes (roles api, ws, migrate, maintenance,
 * db-bootstrap): one strict zod schema of every variable they read, with its defaults and
 * cross-variable rules. Both sides import it and neither imports the other: the services parse
 * their environment with it (app/src/config.ts, the only reader of `process.env`), and the
 * `<location>-app` stack builds container environments typed by its variable names
 * (stacks/infra/constructs/container-environment.ts), which a test parses back through this schema.
 *
 * Imports only zod and ./constants (tests/architecture/imports.test.ts keeps it a leaf).
 */
import { z } from 'zod';
import { APP_HTTP_PORT, APP_INTERNAL_PORT, DATABASE_PORT, DEFAULT_WS_HEARTBEAT_INTERVAL_MS, ORDER_STREAM_RETENTION_MS, REDIS_PORT } from './constants';

const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = z.coerce.number().int().positive();
const booleanString = z.enum(['true', 'false']).transform((v) => v === 'true');
const hostList = z
  .string()
  .transform((v) => v.split(',').map((h) => h.trim()).filter((h) => h.length > 0));

/**
 * Requests one client address may send per window, location-wide (Redis), counted before
 * authentication: 4,000 per 10 s (400/s). A whole restaurant can sit behind one NAT address
 * (guest Wi-Fi): the busiest sample location's declared peak of 480 orders a minute at about 40
 * requests each (the capacity model's 6 writes and 34 reads) is 320/s. The short window gives a
 * flooder's address its budget back soon after it stops.
 */
export const DEFAULT_CLIENT_RATE_LIMIT_REQUESTS = 4000;
export const DEFAULT_CLIENT_RATE_LIMIT_WINDOW_SECONDS = 10;

export const SERVICE_ROLES = ['api', 'ws', 'migrate', 'maintenance', 'db-bootstrap'] as const;
export type ServiceRole = (typeof SERVICE_ROLES)[number];

/** `arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-<suffix>`. */
const SECRETS_MANAGER_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

export const configSchema = z
  .object({
    NODE_ENV: z.enum(['production', 'development', 'test']).default('production'),
    SERVICE_ROLE: z.enum(SERVICE_ROLES),
    LOCATION_ID: z.string().regex(/^[a-z][a-z0-9-]{1,30}[a-z0-9]$/),
    PORT: port.default(APP_HTTP_PORT),
    /**
     * Probes (`/healthz`, `/readyz`) and Prometheus `/metrics`, for the kubelet and the scraper
     * only: nginx never proxies to it and the public PORT answers 404 for those paths.
     */
    INTERNAL_PORT: port.default(APP_INTERNAL_PORT),
    /**
     * The API's public origin (`https://api.<location domain>`), the base of the URLs the api hands
     * out (menu images with IMAGE_STORAGE=filesystem). Never taken from a request's Host header.
     * @default - the address and port the process accepted the connection on
     */
    PUBLIC_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
    /** See DEFAULT_CLIENT_RATE_LIMIT_REQUESTS (app/src/http/rate-limit.ts applies it). */
    CLIENT_RATE_LIMIT_REQUESTS: positiveInt.default(DEFAULT_CLIENT_RATE_LIMIT_REQUESTS),
    CLIENT_RATE_LIMIT_WINDOW_SECONDS: positiveInt.default(DEFAULT_CLIENT_RATE_LIMIT_WINDOW_SECONDS),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
    SHUTDOWN_GRACE_MS: positiveInt.default(25000),

    DATABASE_PRIMARY_HOST: z.string().min(1),
    /** Comma-separated read replica hosts (`host` or `host:port`, port defaulting to DATABASE_PORT); empty when none. */
    DATABASE_REPLICA_HOSTS: hostList.default([]),
    DATABASE_PORT: port.default(DATABASE_PORT),
    DATABASE_NAME: z.string().min(1),
    DATABASE_USER: z.string().min(1),
    /** `iam`: short-lived RDS IAM tokens (production); `password`: DATABASE_PASSWORD (local, tests). */
    DATABASE_AUTH: z.enum(['iam', 'password']).default('iam'),
    DATABASE_PASSWORD: z.string().optional(),
    /** `verify-full` against the RDS CA bundle in the image; `disable` only on loopback. */
    DATABASE_SSL: z.enum(['verify-full', 'require', 'disable']).default('verify-full'),
    DATABASE_POOL_MAX: positiveInt.default(20),
    DATABASE_POOL_IDLE_TIMEOUT_MS: positiveInt.default(30000),
    DATABASE_POOL_ACQUIRE_TIMEOUT_MS: positiveInt.default(2000),
    DATABASE_STATEMENT_TIMEOUT_MS: positiveInt.default(5000),
    /**
     * The break-glass master login's Secrets Manager secret (JSON with `username` and `password`).
     * Only SERVICE_ROLE=db-bootstrap may be given it: that Job logs in as the master once per release
     * to create DATABASE_USER and hand it the database (app/src/db/bootstrap.ts); its IAM role is the
     * only one allowed to read the secret.
     */
    DATABASE_MASTER_SECRET_ARN: z.string().regex(SECRETS_MANAGER_ARN, 'must be a Secrets Manager secret ARN').optional(),

    REDIS_HOST: z.string().min(1),
    REDIS_PORT: port.default(REDIS_PORT),
    REDIS_TLS: booleanString.default(true),
    /** `iam`: ElastiCache RBAC user with IAM auth (production); `none`: loopback Redis. */
    REDIS_AUTH: z.enum(['iam', 'none']).default('iam'),
    REDIS_USER: z.string().optional(),
    /** The replication group id, which ElastiCache IAM tokens are signed for (REDIS_AUTH=iam). */
    REDIS_IAM_CACHE_NAME: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be an ElastiCache replication group id').optional(),

    AWS_REGION: z.string().min(1).optional(),
    ASSET_BUCKET: z.string().min(1).optional(),
    CDN_BASE_URL: z.url().optional(),
    CDN_DISTRIBUTION_ID: z.string().min(1).optional(),
    /**
     * Origins whose pages may call the api from a browser (CORS), comma-separated, e.g. the web
     * client's CDN origin `https://cdn.downtown.example.com`. Empty (the default): no CORS headers,
     * so only same-origin pages (the local platform serves the client and the api on one origin).
     */
    CORS_ALLOWED_ORIGINS: z
      .string()
      .default('')
      .transform((v) => v.split(',').map((o) => o.trim()).filter((o) => o.length > 0))
      .pipe(z.array(z.string().regex(/^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/, 'must be origins like https://cdn.example.com (scheme, host, optional port; no path)'))),
    /**
     * Where menu images are stored: `s3` (ASSET_BUCKET behind the CDN; what the app stack sets in
     * production) or `filesystem` (IMAGE_DIR, served by the api itself; local runs and tests).
     */
    IMAGE_STORAGE: z.enum(['s3', 'filesystem']).default('filesystem'),
    /** An S3-compatible endpoint instead of AWS's (a local server); path-style addressing is used with it. */
    S3_ENDPOINT: z.url().optional(),
    /** The directory menu images are written to and served from with IMAGE_STORAGE=filesystem. */
    IMAGE_DIR: z.string().min(1).default('data/menu-images'),
    /** Largest image upload accepted (bytes); larger ones are refused with 413. 10 MiB. */
    IMAGE_MAX_BYTES: positiveInt.default(10485760),
    /** Largest image accepted in pixels (width x height), checked before decoding (decompression bombs). */
    IMAGE_MAX_PIXELS: positiveInt.default(50000000),

    JWT_ISSUER: z.string().min(1),
    JWT_AUDIENCE: z.string().min(1),
    JWT_JWKS_URL: z.url(),

    /** Server ping interval; nginx's websocket read timeout is derived from it. */
    WS_HEARTBEAT_INTERVAL_MS: positiveInt.default(DEFAULT_WS_HEARTBEAT_INTERVAL_MS),
    /** A resuming client whose missed events start further back than this gets `resync` instead of a replay (15 minutes). */
    WS_REPLAY_WINDOW_MS: positiveInt.default(900000),
    /** A client whose unsent data exceeds this many bytes is closed with 4000 (reconnect and resume). */
    WS_MAX_BUFFERED_BYTES: positiveInt.default(1048576),
    /** Largest client message accepted; bigger ones close the socket with 1009. */
    WS_MAX_PAYLOAD_BYTES: positiveInt.default(4096),
    /** XREAD BLOCK timeout of the stream consumer; bounds how long a silently dead Redis connection goes unnoticed. */
    WS_STREAM_BLOCK_MS: positiveInt.default(5000),
    /**
     * Open websockets one token subject (`sub`) may hold on this process; more are closed with 4002.
     * Room for a guest token a whole table shares (10 guests, two tabs each) or a staff member's devices.
     */
    WS_MAX_SOCKETS_PER_SUBJECT: positiveInt.default(20),
    /** Open websockets of one table's guests (every subject together) on this process; more are closed with 4002. */
    WS_MAX_SOCKETS_PER_TABLE: positiveInt.default(40),
    /** Client messages (and protocol pings) one socket may send at once; the bucket refills at WS_CLIENT_MESSAGES_PER_SECOND. */
    WS_CLIENT_MESSAGE_BURST: positiveInt.default(20),
    /** Sustained client messages per second per socket; a socket that empties its bucket is closed with 1008. */
    WS_CLIENT_MESSAGES_PER_SECOND: positiveInt.default(2),
  })
  .strict()
  .superRefine((env, ctx) => {
    // The producer trims the streams by age; a longer window would promise replays of trimmed events.
    if (env.WS_REPLAY_WINDOW_MS > ORDER_STREAM_RETENTION_MS) {
      ctx.addIssue({ code: 'custom', path: ['WS_REPLAY_WINDOW_MS'], message: `must be at most ${ORDER_STREAM_RETENTION_MS} (the order streams' retention)` });
    }
    if (env.INTERNAL_PORT === env.PORT) {
      ctx.addIssue({ code: 'custom', path: ['INTERNAL_PORT'], message: `must differ from PORT (${env.PORT}): the public port must not serve probes and metrics` });
    }
    if (env.DATABASE_AUTH === 'password' && !env.DATABASE_PASSWORD) {
      ctx.addIssue({ code: 'custom', path: ['DATABASE_PASSWORD'], message: 'is required when DATABASE_AUTH=password' });
    }
    if (env.REDIS_AUTH === 'iam' && !env.REDIS_USER) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_USER'], message: 'is required when REDIS_AUTH=iam' });
    }
    if (env.REDIS_AUTH === 'iam' && !env.REDIS_IAM_CACHE_NAME) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_IAM_CACHE_NAME'], message: 'is required when REDIS_AUTH=iam' });
    }
    if (env.IMAGE_STORAGE === 's3') {
      for (const name of ['ASSET_BUCKET', 'CDN_BASE_URL', 'AWS_REGION'] as const) {
        if (!env[name]) ctx.addIssue({ code: 'custom', path: [name], message: 'is required when IMAGE_STORAGE=s3' });
      }
    }
    // The IAM token signers sign for a region.
    if ((env.DATABASE_AUTH === 'iam' || env.REDIS_AUTH === 'iam') && !env.AWS_REGION) {
      ctx.addIssue({ code: 'custom', path: ['AWS_REGION'], message: 'is required when DATABASE_AUTH or REDIS_AUTH is iam' });
    }
    // The bootstrap reads the master secret from Secrets Manager in the region; no other process
    // is told where the master login is.
    if (env.SERVICE_ROLE === 'db-bootstrap') {
      for (const name of ['DATABASE_MASTER_SECRET_ARN', 'AWS_REGION'] as const) {
        if (!env[name]) ctx.addIssue({ code: 'custom', path: [name], message: 'is required when SERVICE_ROLE=db-bootstrap' });
      }
    } else if (env.DATABASE_MASTER_SECRET_ARN !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['DATABASE_MASTER_SECRET_ARN'], message: 'is only for SERVICE_ROLE=db-bootstrap' });
    }
  });

export type EnvironmentVariableName = keyof z.input<typeof configSchema>;

/** Every variable the contract knows, for the stack that builds container environments. */
export const ENVIRONMENT_VARIABLES = Object.keys(configSchema.shape) as EnvironmentVariableName[];
