/** Readiness and rate limiting against a real PostgreSQL cluster and a real Redis. */
import { Redis } from 'ioredis';
import { createDatabaseManager, type DatabaseManager } from '../../../app/src/db/database-manager';
import { freePort } from '../../support/services/processes';
import { startPostgresCluster, type PostgresCluster } from '../../support/services/postgres-cluster';
import { startRedis, type RedisServer } from '../../support/services/redis-server';
import { clusterConfig, recordingLogger } from '../db/database-manager-fixtures';
import { createTokenMint, getJson, httpTestConfig, startApp, type TokenMint } from './support';

let cluster: PostgresCluster;
let redisServer: RedisServer;
let mint: TokenMint;
const cleanups: (() => Promise<unknown> | void)[] = [];

beforeAll(async () => {
  [cluster, redisServer, mint] = await Promise.all([startPostgresCluster(), startRedis(), createTokenMint()]);
}, 60_000);
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await Promise.all([cluster?.stop(), redisServer?.stop()]);
});

function database(config = clusterConfig(cluster)): DatabaseManager {
  const db = createDatabaseManager(config, { logger: recordingLogger() });
  cleanups.push(() => db.close());
  return db;
}

function redisClient(): Redis {
  const redis = new Redis({ host: redisServer.host, port: redisServer.port, keyPrefix: 'app:', maxRetriesPerRequest: 1, lazyConnect: false });
  redis.on('error', () => undefined);
  cleanups.push(() => redis.disconnect());
  return redis;
}

async function running(options: Parameters<typeof startApp>[0]) {
  const app = await startApp(options);
  cleanups.push(() => app.close());
  return app;
}

describe('/readyz', () => {
  test('200 with a reachable primary and Redis', async () => {
    const redis = redisClient();
    await redis.ping();
    const app = await running({ jwks: mint.jwks, db: database(), redis });
    const { status, body } = await getJson(`${app.url}/readyz`);
    expect(status).toBe(200);
    expect(body).toEqual({ status: 'ready', failed: [], checks: { database: 'ok', redis: 'ok' }, draining: false });
  });

  test('503 naming redis after Redis stops', async () => {
    const redis = redisClient();
    await redis.ping();
    const app = await running({ jwks: mint.jwks, db: database(), redis });
    await redisServer.stop();
    cleanups.push(() => redisServer.start());
    const startedAt = Date.now();
    const { status, body } = await getJson(`${app.url}/readyz`);
    expect(status).toBe(503);
    expect(body.failed).toEqual(['redis']);
    expect(body.checks.database).toBe('ok');
    expect(Date.now() - startedAt).toBeLessThan(3_000); // fails fast, not after a hung connection
  });

  test('503 naming database when the primary is unreachable', async () => {
    const closedPort = await freePort();
    const db = database(httpTestConfig({ DATABASE_PRIMARY_HOST: '127.0.0.1', DATABASE_PORT: String(closedPort), DATABASE_PASSWORD: 'x' }));
    const app = await running({ jwks: mint.jwks, db });
    const { status, body } = await getJson(`${app.url}/readyz`);
    expect(status).toBe(503);
    expect(body.failed).toEqual(['database']);
  });

  test('503 naming draining once draining starts, while other routes still answer', async () => {
    const app = await running({ jwks: mint.jwks, db: database() });
    app.handle.startDraining();
    const { status, body } = await getJson(`${app.url}/readyz`);
    expect(status).toBe(503);
    expect(body.failed).toEqual(['draining']);
    expect((await getJson(`${app.url}/healthz`)).status).toBe(200);
  });
});

describe('rate limiting', () => {
  const limits = { read: { points: 3, windowSeconds: 60 } };

  test('over the limit: 429 with Retry-After and RateLimit headers, counted in metrics', async () => {
    const redis = redisClient();
    await redis.ping();
    const app = await running({ jwks: mint.jwks, db: database(), redis, rateLimits: limits });
    const token = await mint.sign({ sub: `user-${Date.now()}`, role: 'staff', restaurant_id: '1' });
    const call = () => getJson(`${app.url}/v1/whoami`, { headers: { Authorization: `Bearer ${token}` } });
    const answers = [await call(), await call(), await call(), await call()];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429]);
    expect(answers[0]!.headers.get('ratelimit-limit')).toBe('3');
    expect(answers[0]!.headers.get('ratelimit-remaining')).toBe('2');
    const rejected = answers[3]!;
    expect(rejected.body.error.code).toBe('rate_limited');
    expect(Number(rejected.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(rejected.headers.get('ratelimit-remaining')).toBe('0');
    expect(Number(rejected.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
    expect((await getJson(`${app.url}/metrics`)).body).toContain('rate_limit_rejections_total{route_class="read"} 1');
    // The count lives in Redis (shared by every process), under the service prefix.
    const raw = new Redis({ host: redisServer.host, port: redisServer.port });
    cleanups.push(() => raw.disconnect());
    expect(await raw.keys('app:ratelimit:read:sub:user-*')).not.toHaveLength(0);
  });

  test('another subject has its own budget', async () => {
    const app = await running({ jwks: mint.jwks, db: database(), redis: redisClient(), rateLimits: limits });
    for (const sub of ['a', 'b']) {
      const token = await mint.sign({ sub: `${sub}-${Date.now()}`, role: 'staff', restaurant_id: '1' });
      expect((await getJson(`${app.url}/v1/whoami`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    }
  });

  test('Redis down: limits still apply from memory, never a 5xx', async () => {
    const redis = redisClient();
    await redis.ping();
    const app = await running({ jwks: mint.jwks, db: database(), redis, rateLimits: limits });
    await redisServer.stop();
    cleanups.push(() => redisServer.start());
    const token = await mint.sign({ sub: `offline-${Date.now()}`, role: 'staff', restaurant_id: '1' });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await getJson(`${app.url}/v1/whoami`, { headers: { Authorization: `Bearer ${token}` } })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});
