/**
 * What the nginx exporter sidecar (`nginx/nginx-prometheus-exporter`, pinned in
 * `stacks/infra/constructs/nginx-gateway.ts`) makes of nginx's `stub_status` page.
 *
 * The exporter cannot run on these machines (no container runtime, no Go), so the alert rules and
 * dashboards are checked against this table instead: the tests read a real nginx's status page,
 * parse it here, and allow rules to use only the names below for nginx.
 *
 * Names and types are those of the exporter's stub_status collector for NGINX OSS
 * (`collector/nginx.go` in github.com/nginx/nginx-prometheus-exporter, namespace `nginx`, as
 * listed under "Metrics for NGINX OSS" in its README). They are not derived from anything in this
 * repo; a new exporter version that renames one must be reflected here.
 */

/** One stub_status field and the exporter metric it becomes. */
export interface StubStatusMetric {
  readonly name: string;
  readonly type: 'gauge' | 'counter';
  /** The stub_status field, as nginx's documentation names it. */
  readonly field: keyof StubStatus;
}

/** The numbers of nginx's stub_status page (ngx_http_stub_status_module). */
export interface StubStatus {
  readonly active: number;
  readonly accepts: number;
  readonly handled: number;
  readonly requests: number;
  readonly reading: number;
  readonly writing: number;
  readonly waiting: number;
}

export const NGINX_EXPORTER_STUB_STATUS_METRICS: readonly StubStatusMetric[] = [
  { name: 'nginx_connections_active', type: 'gauge', field: 'active' },
  // Counters without a `_total` suffix: the exporter names them so.
  { name: 'nginx_connections_accepted', type: 'counter', field: 'accepts' },
  { name: 'nginx_connections_handled', type: 'counter', field: 'handled' },
  { name: 'nginx_connections_reading', type: 'gauge', field: 'reading' },
  { name: 'nginx_connections_writing', type: 'gauge', field: 'writing' },
  { name: 'nginx_connections_waiting', type: 'gauge', field: 'waiting' },
  { name: 'nginx_http_requests_total', type: 'counter', field: 'requests' },
];

/** 1 when the exporter's last read of the status page succeeded, 0 when it failed. */
export const NGINX_EXPORTER_UP_METRIC = 'nginx_up';

/** Every metric name the exporter sidecar exposes about nginx. */
export const NGINX_EXPORTER_METRIC_NAMES: readonly string[] = [NGINX_EXPORTER_UP_METRIC, ...NGINX_EXPORTER_STUB_STATUS_METRICS.map((m) => m.name)];

const STUB_STATUS_PAGE =
  /^Active connections:\s*(\d+)\s*\nserver accepts handled requests\s*\n\s*(\d+)\s+(\d+)\s+(\d+)\s*\nReading:\s*(\d+)\s+Writing:\s*(\d+)\s+Waiting:\s*(\d+)\s*$/;

/** Parses a stub_status page the way the exporter's client does; throws on anything else. */
export function parseStubStatus(page: string): StubStatus {
  const match = STUB_STATUS_PAGE.exec(page);
  if (!match) throw new Error(`stub_status page must have the ngx_http_stub_status_module layout, got ${JSON.stringify(page.slice(0, 200))}`);
  const [active, accepts, handled, requests, reading, writing, waiting] = match.slice(1).map(Number) as [number, number, number, number, number, number, number];
  return { active, accepts, handled, requests, reading, writing, waiting };
}

/** The samples the exporter would expose for `status` (nginx_up included). */
export function exporterSamples(status: StubStatus): Record<string, number> {
  return Object.fromEntries([[NGINX_EXPORTER_UP_METRIC, 1], ...NGINX_EXPORTER_STUB_STATUS_METRICS.map((m) => [m.name, status[m.field]] as const)]);
}
