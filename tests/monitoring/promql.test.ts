/** Every PromQL expression of the alert rules and dashboards parses with the real Prometheus grammar. */
import { alertExpressions, allExpressions, dashboardExpressions, grafanaToPromql, metricNames, promqlErrors } from './monitoring-files';

describe('PromQL of the monitoring files', () => {
  test('there are expressions to check, from both rules and dashboards', () => {
    expect(alertExpressions().length).toBeGreaterThanOrEqual(10);
    expect(dashboardExpressions().length).toBeGreaterThanOrEqual(20);
  });

  test.each(allExpressions().map((e) => [e.source, e.expr] as const))('%s parses', (_source, expr) => {
    expect(promqlErrors(expr)).toEqual([]);
  });

  test.each(allExpressions().map((e) => [e.source, e.expr] as const))('%s names at least one metric', (_source, expr) => {
    expect(metricNames(expr).length).toBeGreaterThan(0);
  });
});

describe('the parser check can fail', () => {
  test.each([
    ['an unclosed parenthesis', 'sum(rate(http_request_duration_seconds_count[5m])'],
    ['a missing operand', 'sum(rate(orders_created_total[5m])) /'],
    ['a grouping clause without labels in parentheses', 'sum by location (rate(orders_created_total[5m]))'],
    ['a Terraform-style Grafana variable as a range', 'rate(orders_created_total[${__rate_interval}])'],
    ['a Grafana variable outside a string', 'rate(orders_created_total{location=$location}[5m])'],
    ['an unknown operator', 'orders_created_total >> 1'],
    ['an empty expression', ''],
  ])('%s is reported', (_case, expr) => {
    expect(promqlErrors(grafanaToPromql(expr)).length).toBeGreaterThan(0);
  });

  test('Grafana interval variables become durations; label variables stay inside strings', () => {
    const expr = grafanaToPromql('sum by (route) (rate(http_request_duration_seconds_count{location=~"$location"}[$__rate_interval]))');
    expect(expr).toBe('sum by (route) (rate(http_request_duration_seconds_count{location=~"$location"}[5m]))');
    expect(promqlErrors(expr)).toEqual([]);
  });
});

describe('metric names come from the parse tree', () => {
  test('selectors of every kind, not function names, labels or strings', () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket{route="orders_created_total"}[5m]))) / on (location) group_left max(up) > bool 1 and {__name__="ws_connections"}',
      ),
    ).toEqual(['http_request_duration_seconds_bucket', 'up', 'ws_connections']);
  });

  test('offset and subqueries keep their selector', () => {
    expect(metricNames('max_over_time(ws_connections[1h:5m]) - ws_connections offset 5m')).toEqual(['ws_connections']);
  });
});
