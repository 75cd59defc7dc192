/**
 * `addons-<region>`: cluster-wide software on a region's EKS cluster. metrics-server (every HPA
 * reads CPU from it) and kube-prometheus-stack (Prometheus, Alertmanager, Grafana) in the
 * `monitoring` namespace, plus the `gp3` StorageClass their volumes use; and in `kube-system` the
 * two controllers the app stacks depend on: the AWS Load Balancer Controller (the nginx Service's
 * Network Load Balancer) and the cluster autoscaler (nodes for the pods the HPAs add).
 *
 * Ordering: every `<location>-app` stack depends on this stack (`buildPlatformApp` adds the
 * dependency), so `cdktf deploy` installs the controller before any LoadBalancer Service exists,
 * and `cdktf destroy` removes the app stacks (and with them their NLBs, which only the controller
 * can delete) before the controller. Deploy order: platform, data, addons, app.
 *
 * Chart values live in `charts/<chart>/values.yaml`, read at synth time, so they can be reviewed
 * and diffed as YAML. Our monitoring (alert rules, scrape jobs for every location's api, ws and
 * nginx, Grafana dashboards) are data files next to the kube-prometheus-stack values, delivered as
 * a second values document of that release (`readMonitoringValues`). A third, generated per region
 * (`alertmanagerValues`), routes each location's alerts to its SNS alert topic. The providers reach the cluster through `clusterAccess`: the endpoint is
 * private, so plan and apply run from inside the VPC (VPN, bastion or an in-VPC CI runner).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Release, type ReleaseSet } from '@cdktf/provider-helm/lib/release';
import { HelmProvider } from '@cdktf/provider-helm/lib/provider';
import { NamespaceV1 } from '@cdktf/provider-kubernetes/lib/namespace-v1';
import { KubernetesProvider } from '@cdktf/provider-kubernetes/lib/provider';
import { SecretV1 } from '@cdktf/provider-kubernetes/lib/secret-v1';
import { StorageClassV1 } from '@cdktf/provider-kubernetes/lib/storage-class-v1';
import type { Construct } from 'constructs';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { applyBackend, type BackendConfig } from '../backend';
import { Fn, TerraformStack, Token } from '../cdktf';
import { clusterAccess } from '../cluster-access';
import type { Location } from '../config/location';
import type { HostedZone } from '../config/platform-settings';
import { AWS_REGIONS, awsPartition, knownRegions } from '../config/regions';
import { ALERTMANAGER_SERVICE_ACCOUNT } from '../constructs/alertmanager-role';
import { arnAccountId } from '../constructs/app-service-role';
import { CLUSTER_AUTOSCALER_SERVICE_ACCOUNT } from '../constructs/cluster-autoscaler-role';
import { EKS_KUBERNETES_VERSION } from '../constructs/eks-cluster';
import { ExternalDnsRelease } from '../constructs/external-dns-release';
import { IRSA_ROLE_ANNOTATION_KEY } from '../constructs/irsa-oidc-provider';
import { LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT } from '../constructs/load-balancer-controller-role';
import { locationAlertTopicName } from '../constructs/location-alarms';
import type { ClusterControllerRoles, PlatformOutputs } from '../stack-contracts';

export interface AddonsStackProps {
  readonly region: string;
  /** The region's platform stack (or its outputs): the cluster the add-ons go on. */
  readonly platform: PlatformOutputs;
  /** IRSA roles of the AWS Load Balancer Controller and the cluster autoscaler. */
  readonly controllerRoles: ClusterControllerRoles;
  /** Every location of `region`, at least one: Alertmanager routes each one's alerts to its topic. */
  readonly locations: readonly Location[];
  /**
   * Kubernetes minor version of the cluster; picks the cluster autoscaler image, which must match
   * it. Must have a row in CLUSTER_AUTOSCALER_IMAGE_TAGS.
   * @default EKS_KUBERNETES_VERSION
   */
  readonly kubernetesVersion?: string;
  readonly backend: BackendConfig;
  /**
   * Route 53 zones of the region's API host names (platform settings): ExternalDNS is installed
   * and may change records in exactly these; needs `controllerRoles.externalDnsRoleArn`.
   * @default [] - no ExternalDNS
   */
  readonly apiHostedZones?: readonly HostedZone[];
}

/** A chart from its official repository, at a pinned version. */
export interface HelmChartSource {
  readonly chart: string;
  readonly repository: string;
  readonly version: string;
}

/**
 * Pinned charts. Bump deliberately: read the chart's upgrade notes (kube-prometheus-stack major
 * versions often need CRD updates, which Helm does not apply on upgrade; see charts/README.md).
 */
export const ADDON_CHARTS = {
  metricsServer: {
    chart: 'metrics-server',
    repository: 'https://kubernetes-sigs.github.io/metrics-server/',
    version: '3.13.0',
  },
  kubePrometheusStack: {
    chart: 'kube-prometheus-stack',
    repository: 'https://prometheus-community.github.io/helm-charts',
    version: '77.14.0',
  },
  /**
   * Controller v2.13.2. Its IAM policy is `stacks/constructs/policies/`
   * `aws-load-balancer-controller-iam-policy.json`: bump both together.
   */
  awsLoadBalancerController: {
    chart: 'aws-load-balancer-controller',
    repository: 'https://aws.github.io/eks-charts',
    version: '1.13.2',
  },
  /** The image is pinned separately, per Kubernetes version, in CLUSTER_AUTOSCALER_IMAGE_TAGS. */
  clusterAutoscaler: {
    chart: 'cluster-autoscaler',
    repository: 'https://kubernetes.github.io/autoscaler',
    version: '9.52.1',
  },
  /** ExternalDNS v0.19.0; only in regions whose API names have hosted zones. */
  externalDns: {
    chart: 'external-dns',
    repository: 'https://kubernetes-sigs.github.io/external-dns/',
    version: '1.19.0',
  },
} as const satisfies Record<string, HelmChartSource>;

/**
 * The cluster autoscaler image per Kubernetes minor version: the autoscaler vendors the scheduler
 * of its own minor version, and upstream supports it only against that control-plane version.
 * Upgrading the cluster means adding a row here first (like EKS_ADDON_VERSIONS).
 */
export const CLUSTER_AUTOSCALER_IMAGE_TAGS: Readonly<Record<string, string>> = {
  '1.34': 'v1.34.2',
};

export { IRSA_ROLE_ANNOTATION_KEY };

export const MONITORING_NAMESPACE = 'monitoring';
/** The Secret that `charts/kube-prometheus-stack/values.yaml` names as Grafana's admin login. */
export const GRAFANA_ADMIN_SECRET = 'grafana-admin';
/** Where `charts/<chart>/values.yaml` live. */
export const CHARTS_DIR = path.resolve(__dirname, '../../charts');

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

export function addonsStackId(region: string): string {
  return `addons-${region}`;
}

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
  return `# Generated at synth time for ${region} (alertmanagerValues in stacks/stacks/addons-stack.ts).\n${stringifyYaml(config, { lineWidth: 0 })}`;
}

/**
 * Per-region chart values as a helm `set` list, every value typed `string` so helm never reads an
 * id or ARN as a number or boolean. Values that differ by region go here rather than into the
 * values files, which stay the same for every region.
 */
export function helmSetValues(values: Readonly<Record<string, string>>): ReleaseSet[] {
  return Object.entries(values).map(([name, value]) => ({ name, value, type: 'string' }));
}

export class AddonsStack extends TerraformStack {
  readonly namespace: NamespaceV1;
  readonly storageClass: StorageClassV1;
  readonly metricsServer: Release;
  readonly kubePrometheusStack: Release;
  readonly awsLoadBalancerController: Release;
  readonly clusterAutoscaler: Release;
  /** Present when the region's API names have hosted zones (`apiHostedZones`). */
  readonly externalDns?: ExternalDnsRelease;

  constructor(scope: Construct, id: string, props: AddonsStackProps) {
    super(scope, id);
    const kubernetesVersion = props.kubernetesVersion ?? EKS_KUBERNETES_VERSION;
    validate(id, props, kubernetesVersion);
    const { platform, controllerRoles } = props;
    // Read before any construct exists, so a bad values file stops synth with nothing built.
    const metricsServerValues = readChartValues(ADDON_CHARTS.metricsServer.chart);
    const kubePrometheusStackValues = readChartValues(ADDON_CHARTS.kubePrometheusStack.chart);
    const monitoringValues = readMonitoringValues();
    const loadBalancerControllerValues = readChartValues(ADDON_CHARTS.awsLoadBalancerController.chart);
    const clusterAutoscalerValues = readChartValues(ADDON_CHARTS.clusterAutoscaler.chart);
    const apiHostedZones = props.apiHostedZones ?? [];
    const externalDnsValues = apiHostedZones.length > 0 ? readChartValues(ADDON_CHARTS.externalDns.chart) : undefined;
    const alerting = alertmanagerValues({
      region: props.region,
      partition: awsPartition(props.region),
      accountId: accountIdOf(platform.oidcProviderArn),
      locationIds: props.locations.map((l) => l.id),
    });

    applyBackend(this, id, props.backend);
    const access = clusterAccess(platform);
    new KubernetesProvider(this, 'kubernetes', {
      host: access.host,
      clusterCaCertificate: access.clusterCaCertificate,
      exec: [access.exec],
    });
    new HelmProvider(this, 'helm', {
      kubernetes: { host: access.host, clusterCaCertificate: access.clusterCaCertificate, exec: access.exec },
    });

    // Created here rather than by a release: the Grafana admin Secret must exist in it before
    // kube-prometheus-stack installs, and neither release should own (and on uninstall delete)
    // a namespace the other uses.
    this.namespace = new NamespaceV1(this, 'monitoring-namespace', {
      metadata: { name: MONITORING_NAMESPACE, labels: { 'app.kubernetes.io/managed-by': 'cdktf' } },
    });

    // EKS ships no gp3 class (only a non-default gp2 one); Prometheus and Alertmanager volumes use this.
    this.storageClass = new StorageClassV1(this, 'gp3-storage-class', {
      metadata: { name: 'gp3', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
      storageProvisioner: 'ebs.csi.aws.com',
      // Bind in the zone where the pod lands; an EBS volume cannot follow a pod to another zone.
      volumeBindingMode: 'WaitForFirstConsumer',
      allowVolumeExpansion: true,
      reclaimPolicy: 'Delete',
      parameters: { type: 'gp3', encrypted: 'true', 'csi.storage.k8s.io/fstype': 'ext4' },
    });

    // The password is write-only: sent to the cluster on create (or when the revision is bumped to
    // rotate it) and never stored in Terraform state or in code.
    const grafanaAdmin = new SecretV1(this, 'grafana-admin-secret', {
      metadata: { name: GRAFANA_ADMIN_SECRET, namespace: this.namespace.metadata.name },
      type: 'Opaque',
      dataWo: { 'admin-user': 'admin', 'admin-password': Fn.uuid() },
      dataWoRevision: 1,
    });

    this.metricsServer = new Release(this, 'metrics-server', {
      name: 'metrics-server',
      ...ADDON_CHARTS.metricsServer,
      namespace: this.namespace.metadata.name,
      createNamespace: false,
      values: [metricsServerValues],
      // wait (the provider's default, stated because the app stacks rely on it): the apply ends
      // when the pods are Ready, so the HPAs of app stacks deployed next find the metrics API.
      wait: true,
      // atomic: a failed install or upgrade rolls back instead of leaving a half-applied release.
      atomic: true,
      cleanupOnFail: true,
      timeout: 300,
      maxHistory: 10,
    });

    this.kubePrometheusStack = new Release(this, 'kube-prometheus-stack', {
      name: 'kube-prometheus-stack',
      ...ADDON_CHARTS.kubePrometheusStack,
      namespace: this.namespace.metadata.name,
      createNamespace: false,
      // Later documents win where keys overlap (as with several `helm -f`): ours add the rules,
      // scrape jobs and dashboards to the reviewed values.yaml, then the region's alert routes.
      values: [kubePrometheusStackValues, monitoringValues, alerting],
      set: helmSetValues({
        'alertmanager.serviceAccount.name': ALERTMANAGER_SERVICE_ACCOUNT.name,
        [`alertmanager.serviceAccount.annotations.${IRSA_ROLE_ANNOTATION_KEY}`]: platform.alertmanagerRoleArn,
      }),
      atomic: true,
      cleanupOnFail: true,
      // CRDs, admission-webhook jobs and volume provisioning take longer than most charts.
      timeout: 900,
      maxHistory: 10,
      dependsOn: [this.storageClass, grafanaAdmin],
    });

    // The app stacks' nginx Service (type LoadBalancer, `aws-load-balancer-type: external`) stays
    // pending, and its apply times out, until this controller runs. The app stacks depend on this
    // stack and `wait` holds this apply until the controller's pods are Ready, so the controller
    // is there before any such Service is created.
    this.awsLoadBalancerController = new Release(this, 'aws-load-balancer-controller', {
      name: 'aws-load-balancer-controller',
      ...ADDON_CHARTS.awsLoadBalancerController,
      namespace: LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT.namespace,
      createNamespace: false,
      values: [loadBalancerControllerValues],
      // Nodes cannot give pods instance metadata (hop limit 1), so the controller is told its
      // region and VPC instead of looking them up.
      set: helmSetValues({
        clusterName: platform.clusterName,
        region: props.region,
        vpcId: platform.vpcId,
        'serviceAccount.name': LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT.name,
        [`serviceAccount.annotations.${IRSA_ROLE_ANNOTATION_KEY}`]: controllerRoles.loadBalancerControllerRoleArn,
      }),
      wait: true,
      atomic: true,
      cleanupOnFail: true,
      timeout: 600,
      maxHistory: 10,
    });

    this.clusterAutoscaler = new Release(this, 'cluster-autoscaler', {
      name: 'cluster-autoscaler',
      ...ADDON_CHARTS.clusterAutoscaler,
      namespace: CLUSTER_AUTOSCALER_SERVICE_ACCOUNT.namespace,
      createNamespace: false,
      values: [clusterAutoscalerValues],
      set: helmSetValues({
        // Finds each zone's node group's Auto Scaling group by the tags EKS gives it (see cluster-autoscaler-role.ts).
        'autoDiscovery.clusterName': platform.clusterName,
        awsRegion: props.region,
        'image.tag': CLUSTER_AUTOSCALER_IMAGE_TAGS[kubernetesVersion]!,
        'rbac.serviceAccount.name': CLUSTER_AUTOSCALER_SERVICE_ACCOUNT.name,
        [`rbac.serviceAccount.annotations.${IRSA_ROLE_ANNOTATION_KEY}`]: controllerRoles.clusterAutoscalerRoleArn,
      }),
      wait: true,
      atomic: true,
      cleanupOnFail: true,
      timeout: 300,
      maxHistory: 10,
    });

    if (externalDnsValues !== undefined) {
      this.externalDns = new ExternalDnsRelease(this, 'external-dns', {
        chart: ADDON_CHARTS.externalDns,
        values: externalDnsValues,
        region: props.region,
        clusterName: platform.clusterName,
        roleArn: controllerRoles.externalDnsRoleArn!,
        hostedZones: apiHostedZones,
        setValues: helmSetValues,
      });
    }
  }
}

/** The account inside an ARN: read from a literal, or a Terraform expression on a token. */
function accountIdOf(arn: string): string {
  return Token.isUnresolved(arn) ? arnAccountId(arn) : arn.split(':')[4]!;
}

const IAM_ROLE_ARN_PATTERN = /^arn:aws(-cn|-us-gov)?:iam::\d{12}:role\/[\w+=,.@/-]+$/;

function validate(id: string, props: AddonsStackProps, kubernetesVersion: string): void {
  const expectedId = addonsStackId(props.region);
  if (id !== expectedId) {
    throw new Error(`id must be "${expectedId}" (addons-<region>; it names the state file), got "${id}"`);
  }
  if (!AWS_REGIONS[props.region]) {
    throw new Error(`region must be one of ${knownRegions().join(', ')}, got "${props.region}" (stack "${id}")`);
  }
  if (!Token.isUnresolved(props.platform.region) && props.platform.region !== props.region) {
    throw new Error(
      `platform.region must be "${props.region}" (the stack's region; add-ons go on that region's cluster), got "${props.platform.region}" (stack "${id}")`,
    );
  }
  if (!CLUSTER_AUTOSCALER_IMAGE_TAGS[kubernetesVersion]) {
    throw new Error(
      `kubernetesVersion must be one of ${Object.keys(CLUSTER_AUTOSCALER_IMAGE_TAGS).join(', ')} (versions with a pinned cluster autoscaler image in CLUSTER_AUTOSCALER_IMAGE_TAGS), got "${kubernetesVersion}" (stack "${id}")`,
    );
  }
  for (const [field, arn] of Object.entries(props.controllerRoles)) {
    if (!Token.isUnresolved(arn) && !IAM_ROLE_ARN_PATTERN.test(arn)) {
      throw new Error(`controllerRoles.${field} must be an IAM role ARN such as arn:aws:iam::111122223333:role/name, got "${arn}" (stack "${id}")`);
    }
  }
  const zones = props.apiHostedZones ?? [];
  if (zones.length > 0 && props.controllerRoles.externalDnsRoleArn === undefined) {
    throw new Error(
      `controllerRoles.externalDnsRoleArn must be set when apiHostedZones names zones (ExternalDNS needs its IRSA role), got none (stack "${id}")`,
    );
  }
  const alertmanagerRoleArn = props.platform.alertmanagerRoleArn;
  if (!Token.isUnresolved(alertmanagerRoleArn) && !IAM_ROLE_ARN_PATTERN.test(alertmanagerRoleArn)) {
    throw new Error(`platform.alertmanagerRoleArn must be an IAM role ARN such as arn:aws:iam::111122223333:role/name, got "${alertmanagerRoleArn}" (stack "${id}")`);
  }
  if (props.locations.length === 0) {
    throw new Error(`locations must list at least one location of ${props.region} (Alertmanager routes their alerts), got none (stack "${id}")`);
  }
  props.locations.forEach((location, i) => {
    if (location.region !== props.region) {
      throw new Error(
        `locations[${i}].region must be "${props.region}" (the stack's region; its Alertmanager notifies only its locations), got "${location.region}" (location "${location.id}", stack "${id}")`,
      );
    }
  });
}
