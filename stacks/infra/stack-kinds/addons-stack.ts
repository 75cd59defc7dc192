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
 * a second values document of that release (`readMonitoringValues`, chart-values.ts). A third, generated per
 * region (`alertmanagerValues`, alertmanager-routing.ts), routes each location's alerts to its SNS alert topic. The providers reach the cluster through `clusterAccess`: the endpoint is
 * private, so plan and apply run from inside the VPC (VPN, bastion or an in-VPC CI runner).
 */
import { Release } from '@cdktf/provider-helm/lib/release';
import { HelmProvider } from '@cdktf/provider-helm/lib/provider';
import { NamespaceV1 } from '@cdktf/provider-kubernetes/lib/namespace-v1';
import { KubernetesProvider } from '@cdktf/provider-kubernetes/lib/provider';
import { SecretV1 } from '@cdktf/provider-kubernetes/lib/secret-v1';
import { StorageClassV1 } from '@cdktf/provider-kubernetes/lib/storage-class-v1';
import type { Construct } from 'constructs';
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
import type { ClusterControllerRoles, PlatformOutputs } from '../stack-contracts';
import { ADDON_CHARTS, CLUSTER_AUTOSCALER_IMAGE_TAGS, helmSetValues } from './addon-charts';
import { alertmanagerValues } from './alertmanager-routing';
import { readChartValues, readMonitoringValues } from './chart-values';

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

export { IRSA_ROLE_ANNOTATION_KEY };

export const MONITORING_NAMESPACE = 'monitoring';
/** The Secret that `charts/kube-prometheus-stack/values.yaml` names as Grafana's admin login. */
export const GRAFANA_ADMIN_SECRET = 'grafana-admin';

export function addonsStackId(region: string): string {
  return `addons-${region}`;
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
