/** The Redis client factory: the key prefix contract, IAM auth, options. */
import Redis from 'ioredis';
import { REDIS_KEY_PREFIX } from '../../../contract/constants';
import { createRedisClient, reconnectDelayMs, redisOptionsFor, whenReady } from '../../../app/src/cache/redis-client';
import { startRedis, type RedisServer } from '../../../tools/services/redis-server';
import { eventually, quietLogger, redisConfig } from './cache-fixtures';

let server: RedisServer;

beforeAll(async () => {
  server = await startRedis();
});

afterAll(async () => {
  await server?.stop();
});

test("the client's key prefix is the contract's, the data stack's (its RBAC user may only touch app:* keys and channels)", () => {
  const options = redisOptionsFor({ REDIS_HOST: 'cache.internal', REDIS_PORT: 6379, REDIS_TLS: true, REDIS_AUTH: 'none', REDIS_USER: undefined }, { name: 'cache' });
  expect(options.keyPrefix).toBe(REDIS_KEY_PREFIX);
});

test('fails when REDIS_AUTH=iam and no token provider is injected', () => {
  expect(() => createRedisClient({ ...redisConfig(server.port), REDIS_AUTH: 'iam', REDIS_USER: 'app' }, { name: 'cache', logger: quietLogger })).toThrow(
    'REDIS_AUTH=iam needs an ElastiCache IAM token provider (pass iamTokenProviders(config).redis)',
  );
});

test('options: TLS with the host as server name, fail-fast queueing, capped backoff', () => {
  const options = redisOptionsFor({ REDIS_HOST: 'cache.internal', REDIS_PORT: 6379, REDIS_TLS: true, REDIS_AUTH: 'none', REDIS_USER: undefined }, { name: 'cache' });
  expect(options).toMatchObject({ tls: { servername: 'cache.internal' }, keyPrefix: 'app:', enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 500 });
  expect(redisOptionsFor(redisConfig(1), { name: 'cache' }).tls).toBeUndefined();
  expect(redisOptionsFor(redisConfig(1), { name: 'sub', subscriber: true })).toMatchObject({ commandTimeout: undefined, autoResubscribe: false });
  expect([1, 2, 3, 10, 100].map((n) => reconnectDelayMs(n, 50, 2000))).toEqual([50, 100, 200, 2000, 2000]);
});

test('REDIS_AUTH=iam authenticates the RBAC user with the provider token, limited to app:* keys', async () => {
  const admin = new Redis(server.port, '127.0.0.1');
  await admin.call('ACL', 'SETUSER', 'app-user', 'on', '>iam-token-1', '~app:*', '&app:*', '+@all', '-@dangerous', '+info');
  const asked: unknown[] = [];
  const client = createRedisClient(
    { ...redisConfig(server.port), REDIS_AUTH: 'iam', REDIS_USER: 'app-user' },
    {
      name: 'cache',
      logger: quietLogger,
      iamTokenProvider: async (identity) => {
        asked.push(identity);
        return 'iam-token-1';
      },
    },
  );
  try {
    await whenReady(client.redis);
    expect(asked).toEqual([{ host: '127.0.0.1', port: server.port, user: 'app-user' }]);
    await client.redis.set('menu:iam', '1');
    expect(await admin.get('app:menu:iam')).toBe('1');
    expect(await client.redis.publish('app:cache-invalidation', '{}')).toBe(0);
    await expect(client.redis.publish('other-channel', '{}')).rejects.toThrow(/NOPERM/);
  } finally {
    await client.close();
    admin.disconnect();
  }
});

test('the error listener logs an outage once and keeps the process alive', async () => {
  const entries: string[] = [];
  const logger = { ...quietLogger, warn: (_f: Record<string, unknown>, m: string) => void entries.push(m) };
  const dead = await startRedis();
  const client = createRedisClient(redisConfig(dead.port), { name: 'cache', logger, reconnectBaseDelayMs: 10, reconnectMaxDelayMs: 20 });
  try {
    await whenReady(client.redis);
    let reconnects = 0;
    client.redis.on('reconnecting', () => (reconnects += 1));
    await dead.stop();
    await eventually('several failed reconnects', () => reconnects >= 3, 2_000, 5);
    expect(entries).toEqual(['redis connection error; reconnecting with backoff']);
    await expect(client.redis.get('menu:x')).rejects.toThrow();
  } finally {
    await client.close();
  }
});
