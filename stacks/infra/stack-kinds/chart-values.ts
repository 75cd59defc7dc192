/**
 * The values documents of the addons' charts, read at synth time from `charts/` and checked there:
 * each chart's reviewed `values.yaml` (`readChartValues`) and our monitoring data files (alert
 * rules, scrape jobs, dashboards) as a second values document of kube-prometheus-stack
 * (`readMonitoringValues`). See charts/README.md.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

/** Where `charts/<chart>/values.yaml` live. */
export const CHARTS_DIR = path.resolve(__dirname, '../../../charts');

/** Where the monitoring data files live, below CHARTS_DIR (see charts/README.md). */
export const MONITORING_FILES = {
  chart: 'kube-prometheus-stack',
  /** PrometheusRule specs (`groups:`), one rule map entry per file. */
  alertsDir: 'alerts',
  /** Grafana dashboards, one JSON model per file. */
  dashboardsDir: 'dashboards',
  /** A list of Prometheus scrape jobs. */
  scrapeConfigs: 'scrape-configs.yaml',
} as const;

/** Grafana's file provider for our dashboards: the folder they appear in and where they are mounted. */
export const GRAFANA_DASHBOARD_PROVIDER = { name: 'restaurant', folder: 'Restaurant', path: '/var/lib/grafana/dashboards/restaurant' } as const;

/**
 * The values file of `chart`, checked to be a YAML mapping. Terraform would read `${` and `%{` in
 * the text as template syntax, so values files must not contain them.
 */
export function readChartValues(chart: string, chartsDir: string = CHARTS_DIR): string {
  const shown = path.join(path.basename(chartsDir), chart, 'values.yaml');
  const file = path.join(chartsDir, chart, 'values.yaml');
  if (!fs.existsSync(file)) throw new Error(`${shown} must exist (values of the ${chart} chart), got no such file`);
  const text = fs.readFileSync(file, 'utf8');
  let parsed: unknown;
  try {
    parsed = parseYaml(text, { uniqueKeys: true });
  } catch (err) {
    throw new Error(`${shown} must be valid YAML, got: ${(err as Error).message.split('\n')[0]}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`${shown} must be a YAML mapping of chart values, got ${parsed === null ? 'an empty document' : Array.isArray(parsed) ? 'a list' : typeof parsed}`);
  }
  refuseTerraformTemplates(shown, text);
  return text;
}

/** Throws when `text` contains Terraform template syntax, naming the file and the line. */
function refuseTerraformTemplates(shown: string, text: string): void {
  const template = /\$\{|%\{/.exec(text);
  if (template) {
    const line = text.slice(0, template.index).split('\n').length;
    throw new Error(`${shown} must not contain "${template[0]}" (Terraform would read it as a template), got one on line ${line}`);
  }
}

function parseYamlFile(shown: string, text: string): unknown {
  try {
    return parseYaml(text, { uniqueKeys: true });
  } catch (err) {
    throw new Error(`${shown} must be valid YAML, got: ${(err as Error).message.split('\n')[0]}`);
  }
}

function filesIn(dir: string, extension: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith(extension))
    .sort();
}

const FILE_KEY = /^[a-z0-9]([a-z0-9-]{0,50}[a-z0-9])?$/;

/**
 * The monitoring data files as one kube-prometheus-stack values document, the second of the
 * release (Helm merges it over values.yaml):
 * - `alerts/<name>.yaml` (a PrometheusRule spec: `groups:`) -> `additionalPrometheusRulesMap.<name>`;
 *   the chart writes each with `toYaml`, so `{{ $labels.x }}` reaches Prometheus unchanged.
 * - `scrape-configs.yaml` (a list of jobs) -> `prometheus.prometheusSpec.additionalScrapeConfigs`;
 *   the chart renders this through Helm's `tpl`, so it must not contain `{{`.
 * - `dashboards/<name>.json` -> `grafana.dashboards.<provider>.<name>.json` plus the file provider
 *   in `grafana.dashboardProviders`: the Grafana chart turns them into a ConfigMap mounted into
 *   Grafana, verbatim (no `tpl`), so Grafana's `{{label}}` legends and `$variables` survive. A
 *   Grafana `${var}` form would be read by Terraform: refused, like in every values file.
 * Names (file names without extension) must be lowercase DNS labels: they become object names.
 */
export function readMonitoringValues(chartsDir: string = CHARTS_DIR): string {
  const base = path.join(chartsDir, MONITORING_FILES.chart);
  const shownBase = path.join(path.basename(chartsDir), MONITORING_FILES.chart);
  const read = (relative: string): { shown: string; text: string } => {
    const shown = path.join(shownBase, relative);
    const text = fs.readFileSync(path.join(base, relative), 'utf8');
    refuseTerraformTemplates(shown, text);
    return { shown, text };
  };
  const keyOf = (shown: string, file: string, extension: string): string => {
    const key = file.slice(0, -extension.length);
    if (!FILE_KEY.test(key)) throw new Error(`${shown} must be named as a lowercase DNS label (a-z, 0-9, -) plus ${extension}, got "${file}"`);
    return key;
  };

  const rules: Record<string, unknown> = {};
  for (const file of filesIn(path.join(base, MONITORING_FILES.alertsDir), '.yaml')) {
    const { shown, text } = read(path.join(MONITORING_FILES.alertsDir, file));
    const parsed = parseYamlFile(shown, text) as { groups?: unknown } | null;
    if (parsed === null || typeof parsed !== 'object' || !Array.isArray(parsed.groups) || parsed.groups.length === 0) {
      throw new Error(`${shown} must be a PrometheusRule spec with a non-empty "groups" list, got ${JSON.stringify(parsed)?.slice(0, 80)}`);
    }
    rules[keyOf(shown, file, '.yaml')] = { groups: parsed.groups };
  }

  const scrape = read(MONITORING_FILES.scrapeConfigs);
  const scrapeConfigs = parseYamlFile(scrape.shown, scrape.text);
  if (!Array.isArray(scrapeConfigs) || scrapeConfigs.length === 0) {
    throw new Error(`${scrape.shown} must be a non-empty list of scrape jobs, got ${JSON.stringify(scrapeConfigs)?.slice(0, 80)}`);
  }
  const helmTemplate = scrape.text.indexOf('{{');
  if (helmTemplate >= 0) {
    throw new Error(`${scrape.shown} must not contain "{{" (the chart renders scrape configs through Helm's tpl), got one on line ${scrape.text.slice(0, helmTemplate).split('\n').length}`);
  }

  const dashboards: Record<string, { json: string }> = {};
  for (const file of filesIn(path.join(base, MONITORING_FILES.dashboardsDir), '.json')) {
    const { shown, text } = read(path.join(MONITORING_FILES.dashboardsDir, file));
    let model: { uid?: unknown; title?: unknown; panels?: unknown };
    try {
      model = JSON.parse(text) as typeof model;
    } catch (err) {
      throw new Error(`${shown} must be valid JSON, got: ${(err as Error).message}`);
    }
    if (typeof model !== 'object' || model === null || typeof model.uid !== 'string' || typeof model.title !== 'string' || !Array.isArray(model.panels)) {
      throw new Error(`${shown} must be a Grafana dashboard model with a string "uid", a "title" and "panels", got ${text.slice(0, 80)}`);
    }
    dashboards[keyOf(shown, file, '.json')] = { json: text };
  }

  const values = {
    additionalPrometheusRulesMap: rules,
    prometheus: { prometheusSpec: { additionalScrapeConfigs: scrapeConfigs } },
    grafana: {
      dashboardProviders: {
        'dashboardproviders.yaml': {
          apiVersion: 1,
          providers: [
            {
              name: GRAFANA_DASHBOARD_PROVIDER.name,
              orgId: 1,
              folder: GRAFANA_DASHBOARD_PROVIDER.folder,
              type: 'file',
              // Dashboards come from code: edits in the UI are not kept, and nothing is deleted by hand.
              disableDeletion: true,
              editable: false,
              options: { path: GRAFANA_DASHBOARD_PROVIDER.path },
            },
          ],
        },
      },
      dashboards: { [GRAFANA_DASHBOARD_PROVIDER.name]: dashboards },
    },
  };
  const text = `# Generated at synth time from ${shownBase}/{${MONITORING_FILES.alertsDir},${MONITORING_FILES.dashboardsDir}}/ and ${MONITORING_FILES.scrapeConfigs}.\n${stringifyYaml(values, { lineWidth: 0 })}`;
  refuseTerraformTemplates(`the generated monitoring values of ${shownBase}`, text);
  return text;
}
