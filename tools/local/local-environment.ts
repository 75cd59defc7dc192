/**
 * The environment of the local platform's processes, built by the app stack's own function
 * (`containerEnvironment`, stacks/infra/constructs/container-environment.ts) and then changed only where
 * loopback differs from AWS. Every change is listed in LOOPBACK_OVERRIDES with its reason, and the
 * result is parsed by the app's strict schema before a process is started, so a variable the
 * contract gains or drops shows up here as it does in the stack.
 */
import { parseConfig } from '../../app/src/config';
import type { ServiceRole } from '../../contract/environment';
import type { Location } from '../../stacks/infra/config/location';
import { containerEnvironment, type IdentityProvider } from '../../stacks/infra/constructs/container-environment';
import type { LocationDataOutputs } from '../../stacks/infra/stack-contracts';
import type { PostgresCluster } from '../services/postgres-cluster';
import type { RedisServer } from '../services/redis-server';

/** The local platform hosts every sample location's restaurant in one set of processes. */
export const LOCAL_LOCATION_ID = 'local-platform';

/**
 * What the local processes set differently from the production container environment, and why.
 * Removed: what only AWS has (IAM users, the CDN); everything else comes from the stack's function.
 */
export const LOOPBACK_OVERRIDES = {
  set: {
    LOCATION_ID: 'one platform for every sample restaurant, not one location',
    PORT: 'one loopback port per process instead of the pod port',
    INTERNAL_PORT: 'one loopback probes-and-metrics port per process instead of the pod port',
    PUBLIC_BASE_URL: "nginx's loopback address instead of the location's API name (menu image URLs)",
    NODE_ENV: 'development: loopback, no TLS',
    DATABASE_AUTH: 'password: no RDS IAM on loopback',
    DATABASE_PASSWORD: 'the harness credential (loopback only)',
    DATABASE_SSL: 'disable: loopback PostgreSQL has no TLS',
    REDIS_TLS: 'false: loopback Redis has no TLS',
    REDIS_AUTH: 'none: no ElastiCache IAM on loopback',
    IMAGE_STORAGE: 'filesystem: no S3 bucket locally',
    IMAGE_DIR: 'a temporary directory of this run',
    LOG_LEVEL: 'chosen by the runner (info locally, warn under load)',
  },
  removed: {
    REDIS_USER: 'the ElastiCache RBAC user (REDIS_AUTH=none)',
    REDIS_IAM_CACHE_NAME: 'the replication group IAM tokens are signed for',
    ASSET_BUCKET: 'S3 bucket of menu images',
    CDN_BASE_URL: 'CloudFront in front of the bucket',
    CDN_DISTRIBUTION_ID: 'CloudFront invalidations',
  },
} as const;

export interface LocalEnvironmentInput {
  readonly role: ServiceRole;
  /** Any sample location: its region and naming feed the stack's function. */
  readonly location: Location;
  readonly cluster: PostgresCluster;
  readonly redis: RedisServer;
  readonly identity: IdentityProvider;
  /** Required for api and ws (as in the stack). */
  readonly port?: number;
  /** Probes and metrics; required for api and ws. */
  readonly internalPort?: number;
  /** nginx's URL (`http://127.0.0.1:<port>`); used by the api only. */
  readonly publicBaseUrl?: string;
  readonly shutdownGraceMs?: number;
  readonly imageDir: string;
  /** @default 'info' */
  readonly logLevel?: string;
  readonly websocketHeartbeatIntervalMs?: number;
}

/** The data stack's outputs, pointing at the loopback services. */
export function loopbackDataOutputs(cluster: PostgresCluster, redis: RedisServer): LocationDataOutputs {
  return {
    database: {
      primaryHost: cluster.primary.host,
      replicaHosts: [`${cluster.replica.host}:${cluster.replica.port}`],
      port: cluster.primary.port,
      name: cluster.database,
      appUser: cluster.user,
      // The local platform logs in as the harness superuser and runs no bootstrap.
      masterSecretArn: 'arn:aws:secretsmanager:local:000000000000:secret:local-unused',
    },
    redis: { primaryHost: redis.host, readerHost: redis.host, port: redis.port, user: 'default' },
    assets: { bucketName: 'local-unused', cdnDomainName: 'cdn.local.invalid', distributionId: 'LOCALUNUSED' },
    appRoleArn: 'arn:aws:iam::000000000000:role/local-unused',
    databaseBootstrapRoleArn: 'arn:aws:iam::000000000000:role/local-unused',
    apiCertificateArn: 'arn:aws:acm:local:000000000000:certificate/unused',
  };
}

export function localProcessEnvironment(input: LocalEnvironmentInput): Record<string, string> {
  const production = containerEnvironment({
    role: input.role,
    location: input.location,
    data: loopbackDataOutputs(input.cluster, input.redis),
    shutdownGraceMs: input.shutdownGraceMs,
    identity: input.identity,
    websocketHeartbeatIntervalMs: input.websocketHeartbeatIntervalMs,
  });
  const env: Record<string, string> = { ...production };
  for (const name of Object.keys(LOOPBACK_OVERRIDES.removed)) delete env[name];
  Object.assign(env, {
    LOCATION_ID: LOCAL_LOCATION_ID,
    NODE_ENV: 'development',
    DATABASE_AUTH: 'password',
    DATABASE_PASSWORD: input.cluster.password,
    DATABASE_SSL: 'disable',
    REDIS_TLS: 'false',
    REDIS_AUTH: 'none',
    IMAGE_STORAGE: 'filesystem',
    IMAGE_DIR: input.imageDir,
    LOG_LEVEL: input.logLevel ?? 'info',
  });
  if (input.port !== undefined && 'PORT' in production) env.PORT = String(input.port);
  if (input.internalPort !== undefined && 'INTERNAL_PORT' in production) env.INTERNAL_PORT = String(input.internalPort);
  if (input.publicBaseUrl !== undefined && 'PUBLIC_BASE_URL' in production) env.PUBLIC_BASE_URL = input.publicBaseUrl;
  // The same strict schema the process applies at start: fail here, naming the variable.
  parseConfig(env);
  return { PATH: process.env.PATH ?? '', ...env };
}
