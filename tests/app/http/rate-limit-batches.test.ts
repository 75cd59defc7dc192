/**
 * The batched rate limiter (app/src/http/rate-limit.ts) against a real Redis, with two limiter
 * instances on two connections standing for two api pods sharing one limit: at least `points`
 * and at most `points + pods x batch` admitted per window, one Redis call for many requests and
 * many principals, a single process exact for small limits, and the budget back after the window.
 */
import { Redis } from 'ioredis';
import { BatchedRateLimiter, defaultBatch, type RateLimit, type RateLimitDecision } from '../../../app/src/http/rate-limit';
import { startRedis, type RedisServer } from '../../../tools/services/redis-server';

let redisServer: RedisServer;
const connections: Redis[] = [];
const limiters: BatchedRateLimiter[] = [];
let run = 0;

beforeAll(async () => {
  redisServer = await startRedis();
}, 60_000);
afterAll(async () => {
  for (const limiter of limiters) limiter.close();
  for (const connection of connections) connection.disconnect();
  await redisServer?.stop();
});

/** A connection as the api opens it (the `app:` key prefix), ready before use. */
async function connection(): Promise<Redis> {
  const redis = new Redis({ host: redisServer.host, port: redisServer.port, keyPrefix: 'app:', maxRetriesPerRequest: 1 });
  connections.push(redis);
  await redis.ping();
  return redis;
}

/** A pod's limiter on its own connection. A long sync interval leaves only the batch-triggered syncs, unless given. */
async function pod(limit: RateLimit, syncIntervalMs = 600_000): Promise<BatchedRateLimiter> {
  const limiter = new BatchedRateLimiter({ limitClass: 'read', limit, redis: await connection(), syncIntervalMs });
  limiters.push(limiter);
  return limiter;
}

async function spend(limiter: BatchedRateLimiter, key: string, times: number): Promise<RateLimitDecision[]> {
  const decisions: RateLimitDecision[] = [];
  for (let i = 0; i < times; i += 1) decisions.push(await limiter.consume(key));
  return decisions;
}

const admitted = (decisions: readonly RateLimitDecision[]) => decisions.filter((d) => d.allowed).length;

/** Sync script calls Redis ran so far (EVALSHA, or EVAL the first time). */
async function syncCalls(): Promise<number> {
  const probe = await connection();
  const stats = await probe.info('commandstats');
  probe.disconnect();
  return [...stats.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)].reduce((sum, [, calls]) => sum + Number(calls), 0);
}

const principal = () => `sub:batch-test-${process.pid}-${(run += 1)}`;
const counted = async (key: string) => Number(await (await connection()).get(`ratelimit:read:${key}`));

describe('two pods sharing one limit', () => {
  test.each([
    ['one after the other', (i: number) => (i < 150 ? 0 : 1)],
    ['alternating', (i: number) => i % 2],
    ['two of three on the first', (i: number) => (i % 3 === 2 ? 1 : 0)],
  ])('requests %s: at least points and at most points + pods x batch admitted, every admission counted in Redis', async (_pattern, podOf) => {
    const pods = [await pod({ points: 100, windowSeconds: 60, batch: 10 }), await pod({ points: 100, windowSeconds: 60, batch: 10 })];
    const key = principal();
    const decisions: RateLimitDecision[] = [];
    for (let i = 0; i < 300; i += 1) decisions.push(await pods[podOf(i)]!.consume(key));
    expect(admitted(decisions)).toBeGreaterThanOrEqual(100);
    expect(admitted(decisions)).toBeLessThanOrEqual(100 + 2 * 10);
    await Promise.all(pods.map((p) => p.flush()));
    expect(await counted(key)).toBe(admitted(decisions));
  });

  test('concurrent requests on both pods stay within the bound', async () => {
    const pods = [await pod({ points: 100, windowSeconds: 60, batch: 10 }, 5), await pod({ points: 100, windowSeconds: 60, batch: 10 }, 5)];
    const key = principal();
    const decisions = await Promise.all(Array.from({ length: 300 }, (_, i) => pods[(i * 7919) % 2]!.consume(key)));
    expect(admitted(decisions)).toBeGreaterThanOrEqual(100);
    expect(admitted(decisions)).toBeLessThanOrEqual(100 + 2 * 10);
  });

  test('one process with a batch of 1 is exact: each request waits for the count of the one before', async () => {
    const [a, b] = [await pod({ points: 3, windowSeconds: 60 }), await pod({ points: 3, windowSeconds: 60 })];
    const key = principal();
    const decisions = await spend(a, key, 4);
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(decisions.map((d) => d.remaining)).toEqual([2, 1, 0, 0]);
    expect(decisions[3]!.msBeforeReset).toBeGreaterThan(0);
    // The other pod learns the count with its first sync and refuses from then on.
    expect(admitted(await spend(b, key, 3))).toBeLessThanOrEqual(1);
  });
});

describe('Redis calls', () => {
  test('one sync per batch of a principal, none for its refusals', async () => {
    const a = await pod({ points: 100, windowSeconds: 60, batch: 10 });
    // Loads the script into Redis (the first call may be an EVALSHA refused, then an EVAL).
    await spend(a, principal(), 11);
    const key = principal();
    const before = await syncCalls();
    expect(admitted(await spend(a, key, 150))).toBe(100);
    const calls = (await syncCalls()) - before;
    expect(calls).toBeGreaterThanOrEqual(9);
    expect(calls).toBeLessThanOrEqual(11);
  });

  test('the timer sends many principals in one call', async () => {
    const a = await pod({ points: 100, windowSeconds: 60, batch: 10 }, 50);
    await spend(a, principal(), 11);
    const keys = Array.from({ length: 200 }, principal);
    const before = await syncCalls();
    for (const key of keys) expect((await a.consume(key)).allowed).toBe(true);
    const probe = await connection();
    while ((await probe.exists(`ratelimit:read:${keys.at(-1)!}`)) === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await counted(keys[0]!)).toBe(1);
    expect((await syncCalls()) - before).toBeLessThanOrEqual(3);
  });

  test('a thousand principals at most per call', async () => {
    const a = await pod({ points: 100, windowSeconds: 60, batch: 10 });
    await spend(a, principal(), 11);
    await a.flush();
    const keys = Array.from({ length: 2500 }, principal);
    for (const key of keys) expect((await a.consume(key)).allowed).toBe(true);
    const before = await syncCalls();
    await a.flush();
    expect((await syncCalls()) - before).toBe(3);
    expect(await Promise.all([keys[0]!, keys[1499]!, keys[2499]!].map(counted))).toEqual([1, 1, 1]);
  });
});

describe('windows', () => {
  test('the budget comes back when the window ends', async () => {
    const a = await pod({ points: 5, windowSeconds: 1, batch: 1 });
    const key = principal();
    expect(admitted(await spend(a, key, 7))).toBe(5);
    const probe = await connection();
    while ((await probe.exists(`ratelimit:read:${key}`)) === 1) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(admitted(await spend(a, key, 7))).toBe(5);
  });
});

describe('batch', () => {
  test.each([
    [3, 1],
    [39, 1],
    [120, 6],
    [600, 30],
    [4000, 200],
    [1_000_000, 50_000],
  ])('the default for %i points is %i', (points, batch) => {
    expect(defaultBatch(points)).toBe(batch);
    expect(new BatchedRateLimiter({ limitClass: 'read', limit: { points, windowSeconds: 60 } }).batch).toBe(batch);
  });

  test.each([
    [{ points: 10, windowSeconds: 60, batch: 11 }, 'rate limit write.batch must be an integer in 1..10 (points), got 11'],
    [{ points: 10, windowSeconds: 60, batch: 0 }, 'rate limit write.batch must be an integer in 1..10 (points), got 0'],
    [{ points: 0, windowSeconds: 60 }, 'rate limit write.points must be a positive integer, got 0'],
    [{ points: 10, windowSeconds: 0.5 }, 'rate limit write.windowSeconds must be a positive integer, got 0.5'],
  ])('fails when the limit is %j', (limit, message) => {
    expect(() => new BatchedRateLimiter({ limitClass: 'write', limit })).toThrow(new Error(message));
  });
});
