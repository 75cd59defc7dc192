/**
 * Reads the monitoring data files (charts/kube-prometheus-stack/alerts, dashboards) and checks
 * PromQL with the real Prometheus grammar (@prometheus-io/lezer-promql, the parser behind the
 * Prometheus UI's editor). Shared by the tests in this folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { parse as parseYaml } from 'yaml';
import { CHARTS_DIR, MONITORING_FILES } from '../../stacks/infra/stack-kinds/chart-values';

export const MONITORING_DIR = path.join(CHARTS_DIR, MONITORING_FILES.chart);

export interface AlertRule {
  readonly alert?: string;
  readonly record?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

export interface RuleFile {
  readonly file: string;
  readonly groups: readonly { readonly name: string; readonly rules: readonly AlertRule[] }[];
}

/** One PromQL expression and where it was found, for messages. */
export interface SourcedExpression {
  readonly source: string;
  readonly expr: string;
}

export function ruleFiles(dir: string = MONITORING_DIR): RuleFile[] {
  const alertsDir = path.join(dir, MONITORING_FILES.alertsDir);
  return fs
    .readdirSync(alertsDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((file) => ({ file, ...(parseYaml(fs.readFileSync(path.join(alertsDir, file), 'utf8')) as Omit<RuleFile, 'file'>) }));
}

export function alertRules(dir: string = MONITORING_DIR): { readonly file: string; readonly group: string; readonly rule: AlertRule }[] {
  return ruleFiles(dir).flatMap(({ file, groups }) => groups.flatMap((group) => group.rules.map((rule) => ({ file, group: group.name, rule }))));
}

interface DashboardModel {
  readonly uid: string;
  readonly title: string;
  readonly panels: readonly { readonly title: string; readonly type: string; readonly targets?: readonly { readonly expr: string }[] }[];
  readonly templating?: { readonly list: readonly { readonly name: string; readonly query?: { readonly query: string } | string }[] };
}

export function dashboards(dir: string = MONITORING_DIR): { readonly file: string; readonly model: DashboardModel }[] {
  const dashboardsDir = path.join(dir, MONITORING_FILES.dashboardsDir);
  return fs
    .readdirSync(dashboardsDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, model: JSON.parse(fs.readFileSync(path.join(dashboardsDir, file), 'utf8')) as DashboardModel }));
}

/**
 * Grafana's interval variables stand where PromQL wants a duration; they are replaced by a
 * duration before parsing. Every other `$variable` may appear only inside a label-matcher string
 * (`location=~"$location"`), where it is plain text to the parser; anywhere else the parse fails.
 */
const GRAFANA_DURATION_VARIABLES = /\$(__rate_interval|__interval|__range)\b/g;

export function grafanaToPromql(expr: string): string {
  return expr.replace(GRAFANA_DURATION_VARIABLES, '5m');
}

/** `label_values(<selector>, <label>)`: Grafana's variable query; the selector is PromQL. */
const LABEL_VALUES = /^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/;

export function alertExpressions(dir: string = MONITORING_DIR): SourcedExpression[] {
  return alertRules(dir).map(({ file, rule }) => ({ source: `alerts/${file} ${rule.alert ?? rule.record}`, expr: rule.expr }));
}

export function dashboardExpressions(dir: string = MONITORING_DIR): SourcedExpression[] {
  return dashboards(dir).flatMap(({ file, model }) => [
    ...model.panels.flatMap((panel) => (panel.targets ?? []).map((target, i) => ({ source: `dashboards/${file} "${panel.title}" target ${i}`, expr: grafanaToPromql(target.expr) }))),
    ...(model.templating?.list ?? []).map((variable) => {
      const query = typeof variable.query === 'string' ? variable.query : (variable.query?.query ?? '');
      const match = LABEL_VALUES.exec(query);
      if (!match) throw new Error(`dashboards/${file} variable ${variable.name} must be a label_values(<selector>, <label>) query, got ${JSON.stringify(query)}`);
      return { source: `dashboards/${file} variable ${variable.name}`, expr: match[1]! };
    }),
  ]);
}

export function allExpressions(dir: string = MONITORING_DIR): SourcedExpression[] {
  return [...alertExpressions(dir), ...dashboardExpressions(dir)];
}

/** Error nodes of the parse, each with the text it covers; empty for a valid expression. */
export function promqlErrors(expr: string): string[] {
  const errors: string[] = [];
  const tree = parser.parse(expr);
  tree.iterate({
    enter: (node) => {
      if (node.type.isError) errors.push(`parse error at ${node.from}: ${JSON.stringify(expr.slice(Math.max(0, node.from - 15), node.to + 15))}`);
    },
  });
  if (expr.trim() === '') errors.push('empty expression');
  return errors;
}

/** Metric names of every vector selector in the expression (from the parse tree, not by regex). */
export function metricNames(expr: string): string[] {
  const names = new Set<string>();
  const tree = parser.parse(expr);
  tree.iterate({
    enter: (node) => {
      if (node.name !== 'VectorSelector') return;
      const identifier = node.node.getChild('Identifier');
      if (identifier) {
        names.add(expr.slice(identifier.from, identifier.to));
        return;
      }
      // `{__name__="x"}`: the name as a matcher.
      const matchers = expr.slice(node.from, node.to);
      const byMatcher = /__name__\s*=\s*"([^"]+)"/.exec(matchers);
      if (byMatcher) names.add(byMatcher[1]!);
      else throw new Error(`a selector without a metric name cannot be checked: ${matchers}`);
    },
  });
  return [...names].sort();
}

/** Each vector selector's metric name and its `component="..."` matcher, if any. */
export function selectors(expr: string): { readonly name: string; readonly component?: string }[] {
  const found: { name: string; component?: string }[] = [];
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.name !== 'VectorSelector') return;
      const text = expr.slice(node.from, node.to);
      const [name] = metricNames(text);
      const component = /\bcomponent\s*=\s*"([^"]+)"/.exec(text)?.[1];
      found.push({ name: name!, ...(component !== undefined && { component }) });
    },
  });
  return found;
}

/** Metric names with at least one sample line in a Prometheus text exposition. */
export function sampledNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    names.add(/^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0]);
  }
  return names;
}

/**
 * Sample names a metric family declares with `# TYPE`, including the suffixed series of histograms
 * and summaries: a labelled family that saw no observation yet has no sample line, but the
 * process does export it.
 */
export function declaredNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const match of exposition.matchAll(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$/gm)) {
    const [, name, type] = match as unknown as [string, string, string];
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

/** The value of one sample (`name{labels}` exactly as exposed, labels in the process's order), or undefined. */
export function sampleValue(exposition: string, sample: string): number | undefined {
  const line = exposition.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}

/** Every sample line of one metric name, for "some labelled series exists" checks. */
export function samplesOf(exposition: string, name: string): string[] {
  return exposition.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}
