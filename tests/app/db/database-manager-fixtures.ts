/** Shared by the database manager tests: an environment contract pointing at a harness cluster. */
import { parseConfig, type AppConfig } from '../../../app/src/config';
import type { DatabaseLogger } from '../../../app/src/db/pg-pools';
import type { PostgresCluster } from '../../../tools/services/postgres-cluster';

/** A complete, valid environment; database variables point nowhere until overridden. */
export function testEnvironment(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    SERVICE_ROLE: 'api',
    LOCATION_ID: 'test-location',
    DATABASE_PRIMARY_HOST: 'primary.db.internal',
    DATABASE_NAME: 'restaurant',
    DATABASE_USER: 'app',
    DATABASE_AUTH: 'password',
    DATABASE_PASSWORD: 'not-a-real-password',
    DATABASE_SSL: 'disable',
    REDIS_HOST: '127.0.0.1',
    REDIS_AUTH: 'none',
    REDIS_TLS: 'false',
    JWT_ISSUER: 'https://identity.test',
    JWT_AUDIENCE: 'order-api',
    JWT_JWKS_URL: 'https://identity.test/.well-known/jwks.json',
    ...overrides,
  };
}

/** The contract for a harness cluster: replicas as `host:port` (they cannot share the primary's port here). */
export function clusterConfig(cluster: PostgresCluster, overrides: Record<string, string> = {}): AppConfig {
  return parseConfig(
    testEnvironment({
      DATABASE_PRIMARY_HOST: cluster.primary.host,
      DATABASE_PORT: String(cluster.primary.port),
      DATABASE_REPLICA_HOSTS: `${cluster.replica.host}:${cluster.replica.port}`,
      DATABASE_NAME: cluster.database,
      DATABASE_USER: cluster.user,
      DATABASE_PASSWORD: cluster.password,
      ...overrides,
    }),
  );
}

export interface RecordingLogger extends DatabaseLogger {
  readonly entries: { level: 'info' | 'warn' | 'error'; message: string; fields: Record<string, unknown> }[];
}

export function recordingLogger(): RecordingLogger {
  const entries: RecordingLogger['entries'] = [];
  return {
    entries,
    info: (fields, message) => void entries.push({ level: 'info', message, fields }),
    warn: (fields, message) => void entries.push({ level: 'warn', message, fields }),
    error: (fields, message) => void entries.push({ level: 'error', message, fields }),
  };
}

/** Polls until `check` holds, or fails naming what it waited for. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<number> {
  const startedAt = Date.now();
  while (Date.now() - startedAt < timeoutMs) {
    if (await check()) return Date.now() - startedAt;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
