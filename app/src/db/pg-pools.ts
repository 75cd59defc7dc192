/**
 * node-postgres pools built from the environment contract: one per host (the primary, each read
 * replica), all with the same port, database, user, credentials, TLS and limits.
 *
 * - `statement_timeout` travels in the connection's startup packet (pg's `statement_timeout`
 *   option), so every session starts with it: no per-query SET, no round trip, and a transaction
 *   may still raise it with `SET LOCAL` for a known long statement.
 * - TLS: `verify-full` checks the chain and the host name. RDS certificates chain to Amazon's RDS
 *   CAs, which are not in Node's default trust store: the app image ships the RDS CA bundle and
 *   sets NODE_EXTRA_CA_CERTS to it (app/Dockerfile); `caBundlePath` is the explicit alternative.
 *   `require` encrypts without verifying; `disable` is for loopback only.
 * - IAM: pg calls `password` for every new connection, so a short-lived RDS IAM token is fetched
 *   per connection from the injected provider (`iamTokenProviders(config).database`, which caches
 *   a token per endpoint for 10 minutes: see app/src/aws/rds-iam-token.ts).
 * - Every pool gets an `error` listener: an idle client whose server went away (failover, restart,
 *   pg_terminate_backend) emits `error` on the pool, and an unhandled `error` event kills the process.
 */
import * as fs from 'node:fs';
import { Pool, type PoolClient, type PoolConfig } from 'pg';
import type { AppConfig } from '../config';

export type DatabaseRole = 'primary' | 'replica';

/** The subset of a pino logger the database layer uses (pino's `logger.warn(fields, message)`). */
export interface DatabaseLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** Returns an RDS IAM authentication token for one database endpoint (valid 15 minutes). */
export type IamTokenProvider = (endpoint: { readonly host: string; readonly port: number; readonly user: string }) => Promise<string>;

export interface PoolSettings {
  /** Shown in pg_stat_activity and the server log. */
  readonly applicationName: string;
  /**
   * PEM bundle of the CAs to trust with DATABASE_SSL=verify-full (the RDS bundle in the image).
   * @default - Node's trust store, plus NODE_EXTRA_CA_CERTS
   */
  readonly caBundlePath?: string;
  /** Required when DATABASE_AUTH=iam. */
  readonly iamTokenProvider?: IamTokenProvider;
  /**
   * Custom settings (`prefix.name`) every session starts with, sent in the startup packet like
   * statement_timeout: no round trip. @default - none
   */
  readonly sessionSettings?: Readonly<Record<string, string>>;
}

/** A custom setting needs a prefix; values are plain words, so the startup `options` need no escaping. */
const SESSION_SETTING_NAME = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;
const SESSION_SETTING_VALUE = /^[A-Za-z0-9_.-]+$/;

/** `-c name=value ...` for the startup packet's `options`, or undefined when there are none. */
export function sessionOptions(settings: Readonly<Record<string, string>> | undefined): string | undefined {
  const entries = Object.entries(settings ?? {});
  if (entries.length === 0) return undefined;
  return entries
    .map(([name, value]) => {
      if (!SESSION_SETTING_NAME.test(name)) throw new Error(`session setting ${JSON.stringify(name)} must be a custom setting named prefix.name (lowercase)`);
      if (!SESSION_SETTING_VALUE.test(value)) throw new Error(`session setting ${name} must be letters, digits, _ . or -, got ${JSON.stringify(value)}`);
      return `-c ${name}=${value}`;
    })
    .join(' ');
}

export const IAM_PROVIDER_MISSING =
  'DATABASE_AUTH=iam needs an iamTokenProvider option in createDatabaseManager (process entries pass iamTokenProviders(config).database, see app/src/aws/iam-auth.ts)';

export function sslOptions(mode: AppConfig['DATABASE_SSL'], caBundlePath: string | undefined): PoolConfig['ssl'] {
  switch (mode) {
    case 'verify-full': {
      if (caBundlePath === undefined) return { rejectUnauthorized: true };
      let ca: string;
      try {
        ca = fs.readFileSync(caBundlePath, 'utf8');
      } catch (error) {
        throw new Error(`caBundlePath ${JSON.stringify(caBundlePath)} cannot be read (DATABASE_SSL=verify-full): ${(error as Error).message}`);
      }
      return { rejectUnauthorized: true, ca };
    }
    case 'require':
      return { rejectUnauthorized: false };
    case 'disable':
      return false;
  }
}

export interface DatabaseEndpoint {
  readonly host: string;
  readonly port: number;
}

/**
 * `host`, `host:port` or `[ipv6]:port`. RDS replicas share the primary's port (DATABASE_PORT), but
 * servers on one machine (the local platform, tests) cannot, so a host entry may carry its own port.
 */
export function parseEndpoint(text: string, defaultPort: number): DatabaseEndpoint {
  const match = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d{1,5}))?$/.exec(text.trim());
  const port = match?.[3] === undefined ? defaultPort : Number(match[3]);
  if (!match || port < 1 || port > 65535) throw new Error(`database host must be "host" or "host:port" (port 1..65535), got ${JSON.stringify(text)}`);
  return { host: match[1] ?? match[2]!, port };
}

/** The pg pool configuration for one database endpoint. Throws when the credentials cannot work. */
export function poolConfigFor(config: AppConfig, endpoint: DatabaseEndpoint, settings: PoolSettings): PoolConfig {
  const { host, port } = endpoint;
  const user = config.DATABASE_USER;
  let password: PoolConfig['password'];
  if (config.DATABASE_AUTH === 'iam') {
    const provider = settings.iamTokenProvider;
    if (provider === undefined) throw new Error(IAM_PROVIDER_MISSING);
    password = () => provider({ host, port, user });
  } else {
    password = config.DATABASE_PASSWORD;
  }
  return {
    host,
    port,
    database: config.DATABASE_NAME,
    user,
    password,
    ssl: sslOptions(config.DATABASE_SSL, settings.caBundlePath),
    application_name: settings.applicationName,
    statement_timeout: config.DATABASE_STATEMENT_TIMEOUT_MS,
    options: sessionOptions(settings.sessionSettings),
    max: config.DATABASE_POOL_MAX,
    idleTimeoutMillis: config.DATABASE_POOL_IDLE_TIMEOUT_MS,
    // pg-pool applies this both to waiting for a free client and to opening a new connection.
    connectionTimeoutMillis: config.DATABASE_POOL_ACQUIRE_TIMEOUT_MS,
    // Lets the kernel notice a peer that vanished without a FIN (a failed-over instance).
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
}

/** A pool with its role, endpoint (`host:port`) and the count of connection errors it survived. */
export interface RolePool {
  readonly role: DatabaseRole;
  readonly host: string;
  readonly pool: Pool;
  /** Connections lost so far (idle or checked out), each counted once. */
  readonly errors: number;
  /**
   * Listens for errors on a checked-out client (pg-pool only listens on idle ones; an `error`
   * event with no listener kills the process). Call the returned function before releasing it.
   */
  watchCheckedOut(client: PoolClient): () => void;
}

export function createRolePool(role: DatabaseRole, config: PoolConfig, logger: DatabaseLogger, purpose = 'queries'): RolePool {
  const pool = new Pool(config);
  const host = `${config.host}:${config.port}`;
  let errors = 0;
  const onError = (error: Error) => {
    errors += 1;
    logger.error({ role, host, purpose, err: error }, 'database connection error (the client was discarded)');
  };
  // An idle client that loses its server: pg-pool removes it and re-emits the error here.
  pool.on('error', onError);
  return {
    role,
    host,
    pool,
    get errors() {
      return errors;
    },
    watchCheckedOut: (client) => {
      // A lost connection can emit twice (the server's FATAL message, then the socket's end).
      let reported = false;
      const listener = (error: Error) => {
        if (reported) return;
        reported = true;
        onError(error);
      };
      client.on('error', listener);
      return () => client.removeListener('error', listener);
    },
  };
}

