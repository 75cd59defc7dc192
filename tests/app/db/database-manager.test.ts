/**
 * The database manager against a real PostgreSQL primary with a streaming replica: routing,
 * read-your-writes with replay paused, transactions, timeouts and connection errors.
 */
import { createDatabaseManager, type DatabaseManager, type DatabaseManagerOptions } from '../../../app/src/db/database-manager';
import { decodeReadYourWritesToken, encodeReadYourWritesToken } from '../../../app/src/db/read-your-writes';
import { parseWalPosition } from '../../../app/src/db/wal-position';
import { startPostgresCluster, type PostgresCluster } from '../../../tools/services/postgres-cluster';
import { clusterConfig, eventually, recordingLogger, type RecordingLogger } from './database-manager-fixtures';

let cluster: PostgresCluster;
let nextId = 1;
const newId = () => nextId++;

beforeAll(async () => {
  cluster = await startPostgresCluster();
  await cluster.admin('CREATE TABLE rw_probe (id int PRIMARY KEY, note text)');
  await cluster.admin('CREATE TABLE ledger (bucket text NOT NULL, seen int NOT NULL)');
  await cluster.admin(`GRANT ALL ON rw_probe, ledger TO ${cluster.user}`);
  await cluster.waitForReplica();
}, 60_000);

afterAll(async () => {
  await cluster?.resumeReplay().catch(() => undefined);
  await cluster?.stop();
});

const open: DatabaseManager[] = [];
afterEach(async () => {
  await cluster.resumeReplay();
  await Promise.all(open.splice(0).map((m) => m.close()));
});

function manager(options: DatabaseManagerOptions = {}, env: Record<string, string> = {}): { db: DatabaseManager; logger: RecordingLogger } {
  const logger = recordingLogger();
  const db = createDatabaseManager(clusterConfig(cluster, env), { logger, healthCheckIntervalMs: 100, ...options });
  open.push(db);
  return { db, logger };
}

async function healthyManager(options: DatabaseManagerOptions = {}, env: Record<string, string> = {}) {
  const made = manager(options, env);
  await made.db.checkReplicas();
  expect(made.db.replicaStatus()).toEqual([expect.objectContaining({ healthy: true })]);
  return made;
}

const PROBE = 'SELECT pg_is_in_recovery() AS on_replica, EXISTS (SELECT 1 FROM rw_probe WHERE id = $1) AS seen';

describe('routing', () => {
  test('writes run on the primary; replica-ok reads on the replica; primary reads on the primary', async () => {
    const seen: [string, string][] = [];
    const { db } = await healthyManager({ onQuery: (name, role) => void seen.push([name, role]) });
    const id = newId();
    const wroteOnReplica = await db.write(
      async (client) => {
        await client.query('INSERT INTO rw_probe (id) VALUES ($1)', [id]);
        return (await client.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]!.r;
      },
      { name: 'probe.write' },
    );
    expect(wroteOnReplica).toBe(false);
    expect((await db.read<{ r: boolean }>({ text: 'SELECT pg_is_in_recovery() AS r' }, { name: 'probe.read' })).rows).toEqual([{ r: true }]);
    expect((await db.read<{ r: boolean }>('SELECT pg_is_in_recovery() AS r', { consistency: 'primary', name: 'probe.primary' })).rows).toEqual([{ r: false }]);
    expect(seen).toEqual([
      ['probe.write', 'primary'],
      ['probe.read', 'replica'],
      ['probe.primary', 'primary'],
    ]);
  });

  test('sessions carry the application name and the statement timeout from the startup packet', async () => {
    const { db } = await healthyManager({}, { DATABASE_STATEMENT_TIMEOUT_MS: '4321' });
    const settings = "SELECT current_setting('application_name') AS app, current_setting('statement_timeout') AS timeout";
    expect((await db.read(settings, { consistency: 'primary' })).rows).toEqual([{ app: 'api-test-location', timeout: '4321ms' }]);
    expect((await db.read(settings)).rows).toEqual([{ app: 'api-test-location', timeout: '4321ms' }]);
  });

  test('custom session settings travel in the startup packet to every session, primary and replica', async () => {
    const { db } = await healthyManager({ sessionSettings: { 'restaurant.outbox_wakeup': 'local' } });
    const setting = "SELECT current_setting('restaurant.outbox_wakeup') AS v";
    expect((await db.read(setting, { consistency: 'primary' })).rows).toEqual([{ v: 'local' }]);
    expect((await db.read(setting)).rows).toEqual([{ v: 'local' }]);
  });

  test('onCommitted is called with the work name after each committed write and transaction, never after a failed one', async () => {
    const committed: string[] = [];
    const { db } = manager({ onCommitted: (name) => void committed.push(name) });
    await db.write({ name: 'probe.insert', text: 'INSERT INTO rw_probe (id) VALUES ($1)', values: [newId()] });
    await db.transaction((client) => client.query('INSERT INTO rw_probe (id) VALUES ($1)', [newId()]), { name: 'probe.tx' });
    const id = newId();
    await db.write({ text: 'INSERT INTO rw_probe (id) VALUES ($1)', values: [id] }, { name: 'probe.first' });
    await expect(db.write({ text: 'INSERT INTO rw_probe (id) VALUES ($1)', values: [id] }, { name: 'probe.duplicate' })).rejects.toMatchObject({ code: '23505' });
    await expect(db.transaction(async () => Promise.reject(new Error('no')), { name: 'probe.rolled_back' })).rejects.toThrow('no');
    await db.read('SELECT 1', { name: 'probe.read' });
    expect(committed).toEqual(['probe.insert', 'probe.tx', 'probe.first']);
  });

  test('before the first health check, reads wait for nothing and use the primary', async () => {
    const { db } = manager({ healthCheckIntervalMs: 600_000, readYourWritesTtlMs: 700_000 });
    expect(db.replicaStatus()).toEqual([expect.objectContaining({ healthy: false, reason: 'not checked yet' })]);
    expect((await db.read<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows).toEqual([{ r: false }]);
  });

  test('IAM authentication: every new connection gets a token from the provider', async () => {
    const asked: string[] = [];
    const { db } = await healthyManager(
      {
        iamTokenProvider: async ({ host, port }) => {
          asked.push(`${host}:${port}`);
          return cluster.password;
        },
      },
      { DATABASE_AUTH: 'iam', AWS_REGION: 'ap-southeast-1' },
    );
    expect((await db.read<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows).toEqual([{ r: true }]);
    expect((await db.write<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows).toEqual([{ r: false }]);
    expect(asked).toEqual(
      expect.arrayContaining([`${cluster.primary.host}:${cluster.primary.port}`, `${cluster.replica.host}:${cluster.replica.port}`]),
    );
  });
});

describe('read-your-writes', () => {
  test.each(['transaction', 'write'] as const)('with replay paused, a %s is read back from the primary by its key, and from the replica once replayed', async (kind) => {
    const { db } = await healthyManager({ maxReplicaLagMs: 30_000, readYourWritesTtlMs: 60_000 });
    const id = newId();
    await cluster.pauseReplay();
    const insert = { text: 'INSERT INTO rw_probe (id, note) VALUES ($1, $2)', values: [id, kind] };
    if (kind === 'transaction') await db.transaction((client) => client.query(insert), { consistencyKey: 'guest-7' });
    else await db.write(insert, { consistencyKey: 'guest-7' });
    const token = db.readYourWritesToken('guest-7');
    expect(token).toBeDefined();

    // The key's read must see the row: only the primary has it.
    expect((await db.read({ text: PROBE, values: [id] }, { consistencyKey: 'guest-7' })).rows).toEqual([{ on_replica: false, seen: true }]);
    // Without the key the replica answers, and does not have the row yet.
    expect((await db.read({ text: PROBE, values: [id] })).rows).toEqual([{ on_replica: true, seen: false }]);
    // Another process gets the token through a cookie: same guarantee without the in-memory key.
    const fromCookie = decodeReadYourWritesToken(encodeReadYourWritesToken(token!));
    expect((await db.read({ text: PROBE, values: [id] }, { session: fromCookie })).rows).toEqual([{ on_replica: false, seen: true }]);
    // Another key is not held back.
    expect((await db.read({ text: PROBE, values: [id] }, { consistencyKey: 'guest-8' })).rows).toEqual([{ on_replica: true, seen: false }]);

    await cluster.resumeReplay();
    await cluster.waitForReplica();
    await db.checkReplicas();
    expect((await db.read({ text: PROBE, values: [id] }, { consistencyKey: 'guest-7' })).rows).toEqual([{ on_replica: true, seen: true }]);
  });

  test.each([
    [true, { on_replica: true, seen: true }],
    [false, { on_replica: false, seen: true }],
  ])('on-demand replay check %p: a keyed read right after catch-up, before the next health round', async (onDemandReplayCheck, afterCatchUp) => {
    // One health round at start, then none during the test: the polled replay position goes stale.
    const { db } = await healthyManager({ onDemandReplayCheck, healthCheckIntervalMs: 600_000, readYourWritesTtlMs: 700_000 });
    const id = newId();
    await cluster.pauseReplay();
    await db.write({ text: 'INSERT INTO rw_probe (id) VALUES ($1)', values: [id] }, { consistencyKey: 'table-3' });
    expect((await db.read({ text: PROBE, values: [id] }, { consistencyKey: 'table-3' })).rows).toEqual([{ on_replica: false, seen: true }]);
    await cluster.resumeReplay();
    await cluster.waitForReplica();
    expect((await db.read({ text: PROBE, values: [id] }, { consistencyKey: 'table-3' })).rows).toEqual([afterCatchUp]);
  });

  test('the recorded position covers the commit record, even when the transaction commits with synchronous_commit off', async () => {
    await cluster.admin('CREATE EXTENSION IF NOT EXISTS pg_walinspect');
    const { db } = await healthyManager();
    const [{ start }] = await cluster.admin<{ start: string }>('SELECT pg_current_wal_insert_lsn()::text AS start');
    const commits: { xid: string; position: bigint }[] = [];
    for (let i = 0; i < 30; i += 1) {
      const xid = await db.transaction(
        async (client) => {
          // Commit returns before its WAL is written: the written position can trail the commit record.
          await client.query('SET LOCAL synchronous_commit = off');
          await client.query('INSERT INTO rw_probe (id) VALUES ($1)', [newId()]);
          return (await client.query<{ xid: string }>('SELECT txid_current()::text AS xid')).rows[0]!.xid;
        },
        { consistencyKey: `async-${i}` },
      );
      commits.push({ xid, position: db.readYourWritesToken(`async-${i}`)!.walPosition });
    }
    // A synchronous commit flushes everything before it, so the inspector can read every record.
    await cluster.admin('INSERT INTO rw_probe (id) VALUES (-1) ON CONFLICT DO NOTHING');
    const records = await cluster.admin<{ xid: string; end_lsn: string }>(
      `SELECT xid::text, end_lsn::text FROM pg_get_wal_records_info('${start}', pg_current_wal_flush_lsn()) WHERE record_type = 'COMMIT'`,
    );
    const commitEnd = new Map(records.map((r) => [r.xid, parseWalPosition(r.end_lsn)]));
    for (const { xid, position } of commits) {
      expect(commitEnd.has(xid)).toBe(true);
      expect({ xid, covered: position >= commitEnd.get(xid)! }).toEqual({ xid, covered: true });
    }
  });

  test('a write whose work reports its own position (positionOf) records that position and asks for none; undefined records nothing', async () => {
    const { db } = await healthyManager();
    const asked: string[] = [];
    const reported = await db.write(
      async (client) => {
        await client.query('INSERT INTO rw_probe (id) VALUES ($1)', [newId()]);
        // Far beyond anything this cluster wrote: only the reported text can produce it.
        return { walPosition: 'FF/10' };
      },
      { consistencyKey: 'own-position', positionOf: (result) => (asked.push(result.walPosition), result.walPosition) },
    );
    expect(reported).toEqual({ walPosition: 'FF/10' });
    expect(asked).toEqual(['FF/10']);
    expect(db.readYourWritesToken('own-position')).toEqual({ walPosition: parseWalPosition('FF/10') });

    await db.write((client) => client.query('INSERT INTO rw_probe (id) VALUES ($1)', [newId()]), { consistencyKey: 'nothing-written', positionOf: () => undefined });
    expect(db.readYourWritesToken('nothing-written')).toBeUndefined();
  });

  test('a transaction without a key records nothing; a rolled-back one records nothing either', async () => {
    const { db } = await healthyManager();
    await db.transaction((client) => client.query('INSERT INTO rw_probe (id) VALUES ($1)', [newId()]));
    await expect(
      db.transaction(
        async (client) => {
          await client.query('INSERT INTO rw_probe (id) VALUES ($1)', [newId()]);
          throw new Error('changed my mind');
        },
        { consistencyKey: 'guest-9' },
      ),
    ).rejects.toThrow('changed my mind');
    expect(db.readYourWritesToken('guest-9')).toBeUndefined();
  });
});

describe('transactions', () => {
  const countRows = async (id: number) => (await cluster.admin<{ n: number }>(`SELECT count(*)::int AS n FROM rw_probe WHERE id = ${id}`))[0]!.n;
  const assertAllReleased = (db: DatabaseManager) => {
    const [primary] = db.poolStats();
    expect(primary).toMatchObject({ role: 'primary', waiting: 0 });
    expect(primary!.idle).toBe(primary!.total);
  };

  test('a throwing callback rolls back and releases its client (more failures than the pool has clients)', async () => {
    const { db } = await healthyManager({}, { DATABASE_POOL_MAX: '2', DATABASE_POOL_ACQUIRE_TIMEOUT_MS: '500' });
    const ids = [newId(), newId(), newId(), newId(), newId()];
    for (const id of ids) {
      await expect(
        db.transaction(async (client) => {
          await client.query('INSERT INTO rw_probe (id) VALUES ($1)', [id]);
          throw new Error(`boom ${id}`);
        }),
      ).rejects.toThrow(`boom ${id}`);
      expect(await countRows(id)).toBe(0);
    }
    assertAllReleased(db);
    const id = newId();
    expect(await db.transaction(async (client) => (await client.query('INSERT INTO rw_probe (id) VALUES ($1) RETURNING id', [id])).rows[0])).toEqual({ id });
    expect(await countRows(id)).toBe(1);
  });

  test('a failed statement the callback swallowed makes the transaction fail, not silently roll back', async () => {
    const { db } = await healthyManager();
    const id = newId();
    await expect(
      db.transaction(async (client) => {
        await client.query('INSERT INTO rw_probe (id) VALUES ($1)', [id]);
        await client.query('SELECT 1/0').catch(() => undefined);
        return 'looks fine';
      }),
    ).rejects.toThrow('the transaction was rolled back at COMMIT: a statement in it failed and the callback did not rethrow');
    expect(await countRows(id)).toBe(0);
    assertAllReleased(db);
  });

  test('a write callback that leaves a transaction open fails, commits nothing, and its client is discarded', async () => {
    const { db } = await healthyManager();
    const id = newId();
    await expect(
      db.write(async (client) => {
        await client.query('BEGIN');
        await client.query('INSERT INTO rw_probe (id) VALUES ($1)', [id]);
      }),
    ).rejects.toThrow('a write callback left a transaction open (it is rolled back); use transaction()');
    await eventually('the discarded session to end', async () => (await countRows(id)) === 0);
    expect(db.poolStats()[0]).toMatchObject({ total: 0 });
  });

  test.each([
    [0, 'one of two racing serializable transactions fails with 40001'],
    [3, 'with retries both racing serializable transactions commit'],
  ])('retries %p: %s', async (retries) => {
    const { db } = await healthyManager();
    const bucket = `race-${retries}`;
    let arrived = 0;
    let bothRead!: () => void;
    const barrier = new Promise<void>((resolve) => (bothRead = resolve));
    // Write skew: each reads the bucket's count, then inserts a row based on it.
    const work = async (client: import('pg').PoolClient) => {
      const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM ledger WHERE bucket = $1', [bucket]);
      arrived += 1;
      if (arrived === 2) bothRead();
      await barrier;
      await client.query('INSERT INTO ledger (bucket, seen) VALUES ($1, $2)', [bucket, rows[0]!.n]);
    };
    const results = await Promise.allSettled([
      db.transaction(work, { isolation: 'serializable', retries }),
      db.transaction(work, { isolation: 'serializable', retries }),
    ]);
    const seen = (await cluster.admin<{ seen: number }>(`SELECT seen FROM ledger WHERE bucket = '${bucket}' ORDER BY seen`)).map((r) => r.seen);
    if (retries === 0) {
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({ code: '40001' });
      expect(seen).toEqual([0]);
    } else {
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
      expect(seen).toEqual([0, 1]);
    }
  });
});

describe('limits and failures', () => {
  test.each(['primary', 'replica-ok'] as const)('the statement timeout cancels a long query (%s) with 57014', async (consistency) => {
    const { db } = await healthyManager({}, { DATABASE_STATEMENT_TIMEOUT_MS: '200' });
    const startedAt = Date.now();
    await expect(db.read('SELECT pg_sleep(3)', { consistency })).rejects.toMatchObject({ code: '57014' });
    expect(Date.now() - startedAt).toBeLessThan(2_000);
    // The session survives a cancelled statement and goes back to the pool.
    expect((await db.read('SELECT 1 AS one', { consistency })).rows).toEqual([{ one: 1 }]);
  });

  test('a terminated idle pooled connection is logged and counted, and the process carries on', async () => {
    const { db, logger } = await healthyManager();
    const { rows } = await db.write<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    expect(db.poolStats()[0]).toMatchObject({ total: 1, idle: 1, errors: 0 });
    await cluster.admin(`SELECT pg_terminate_backend(${rows[0]!.pid})`);
    await eventually('the pool to notice', () => db.poolStats()[0]!.errors === 1);
    expect(db.poolStats()[0]).toMatchObject({ total: 0, idle: 0 });
    expect(logger.entries).toContainEqual(expect.objectContaining({ level: 'error', message: 'database connection error (the client was discarded)' }));
    expect((await db.write('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  test('a connection terminated while checked out fails that call only, and the client is discarded', async () => {
    const { db } = await healthyManager();
    await expect(
      db.write(async (client) => {
        const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await cluster.admin(`SELECT pg_terminate_backend(${rows[0]!.pid})`);
        // Idle on a checked-out client while the server hangs up: pg emits `error` on the client.
        await new Promise((resolve) => setTimeout(resolve, 200));
        await client.query('SELECT 1');
      }),
    ).rejects.toThrow();
    expect(db.poolStats()[0]).toMatchObject({ total: 0, errors: 1 });
    expect((await db.write('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  test('pool stats show callers waiting for a connection, and the pool wait is reported', async () => {
    const waits: number[] = [];
    const { db } = await healthyManager({ onPoolWait: (role, ms) => role === 'primary' && void waits.push(ms) }, { DATABASE_POOL_MAX: '1' });
    let finish: (() => void) | undefined;
    const held = db.write(() => new Promise<void>((resolve) => (finish = resolve)));
    await eventually('the only client to be checked out', () => finish !== undefined);
    const queued = db.write('SELECT 1');
    await eventually('a caller to wait', () => db.poolStats()[0]!.waiting === 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    finish!();
    await Promise.all([held, queued]);
    expect(db.poolStats()[0]).toMatchObject({ total: 1, idle: 1, waiting: 0 });
    expect(Math.max(...waits)).toBeGreaterThanOrEqual(40);
  });

  test('slow queries are logged and reported by name and role', async () => {
    const slow: [string, string, number][] = [];
    const { db, logger } = await healthyManager({ slowQueryMs: 100, onSlowQuery: (name, role, ms) => void slow.push([name, role, ms]) });
    await db.read('SELECT pg_sleep(0.01)', { name: 'menu.fast' });
    await db.read('SELECT pg_sleep(0.15)', { name: 'menu.slow' });
    expect(slow).toEqual([['menu.slow', 'replica', expect.any(Number)]]);
    expect(slow[0]![2]).toBeGreaterThanOrEqual(100);
    expect(logger.entries).toContainEqual(
      expect.objectContaining({ level: 'warn', message: 'slow database query', fields: expect.objectContaining({ query: 'menu.slow', role: 'replica' }) }),
    );
  });

  test('close() waits for work in flight, ends every connection (health checks included), and refuses new work', async () => {
    const { db } = await healthyManager({ applicationName: 'closing-probe' });
    const inFlight = db.read<{ done: boolean }>("SELECT pg_sleep(0.2), 'yes' AS done");
    await new Promise((resolve) => setTimeout(resolve, 50));
    await db.close();
    expect((await inFlight).rows[0]!.done).toBe('yes');
    const sessions = async (role: 'primary' | 'replica') =>
      (await cluster.admin<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'closing-probe%'", role))[0]!.n;
    await eventually('every session to end', async () => (await sessions('primary')) === 0 && (await sessions('replica')) === 0);
    await expect(db.write('SELECT 1')).rejects.toThrow('the database manager is closed');
    await db.close();
  });
});
