/** Readiness, the dependency gauge and rate limiting against a real PostgreSQL cluster and a real Redis. */
import { Redis } from 'ioredis';
import { createDatabaseManager, type DatabaseManager } from '../../../app/src/db/database-manager';
import { apiDependencyChecks } from '../../../app/src/http/health';
import { freePort } from '../../../tools/services/processes';
import { startPostgresCluster, type PostgresCluster } from '../../../tools/services/postgres-cluster';
import { startRedis, type RedisServer } from '../../../tools/services/redis-server';
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

describe('/readyz: this process can take traffic; shared dependencies never fail it', () => {
  test('200 with a reachable primary and Redis, and dependency_up says so', async () => {
    const redis = redisClient();
    await redis.ping();
    const db = database();
    const app = await running({ jwks: mint.jwks, db, redis });
    app.deps.metrics.observeDependencies(apiDependencyChecks(db, redis));
    const { status, body } = await getJson(`${app.internalUrl}/readyz`);
    expect(status).toBe(200);
    expect(body).toEqual({ status: 'ready', draining: false });
    const metrics = (await getJson(`${app.internalUrl}/metrics`)).body as string;
    expect(metrics).toContain('dependency_up{dependency="database_primary"} 1');
    expect(metrics).toContain('dependency_up{dependency="redis"} 1');
  });

  test('still 200 after Redis stops; dependency_up reports redis 0', async () => {
    const redis = redisClient();
    await redis.ping();
    const db = database();
    const app = await running({ jwks: mint.jwks, db, redis });
    app.deps.metrics.observeDependencies(apiDependencyChecks(db, redis));
    await redisServer.stop();
    cleanups.push(() => redisServer.start());
    const { status, body } = await getJson(`${app.internalUrl}/readyz`);
    expect(status).toBe(200);
    expect(body.status).toBe('ready');
    const metrics = (await getJson(`${app.internalUrl}/metrics`)).body as string;
    expect(metrics).toContain('dependency_up{dependency="redis"} 0');
    expect(metrics).toContain('dependency_up{dependency="database_primary"} 1');
  });

  test('still 200 with the primary unreachable; dependency_up reports database_primary 0', async () => {
    const closedPort = await freePort();
    const db = database(httpTestConfig({ DATABASE_PRIMARY_HOST: '127.0.0.1', DATABASE_PORT: String(closedPort), DATABASE_PASSWORD: 'x' }));
    const app = await running({ jwks: mint.jwks, db });
    app.deps.metrics.observeDependencies(apiDependencyChecks(db, undefined));
    const { status } = await getJson(`${app.internalUrl}/readyz`);
    expect(status).toBe(200);
    expect((await getJson(`${app.internalUrl}/metrics`)).body).toContain('dependency_up{dependency="database_primary"} 0');
  });

  test('503 once draining starts, while liveness and the API still answer', async () => {
    const app = await running({ jwks: mint.jwks, db: database() });
    app.handle.startDraining();
    const { status, body } = await getJson(`${app.internalUrl}/readyz`);
    expect(status).toBe(503);
    expect(body).toEqual({ status: 'not_ready', draining: true });
    expect((await getJson(`${app.internalUrl}/healthz`)).status).toBe(200);
    expect((await getJson(`${app.url}/v1/whoami`)).status).toBe(401);
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
    expect((await getJson(`${app.internalUrl}/metrics`)).body).toContain('rate_limit_rejections_total{route_class="read"} 1');
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

  test('per client address before authentication: no token, forged tokens and unknown routes share one budget', async () => {
    const redis = redisClient();
    await redis.ping();
    const app = await running({ jwks: mint.jwks, db: database(), redis, rateLimits: { client: { points: 5, windowSeconds: 60 } } });
    const from = (address: string) => ({ 'X-Forwarded-For': address });
    const forged = `${(await mint.sign({ sub: 'x', role: 'staff', restaurant_id: '1' })).slice(0, -4)}AAAA`;
    const answers = [
      await getJson(`${app.url}/v1/whoami`, { headers: from('203.0.113.10') }),
      await getJson(`${app.url}/v1/whoami`, { headers: { ...from('203.0.113.10'), Authorization: `Bearer ${forged}` } }),
      await getJson(`${app.url}/v1/nope`, { headers: from('203.0.113.10') }),
      await getJson(`${app.url}/v1/whoami`, { headers: { ...from('203.0.113.10'), Authorization: `Bearer ${forged}` } }),
      await getJson(`${app.url}/v1/nope`, { headers: from('203.0.113.10') }),
      await getJson(`${app.url}/v1/whoami`, { headers: { ...from('203.0.113.10'), Authorization: `Bearer ${forged}` } }),
    ];
    expect(answers.map((a) => a.status)).toEqual([401, 401, 404, 401, 404, 429]);
    const rejected = answers[5]!;
    expect(rejected.body.error).toEqual({ code: 'rate_limited', message: 'too many requests', requestId: rejected.headers.get('x-request-id') });
    expect(Number(rejected.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(rejected.headers.get('ratelimit-limit')).toBe('5');
    expect(rejected.headers.get('ratelimit-remaining')).toBe('0');
    // The budget is per address: another client is not affected.
    expect((await getJson(`${app.url}/v1/whoami`, { headers: from('203.0.113.11') })).status).toBe(401);
    expect((await getJson(`${app.internalUrl}/metrics`)).body).toContain('rate_limit_rejections_total{route_class="client"} 1');
    const raw = new Redis({ host: redisServer.host, port: redisServer.port });
    cleanups.push(() => raw.disconnect());
    expect(await raw.keys('app:ratelimit:client:ip:203.0.113.10')).toHaveLength(1);
  });

  test('the per-address limit refuses before the token is checked', async () => {
    let verified = 0;
    const app = await running({
      jwks: async (...args: Parameters<typeof mint.jwks>) => {
        verified += 1;
        return mint.jwks(...args);
      },
      db: database(),
      rateLimits: { client: { points: 2, windowSeconds: 60 } },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const token = await mint.sign({ sub: `y-${i}`, role: 'staff', restaurant_id: '1' });
      statuses.push((await getJson(`${app.url}/v1/whoami`, { headers: { Authorization: `Bearer ${token}`, 'X-Forwarded-For': '198.51.100.7' } })).status);
    }
    expect(statuses).toEqual([200, 200, 429, 429]);
    expect(verified).toBe(2);
  });
});
