/** The environment contract of an api process wired to the loopback harness (the tests and the API bench). */
import type { PostgresCluster } from './postgres-cluster';
import type { RedisServer } from './redis-server';

export function apiProcessEnvironment(options: {
  cluster: PostgresCluster;
  redis: RedisServer;
  port: number;
  /** Probes and metrics (INTERNAL_PORT): `/healthz`, `/readyz`, `/metrics` answer only here. */
  internalPort: number;
  jwksUrl: string;
  issuer: string;
  audience: string;
  shutdownGraceMs: number;
}): Record<string, string> {
  const { cluster, redis } = options;
  return {
    PATH: process.env.PATH ?? '',
    SERVICE_ROLE: 'api',
    LOCATION_ID: 'test-cafe',
    PORT: String(options.port),
    INTERNAL_PORT: String(options.internalPort),
    // One test client at loopback sends everything from one address; the per-address limit has its
    // own tests (tests/app/http/dependencies.test.ts, tests/nginx/public-entry.test.ts).
    CLIENT_RATE_LIMIT_REQUESTS: '1000000',
    SHUTDOWN_GRACE_MS: String(options.shutdownGraceMs),
    DATABASE_PRIMARY_HOST: '127.0.0.1',
    DATABASE_PORT: String(cluster.primary.port),
    DATABASE_REPLICA_HOSTS: `127.0.0.1:${cluster.replica.port}`,
    DATABASE_NAME: cluster.database,
    DATABASE_USER: cluster.user,
    DATABASE_AUTH: 'password',
    DATABASE_PASSWORD: cluster.password,
    DATABASE_SSL: 'disable',
    REDIS_HOST: redis.host,
    REDIS_PORT: String(redis.port),
    REDIS_TLS: 'false',
    REDIS_AUTH: 'none',
    JWT_ISSUER: options.issuer,
    JWT_AUDIENCE: options.audience,
    JWT_JWKS_URL: options.jwksUrl,
  };
}
