/**
 * Alertmanager routing of one region: which location's SNS alert topic gets which alert, and the
 * notification each sends. Generated per region as a values document of kube-prometheus-stack.
 */
import { stringify as stringifyYaml } from 'yaml';
import { locationAlertTopicName } from '../constructs/location-alarms';

/** Alertmanager's receiver that drops what it gets. */
export const NULL_RECEIVER = 'null';
/** Alertmanager's receiver for alerts of no location of the region (nodes, kube-system, monitoring). */
export const EVERY_LOCATION_RECEIVER = 'every-location';

export interface AlertmanagerValuesOptions {
  readonly region: string;
  readonly partition: string;
  /** Account of the location topics; may be a token. */
  readonly accountId: string;
  /** Ids of the region's locations: each is a `location` label value and a namespace. */
  readonly locationIds: readonly string[];
}

/** One notification per alert group; Alertmanager truncates the subject to SNS's 100 characters. */
const SNS_MESSAGE_TEMPLATE = [
  '{{ range .Alerts }}{{ .Status | toUpper }}: {{ .Labels.alertname }} ({{ .Labels.severity }})',
  '{{ if .Annotations.summary }}{{ .Annotations.summary }}',
  '{{ end }}{{ if .Annotations.description }}{{ .Annotations.description }}',
  '{{ end }}{{ if .Annotations.runbook }}Runbook: {{ .Annotations.runbook }}',
  '{{ end }}{{ if .Annotations.runbook_url }}Runbook: {{ .Annotations.runbook_url }}',
  '{{ end }}Labels:{{ range .Labels.SortedPairs }} {{ .Name }}={{ .Value }}{{ end }}',
  'Since: {{ .StartsAt }}',
  '',
  '{{ end }}',
].join('\n');

/**
 * `alertmanager.config` routes and receivers of one region, a values document of the
 * kube-prometheus-stack release after values.yaml (which keeps `global` and the route timing;
 * Helm merges maps and replaces lists, so `routes` and `receivers` are wholly these). The chart
 * writes the config with `toYaml` (no `tpl`), so Alertmanager's `{{ }}` templates pass unchanged.
 *
 * Routes, first match wins:
 * - `Watchdog` (always firing, a dead-man's switch for an external pager) and `InfoInhibitor`
 *   (fires whenever an info alert does, only to inhibit): `null`.
 * - per location: `location="<id>"` (our app alerts), then `namespace="<id>"` (cluster alerts
 *   about the location's pods; its namespace is its id) -> receiver `<id>`, its topic.
 * - any other `location` label: `null`. Only this region's locations run on this cluster; a
 *   location label of another region is a mislabelled series, and must not mail this region's people.
 * - everything else (nodes, kube-system, monitoring, Prometheus itself): `every-location`, every
 *   topic of the region. The locations share the cluster, so a cluster problem is theirs; there
 *   is no region-wide topic or owner address to send it to instead, and dropping it would leave a
 *   failing cluster unannounced.
 * Not a Terraform template (no `${` of its own); the account id may be a token.
 */
export function alertmanagerValues(options: AlertmanagerValuesOptions): string {
  const { region, partition, accountId, locationIds } = options;
  const snsConfig = (locationId: string, subject: string) => ({
    topic_arn: `arn:${partition}:sns:${region}:${accountId}:${locationAlertTopicName(locationId)}`,
    sigv4: { region },
    subject,
    message: SNS_MESSAGE_TEMPLATE,
    send_resolved: true,
  });
  const status = '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}]';
  const nullRoute = (matcher: string) => ({ receiver: NULL_RECEIVER, matchers: [matcher] });
  const config = {
    alertmanager: {
      config: {
        route: {
          receiver: EVERY_LOCATION_RECEIVER,
          group_by: ['alertname', 'location'],
          routes: [
            nullRoute('alertname = "Watchdog"'),
            nullRoute('alertname = "InfoInhibitor"'),
            ...locationIds.flatMap((id) => [
              { receiver: id, matchers: [`location = "${id}"`] },
              { receiver: id, matchers: [`namespace = "${id}"`] },
            ]),
            nullRoute('location =~ ".+"'),
          ],
        },
        receivers: [
          { name: NULL_RECEIVER },
          ...locationIds.map((id) => ({ name: id, sns_configs: [snsConfig(id, `${status} {{ .CommonLabels.alertname }} at ${id}`)] })),
          {
            name: EVERY_LOCATION_RECEIVER,
            sns_configs: locationIds.map((id) => snsConfig(id, `${status} {{ .CommonLabels.alertname }} on the ${region} cluster`)),
          },
        ],
      },
    },
  };
  return `# Generated at synth time for ${region} (alertmanagerValues in stacks/infra/stack-kinds/alertmanager-routing.ts).\n${stringifyYaml(config, { lineWidth: 0 })}`;
}
