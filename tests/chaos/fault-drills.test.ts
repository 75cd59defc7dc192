/**
 * The fault drills (drills.ts) as tests, one per drill, on one local platform (3 api, 3 ws, nginx,
 * PostgreSQL primary + replica, Redis) with a small load: 15 orders/s, 12 websocket clients, and
 * every process probed for readiness as the kubelet would (kubelet-probes.ts).
 * `npm run chaos` runs the same drills with more load and prints the report.
 */
import { startLocalPlatform, type LocalPlatform } from '../../tools/local/platform';
import { runDrill, TEST_DRILL_SETTINGS, type DrillName, type DrillResult } from '../../tools/chaos/drills';
import { appStackReadinessProbes } from '../../tools/chaos/kubelet-probes';

jest.setTimeout(90_000);

let platform: LocalPlatform;

beforeAll(async () => {
  // Synthesizes the app stack once, for the probe settings the drills use.
  appStackReadinessProbes();
  platform = await startLocalPlatform({ logLevel: 'warn' });
}, 60_000);

afterAll(async () => {
  await platform?.stop();
});

function expectNoLossNoDuplicates(result: DrillResult): void {
  expect(result.problems).toEqual([]);
  expect(result.orders.acknowledged).toBeGreaterThanOrEqual(TEST_DRILL_SETTINGS.warmupOrders + TEST_DRILL_SETTINGS.faultOrders + TEST_DRILL_SETTINGS.afterOrders);
  expect(result.orders.ordersInDatabase).toBe(result.orders.acknowledged);
  expect(result.orders).toMatchObject({ lost: 0, duplicates: 0, unacknowledged: 0, rejected: [], statusMismatches: 0 });
  expect(result.ws).toMatchObject({ missing: 0, disorderedClients: 0 });
  expect(result.ws.receivedEvents).toBeGreaterThan(0);
}

const run = (drill: DrillName) => runDrill(platform, drill, TEST_DRILL_SETTINGS);

test('api-sigkill: clients retry with the same key; no order lost or made twice; every event delivered', async () => {
  const result = await run('api-sigkill');
  expectNoLossNoDuplicates(result);
  expect(platform.apis[0]!.isRunning()).toBe(true);
  // Events are committed with their orders: a process killed after COMMIT loses none.
  expect(result.eventsMissingFromStreams).toBe(0);
});

test('ws-sigkill: its clients reconnect through nginx and resume by last id, every event in order once', async () => {
  const result = await run('ws-sigkill');
  expectNoLossNoDuplicates(result);
  // The drill kills the busiest ws process: someone had to reconnect, and did.
  expect(result.ws.reconnects).toBeGreaterThan(0);
  expect(result.wsRecoveryMs).toBeGreaterThan(0);
  // The api was not touched: every order event reached its stream.
  expect(result.eventsMissingFromStreams).toBe(0);
});

test('replica-stop: reads move to the primary; no client sees an error, nothing lost', async () => {
  const result = await run('replica-stop');
  expectNoLossNoDuplicates(result);
  expect(result.eventsMissingFromStreams).toBe(0);
});

test('redis-outage: every api stays Ready and serving under kubelet-style probing; cached menu and order create answer through nginx; orders exact; every event delivered in order', async () => {
  const result = await run('redis-outage');
  const { api: probe } = result.readiness.probe;
  const apis = result.readiness.targets.filter((t) => t.role === 'api');
  expect(apis.map((a) => a.index)).toEqual(platform.apis.map((a) => a.index));
  // The outage lasted long enough for the kubelet to act: more failed probes than its threshold were possible.
  for (const api of apis) expect(api.probes).toBeGreaterThan(probe.failureThreshold);
  // Redis is shared by every pod: no api left its Service, and each served cached reads on its own port.
  expect(apis.map((a) => ({ api: a.index, turnedNotReady: a.transitions.filter((t) => !t.ready), failedServingChecks: a.failedServingChecks }))).toEqual(
    apis.map((a) => ({ api: a.index, turnedNotReady: [], failedServingChecks: [] })),
  );
  expect(apis.every((a) => a.servingChecks > 0)).toBe(true);
  expect(result.apisAllNotReadyMs).toBe(0);
  // Through nginx, while Redis was down, no cached menu read and no order create failed.
  expect(Object.keys(result.failuresDuringFault).filter((key) => key.startsWith('menu read') || key.startsWith('order create'))).toEqual([]);
  expectNoLossNoDuplicates(result);
  // The outbox kept the events of the orders taken while Redis was down; the relay appended them after the restart.
  expect(result.eventsMissingFromStreams).toBe(0);
});
