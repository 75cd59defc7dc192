/**
 * Read-your-writes across processes: two apps with their own database managers (two API pods),
 * a real primary and a streaming replica with replay paused. A write through app A answers with
 * X-Consistency-Token; app B, which never saw the write, serves the read from the primary only
 * when the client sends that token back.
 */
import { createDatabaseManager, type DatabaseManager } from '../../../app/src/db/database-manager';
import { CONSISTENCY_TOKEN_HEADER } from '../../../app/src/db/request-consistency';
import { startPostgresCluster, type PostgresCluster } from '../../../tools/services/postgres-cluster';
import { clusterConfig, recordingLogger } from '../db/database-manager-fixtures';
import { connect } from '../db/migrate-support';
import { createTokenMint, getJson, startApp, type RunningApp } from './support';

let cluster: PostgresCluster;
const managers: DatabaseManager[] = [];
const apps: RunningApp[] = [];
let podA: RunningApp;
let podB: RunningApp;

async function startPod(): Promise<RunningApp> {
  // Lag bound high: the paused replica must stay in rotation, so only the token keeps reads off it.
  const db = createDatabaseManager(clusterConfig(cluster), { logger: recordingLogger(), maxReplicaLagMs: 60_000, readYourWritesTtlMs: 120_000 });
  managers.push(db);
  await db.checkReplicas();
  const mint = await createTokenMint();
  const app = await startApp({
    jwks: mint.jwks,
    db,
    routes: (v1) => {
      v1.post('/probe/:id', async (req, res) => {
        await db.write({ text: 'INSERT INTO rw_probe (id) VALUES ($1)', values: [req.params.id] }, { name: 'probe.write' });
        res.status(201).json({ id: req.params.id });
      });
      v1.post('/probe/:id/in-transaction', async (req, res) => {
        await db.transaction((client) => client.query('INSERT INTO rw_probe (id) VALUES ($1)', [req.params.id]), { name: 'probe.transaction' });
        res.status(201).json({ id: req.params.id });
      });
      v1.get('/probe/:id', async (req, res) => {
        const { rows } = await db.read<{ on_replica: boolean; seen: boolean }>(
          { text: 'SELECT pg_is_in_recovery() AS on_replica, EXISTS (SELECT 1 FROM rw_probe WHERE id = $1) AS seen', values: [req.params.id] },
          { name: 'probe.read' },
        );
        res.json(rows[0]);
      });
    },
  });
  apps.push(app);
  return app;
}

beforeAll(async () => {
  cluster = await startPostgresCluster();
  const pg = await connect(cluster);
  await pg.query('CREATE TABLE rw_probe (id bigint PRIMARY KEY)');
  await pg.end();
  await cluster.waitForReplica();
  [podA, podB] = [await startPod(), await startPod()];
}, 60_000);

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await Promise.all(managers.map((m) => m.close()));
  await cluster?.stop();
});

afterEach(async () => {
  await cluster.resumeReplay();
});

test.each([
  ['a single write', '101', ''],
  ['a transaction', '102', '/in-transaction'],
])('after %s on pod A, pod B reads it back only with the token', async (_kind, id, suffix) => {
  await cluster.pauseReplay();
  const created = await fetch(`${podA.url}/v1/probe/${id}${suffix}`, { method: 'POST' });
  expect(created.status).toBe(201);
  const token = created.headers.get(CONSISTENCY_TOKEN_HEADER);
  expect(token).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);

  // Pod B without the token: the paused replica answers and does not have the row.
  expect((await getJson(`${podB.url}/v1/probe/${id}`)).body).toEqual({ on_replica: true, seen: false });
  // With it: the replica has not replayed that far, so the primary answers.
  expect((await getJson(`${podB.url}/v1/probe/${id}`, { headers: { [CONSISTENCY_TOKEN_HEADER]: token! } })).body).toEqual({ on_replica: false, seen: true });

  // Once the replica caught up, the token no longer costs a primary read.
  await cluster.resumeReplay();
  await cluster.waitForReplica();
  await managers[1]!.checkReplicas();
  expect((await getJson(`${podB.url}/v1/probe/${id}`, { headers: { [CONSISTENCY_TOKEN_HEADER]: token! } })).body).toEqual({ on_replica: true, seen: true });
});

test('reads answer no token; a malformed token is ignored, not an error', async () => {
  const read = await getJson(`${podB.url}/v1/probe/1`, { headers: { [CONSISTENCY_TOKEN_HEADER]: 'not-a-position' } });
  expect(read.status).toBe(200);
  expect(read.body).toEqual({ on_replica: true, seen: false });
  expect(read.headers.get(CONSISTENCY_TOKEN_HEADER)).toBeNull();
});

test('concurrent requests keep their own scopes', async () => {
  await cluster.pauseReplay();
  const created = await fetch(`${podA.url}/v1/probe/201`, { method: 'POST' });
  const token = created.headers.get(CONSISTENCY_TOKEN_HEADER)!;
  const [withToken, without] = await Promise.all([
    getJson(`${podB.url}/v1/probe/201`, { headers: { [CONSISTENCY_TOKEN_HEADER]: token } }),
    getJson(`${podB.url}/v1/probe/201`),
  ]);
  expect(withToken.body).toEqual({ on_replica: false, seen: true });
  expect(without.body).toEqual({ on_replica: true, seen: false });
});
