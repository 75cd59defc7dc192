/** The addons stack ships the alert rules, scrape jobs and dashboards in the kube-prometheus-stack release values. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Testing } from '../../stacks/infra/cdktf';
import { NGINX_STATUS_PORT } from '../../nginx/nginx-config';
import { AddonsStack } from '../../stacks/infra/stack-kinds/addons-stack';
import { CHARTS_DIR, GRAFANA_DASHBOARD_PROVIDER, readChartValues, readMonitoringValues } from '../../stacks/infra/stack-kinds/chart-values';
import { NGINX_EXPORTER_PORT } from '../../stacks/infra/constructs/nginx-gateway';
import { resourceAt, synthJson } from '../support/stacks/synth-json';
import { locationsOf } from '../support/stacks/sample-locations';
import { S3_BACKEND } from '../support/stacks/platform-fixtures';
import { dashboards, ruleFiles } from './monitoring-files';
import { INTERNAL_PORT_NAME } from '../../stacks/infra/constructs/http-workload';
import { ADDONS_PLATFORM_FIXTURE } from '../support/stacks/stack-outputs';

const PLATFORM = ADDONS_PLATFORM_FIXTURE;

describe('kube-prometheus-stack release of the synthesized addons stack', () => {
  const app = Testing.app();
  const stack = new AddonsStack(app, 'addons-ap-southeast-1', {
    region: 'ap-southeast-1',
    platform: PLATFORM,
    controllerRoles: {
      loadBalancerControllerRoleArn: 'arn:aws:iam::111122223333:role/lbc',
      clusterAutoscalerRoleArn: 'arn:aws:iam::111122223333:role/ca',
    },
    locations: locationsOf('ap-southeast-1'),
    backend: S3_BACKEND,
  });
  const json = synthJson(stack);
  const release = resourceAt(json, stack, 'kube-prometheus-stack');
  const [base, monitoringText] = release.values as [string, string];
  const monitoring = parseYaml(monitoringText) as any;

  test('carries values.yaml first, the generated monitoring values second, the region\'s Alertmanager routes third', () => {
    expect(release.values).toHaveLength(3);
    expect((release.values as string[])[2]).toMatch(/^# Generated at synth time for ap-southeast-1 \(alertmanagerValues/);
    expect(base).toBe(readChartValues('kube-prometheus-stack'));
    expect(monitoringText).toBe(readMonitoringValues());
  });

  test('one PrometheusRule per alerts file, with the file\'s groups unchanged', () => {
    const files = ruleFiles();
    expect(Object.keys(monitoring.additionalPrometheusRulesMap).sort()).toEqual(files.map((f) => f.file.replace(/\.yaml$/, '')).sort());
    for (const file of files) expect(monitoring.additionalPrometheusRulesMap[file.file.replace(/\.yaml$/, '')].groups).toEqual(file.groups);
    // Prometheus templates reach the chart as written (the chart writes rules with toYaml, not tpl).
    expect(monitoringText).toContain('{{ $labels.location }}');
  });

  test('every dashboard file, verbatim, under a file provider in a Restaurant folder', () => {
    const shipped = monitoring.grafana.dashboards[GRAFANA_DASHBOARD_PROVIDER.name];
    const files = dashboards();
    expect(Object.keys(shipped).sort()).toEqual(files.map((f) => f.file.replace(/\.json$/, '')).sort());
    for (const { file, model } of files) expect(JSON.parse(shipped[file.replace(/\.json$/, '')].json)).toEqual(model);
    expect(monitoring.grafana.dashboardProviders['dashboardproviders.yaml'].providers).toEqual([
      expect.objectContaining({ name: 'restaurant', folder: 'Restaurant', type: 'file', options: { path: GRAFANA_DASHBOARD_PROVIDER.path } }),
    ]);
    const uids = files.map((f) => f.model.uid);
    expect(new Set(uids).size).toBe(uids.length);
  });

  test('one scrape job finds the api, ws and nginx pods of every location and labels them with it', () => {
    const [job, ...others] = monitoring.prometheus.prometheusSpec.additionalScrapeConfigs;
    expect(others).toEqual([]);
    expect(job.kubernetes_sd_configs).toEqual([{ role: 'pod' }]);
    const relabel = job.relabel_configs as { source_labels?: string[]; regex?: string; action?: string; target_label?: string }[];
    expect(relabel).toEqual(
      expect.arrayContaining([
        { source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_part_of'], regex: 'restaurant-platform', action: 'keep' },
        { source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_instance'], target_label: 'location' },
        { source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_component'], target_label: 'component' },
      ]),
    );
    // The component/port pairs kept: the app's internal port (its http port answers 404 for
    // /metrics), nginx's exporter (never the status port).
    const ports = relabel.find((r) => r.source_labels?.includes('__meta_kubernetes_pod_container_port_name'))!;
    const keep = new RegExp(`^(?:${ports.regex})$`);
    expect([`api;${INTERNAL_PORT_NAME}`, `ws;${INTERNAL_PORT_NAME}`, 'nginx;metrics'].every((pair) => keep.test(pair))).toBe(true);
    expect(['api;http', 'ws;http', 'nginx;http', 'migrate;http', 'api;metrics'].some((pair) => keep.test(pair))).toBe(false);
    expect(NGINX_EXPORTER_PORT).not.toBe(NGINX_STATUS_PORT);
  });

  test('nothing in the release values is Terraform template syntax', () => {
    expect(JSON.stringify(release.values)).not.toMatch(/\$\{|%\{/);
  });
});

describe('readMonitoringValues', () => {
  let dir: string;
  const chart = () => path.join(dir, 'kube-prometheus-stack');
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'monitoring-'));
    fs.cpSync(path.join(CHARTS_DIR, 'kube-prometheus-stack'), chart(), { recursive: true });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const shown = (relative: string) => path.join(path.basename(dir), 'kube-prometheus-stack', relative);

  test('reads a copy of the shipped files the same way', () => {
    expect(readMonitoringValues(dir).split('\n').slice(1).join('\n')).toBe(readMonitoringValues().split('\n').slice(1).join('\n'));
  });

  test('fails when a dashboard uses a ${var} Grafana variable (Terraform template syntax)', () => {
    const file = path.join(chart(), 'dashboards', 'restaurant-api.json');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('[$__rate_interval]', '[${__rate_interval}]'));
    expect(() => readMonitoringValues(dir)).toThrow(new RegExp(`^${shown('dashboards/restaurant-api.json')} must not contain "\\$\\{" \\(Terraform would read it as a template\\), got one on line \\d+$`));
  });

  test('fails when an alert uses %{ (Terraform template directive)', () => {
    fs.appendFileSync(path.join(chart(), 'alerts', 'api.yaml'), '# %{ if x }\n');
    expect(() => readMonitoringValues(dir)).toThrow(`${shown('alerts/api.yaml')} must not contain "%{" (Terraform would read it as a template), got one on line`);
  });

  test('fails when the scrape configs contain {{ (the chart renders them through tpl)', () => {
    fs.appendFileSync(path.join(chart(), 'scrape-configs.yaml'), '# {{ .Release.Name }}\n');
    expect(() => readMonitoringValues(dir)).toThrow(new RegExp(`^${shown('scrape-configs.yaml')} must not contain "\\{\\{" \\(the chart renders scrape configs through Helm's tpl\\), got one on line \\d+$`));
  });

  test('fails when an alerts file has no groups', () => {
    fs.writeFileSync(path.join(chart(), 'alerts', 'empty.yaml'), 'rules: []\n');
    expect(() => readMonitoringValues(dir)).toThrow(`${shown('alerts/empty.yaml')} must be a PrometheusRule spec with a non-empty "groups" list, got {"rules":[]}`);
  });

  test('fails when a dashboard is not a dashboard model', () => {
    fs.writeFileSync(path.join(chart(), 'dashboards', 'broken.json'), '{"title": "x"}');
    expect(() => readMonitoringValues(dir)).toThrow(`${shown('dashboards/broken.json')} must be a Grafana dashboard model with a string "uid", a "title" and "panels", got {"title": "x"}`);
  });

  test('fails when a file name cannot become an object name', () => {
    fs.copyFileSync(path.join(chart(), 'alerts', 'api.yaml'), path.join(chart(), 'alerts', 'Api_Rules.yaml'));
    expect(() => readMonitoringValues(dir)).toThrow(`${shown('alerts/Api_Rules.yaml')} must be named as a lowercase DNS label (a-z, 0-9, -) plus .yaml, got "Api_Rules.yaml"`);
  });
});
