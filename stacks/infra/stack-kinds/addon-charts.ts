/**
 * The charts of the `addons-<region>` stack at their pinned versions, the cluster autoscaler image
 * per Kubernetes version, and how per-region values reach a release (helm `set`).
 */
import type { ReleaseSet } from '@cdktf/provider-helm/lib/release';

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
   * Controller v2.13.2. Its IAM policy is `stacks/infra/constructs/policies/`
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

/**
 * Per-region chart values as a helm `set` list, every value typed `string` so helm never reads an
 * id or ARN as a number or boolean. Values that differ by region go here rather than into the
 * values files, which stay the same for every region.
 */
export function helmSetValues(values: Readonly<Record<string, string>>): ReleaseSet[] {
  return Object.entries(values).map(([name, value]) => ({ name, value, type: 'string' }));
}
