/**
 * Every metric name an alert rule or dashboard uses is exported by something that runs: the api
 * and ws bundles (started as they ship, on the loopback PostgreSQL/Redis harness, and exercised so
 * the labelled series exist), the nginx exporter sidecar (names from nginx/stub-status.ts, whose
 * fields a real nginx's stub_status provides: tests/nginx), or a kube-prometheus-stack component
 * (a fixed allow-list below).
 */
import WebSocket from 'ws';
import { NGINX_EXPORTER_METRIC_NAMES } from '../../nginx/stub-status';
import { applySchema } from '../app/db/migrate-support';
import { AUDIENCE, ISSUER, startJwksServer, startWsProcess, TestClient, type JwksServer, type WsProcess } from '../app/realtime/support';
import { apiProcessEnvironment } from '../../tools/services/api-environment';
import { appEntryCommand } from '../../tools/services/app-process';
import { freePort, startProcess, waitFor, type StartedProcess } from '../../tools/services/processes';
import { startPostgresCluster, type PostgresCluster } from '../../tools/services/postgres-cluster';
import { startRedis, type RedisServer } from '../../tools/services/redis-server';
import { allExpressions, declaredNames, metricNames, sampledNames, samplesOf, selectors, type SourcedExpression } from './monitoring-files';

/**
 * Series our processes do not export, written by kube-prometheus-stack's own components. Keep it
 * to what the HPA and memory rules and the capacity dashboard need (a test fails on unused entries).
 */
const CLUSTER_METRICS: Readonly<Record<string, string>> = {
  // kube-state-metrics (the chart's subchart), HorizontalPodAutoscaler and pod resource series.
  kube_horizontalpodautoscaler_status_current_replicas: 'kube-state-metrics',
  kube_horizontalpodautoscaler_status_desired_replicas: 'kube-state-metrics',
  kube_horizontalpodautoscaler_spec_max_replicas: 'kube-state-metrics',
  kube_horizontalpodautoscaler_spec_min_replicas: 'kube-state-metrics',
  kube_pod_container_resource_limits: 'kube-state-metrics',
  // cAdvisor in the kubelet, scraped by the chart's kubelet ServiceMonitor.
  container_memory_working_set_bytes: 'kubelet cAdvisor',
  container_cpu_usage_seconds_total: 'kubelet cAdvisor',
  // Written by Prometheus itself for every scrape target (the dashboards' location variable).
  up: 'Prometheus',
};

/** `source: name` for every metric name used and exported by none of `exported`. */
function unexported(expressions: readonly SourcedExpression[], exported: ReadonlySet<string>): string[] {
  return expressions.flatMap((e) => metricNames(e.expr).filter((name) => !exported.has(name)).map((name) => `${e.source}: ${name}`));
}

let cluster: PostgresCluster;
let redis: RedisServer;
let jwks: JwksServer;
let api: StartedProcess | undefined;
let ws: WsProcess | undefined;
let client: TestClient | undefined;
let apiMetrics = '';
let wsMetrics = '';

beforeAll(async () => {
  [cluster, redis, jwks] = await Promise.all([startPostgresCluster(), startRedis(), startJwksServer()]);
  await applySchema(cluster);
  const [port, internalPort] = await Promise.all([freePort(), freePort()]);
  const { command, args } = appEntryCommand('api-main');
  api = startProcess(command, args, {
    env: { ...apiProcessEnvironment({ cluster, redis, port, internalPort, jwksUrl: jwks.url, issuer: ISSUER, audience: AUDIENCE, shutdownGraceMs: 4000 }), LOG_LEVEL: 'warn' },
  });
  const apiBase = `http://127.0.0.1:${port}`;
  const apiInternal = `http://127.0.0.1:${internalPort}`;
  [ws] = await Promise.all([
    startWsProcess({ redis, jwksUrl: jwks.url }),
    waitFor('api ready', async () => (await fetch(`${apiInternal}/readyz`).catch(() => undefined))?.status === 200, 30_000, () => api!.output()),
  ]);

  // Data for one restaurant, then the flows whose metrics the rules and dashboards read.
  const [restaurant] = await cluster.admin<{ id: string }>(`INSERT INTO restaurants (slug, name, timezone, currency) VALUES ('mon', 'Monitoring Cafe', 'Asia/Bangkok', 'THB') RETURNING id::text`);
  const rid = restaurant!.id;
  const [category] = await cluster.admin<{ id: string }>(`INSERT INTO menu_categories (restaurant_id, name) VALUES (${rid}, 'Mains') RETURNING id::text`);
  const [item] = await cluster.admin<{ id: string }>(`INSERT INTO menu_items (restaurant_id, category_id, name, price_cents) VALUES (${rid}, ${category!.id}, 'Tom yum', 15000) RETURNING id::text`);
  const [table] = await cluster.admin<{ id: string }>(`INSERT INTO tables (restaurant_id, label, seats) VALUES (${rid}, 'T1', 4) RETURNING id::text`);
  const sign = (claims: Record<string, string>) => jwks.mint.sign({ sub: `${claims.role}-1`, restaurant_id: rid, ...claims });
  const staff = await sign({ role: 'staff' });
  const guest = await sign({ role: 'guest', table_id: table!.id });
  const json = (token: string) => ({ Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' });

  // A websocket client in the kitchen room receives the order's events live.
  client = new TestClient(ws!.url, await sign({ role: 'kitchen' }));
  await client.ready();

  // The menu twice: a cache miss, then a hit.
  for (let i = 0; i < 2; i++) expect((await fetch(`${apiBase}/v1/restaurants/${rid}/menu`, { headers: json(guest) })).status).toBe(200);
  // An order through its whole lifecycle.
  const created = await fetch(`${apiBase}/v1/restaurants/${rid}/orders`, {
    method: 'POST',
    headers: { ...json(guest), 'Idempotency-Key': 'monitoring-1' },
    body: JSON.stringify({ table_id: Number(table!.id), items: [{ menu_item_id: Number(item!.id), quantity: 1 }] }),
  });
  expect(created.status).toBe(201);
  const order = (await created.json()) as { id: string; created_at: string };
  for (const status of ['confirmed', 'preparing', 'ready', 'served', 'completed']) {
    const changed = await fetch(`${apiBase}/v1/restaurants/${rid}/orders/${order.id}/status?created_at=${encodeURIComponent(order.created_at)}`, {
      method: 'PATCH',
      headers: json(staff),
      body: JSON.stringify({ status }),
    });
    expect(changed.status).toBe(200);
  }
  await client.until('all six order events', () => client!.events.length >= 6);
  // A refused upgrade (no token) for the rejection counter.
  const refusedStatus = await new Promise<number>((resolve, reject) => {
    const socket = new WebSocket(ws!.url);
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('open', () => reject(new Error('an upgrade without a token was accepted')));
    socket.on('error', () => undefined);
  });
  expect(refusedStatus).toBe(401);

  // The replica gauges appear once the health checker has run a round.
  await waitFor('replica lag measured', async () => /^db_replica_lag_seconds\{/m.test(await (await fetch(`${apiInternal}/metrics`)).text()), 15_000);
  apiMetrics = await (await fetch(`${apiInternal}/metrics`)).text();
  wsMetrics = await (await fetch(`${ws!.internalUrl}/metrics`)).text();
}, 120_000);

afterAll(async () => {
  client?.close();
  await Promise.all([ws?.process.stop('SIGKILL'), api?.stop('SIGKILL')]);
  await Promise.all([cluster?.stop(), redis?.stop(), jwks?.close()]);
});

describe('metric names used by rules and dashboards', () => {
  test('every one is exported by the api, ws or nginx exporter, or is a listed cluster metric', () => {
    const exported = new Set([...declaredNames(apiMetrics), ...declaredNames(wsMetrics), ...NGINX_EXPORTER_METRIC_NAMES, ...Object.keys(CLUSTER_METRICS)]);
    expect(unexported(allExpressions(), exported)).toEqual([]);
  });

  test('the check can fail: a misspelt or retired name is reported with where it is used', () => {
    const exported = new Set([...declaredNames(apiMetrics), ...declaredNames(wsMetrics)]);
    expect(
      unexported(
        [
          { source: 'fixture A', expr: 'rate(http_requests_duration_seconds_count[5m])' },
          { source: 'fixture B', expr: 'nginx_connections_active' },
        ],
        exported,
      ),
    ).toEqual(['fixture A: http_requests_duration_seconds_count', 'fixture B: nginx_connections_active']);
  });

  test('every cluster allow-list entry is used (the list stays tight)', () => {
    const used = new Set(allExpressions().flatMap((e) => metricNames(e.expr)));
    expect(Object.keys(CLUSTER_METRICS).filter((name) => !used.has(name))).toEqual([]);
  });

  test('nginx metrics come only from the exporter table, and no app process exports one of those names', () => {
    const nginxNames = allExpressions()
      .flatMap((e) => metricNames(e.expr))
      .filter((name) => name.startsWith('nginx_'));
    expect(nginxNames.length).toBeGreaterThan(0);
    for (const name of nginxNames) expect(NGINX_EXPORTER_METRIC_NAMES).toContain(name);
    for (const name of NGINX_EXPORTER_METRIC_NAMES) expect(declaredNames(apiMetrics).has(name) || declaredNames(wsMetrics).has(name)).toBe(false);
  });

  test('each api, ws or nginx selector names a metric of the component it selects', () => {
    const byComponent: Record<string, ReadonlySet<string>> = {
      api: declaredNames(apiMetrics),
      ws: declaredNames(wsMetrics),
      nginx: new Set(NGINX_EXPORTER_METRIC_NAMES),
    };
    const wrong = allExpressions().flatMap(({ source, expr }) =>
      selectors(expr)
        .filter((s) => !CLUSTER_METRICS[s.name])
        .filter((s) => s.component === undefined || !byComponent[s.component]?.has(s.name))
        .map((s) => `${source}: ${s.name}{component=${JSON.stringify(s.component)}}`),
    );
    expect(wrong).toEqual([]);
  });
});

describe('the exercised flows produced labelled series', () => {
  test.each([
    ['http_request_duration_seconds_count', /route="\/v1\/restaurants\/:restaurantId\/orders",method="POST",status="201"/],
    ['http_request_duration_seconds_bucket', /status="200"/],
    ['db_query_duration_seconds_count', /role="primary"/],
    ['db_pool_wait_seconds_count', /role="/],
    ['db_pool_connections', /role="primary"/],
    ['db_pool_idle_connections', /role="/],
    ['db_pool_waiting_clients', /role="/],
    ['db_replica_lag_seconds', /host="127\.0\.0\.1:\d+"/],
    ['db_replica_healthy', /host="127\.0\.0\.1:\d+"/],
    ['cache_hits_total', /layer="l1"/],
    ['cache_misses_total', /kind="/],
    ['cache_redis_circuit_open', /^cache_redis_circuit_open 0$/],
    ['orders_created_total', /^orders_created_total 1$/],
    ['order_status_changes_total', /status="completed"/],
    ['kitchen_preparation_seconds_count', /^kitchen_preparation_seconds_count 1$/],
    ['order_processing_seconds_count', /^order_processing_seconds_count 1$/],
    // Read at scrape: the relay emptied the outbox (the ws checks below saw the events).
    ['order_event_outbox_pending', /^order_event_outbox_pending 0$/],
    ['order_event_relay_published_total', /^order_event_relay_published_total [1-9]/],
    ['order_event_relay_failures_total', /^order_event_relay_failures_total 0$/],
  ])('api: %s', (name, pattern) => {
    expect(samplesOf(apiMetrics, name).some((line) => pattern.test(line))).toBe(true);
  });

  test.each([
    ['ws_connections', /room="kitchen"\} 1$/],
    ['ws_messages_delivered_total', /room="kitchen"\} [1-9]/],
    ['ws_delivery_lag_seconds_count', /^ws_delivery_lag_seconds_count [1-9]/],
    ['ws_upgrade_rejections_total', /reason="unauthorized"/],
  ])('ws: %s', (name, pattern) => {
    expect(samplesOf(wsMetrics, name).some((line) => pattern.test(line))).toBe(true);
  });

  test('names the rules use and the exercise left without a sample are few and listed', () => {
    // Labelled counters that need a fault or an edit to appear (429s, load shedding, slow queries,
    // server-closed websockets, menu changes): declared by the process, checked above by name.
    const used = new Set(allExpressions().flatMap((e) => metricNames(e.expr)));
    const sampled = new Set([...sampledNames(apiMetrics), ...sampledNames(wsMetrics), ...NGINX_EXPORTER_METRIC_NAMES, ...Object.keys(CLUSTER_METRICS)]);
    expect([...used].filter((name) => !sampled.has(name)).sort()).toEqual([
      'db_slow_queries_total',
      'load_shed_rejections_total',
      'rate_limit_rejections_total',
      'ws_dropped_clients_total',
    ]);
  });

});
