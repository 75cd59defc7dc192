import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Testing } from '../../stacks/infra/cdktf';
import { CLUSTER_ADDON_REQUESTS } from '../../stacks/infra/config/region-sizing';
import { CLUSTER_AUTOSCALER_SERVICE_ACCOUNT } from '../../stacks/infra/constructs/cluster-autoscaler-role';
import { EKS_KUBERNETES_VERSION } from '../../stacks/infra/constructs/eks-cluster';
import { LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT } from '../../stacks/infra/constructs/load-balancer-controller-role';
import { locationAlertTopicName } from '../../stacks/infra/constructs/location-alarms';
import { ALERTMANAGER_SERVICE_ACCOUNT } from '../../stacks/infra/constructs/alertmanager-role';
import { ADDON_CHARTS, CLUSTER_AUTOSCALER_IMAGE_TAGS, helmSetValues } from '../../stacks/infra/stack-kinds/addon-charts';
import { AddonsStack, type AddonsStackProps, MONITORING_NAMESPACE } from '../../stacks/infra/stack-kinds/addons-stack';
import { alertmanagerValues, EVERY_LOCATION_RECEIVER, NULL_RECEIVER } from '../../stacks/infra/stack-kinds/alertmanager-routing';
import { CHARTS_DIR, readChartValues, readMonitoringValues } from '../../stacks/infra/stack-kinds/chart-values';
import { CLUSTER_NAMESPACES, LOCATION_ID_PATTERN } from '../../stacks/infra/config/location-schema';
import { PlatformStack } from '../../stacks/infra/stack-kinds/platform-stack';
import type { ClusterControllerRoles, PlatformOutputs } from '../../stacks/infra/stack-contracts';
import { regionSettings } from '../../tools/synth/platform-settings';
import { synthPlatform } from '../../tools/synth/synth-platform';
import { locationsOf, sampleLocation } from '../support/stacks/sample-locations';
import { S3_BACKEND } from '../support/stacks/platform-fixtures';
import { addressOf, type Block, resourceAt, stripVolatile, synthJson, type SynthJson } from '../support/stacks/synth-json';
import { ADDONS_PLATFORM_FIXTURE } from '../support/stacks/stack-outputs';

/** Platform outputs as plain values: the addons stack on its own, without cross-stack wiring. */
const PLATFORM: PlatformOutputs = ADDONS_PLATFORM_FIXTURE;

const CONTROLLER_ROLES: ClusterControllerRoles = {
  loadBalancerControllerRoleArn: 'arn:aws:iam::111122223333:role/restaurant-ap-southeast-1-aws-load-balancer-controller',
  clusterAutoscalerRoleArn: 'arn:aws:iam::111122223333:role/restaurant-ap-southeast-1-cluster-autoscaler',
};

/** A helm `set` list as a map, for reading. */
const setOf = (release: Block): Record<string, string> => Object.fromEntries((release.set as { name: string; value: string }[]).map((s) => [s.name, s.value]));

interface SnsConfig {
  topic_arn: string;
  sigv4: { region: string };
  subject: string;
  message: string;
  send_resolved: boolean;
}
interface AlertmanagerRoute {
  receiver: string;
  matchers: string[];
}
interface AlertmanagerConfig {
  route: { receiver: string; group_by: string[]; routes: AlertmanagerRoute[] } & Record<string, unknown>;
  receivers: { name: string; sns_configs?: SnsConfig[] }[];
}

/** Values documents merged as Helm merges them: maps key by key, anything else replaced by the later one. */
function helmMerged(documents: readonly string[]): any {
  const merge = (a: any, b: any): any => {
    const isMap = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
    if (!isMap(a) || !isMap(b)) return b;
    const out = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = k in a ? merge(a[k], v) : v;
    return out;
  };
  return documents.map((d) => parseYaml(d)).reduce(merge, {});
}

/**
 * The receiver Alertmanager picks for a label set: the first matching child route (none of ours
 * sets `continue` or has children), else the root's. Supports the `=` and `=~` matchers we write.
 */
function route(config: AlertmanagerConfig, labels: Record<string, string>): string {
  const matches = (matcher: string): boolean => {
    const [, name, op, value] = /^(\w+) (=~|=) "(.*)"$/.exec(matcher) ?? [];
    if (!name) throw new Error(`unsupported matcher ${matcher}`);
    const actual = labels[name] ?? '';
    return op === '=' ? actual === value : new RegExp(`^(?:${value})$`).test(actual);
  };
  for (const r of config.route.routes) {
    expect(r).not.toHaveProperty('continue');
    expect(r).not.toHaveProperty('routes');
    if (r.matchers.every(matches)) return r.receiver;
  }
  return config.route.receiver;
}

const values = (chart: string): any => parseYaml(fs.readFileSync(path.join(CHARTS_DIR, chart, 'values.yaml'), 'utf8'));

describe('AddonsStack', () => {
  const app = Testing.app();
  const build = (id: string, props: Partial<AddonsStackProps> = {}) =>
    new AddonsStack(app, id, {
      region: 'ap-southeast-1',
      platform: PLATFORM,
      controllerRoles: CONTROLLER_ROLES,
      locations: locationsOf(props.region ?? 'ap-southeast-1'),
      backend: S3_BACKEND,
      ...props,
    });

  const stack = build('addons-ap-southeast-1');
  const json = synthJson(stack);
  const at = (pathSuffix: string): Block => resourceAt(json, stack, pathSuffix);

  describe('defaults', () => {
    test('reaches the cluster with a short-lived token, for helm and kubernetes alike', () => {
      const access = {
        host: PLATFORM.clusterEndpoint,
        cluster_ca_certificate: `\${base64decode("${PLATFORM.clusterCertificateAuthorityData}")}`,
      };
      const exec = {
        api_version: 'client.authentication.k8s.io/v1beta1',
        command: 'aws',
        args: ['eks', 'get-token', '--cluster-name', 'restaurant-ap-southeast-1', '--region', 'ap-southeast-1'],
      };
      expect(json.provider?.helm).toEqual([{ kubernetes: { ...access, exec } }]);
      expect(json.provider?.kubernetes).toEqual([{ ...access, exec: [exec] }]);
    });

    test('installs metrics-server, pinned, atomically, into monitoring', () => {
      expect(at('metrics-server')).toEqual({
        name: 'metrics-server',
        chart: 'metrics-server',
        repository: 'https://kubernetes-sigs.github.io/metrics-server/',
        version: ADDON_CHARTS.metricsServer.version,
        namespace: '${kubernetes_namespace_v1.monitoring-namespace.metadata[0].name}',
        create_namespace: false,
        values: [readChartValues('metrics-server')],
        wait: true,
        atomic: true,
        cleanup_on_fail: true,
        timeout: 300,
        max_history: 10,
      });
    });

    test('installs the AWS Load Balancer Controller, pinned, into kube-system, waiting for it to be Ready', () => {
      expect(at('aws-load-balancer-controller')).toEqual({
        name: 'aws-load-balancer-controller',
        chart: 'aws-load-balancer-controller',
        repository: 'https://aws.github.io/eks-charts',
        version: ADDON_CHARTS.awsLoadBalancerController.version,
        namespace: 'kube-system',
        create_namespace: false,
        values: [readChartValues('aws-load-balancer-controller')],
        set: [
          { name: 'clusterName', value: 'restaurant-ap-southeast-1', type: 'string' },
          { name: 'region', value: 'ap-southeast-1', type: 'string' },
          { name: 'vpcId', value: 'vpc-0a1b2c3d', type: 'string' },
          { name: 'serviceAccount.name', value: 'aws-load-balancer-controller', type: 'string' },
          { name: 'serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn', value: CONTROLLER_ROLES.loadBalancerControllerRoleArn, type: 'string' },
        ],
        wait: true,
        atomic: true,
        cleanup_on_fail: true,
        timeout: 600,
        max_history: 10,
      });
      expect(ADDON_CHARTS.awsLoadBalancerController.version).toMatch(/^1\.13\.\d+$/);
    });

    test('installs the cluster autoscaler, pinned, into kube-system, with the image of the cluster\'s Kubernetes version', () => {
      expect(at('cluster-autoscaler')).toEqual({
        name: 'cluster-autoscaler',
        chart: 'cluster-autoscaler',
        repository: 'https://kubernetes.github.io/autoscaler',
        version: ADDON_CHARTS.clusterAutoscaler.version,
        namespace: 'kube-system',
        create_namespace: false,
        values: [readChartValues('cluster-autoscaler')],
        set: [
          { name: 'autoDiscovery.clusterName', value: 'restaurant-ap-southeast-1', type: 'string' },
          { name: 'awsRegion', value: 'ap-southeast-1', type: 'string' },
          { name: 'image.tag', value: CLUSTER_AUTOSCALER_IMAGE_TAGS[EKS_KUBERNETES_VERSION], type: 'string' },
          { name: 'rbac.serviceAccount.name', value: 'cluster-autoscaler', type: 'string' },
          { name: 'rbac.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn', value: CONTROLLER_ROLES.clusterAutoscalerRoleArn, type: 'string' },
        ],
        wait: true,
        atomic: true,
        cleanup_on_fail: true,
        timeout: 300,
        max_history: 10,
      });
      expect(setOf(at('cluster-autoscaler'))['image.tag']).toBe('v1.34.2');
    });

    test('installs kube-prometheus-stack, pinned, atomically, after its storage class and secret', () => {
      expect(at('kube-prometheus-stack')).toMatchObject({
        chart: 'kube-prometheus-stack',
        repository: 'https://prometheus-community.github.io/helm-charts',
        version: ADDON_CHARTS.kubePrometheusStack.version,
        namespace: '${kubernetes_namespace_v1.monitoring-namespace.metadata[0].name}',
        create_namespace: false,
        values: [
          readChartValues('kube-prometheus-stack'),
          readMonitoringValues(),
          alertmanagerValues({ region: 'ap-southeast-1', partition: 'aws', accountId: '111122223333', locationIds: ['kanchanaburi-resort', 'sukhumvit-cafe'] }),
        ],
        atomic: true,
        timeout: 900,
        depends_on: ['kubernetes_storage_class_v1.gp3-storage-class', 'kubernetes_secret_v1.grafana-admin-secret'],
      });
    });

    test('creates the monitoring namespace and an encrypted, zone-aware gp3 storage class', () => {
      expect(at('monitoring-namespace').metadata).toEqual({ name: 'monitoring', labels: { 'app.kubernetes.io/managed-by': 'cdktf' } });
      expect(at('gp3-storage-class')).toMatchObject({
        storage_provisioner: 'ebs.csi.aws.com',
        volume_binding_mode: 'WaitForFirstConsumer',
        allow_volume_expansion: true,
        parameters: { type: 'gp3', encrypted: 'true', 'csi.storage.k8s.io/fstype': 'ext4' },
      });
    });

    test('generates the Grafana admin password write-only, so it never reaches state or code', () => {
      const secret = at('grafana-admin-secret');
      expect(secret.data_wo).toEqual({ 'admin-user': 'admin', 'admin-password': '${uuid()}' });
      expect(secret.data_wo_revision).toBe(1);
      expect(secret.data).toBeUndefined();
      expect(values('kube-prometheus-stack').grafana.admin).toEqual({
        existingSecret: 'grafana-admin',
        userKey: 'admin-user',
        passwordKey: 'admin-password',
      });
      expect(JSON.stringify(values('kube-prometheus-stack'))).not.toMatch(/adminPassword/);
    });

    test('has no data sources of its own', () => {
      expect(json.data).toBeUndefined();
    });
  });

  describe('behaviour', () => {
    test('the controllers run as the service accounts their IRSA roles trust, in those accounts\' namespace', () => {
      const lbc = at('aws-load-balancer-controller');
      expect(lbc.namespace).toBe(LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT.namespace);
      expect(setOf(lbc)['serviceAccount.name']).toBe(LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT.name);
      expect(values('aws-load-balancer-controller').serviceAccount).toEqual({ create: true });
      const ca = at('cluster-autoscaler');
      expect(ca.namespace).toBe(CLUSTER_AUTOSCALER_SERVICE_ACCOUNT.namespace);
      expect(setOf(ca)['rbac.serviceAccount.name']).toBe(CLUSTER_AUTOSCALER_SERVICE_ACCOUNT.name);
      expect(values('cluster-autoscaler').rbac).toEqual({ create: true, serviceAccount: { create: true } });
    });

    test('the values files leave every per-region value to helm set', () => {
      const lbc = values('aws-load-balancer-controller');
      for (const key of ['clusterName', 'region', 'vpcId']) expect(lbc).not.toHaveProperty(key);
      const ca = values('cluster-autoscaler');
      expect(ca).not.toHaveProperty('autoDiscovery');
      expect(ca).not.toHaveProperty('awsRegion');
      expect(ca.image).toEqual({ repository: 'registry.k8s.io/autoscaling/cluster-autoscaler' });
    });

    test('helmSetValues types every value as a string, in the given order', () => {
      expect(helmSetValues({ b: '1', a: 'true' })).toEqual([
        { name: 'b', value: '1', type: 'string' },
        { name: 'a', value: 'true', type: 'string' },
      ]);
    });

    test.each(Object.entries(CLUSTER_AUTOSCALER_IMAGE_TAGS))('Kubernetes %s runs a cluster autoscaler image of the same minor version (%s)', (version, tag) => {
      expect(tag).toMatch(new RegExp(`^v${version.replace('.', '\\.')}\\.\\d+$`));
    });

    test('the default Kubernetes version has a cluster autoscaler image', () => {
      expect(CLUSTER_AUTOSCALER_IMAGE_TAGS[EKS_KUBERNETES_VERSION]).toBeDefined();
    });

    test('AWS Load Balancer Controller values: two replicas across zones behind a PodDisruptionBudget, non-root, sized', () => {
      const lbc = values('aws-load-balancer-controller');
      expect(lbc.replicaCount).toBe(2);
      expect(lbc.podDisruptionBudget).toEqual({ maxUnavailable: 1 });
      expect(lbc.topologySpreadConstraints.map((c: { topologyKey: string }) => c.topologyKey)).toEqual(['topology.kubernetes.io/zone']);
      expect(lbc.resources).toEqual({ requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '256Mi' } });
      expect(lbc.priorityClassName).toBe('system-cluster-critical');
      expect(lbc.podSecurityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(lbc.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
        capabilities: { drop: ['ALL'] },
      });
    });

    test('AWS Load Balancer Controller values: no Service webhook, so no Service creation depends on the controller', () => {
      expect(values('aws-load-balancer-controller').enableServiceMutatorWebhook).toBe(false);
    });

    test('cluster autoscaler values: least-waste, balanced groups, system and emptyDir pods do not pin nodes', () => {
      const ca = values('cluster-autoscaler');
      expect(ca.extraArgs).toEqual({
        expander: 'least-waste',
        'balance-similar-node-groups': 'true',
        'balancing-ignore-label_1': 'eks.amazonaws.com/nodegroup',
        'balancing-ignore-label_2': 'eks.amazonaws.com/nodegroup-image',
        'balancing-ignore-label_3': 'eks.amazonaws.com/sourceLaunchTemplateId',
        'balancing-ignore-label_4': 'eks.amazonaws.com/sourceLaunchTemplateVersion',
        // Differs per zone on EKS nodes; without it the zones' node groups never count as similar.
        'balancing-ignore-label_5': 'topology.k8s.aws/zone-id',
        'skip-nodes-with-system-pods': 'false',
        'skip-nodes-with-local-storage': 'false',
        'scale-down-enabled': 'true',
        'scale-down-utilization-threshold': '0.5',
        'scale-down-unneeded-time': '10m',
        'scale-down-delay-after-add': '10m',
      });
      // A YAML boolean or number could render differently from what is written.
      expect(Object.values(ca.extraArgs).every((v) => typeof v === 'string')).toBe(true);
    });

    test('cluster autoscaler values: one replica, non-root, read-only, sized', () => {
      const ca = values('cluster-autoscaler');
      expect(ca).toMatchObject({ cloudProvider: 'aws', replicaCount: 1, priorityClassName: 'system-cluster-critical', podDisruptionBudget: { maxUnavailable: 1 } });
      expect(ca.resources).toEqual({ requests: { cpu: '100m', memory: '300Mi' }, limits: { memory: '600Mi' } });
      expect(ca.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65534, fsGroup: 65534, seccompProfile: { type: 'RuntimeDefault' } });
      expect(ca.containerSecurityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    });

    test('metrics-server values: two replicas on separate nodes, guarded by a PodDisruptionBudget', () => {
      const ms = values('metrics-server');
      expect(ms.replicas).toBe(2);
      expect(ms.podDisruptionBudget).toMatchObject({ enabled: true, minAvailable: 1 });
      expect(ms.topologySpreadConstraints.map((c: { topologyKey: string }) => c.topologyKey)).toEqual([
        'topology.kubernetes.io/zone',
        'kubernetes.io/hostname',
      ]);
      expect(ms.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    });

    test('kube-prometheus-stack values: retained history on gp3, Alertmanager on, everything non-root', () => {
      const kps = values('kube-prometheus-stack');
      const prometheus = kps.prometheus.prometheusSpec;
      expect(prometheus).toMatchObject({ replicas: 2, retention: '15d', retentionSize: '45GB' });
      expect(prometheus.storageSpec.volumeClaimTemplate.spec).toMatchObject({
        storageClassName: 'gp3',
        resources: { requests: { storage: '50Gi' } },
      });
      expect(kps.alertmanager.enabled).toBe(true);
      expect(kps.alertmanager.alertmanagerSpec.storage.volumeClaimTemplate.spec.storageClassName).toBe('gp3');
      for (const securityContext of [
        prometheus.securityContext,
        kps.alertmanager.alertmanagerSpec.securityContext,
        kps.grafana.securityContext,
        kps.prometheusOperator.securityContext,
      ]) {
        expect(securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      }
    });

    test('kube-prometheus-stack values select monitors and rules of every release, and leave our monitoring keys to the data files', () => {
      const kps = values('kube-prometheus-stack');
      expect(kps.prometheus.prometheusSpec).toMatchObject({
        serviceMonitorSelectorNilUsesHelmValues: false,
        podMonitorSelectorNilUsesHelmValues: false,
        ruleSelectorNilUsesHelmValues: false,
      });
      // Set by readMonitoringValues (tests/monitoring): here they would be overridden silently.
      expect(kps).not.toHaveProperty('additionalPrometheusRulesMap');
      expect(kps.prometheus.prometheusSpec).not.toHaveProperty('additionalScrapeConfigs');
      expect(kps.grafana).not.toHaveProperty('dashboards');
      expect(kps.grafana).not.toHaveProperty('dashboardProviders');
      expect(kps.grafana.sidecar.dashboards).toMatchObject({ enabled: true, label: 'grafana_dashboard' });
    });

    test('the values files request no more than the node sizing reserves for add-ons', () => {
      const cpu = (q: string): number => (q.endsWith('m') ? Number(q.slice(0, -1)) : Number(q) * 1000);
      const mib = (q: string): number => (q.endsWith('Gi') ? Number(q.slice(0, -2)) * 1024 : Number(q.slice(0, -2)));
      const kps = values('kube-prometheus-stack');
      const ms = values('metrics-server');
      const lbc = values('aws-load-balancer-controller');
      const ca = values('cluster-autoscaler');
      const edns = values('external-dns');
      const pods: [number, { cpu: string; memory: string }][] = [
        [ms.replicas, ms.resources.requests],
        [kps.prometheus.prometheusSpec.replicas, kps.prometheus.prometheusSpec.resources.requests],
        [kps.alertmanager.alertmanagerSpec.replicas, kps.alertmanager.alertmanagerSpec.resources.requests],
        [kps.grafana.replicas, kps.grafana.resources.requests],
        [kps.grafana.replicas, kps.grafana.sidecar.resources.requests],
        [1, kps.prometheusOperator.resources.requests],
        [1, kps['kube-state-metrics'].resources.requests],
        [lbc.replicaCount, lbc.resources.requests],
        [ca.replicaCount, ca.resources.requests],
        [1, edns.resources.requests],
      ];
      // CoreDNS (2 x 100m / 70Mi) and the EBS CSI controller (2 x about 60m / 240Mi) share the budget.
      const eksAddons = { cpuMillicores: 2 * 100 + 2 * 60, memoryMiB: 2 * 70 + 2 * 240 };
      const total = pods.reduce(
        (sum, [replicas, r]) => ({ cpuMillicores: sum.cpuMillicores + replicas * cpu(r.cpu), memoryMiB: sum.memoryMiB + replicas * mib(r.memory) }),
        eksAddons,
      );
      expect(total.cpuMillicores).toBeLessThanOrEqual(CLUSTER_ADDON_REQUESTS.cpuMillicores);
      expect(total.memoryMiB).toBeLessThanOrEqual(CLUSTER_ADDON_REQUESTS.memoryMiB);
    });
  });

  describe('Alertmanager notifications', () => {
    const release = at('kube-prometheus-stack');
    const regionIds = locationsOf('ap-southeast-1').map((l) => l.id);
    const otherRegionIds = [...new Set(['eu-west-2'].flatMap((r) => locationsOf(r).map((l) => l.id)))];
    const config = helmMerged(release.values as string[]).alertmanager.config as AlertmanagerConfig;
    const topicArn = (id: string): string => `arn:aws:sns:ap-southeast-1:111122223333:${id}-alerts`;

    test('the sample data has locations in this region and in another one', () => {
      expect(regionIds).toEqual(['kanchanaburi-resort', 'sukhumvit-cafe']);
      expect(otherRegionIds).toEqual(['london-shoreditch']);
    });

    test('runs Alertmanager as the service account its IRSA role trusts, annotated with the platform\'s role ARN', () => {
      expect(ALERTMANAGER_SERVICE_ACCOUNT).toEqual({ namespace: 'monitoring', name: 'kube-prometheus-stack-alertmanager' });
      expect(release.namespace).toBe(`\${kubernetes_namespace_v1.monitoring-namespace.metadata[0].name}`);
      expect(at('monitoring-namespace').metadata.name).toBe(ALERTMANAGER_SERVICE_ACCOUNT.namespace);
      expect(setOf(release)).toEqual({
        'alertmanager.serviceAccount.name': ALERTMANAGER_SERVICE_ACCOUNT.name,
        'alertmanager.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn': PLATFORM.alertmanagerRoleArn,
      });
    });

    test.each(regionIds)('%s: its app alerts (location label) and cluster alerts (namespace) go to its own topic, with SigV4 in the region', (id) => {
      const routes = config.route.routes.filter((r) => r.receiver === id);
      expect(routes.map((r) => r.matchers)).toEqual([[`location = "${id}"`], [`namespace = "${id}"`]]);
      const receiver = config.receivers.find((r) => r.name === id)!;
      expect(receiver.sns_configs).toHaveLength(1);
      expect(receiver.sns_configs![0]).toMatchObject({ topic_arn: topicArn(id), sigv4: { region: 'ap-southeast-1' }, send_resolved: true });
      expect(receiver.sns_configs![0]!.subject).toContain(id);
      expect(route(config, { alertname: 'ApiErrorRatioHigh', severity: 'critical', location: id, namespace: id })).toBe(id);
      expect(route(config, { alertname: 'KubePodCrashLooping', severity: 'warning', namespace: id, pod: 'api-1' })).toBe(id);
    });

    test('the topic ARN is the location topic the data stack creates (location-alarms.ts)', () => {
      expect(locationAlertTopicName('sukhumvit-cafe')).toBe('sukhumvit-cafe-alerts');
    });

    test('alerts of no location (nodes, kube-system, Prometheus) go to every location topic of the region', () => {
      expect(route(config, { alertname: 'KubeNodeNotReady', severity: 'warning', node: 'ip-10-10-1-1' })).toBe(EVERY_LOCATION_RECEIVER);
      expect(route(config, { alertname: 'TargetDown', severity: 'warning', namespace: 'kube-system' })).toBe(EVERY_LOCATION_RECEIVER);
      const everyLocation = config.receivers.find((r) => r.name === EVERY_LOCATION_RECEIVER)!;
      expect(everyLocation.sns_configs!.map((c) => c.topic_arn)).toEqual(regionIds.map(topicArn));
      expect(everyLocation.sns_configs!.every((c) => c.send_resolved === true && c.sigv4.region === 'ap-southeast-1')).toBe(true);
    });

    test.each(['Watchdog', 'InfoInhibitor'])('%s goes to the null receiver, wherever it comes from', (alertname) => {
      expect(route(config, { alertname, severity: 'none' })).toBe(NULL_RECEIVER);
      expect(route(config, { alertname, severity: 'none', location: 'sukhumvit-cafe', namespace: 'sukhumvit-cafe' })).toBe(NULL_RECEIVER);
      expect(config.receivers.find((r) => r.name === NULL_RECEIVER)).toEqual({ name: NULL_RECEIVER });
    });

    test('an alert labelled with a location of another region routes nowhere but null', () => {
      for (const id of otherRegionIds) {
        expect(route(config, { alertname: 'ApiErrorRatioHigh', severity: 'critical', location: id })).toBe(NULL_RECEIVER);
        expect(route(config, { alertname: 'ApiErrorRatioHigh', severity: 'critical', location: id, namespace: id })).toBe(NULL_RECEIVER);
        // Nothing in the region's config names it: no route, no receiver, no topic.
        expect(JSON.stringify(config)).not.toContain(id);
      }
    });

    test('every receiver a route names exists, and every SNS receiver publishes only to this region\'s location topics', () => {
      const names = config.receivers.map((r) => r.name);
      expect(names).toEqual([NULL_RECEIVER, ...regionIds, EVERY_LOCATION_RECEIVER]);
      for (const r of [config.route, ...config.route.routes]) expect(names).toContain(r.receiver);
      const arns = config.receivers.flatMap((r) => (r.sns_configs ?? []).map((c) => c.topic_arn));
      expect(new Set(arns)).toEqual(new Set(regionIds.map(topicArn)));
    });

    test('groups by alert name and location; values.yaml keeps the timing', () => {
      expect(config.route).toMatchObject({ group_by: ['alertname', 'location'], group_wait: '30s', group_interval: '5m', repeat_interval: '12h' });
      expect(values('kube-prometheus-stack').alertmanager.config.route).not.toHaveProperty('routes');
      expect(values('kube-prometheus-stack').alertmanager.config).not.toHaveProperty('receivers');
    });

    test('the generated document holds Alertmanager templates and no Terraform template of its own', () => {
      const text = (release.values as string[])[2]!;
      expect(text).toContain('{{ .CommonLabels.alertname }}');
      expect(text).not.toMatch(/\$\{|%\{/);
    });
  });

  describe('wired to the real platform stack', () => {
    const wiredApp = Testing.app();
    const platform = new PlatformStack(wiredApp, 'platform-ap-southeast-1', {
      region: 'ap-southeast-1',
      locations: locationsOf('ap-southeast-1'),
      backend: S3_BACKEND,
      settings: regionSettings('ap-southeast-1'),
    });
    new AddonsStack(wiredApp, 'addons-ap-southeast-1', {
      region: 'ap-southeast-1',
      platform,
      controllerRoles: platform.controllerRoles,
      locations: locationsOf('ap-southeast-1'),
      kubernetesVersion: platform.cluster.kubernetesVersion,
      backend: S3_BACKEND,
    });
    wiredApp.synth();
    const wired = JSON.parse(fs.readFileSync(path.join(wiredApp.outdir, 'stacks', 'addons-ap-southeast-1', 'cdk.tf.json'), 'utf8')) as SynthJson;

    test('matches the snapshot for ap-southeast-1', () => {
      // The generated monitoring values (thousands of lines of rules and dashboards) are reviewed as
      // their data files and checked in tests/monitoring; the snapshot keeps their place only.
      const snapshot = stripVolatile(wired);
      const kps = snapshot.resource!.helm_release!['kube-prometheus-stack']!;
      expect(kps.values[1]).toBe(readMonitoringValues());
      kps.values[1] = '<readMonitoringValues(): charts/kube-prometheus-stack/{alerts,dashboards,scrape-configs.yaml}>';
      expect(snapshot).toMatchSnapshot();
    });

    test('reads the platform\'s state and nothing else', () => {
      expect(Object.keys(wired.data ?? {})).toEqual(['terraform_remote_state']);
      const [remoteState] = Object.values(wired.data!.terraform_remote_state! as Record<string, Block>);
      expect(remoteState!.config).toMatchObject({ key: 'restaurant-platform/platform-ap-southeast-1/terraform.tfstate' });
      expect(wired.provider?.helm?.[0]?.kubernetes.host).toMatch(/^\$\{data\.terraform_remote_state\.[^.]+\.outputs\./);
    });

    test('annotates the controllers\' service accounts with the platform\'s role ARNs, read from its state', () => {
      const platformJson = JSON.parse(
        fs.readFileSync(path.join(wiredApp.outdir, 'stacks', 'platform-ap-southeast-1', 'cdk.tf.json'), 'utf8'),
      ) as SynthJson;
      const upstream = (expression: string): unknown => {
        const [, output] = /outputs\.([A-Za-z0-9_-]+)\}$/.exec(expression) ?? [];
        return platformJson.output?.[output!]?.value;
      };
      const releases = wired.resource!.helm_release!;
      const roleOf = (release: string, key: string): string => setOf(releases[release]!)[key]!;
      expect(upstream(roleOf('aws-load-balancer-controller', 'serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn'))).toBe(
        `\${${addressOf(platform, 'load-balancer-controller-role/role')}.arn}`,
      );
      expect(upstream(roleOf('cluster-autoscaler', 'rbac.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn'))).toBe(
        `\${${addressOf(platform, 'cluster-autoscaler-role/role')}.arn}`,
      );
      expect(upstream(roleOf('aws-load-balancer-controller', 'vpcId'))).toBe(`\${${addressOf(platform, 'network/vpc')}.id}`);
      expect(upstream(roleOf('kube-prometheus-stack', 'alertmanager.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn'))).toBe(
        `\${${addressOf(platform, 'alertmanager-role/role')}.arn}`,
      );
    });

    test('the topics\' account is the account of the platform\'s OIDC provider, read from its state', () => {
      const alerting = parseYaml(wired.resource!.helm_release!['kube-prometheus-stack']!.values[2]) as { alertmanager: { config: AlertmanagerConfig } };
      const arns = alerting.alertmanager.config.receivers.flatMap((r) => (r.sns_configs ?? []).map((c) => c.topic_arn));
      expect(arns.length).toBeGreaterThan(0);
      for (const arn of arns) {
        const [, output] = /^arn:aws:sns:ap-southeast-1:\$\{element\(split\(":", data\.terraform_remote_state\.cross-stack-reference-input-platform-ap-southeast-1\.outputs\.([A-Za-z0-9_-]+)\), 4\)\}:[a-z0-9-]+-alerts$/.exec(arn) ?? [];
        expect(output).toBeDefined();
        const platformJson = JSON.parse(fs.readFileSync(path.join(wiredApp.outdir, 'stacks', 'platform-ap-southeast-1', 'cdk.tf.json'), 'utf8')) as SynthJson;
        expect(platformJson.output?.[output!]?.value).toBe(`\${${addressOf(platform, 'irsa/provider')}.arn}`);
      }
    });
  });

  describe('deploy order of the whole platform', () => {
    const { built, stacks, outdir } = synthPlatform();
    afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

    test('every app stack depends on its region\'s addons stack, so the controller exists before its Service', () => {
      expect(built.locations.size).toBeGreaterThan(0);
      for (const { location, app: appStack } of built.locations.values()) {
        expect(appStack.dependencies).toContain(built.addons.get(location.region));
      }
    });

    test('the app stacks\' LoadBalancer Services opt in to the controller by annotation (the Service webhook is off)', () => {
      const appIds = [...stacks.keys()].filter((id) => id.endsWith('-app'));
      expect(appIds.length).toBeGreaterThan(0);
      for (const id of appIds) {
        const services = Object.values((stacks.get(id)!.resource?.kubernetes_service_v1 ?? {}) as Record<string, Block>);
        const loadBalancers = services.filter((svc) => svc.spec.type === 'LoadBalancer');
        expect(loadBalancers).toHaveLength(1);
        expect(loadBalancers[0]!.metadata.annotations).toMatchObject({
          'service.beta.kubernetes.io/aws-load-balancer-type': 'external',
          'service.beta.kubernetes.io/aws-load-balancer-nlb-target-type': 'ip',
        });
      }
    });
  });

  describe('errors', () => {
    test('fails when the id is not addons-<region>', () => {
      expect(() => build('addons')).toThrow('id must be "addons-ap-southeast-1" (addons-<region>; it names the state file), got "addons"');
    });

    test('fails when the region is unknown', () => {
      expect(() => build('addons-sa-east-1', { region: 'sa-east-1' })).toThrow(
        'region must be one of ap-northeast-1, ap-southeast-1, ap-southeast-2, ap-southeast-7, eu-central-1, eu-west-1, eu-west-2, us-east-1, us-west-2, got "sa-east-1" (stack "addons-sa-east-1")',
      );
    });

    test('fails when no cluster autoscaler image is pinned for the Kubernetes version', () => {
      expect(() => build('addons-ap-southeast-2', { region: 'ap-southeast-2', platform: { ...PLATFORM, region: 'ap-southeast-2' }, kubernetesVersion: '1.35' })).toThrow(
        'kubernetesVersion must be one of 1.34 (versions with a pinned cluster autoscaler image in CLUSTER_AUTOSCALER_IMAGE_TAGS), got "1.35" (stack "addons-ap-southeast-2")',
      );
    });

    // Each error test uses its own region: a stack that fails validation stays in the App.
    test.each([
      ['loadBalancerControllerRoleArn', 'ap-northeast-1'],
      ['clusterAutoscalerRoleArn', 'us-east-1'],
    ] as const)('fails when controllerRoles.%s is not a role ARN', (field, region) => {
      const arn = 'arn:aws:iam::111122223333:policy/not-a-role';
      expect(() =>
        build(`addons-${region}`, {
          region,
          platform: { ...PLATFORM, region },
          controllerRoles: { ...CONTROLLER_ROLES, [field]: arn },
        }),
      ).toThrow(`controllerRoles.${field} must be an IAM role ARN such as arn:aws:iam::111122223333:role/name, got "${arn}" (stack "addons-${region}")`);
    });

    test('fails when platform.alertmanagerRoleArn is not a role ARN', () => {
      const arn = 'arn:aws:iam::111122223333:user/alertmanager';
      expect(() => build('addons-ap-southeast-7', { region: 'ap-southeast-7', platform: { ...PLATFORM, region: 'ap-southeast-7', alertmanagerRoleArn: arn } })).toThrow(
        `platform.alertmanagerRoleArn must be an IAM role ARN such as arn:aws:iam::111122223333:role/name, got "${arn}" (stack "addons-ap-southeast-7")`,
      );
    });

    test('fails when the region has no locations', () => {
      expect(() => build('addons-eu-west-1', { region: 'eu-west-1', platform: { ...PLATFORM, region: 'eu-west-1' }, locations: [] })).toThrow(
        'locations must list at least one location of eu-west-1 (Alertmanager routes their alerts), got none (stack "addons-eu-west-1")',
      );
    });

    test('fails when a location belongs to another region', () => {
      expect(() =>
        build('addons-eu-central-1', { region: 'eu-central-1', platform: { ...PLATFORM, region: 'eu-central-1' }, locations: [sampleLocation('sukhumvit-cafe')] }),
      ).toThrow(
        'locations[0].region must be "eu-central-1" (the stack\'s region; its Alertmanager notifies only its locations), got "ap-southeast-1" (location "sukhumvit-cafe", stack "addons-eu-central-1")',
      );
    });

    test('fails when the platform belongs to another region', () => {
      expect(() => build('addons-eu-west-2', { region: 'eu-west-2' })).toThrow(
        'platform.region must be "eu-west-2" (the stack\'s region; add-ons go on that region\'s cluster), got "ap-southeast-1" (stack "addons-eu-west-2")',
      );
    });
  });
});

describe('readChartValues', () => {
  const chartsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'charts-'));
  const writeValues = (chart: string, text: string): void => {
    fs.mkdirSync(path.join(chartsDir, chart), { recursive: true });
    fs.writeFileSync(path.join(chartsDir, chart, 'values.yaml'), text);
  };
  afterAll(() => fs.rmSync(chartsDir, { recursive: true, force: true }));
  const shown = (chart: string): string => path.join(path.basename(chartsDir), chart, 'values.yaml');

  test('returns the file unchanged', () => {
    writeValues('good', '# comment kept\nreplicas: 2\n');
    expect(readChartValues('good', chartsDir)).toBe('# comment kept\nreplicas: 2\n');
  });

  test('fails when the file is missing', () => {
    expect(() => readChartValues('absent', chartsDir)).toThrow(`${shown('absent')} must exist (values of the absent chart), got no such file`);
  });

  test('fails when the file is not valid YAML', () => {
    writeValues('broken', 'replicas: [2\n');
    expect(() => readChartValues('broken', chartsDir)).toThrow(new RegExp(`^${shown('broken')} must be valid YAML, got: `));
  });

  test('fails when a key repeats', () => {
    writeValues('repeated', 'replicas: 2\nreplicas: 3\n');
    expect(() => readChartValues('repeated', chartsDir)).toThrow(new RegExp(`^${shown('repeated')} must be valid YAML, got: Map keys must be unique`));
  });

  test('fails when the file is a list', () => {
    writeValues('list', '- a\n- b\n');
    expect(() => readChartValues('list', chartsDir)).toThrow(`${shown('list')} must be a YAML mapping of chart values, got a list`);
  });

  test('fails when the file is empty', () => {
    writeValues('empty', '# nothing\n');
    expect(() => readChartValues('empty', chartsDir)).toThrow(`${shown('empty')} must be a YAML mapping of chart values, got an empty document`);
  });

  test.each(['${var.x}', '%{ if x }'])('fails when the file contains Terraform template syntax (%s)', (template) => {
    writeValues('templated', `a: 1\nb: "${template}"\n`);
    expect(() => readChartValues('templated', chartsDir)).toThrow(
      `${shown('templated')} must not contain "${template.slice(0, 2)}" (Terraform would read it as a template), got one on line 2`,
    );
  });
});

test('no location can take the namespace the addons stack installs monitoring in', () => {
  expect(CLUSTER_NAMESPACES).toContain(MONITORING_NAMESPACE);
  expect(LOCATION_ID_PATTERN.test(MONITORING_NAMESPACE)).toBe(false);
});

describe('AddonsStack ExternalDNS', () => {
  const zones = [{ domain: 'banrimkwae.com', zoneId: 'Z0123456789ABCDEFGHIJ' }];
  const roleArn = 'arn:aws:iam::111122223333:role/restaurant-ap-southeast-1-external-dns';
  // One app per stack: every one of them is addons-ap-southeast-1.
  const build = (props: Partial<AddonsStackProps> = {}) =>
    new AddonsStack(Testing.app(), 'addons-ap-southeast-1', {
      region: 'ap-southeast-1',
      platform: PLATFORM,
      controllerRoles: { ...CONTROLLER_ROLES, externalDnsRoleArn: roleArn },
      locations: locationsOf('ap-southeast-1'),
      backend: S3_BACKEND,
      apiHostedZones: zones,
      ...props,
    });

  test('with hosted zones: installs the pinned chart in kube-system as the service account its role trusts', () => {
    const stack = build();
    const release = resourceAt(synthJson(stack), stack, 'external-dns/release');
    expect(release).toMatchObject({ name: 'external-dns', ...ADDON_CHARTS.externalDns, namespace: 'kube-system', atomic: true, wait: true });
    expect(setOf(release)).toEqual({
      txtOwnerId: PLATFORM.clusterName,
      'serviceAccount.name': 'external-dns',
      'serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn': roleArn,
    });
    const merged = helmMerged(release.values as string[]);
    expect(merged).toMatchObject({
      provider: { name: 'aws' },
      sources: ['service'],
      policy: 'upsert-only',
      registry: 'txt',
      domainFilters: ['banrimkwae.com'],
      extraArgs: ['--aws-zone-type=public', '--zone-id-filter=Z0123456789ABCDEFGHIJ'],
      env: [{ name: 'AWS_DEFAULT_REGION', value: 'ap-southeast-1' }],
    });
  });

  test('without hosted zones: no ExternalDNS', () => {
    const stack = build({ apiHostedZones: [], controllerRoles: CONTROLLER_ROLES });
    expect(stack.externalDns).toBeUndefined();
    expect(JSON.stringify(synthJson(stack))).not.toContain('external-dns');
  });

  test('fails when zones are named but the platform made no ExternalDNS role', () => {
    expect(() => build({ controllerRoles: CONTROLLER_ROLES })).toThrow(
      new Error(
        'controllerRoles.externalDnsRoleArn must be set when apiHostedZones names zones (ExternalDNS needs its IRSA role), got none (stack "addons-ap-southeast-1")',
      ),
    );
  });
});
