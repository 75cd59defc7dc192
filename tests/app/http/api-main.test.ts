/** The process entry: starts against real services, drains on SIGTERM, exits 0 within the grace period. */
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import { apiProcessEnvironment } from '../../../tools/services/api-environment';
import { appEntryCommand } from '../../../tools/services/app-process';
import { freePort } from '../../../tools/services/processes';
import { startPostgresCluster, type PostgresCluster } from '../../../tools/services/postgres-cluster';
import { startRedis, type RedisServer } from '../../../tools/services/redis-server';
import { AUDIENCE, createTokenMint, ISSUER } from './support';

let cluster: PostgresCluster;
let redisServer: RedisServer;
let jwksServer: http.Server;
let jwksPort: number;
let mint: Awaited<ReturnType<typeof createTokenMint>>;

beforeAll(async () => {
  [cluster, redisServer, mint] = await Promise.all([startPostgresCluster(), startRedis(), createTokenMint()]);
  jwksServer = http.createServer((_req, res) => res.setHeader('Content-Type', 'application/json').end(JSON.stringify(mint.publicJwks)));
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksPort = (jwksServer.address() as { port: number }).port;
}, 60_000);
afterAll(async () => {
  await new Promise((resolve) => jwksServer?.close(resolve));
  await Promise.all([cluster?.stop(), redisServer?.stop()]);
});

const GRACE_MS = 4000;

test('serves with remote JWKS, answers readyz 503 on the internal port while draining on SIGTERM, exits 0 within the grace period', async () => {
  const [port, internalPort] = await Promise.all([freePort(), freePort()]);
  const { command, args } = appEntryCommand('api-main');
  const child = spawn(command, args, {
    env: apiProcessEnvironment({ cluster, redis: redisServer, port, internalPort, jwksUrl: `http://127.0.0.1:${jwksPort}/jwks.json`, issuer: ISSUER, audience: AUDIENCE, shutdownGraceMs: GRACE_MS }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}`;
  const internal = `http://127.0.0.1:${internalPort}`;
  try {
    const startedAt = Date.now();
    for (;;) {
      const ready = await fetch(`${internal}/readyz`).then((r) => r.status, () => 0);
      if (ready === 200) break;
      if (Date.now() - startedAt > 20_000) throw new Error(`api never became ready:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const token = await mint.sign({ sub: 'staff-1', role: 'staff', restaurant_id: '3' });
    const whoami = await fetch(`${base}/v1/whoami`, { headers: { Authorization: `Bearer ${token}` } });
    expect(whoami.status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(404);
    expect(await (await fetch(`${internal}/metrics`)).text()).toContain('dependency_up{dependency="redis"} 1');

    // Redis down: the pod stays ready (every pod shares Redis); the gauge reports it instead.
    await redisServer.stop();
    try {
      expect((await fetch(`${internal}/readyz`)).status).toBe(200);
      expect(await (await fetch(`${internal}/metrics`)).text()).toContain('dependency_up{dependency="redis"} 0');
      expect((await fetch(`${base}/v1/whoami`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    } finally {
      await redisServer.start();
    }

    child.kill('SIGTERM');
    // The listener stays open for the drain delay (grace / 5) with readiness failing: poll until
    // readiness turns 503 (or the listener is gone, which would fail the expectation below).
    let draining: { status: number; draining: boolean } | undefined;
    for (let i = 0; i < 200 && child.exitCode === null; i++) {
      const r = await fetch(`${internal}/readyz`).then(async (res) => ({ status: res.status, draining: ((await res.json()) as { draining?: boolean }).draining ?? false }), () => undefined);
      if (!r) break;
      if (r.status === 503) {
        draining = r;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(draining).toEqual({ status: 503, draining: true });

    // Exit code 0 means it stopped before the grace deadline (at the deadline it exits 1).
    const code = await exited;
    expect(code).toBe(0);
    expect(output).toContain('"msg":"stopped"');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}, 60_000);

test('REDIS_AUTH=iam without the cache name and region fails at startup naming both', async () => {
  const { command, args } = appEntryCommand('api-main');
  const child = spawn(command, args, {
    env: {
      PATH: process.env.PATH,
      SERVICE_ROLE: 'api',
      LOCATION_ID: 'test-cafe',
      DATABASE_PRIMARY_HOST: '127.0.0.1',
      DATABASE_NAME: 'x',
      DATABASE_USER: 'x',
      DATABASE_AUTH: 'password',
      DATABASE_PASSWORD: 'x',
      DATABASE_SSL: 'disable',
      REDIS_HOST: '127.0.0.1',
      REDIS_AUTH: 'iam',
      REDIS_USER: 'app',
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      JWT_JWKS_URL: 'http://127.0.0.1:1/jwks.json',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  expect(code).toBe(1);
  expect(output).toContain('REDIS_IAM_CACHE_NAME is required when REDIS_AUTH=iam; AWS_REGION is required when DATABASE_AUTH or REDIS_AUTH is iam');
}, 30_000);
