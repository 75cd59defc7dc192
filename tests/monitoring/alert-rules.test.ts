/** The alert rules files: shape, runbook lines, severities, and the alerts issue #7 asks for. */
import { alertRules, ruleFiles } from './monitoring-files';

const SEVERITIES = ['warning', 'critical'];
const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

describe('alert rules', () => {
  const rules = alertRules();

  test('every rule is an alert (no recording rules here) with a unique name', () => {
    expect(rules.length).toBeGreaterThanOrEqual(10);
    for (const { rule } of rules) expect(rule.alert).toMatch(/^[A-Z][A-Za-z0-9]+$/);
    const names = rules.map(({ rule }) => rule.alert);
    expect(new Set(names).size).toBe(names.length);
  });

  test.each(rules.map(({ file, rule }) => [rule.alert, file, rule] as const))('%s (%s) has a severity, a summary and a one-line runbook', (_name, _file, rule) => {
    expect(SEVERITIES).toContain(rule.labels?.severity);
    expect(rule.annotations?.summary?.trim()).toBeTruthy();
    const runbook = rule.annotations?.runbook ?? '';
    expect(runbook.trim().length).toBeGreaterThanOrEqual(20);
    expect(runbook).not.toContain('\n');
    if (rule.for !== undefined) expect(rule.for).toMatch(DURATION);
  });

  test('every file is a PrometheusRule spec: named groups of rules', () => {
    for (const file of ruleFiles()) {
      expect(file.groups.length).toBeGreaterThan(0);
      for (const group of file.groups) {
        expect(group.name).toMatch(/^restaurant-[a-z-]+$/);
        expect(group.rules.length).toBeGreaterThan(0);
      }
    }
  });

  const byName = new Map(rules.map(({ rule }) => [rule.alert!, rule]));
  test.each([
    ['ApiLatencyP95High', /histogram_quantile\(0\.95,[\s\S]*http_request_duration_seconds_bucket[\s\S]*> 0\.2\s*$/, '5m'],
    ['ApiErrorRatioHigh', /status=~"5\.\."[\s\S]*> 0\.01\s*$/, '5m'],
    ['DependencyDown', /max by \(location, dependency\) \(dependency_up\{component="api"\}\) == 0\s*$/, '2m'],
    ['DatabasePoolSaturated', /db_pool_waiting_clients[\s\S]*db_pool_idle_connections/, '5m'],
    ['DatabaseSlowQueries', /rate\(db_slow_queries_total/, '10m'],
    ['DatabaseReplicaLagHigh', /db_replica_lag_seconds[\s\S]*> 1\s*$/, '2m'],
    ['RedisCircuitOpen', /cache_redis_circuit_open/, '2m'],
    ['WebsocketDeliveryLagHigh', /ws_delivery_lag_seconds_bucket/, '5m'],
    ['WebsocketDisconnectSpike', /ws_connections[\s\S]*offset 5m/, undefined],
    ['HpaAtMaximum', /kube_horizontalpodautoscaler_status_current_replicas[\s\S]*>=[\s\S]*kube_horizontalpodautoscaler_spec_max_replicas/, '15m'],
    ['ContainerMemoryNearLimit', /container_memory_working_set_bytes[\s\S]*kube_pod_container_resource_limits\{resource="memory"\}[\s\S]*> 0\.8\s*$/, '10m'],
  ] as const)('%s is there with its threshold and duration', (name, expr, forDuration) => {
    const rule = byName.get(name);
    expect(rule).toBeDefined();
    expect(rule!.expr).toMatch(expr);
    expect(rule!.for).toBe(forDuration);
  });

  test('every app alert keeps the location in its result, so a notification names the restaurant', () => {
    for (const { rule } of rules) {
      if (/kube_|container_/.test(rule.expr)) continue;
      expect(`${rule.alert}: ${rule.expr}`).toMatch(/by \([^)]*location/);
    }
  });
});
