/**
 * Replica health against a real primary and streaming replica: a lagging or dead replica leaves
 * rotation and comes back, reads never fail because of it, and an idle primary is not mistaken for lag.
 */
import { createDatabaseManager, type DatabaseManager, type DatabaseManagerOptions } from '../../../app/src/db/database-manager';
import { startPostgresCluster, type PostgresCluster } from '../../../tools/services/postgres-cluster';
import { clusterConfig, eventually, recordingLogger, type RecordingLogger } from './database-manager-fixtures';

let cluster: PostgresCluster;

beforeAll(async () => {
  cluster = await startPostgresCluster();
  await cluster.admin('CREATE TABLE heartbeat (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())');
  await cluster.waitForReplica();
}, 60_000);

afterAll(() => cluster?.stop());

const open: DatabaseManager[] = [];
afterEach(async () => {
  await cluster.startReplica();
  await cluster.resumeReplay();
  await Promise.all(open.splice(0).map((m) => m.close()));
});

function manager(options: DatabaseManagerOptions = {}, env: Record<string, string> = {}): { db: DatabaseManager; logger: RecordingLogger } {
  const logger = recordingLogger();
  const db = createDatabaseManager(clusterConfig(cluster, env), { logger, healthCheckIntervalMs: 100, ...options });
  open.push(db);
  return { db, logger };
}

const onReplica = async (db: DatabaseManager) => (await db.read<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]!.r;
const healthy = (db: DatabaseManager) => db.replicaStatus()[0]!.healthy;

test('an idle primary is not lag: the replica stays in rotation while the last replayed transaction ages', async () => {
  const { db } = manager({ maxReplicaLagMs: 200, healthCheckIntervalMs: 50 });
  await cluster.admin('INSERT INTO heartbeat DEFAULT VALUES');
  await cluster.waitForReplica();
  await eventually('the replica to join rotation', () => healthy(db));
  const until = Date.now() + 800;
  while (Date.now() < until) {
    expect(db.replicaStatus()[0]).toMatchObject({ healthy: true, lagMs: 0 });
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // Judged by replay timestamp, this replica would have been taken out.
  expect(db.replicaStatus()[0]!.replayAgeMs).toBeGreaterThan(600);
  expect(await onReplica(db)).toBe(true);
});

test('a lagging replica leaves rotation after the max lag, reads fall back to the primary, and it returns once caught up', async () => {
  const { db, logger } = manager({ maxReplicaLagMs: 300, healthCheckIntervalMs: 50 });
  await eventually('the replica to join rotation', () => healthy(db));
  await cluster.pauseReplay();
  await cluster.admin('INSERT INTO heartbeat DEFAULT VALUES');
  const pausedAt = Date.now();
  // Still in rotation while the lag is under the maximum: a little lag is what replicas are for.
  expect(healthy(db)).toBe(true);
  await eventually('the lagging replica to leave rotation', () => !healthy(db), 3_000);
  const outAfterMs = Date.now() - pausedAt;
  expect(outAfterMs).toBeGreaterThanOrEqual(300);
  // Either reason says it lags past the maximum; which one depends on how late the check ran on a
  // busy machine (a check later than the primary-position history leaves only "behind every ...").
  expect(db.replicaStatus()[0]!.reason).toMatch(/^(lags \d+ ms \(max 300 ms\)|behind every primary position of the last \d+ ms)$/);
  expect(logger.entries).toContainEqual(expect.objectContaining({ level: 'warn', message: 'replica taken out of rotation' }));
  expect(await onReplica(db)).toBe(false);

  await cluster.resumeReplay();
  await eventually('the caught-up replica to return', () => healthy(db), 3_000);
  expect(logger.entries).toContainEqual(expect.objectContaining({ level: 'info', message: 'replica back in rotation' }));
  expect(await onReplica(db)).toBe(true);
});

test('a dead replica leaves rotation within a health interval, reads keep succeeding on the primary, and it returns when restarted', async () => {
  const { db } = manager({ healthCheckIntervalMs: 100, healthCheckTimeoutMs: 200 });
  await eventually('the replica to join rotation', () => healthy(db));
  expect(await onReplica(db)).toBe(true);

  await cluster.stopReplica();
  const stoppedAt = Date.now();
  await eventually('the dead replica to leave rotation', () => !healthy(db), 3_000);
  // About one interval plus one check (bounded by its timeout; a refused connection fails at
  // once); the bound is loose because CI machines are shared and noisy.
  expect(Date.now() - stoppedAt).toBeLessThan(1_500);
  expect(db.replicaStatus()[0]!.reason).toMatch(/^health check failed: /);
  for (let i = 0; i < 20; i += 1) expect(await onReplica(db)).toBe(false);

  await cluster.startReplica();
  await eventually('the restarted replica to return', () => healthy(db), 5_000);
  expect(await onReplica(db)).toBe(true);
});

test('a read that loses its replica connection is run again on the primary and takes the replica out', async () => {
  // No health round during the test: only the read path can notice the replica is gone.
  const { db, logger } = manager({ healthCheckIntervalMs: 600_000, readYourWritesTtlMs: 700_000 });
  await db.checkReplicas();
  expect(await onReplica(db)).toBe(true);
  await cluster.stopReplica();
  expect(healthy(db)).toBe(true);

  expect(await onReplica(db)).toBe(false);
  expect(db.replicaStatus()[0]).toMatchObject({ healthy: false, reason: expect.stringMatching(/^a read failed: /) });
  expect(logger.entries).toContainEqual(expect.objectContaining({ level: 'warn', message: 'read failed on a replica; running it on the primary' }));
  expect(await onReplica(db)).toBe(false);

  await cluster.startReplica();
  await db.checkReplicas();
  expect(healthy(db)).toBe(true);
  expect(await onReplica(db)).toBe(true);
});

test('a "replica" that is not in recovery (a promoted one) is never used for reads', async () => {
  const { db } = manager({}, { DATABASE_REPLICA_HOSTS: `${cluster.primary.host}:${cluster.primary.port}` });
  await db.checkReplicas();
  expect(db.replicaStatus()[0]).toMatchObject({ healthy: false, reason: 'not in recovery: promoted, or not a replica' });
  await db.read('SELECT 1');
  expect(db.poolStats().map((p) => [p.role, p.total])).toEqual([
    ['primary', 1],
    ['replica', 0],
  ]);
});

test('reads spread over several healthy replicas, least busy first', async () => {
  // The same replica twice: two pools, two entries in rotation.
  const replica = `${cluster.replica.host}:${cluster.replica.port}`;
  const { db } = manager({}, { DATABASE_REPLICA_HOSTS: `${replica},${replica}` });
  await db.checkReplicas();
  expect(db.replicaStatus().map((s) => s.healthy)).toEqual([true, true]);
  let finish: (() => void) | undefined;
  const held = db.read(() => new Promise<void>((resolve) => (finish = resolve)));
  await eventually('a replica client to be checked out', () => finish !== undefined);
  const busyIndex = db.poolStats().findIndex((p) => p.role === 'replica' && p.idle === 0);
  // While one replica is busy, every other read goes to the idle one.
  for (let i = 0; i < 4; i += 1) await db.read('SELECT 1');
  const stats = db.poolStats();
  expect(stats[busyIndex]).toMatchObject({ total: 1, idle: 0 });
  expect(stats[busyIndex === 1 ? 2 : 1]).toMatchObject({ total: 1, idle: 1 });
  finish!();
  await held;
  // Two concurrent reads go to different replicas: neither pool opens a second connection.
  const before = db.poolStats().map((p) => p.total);
  await Promise.all([db.read('SELECT pg_sleep(0.05)'), db.read('SELECT pg_sleep(0.05)')]);
  expect(db.poolStats().map((p) => p.total)).toEqual(before);
});
