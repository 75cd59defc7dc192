/** The loopback harness itself: a primary that streams to its replica, and a Redis. */
import Redis from 'ioredis';
import { startPostgresCluster, type PostgresCluster } from '../../tools/services/postgres-cluster';
import { startRedis, type RedisServer } from '../../tools/services/redis-server';

describe('PostgreSQL primary with a streaming replica', () => {
  let pg: PostgresCluster;
  beforeAll(async () => {
    pg = await startPostgresCluster();
  }, 60_000);
  afterAll(() => pg?.stop());

  test('the replica is a hot standby that replays the primary', async () => {
    expect(await pg.admin('SELECT pg_is_in_recovery() AS r', 'primary')).toEqual([{ r: false }]);
    expect(await pg.admin('SELECT pg_is_in_recovery() AS r', 'replica')).toEqual([{ r: true }]);
    await pg.admin('CREATE TABLE harness_probe (id int PRIMARY KEY)');
    await pg.admin('INSERT INTO harness_probe VALUES (42)');
    await pg.waitForReplica();
    expect(await pg.admin('SELECT id FROM harness_probe', 'replica')).toEqual([{ id: 42 }]);
  });

  test('paused replay holds the replica back until resumed', async () => {
    await pg.pauseReplay();
    await pg.admin('INSERT INTO harness_probe VALUES (43)');
    await new Promise((r) => setTimeout(r, 200));
    expect(await pg.admin('SELECT count(*)::int AS n FROM harness_probe', 'replica')).toEqual([{ n: 1 }]);
    await pg.resumeReplay();
    await pg.waitForReplica();
    expect(await pg.admin('SELECT count(*)::int AS n FROM harness_probe', 'replica')).toEqual([{ n: 2 }]);
  });

  test('requires a password over TCP', async () => {
    const { Client } = await import('pg');
    const client = new Client({ host: '127.0.0.1', port: pg.primary.port, user: pg.user, password: 'wrong', database: pg.database });
    await expect(client.connect()).rejects.toThrow(/password authentication failed/);
  });

  test('pg_stat_statements is loaded', async () => {
    expect(await pg.admin("SELECT current_setting('shared_preload_libraries') AS libs")).toEqual([{ libs: 'pg_stat_statements' }]);
  });
});

describe('Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  }, 30_000);
  afterAll(() => redis?.stop());

  test('answers, and comes back empty after a restart', async () => {
    const client = new Redis(redis.port, '127.0.0.1', { maxRetriesPerRequest: 1, lazyConnect: true });
    await client.connect();
    await client.set('k', 'v');
    expect(await client.get('k')).toBe('v');
    client.disconnect();
    await redis.start();
    const again = new Redis(redis.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
    expect(await again.get('k')).toBeNull();
    again.disconnect();
  });
});
