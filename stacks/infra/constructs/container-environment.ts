/**
 * Builds the container environment of the api image (roles api, ws, migrate, maintenance,
 * db-bootstrap) from the environment contract, `contract/environment.ts`, which the services
 * parse their environment with. The keys are typed by the contract's own variable names, so a
 * renamed or removed variable fails type-checking here, and a test parses every location's result
 * with the contract's strict schema.
 *
 * A pure function: it creates no resources. Values from other stacks may be Terraform tokens;
 * they pass through untouched (a list of replica hosts is joined with `Fn.join` when it is one).
 */
import { APP_HTTP_PORT, APP_INTERNAL_PORT, DEFAULT_WS_HEARTBEAT_INTERVAL_MS } from '../../../contract/constants';
import { type EnvironmentVariableName, SERVICE_ROLES, type ServiceRole } from '../../../contract/environment';
import { Fn, Token } from '../cdktf';
import type { Location } from '../config/location';
import type { LocationDataOutputs } from '../stack-contracts';
import { redisReplicationGroupId } from './redis-replication-group';

/** Who issues the bearer JWTs the api and ws verify. */
export interface IdentityProvider {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUrl: string;
}

/**
 * The company identity service, run outside this repository and this platform: it issues the
 * JWTs for staff, kitchen screens and guests at tables; this platform only verifies them against
 * its published keys (app/src/auth/verify-token.ts). Tests and `npm run local` stand in for it
 * with a loopback issuer of their own.
 */
export const IDENTITY_SERVICE: IdentityProvider = {
  issuer: 'https://identity.banrimkwae.com',
  audience: 'restaurant-platform',
  jwksUrl: 'https://identity.banrimkwae.com/.well-known/jwks.json',
};

export interface ContainerEnvironmentInput {
  readonly role: ServiceRole;
  readonly location: Location;
  readonly data: LocationDataOutputs;
  /**
   * How long the process may take to stop after SIGTERM (`SHUTDOWN_GRACE_MS`). Required for the
   * long-running roles (api, ws): it must end before the pod's termination grace period does.
   * Ignored for migrate, maintenance and db-bootstrap, which are never asked to stop.
   * @default - none: building an api or ws environment without it throws
   */
  readonly shutdownGraceMs?: number;
  /** @default IDENTITY_SERVICE */
  readonly identity?: IdentityProvider;
  /**
   * Websocket ping interval; nginx derives its websocket timeout from the same value.
   * @default DEFAULT_WS_HEARTBEAT_INTERVAL_MS (the app's own default)
   */
  readonly websocketHeartbeatIntervalMs?: number;
}

type Environment = Partial<Record<EnvironmentVariableName, string>>;

const LONG_RUNNING_ROLES: readonly ServiceRole[] = ['api', 'ws'];

/**
 * The variables a role needs in production, and only those: the contract is strict, and a
 * variable it does not know fails the contract test (tests/constructs/container-environment.test.ts).
 *
 * - every role: database (IAM auth, TLS verified) and Redis (TLS, IAM user), region for the
 *   IAM token signers, and JWT settings (the contract requires them of every role);
 * - api and ws: port, the internal port of probes and metrics (what the Deployment's probes and the
 *   scrape annotations name), shutdown grace, and the read replicas they spread reads over;
 * - api: the asset bucket and CDN it writes menu images to (IMAGE_STORAGE=s3) and invalidates, its
 *   public origin (`https://<domains.api>`), the base of the URLs it hands out, and the CDN's
 *   origin as the one browser origin allowed to call it (the web client is served from the CDN);
 * - ws: the heartbeat nginx's websocket timeout is derived from;
 * - migrate and maintenance: the primary only (DDL, REFRESH MATERIALIZED VIEW);
 * - db-bootstrap: the primary, plus the master secret it alone is told about (DATABASE_USER is the
 *   role it creates; it logs in as the master).
 */
export function containerEnvironment(input: ContainerEnvironmentInput): Record<string, string> {
  const { role, location, data } = input;
  if (!(SERVICE_ROLES as readonly string[]).includes(role)) {
    throw new Error(`role must be one of ${SERVICE_ROLES.join(', ')}, got "${role}" (location "${location.id}")`);
  }
  const identity = input.identity ?? IDENTITY_SERVICE;
  const heartbeatMs = input.websocketHeartbeatIntervalMs ?? DEFAULT_WS_HEARTBEAT_INTERVAL_MS;
  requirePositiveInteger('websocketHeartbeatIntervalMs', heartbeatMs, location);

  const env: Environment = {
    NODE_ENV: 'production',
    SERVICE_ROLE: role,
    LOCATION_ID: location.id,
    AWS_REGION: location.region,

    DATABASE_PRIMARY_HOST: data.database.primaryHost,
    DATABASE_PORT: numberValue(data.database.port),
    DATABASE_NAME: data.database.name,
    DATABASE_USER: data.database.appUser,
    DATABASE_AUTH: 'iam',
    DATABASE_SSL: 'verify-full',

    REDIS_HOST: data.redis.primaryHost,
    REDIS_PORT: numberValue(data.redis.port),
    REDIS_TLS: 'true',
    REDIS_AUTH: 'iam',
    REDIS_USER: data.redis.user,
    REDIS_IAM_CACHE_NAME: redisReplicationGroupId(location.id),

    JWT_ISSUER: identity.issuer,
    JWT_AUDIENCE: identity.audience,
    JWT_JWKS_URL: identity.jwksUrl,
  };

  if (LONG_RUNNING_ROLES.includes(role)) {
    if (input.shutdownGraceMs === undefined) {
      throw new Error(`shutdownGraceMs is required for role "${role}", got undefined (location "${location.id}")`);
    }
    requirePositiveInteger('shutdownGraceMs', input.shutdownGraceMs, location);
    env.PORT = String(APP_HTTP_PORT);
    env.INTERNAL_PORT = String(APP_INTERNAL_PORT);
    env.SHUTDOWN_GRACE_MS = String(input.shutdownGraceMs);
    env.DATABASE_REPLICA_HOSTS = joinHosts(data.database.replicaHosts);
  }
  if (role === 'api') {
    env.ASSET_BUCKET = data.assets.bucketName;
    env.CDN_BASE_URL = `https://${data.assets.cdnDomainName}`;
    env.CDN_DISTRIBUTION_ID = data.assets.distributionId;
    env.PUBLIC_BASE_URL = `https://${location.domains.api}`;
    env.CORS_ALLOWED_ORIGINS = `https://${data.assets.cdnDomainName}`;
    // The app's default is the filesystem (local runs); pods share no disk, so production is S3.
    env.IMAGE_STORAGE = 's3';
  }
  if (role === 'ws') {
    env.WS_HEARTBEAT_INTERVAL_MS = String(heartbeatMs);
  }
  if (role === 'db-bootstrap') {
    env.DATABASE_MASTER_SECRET_ARN = data.database.masterSecretArn;
  }
  return env as Record<string, string>;
}

/** Comma-separated, as the contract parses it; empty (no replicas) means "read from the primary". */
function joinHosts(hosts: readonly string[]): string {
  return Token.isUnresolved(hosts) || hosts.some((h) => Token.isUnresolved(h)) ? Fn.join(',', [...hosts]) : hosts.join(',');
}

function numberValue(value: number): string {
  return Token.isUnresolved(value) ? Token.asString(value) : String(value);
}

function requirePositiveInteger(field: string, value: number, location: Location): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${field} must be a positive integer, got ${value} (location "${location.id}")`);
  }
}
