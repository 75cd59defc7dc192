import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Testing } from '../../../stacks/cdktf';
import { CLUSTER_ADDON_REQUESTS } from '../../../stacks/config/region-sizing';
import {
  ADDON_CHARTS,
  AddonsStack,
  type AddonsStackProps,
  CHARTS_DIR,
  readChartValues,
} from '../../../stacks/stacks/addons-stack';
import { PlatformStack } from '../../../stacks/stacks/platform-stack';
import type { PlatformOutputs } from '../../../stacks/stack-contracts';
import { locationsOf, S3_BACKEND } from '../platform/fixtures';
import { resourceAt, stripVolatile, synthJson, type Block, type SynthJson } from '../platform/synth-json';

/** Platform outputs as plain values: the addons stack on its own, without cross-stack wiring. */
const PLATFORM: PlatformOutputs = {
  region: 'ap-southeast-1',
  vpcId: 'vpc-0a1b2c3d',
  vpcCidrBlock: '10.10.0.0/16',
  privateSubnetIds: ['subnet-a', 'subnet-b', 'subnet-c'],
  databaseSubnetIds: ['subnet-da', 'subnet-db', 'subnet-dc'],
  clusterName: 'restaurant-ap-southeast-1',
  clusterEndpoint: 'https://0123456789ABCDEF.gr7.ap-southeast-1.eks.amazonaws.com',
  clusterCertificateAuthorityData: 'LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t',
  clusterSecurityGroupId: 'sg-0a1b2c3d',
  oidcProviderArn: 'arn:aws:iam::111122223333:oidc-provider/oidc.eks.ap-southeast-1.amazonaws.com/id/0123456789ABCDEF',
  oidcIssuerHostPath: 'oidc.eks.ap-southeast-1.amazonaws.com/id/0123456789ABCDEF',
  ecrRepositoryUrls: {
    api: '111122223333.dkr.ecr.ap-southeast-1.amazonaws.com/restaurant/api',
    ws: '111122223333.dkr.ecr.ap-southeast-1.amazonaws.com/restaurant/ws',
  },
};

const values = (chart: string): any => parseYaml(fs.readFileSync(path.join(CHARTS_DIR, chart, 'values.yaml'), 'utf8'));

describe('AddonsStack', () => {
  const app = Testing.app();
  const build = (id: string, props: Partial<AddonsStackProps> = {}) =>
    new AddonsStack(app, id, { region: 'ap-southeast-1', platform: PLATFORM, backend: S3_BACKEND, ...props });

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
        atomic: true,
        cleanup_on_fail: true,
        timeout: 300,
        max_history: 10,
      });
    });

    test('installs kube-prometheus-stack, pinned, atomically, after its storage class and secret', () => {
      expect(at('kube-prometheus-stack')).toMatchObject({
        chart: 'kube-prometheus-stack',
        repository: 'https://prometheus-community.github.io/helm-charts',
        version: ADDON_CHARTS.kubePrometheusStack.version,
        namespace: '${kubernetes_namespace_v1.monitoring-namespace.metadata[0].name}',
        create_namespace: false,
        values: [readChartValues('kube-prometheus-stack')],
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

    test('kube-prometheus-stack values leave the issue #7 slots open', () => {
      const kps = values('kube-prometheus-stack');
      expect(kps.prometheus.prometheusSpec).toMatchObject({
        serviceMonitorSelectorNilUsesHelmValues: false,
        podMonitorSelectorNilUsesHelmValues: false,
        ruleSelectorNilUsesHelmValues: false,
        additionalScrapeConfigs: [],
      });
      expect(kps.additionalPrometheusRulesMap).toEqual({});
      expect(kps.grafana.sidecar.dashboards).toMatchObject({ enabled: true, label: 'grafana_dashboard' });
    });

    test('the values files request no more than the node sizing reserves for add-ons', () => {
      const cpu = (q: string): number => (q.endsWith('m') ? Number(q.slice(0, -1)) : Number(q) * 1000);
      const mib = (q: string): number => (q.endsWith('Gi') ? Number(q.slice(0, -2)) * 1024 : Number(q.slice(0, -2)));
      const kps = values('kube-prometheus-stack');
      const ms = values('metrics-server');
      const pods: [number, { cpu: string; memory: string }][] = [
        [ms.replicas, ms.resources.requests],
        [kps.prometheus.prometheusSpec.replicas, kps.prometheus.prometheusSpec.resources.requests],
        [kps.alertmanager.alertmanagerSpec.replicas, kps.alertmanager.alertmanagerSpec.resources.requests],
        [kps.grafana.replicas, kps.grafana.resources.requests],
        [kps.grafana.replicas, kps.grafana.sidecar.resources.requests],
        [1, kps.prometheusOperator.resources.requests],
        [1, kps['kube-state-metrics'].resources.requests],
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

  describe('wired to the real platform stack', () => {
    const wiredApp = Testing.app();
    const platform = new PlatformStack(wiredApp, 'platform-ap-southeast-1', {
      region: 'ap-southeast-1',
      locations: locationsOf('ap-southeast-1'),
      backend: S3_BACKEND,
    });
    new AddonsStack(wiredApp, 'addons-ap-southeast-1', { region: 'ap-southeast-1', platform, backend: S3_BACKEND });
    wiredApp.synth();
    const wired = JSON.parse(fs.readFileSync(path.join(wiredApp.outdir, 'stacks', 'addons-ap-southeast-1', 'cdk.tf.json'), 'utf8')) as SynthJson;

    test('matches the snapshot for ap-southeast-1', () => {
      expect(stripVolatile(wired)).toMatchSnapshot();
    });

    test('reads the platform\'s state and nothing else', () => {
      expect(Object.keys(wired.data ?? {})).toEqual(['terraform_remote_state']);
      const [remoteState] = Object.values(wired.data!.terraform_remote_state!);
      expect(remoteState!.config).toMatchObject({ key: 'restaurant-platform/platform-ap-southeast-1/terraform.tfstate' });
      expect(wired.provider?.helm?.[0]?.kubernetes.host).toMatch(/^\$\{data\.terraform_remote_state\.[^.]+\.outputs\./);
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
