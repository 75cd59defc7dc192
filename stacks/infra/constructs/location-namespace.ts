/**
 * The Kubernetes namespace of one restaurant location, with the guard rails every object in it
 * lives under: the `restricted` Pod Security Standard, a default service account without an API
 * token, LimitRange defaults for containers that state no resources, and (through
 * `addResourceQuota`) a quota sized from what the location's workloads can reach at peak.
 */
import { Construct } from 'constructs';
import { DefaultServiceAccountV1 } from '@cdktf/provider-kubernetes/lib/default-service-account-v1';
import { LimitRangeV1 } from '@cdktf/provider-kubernetes/lib/limit-range-v1';
import { NamespaceV1 } from '@cdktf/provider-kubernetes/lib/namespace-v1';
import { ResourceQuotaV1 } from '@cdktf/provider-kubernetes/lib/resource-quota-v1';
import type { Location } from '../config/location';
import { LOCATION_ID_PATTERN } from '../config/location-schema';
import {
  type ContainerResources,
  locationLabels,
  type PeakResources,
  type QuotaConsumer,
} from './kubernetes-conventions';

/**
 * Requests and limits the LimitRange gives a container that states none. Every container this
 * stack creates states its own; the defaults catch a debug pod or a future sidecar, which would
 * otherwise be refused by the quota (a quota on limits requires every pod to have limits).
 */
export const CONTAINER_DEFAULT_RESOURCES: ContainerResources = {
  cpuRequestMillicores: 100,
  cpuLimitMillicores: 500,
  memoryRequestMiB: 128,
  memoryLimitMiB: 256,
};

export interface ResourceQuotaOptions {
  /**
   * Extra share on top of the summed peaks, for a debug pod or a manual job during an incident.
   * @default 10
   */
  readonly headroomPercent?: number;
  /**
   * LoadBalancer Services the namespace may own: each one is a billed cloud load balancer.
   * @default 1
   */
  readonly loadBalancers?: number;
}

export interface LocationNamespaceProps {
  readonly location: Location;
  /** @default CONTAINER_DEFAULT_RESOURCES */
  readonly containerDefaults?: ContainerResources;
}

export class LocationNamespace extends Construct {
  /**
   * The namespace name as a reference to the namespace resource: objects that set it as their
   * `metadata.namespace` are created after the namespace and deleted before it.
   */
  readonly name: string;
  /** `<namespace>.svc.cluster.local`, the DNS suffix of the namespace's Services. */
  readonly serviceDomain: string;
  readonly location: Location;
  readonly namespace: NamespaceV1;
  readonly limitRange: LimitRangeV1;
  private quota?: ResourceQuotaV1;

  constructor(scope: Construct, id: string, props: LocationNamespaceProps) {
    super(scope, id);
    const { location } = props;
    if (!LOCATION_ID_PATTERN.test(location.id)) {
      throw new Error(`location.id must be a DNS label (${LOCATION_ID_PATTERN}), got "${location.id}" (location "${location.id}")`);
    }
    const defaults = props.containerDefaults ?? CONTAINER_DEFAULT_RESOURCES;
    requireRequestsWithinLimits('containerDefaults', defaults, location);

    this.location = location;
    this.namespace = new NamespaceV1(this, 'namespace', {
      metadata: {
        name: location.id,
        labels: {
          ...locationLabels(location.id),
          // Admission refuses any pod that is not `restricted`, not only ours.
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/audit': 'restricted',
          'pod-security.kubernetes.io/warn': 'restricted',
          // The AWS Load Balancer Controller adds a readiness gate to pods behind a target group:
          // a rolling update of nginx waits until the NLB reports the new pod healthy.
          'elbv2.k8s.aws/pod-readiness-gate-inject': 'enabled',
        },
      },
    });
    this.name = this.namespace.metadata.name;
    this.serviceDomain = `${location.id}.svc.cluster.local`;

    // No workload here talks to the Kubernetes API. IRSA does not need this token either: the
    // EKS pod identity webhook mounts its own projected token for STS.
    new DefaultServiceAccountV1(this, 'default-service-account', {
      metadata: { namespace: this.name },
      automountServiceAccountToken: false,
    });

    this.limitRange = new LimitRangeV1(this, 'limit-range', {
      metadata: { name: 'container-defaults', namespace: this.name, labels: locationLabels(location.id) },
      spec: {
        limit: [
          {
            type: 'Container',
            defaultRequest: { cpu: `${defaults.cpuRequestMillicores}m`, memory: `${defaults.memoryRequestMiB}Mi` },
            default: { cpu: `${defaults.cpuLimitMillicores}m`, memory: `${defaults.memoryLimitMiB}Mi` },
          },
        ],
      },
    });
  }

  /**
   * Caps the namespace at the sum of its workloads' peaks (HPA maxima during a rollout, nginx,
   * the jobs) plus headroom, so a runaway autoscaler or a stuck rollout in one location cannot
   * starve the other locations on the shared cluster. Call once, after the workloads exist.
   */
  addResourceQuota(consumers: readonly QuotaConsumer[], options: ResourceQuotaOptions = {}): ResourceQuotaV1 {
    const location = this.location;
    if (this.quota) throw new Error(`addResourceQuota may be called once per namespace, got a second call (location "${location.id}")`);
    if (consumers.length === 0) throw new Error(`addResourceQuota needs at least 1 consumer, got 0 (location "${location.id}")`);
    const headroomPercent = options.headroomPercent ?? 10;
    const loadBalancers = options.loadBalancers ?? 1;
    if (!Number.isInteger(headroomPercent) || headroomPercent < 0 || headroomPercent > 100) {
      throw new Error(`headroomPercent must be an integer in 0..100, got ${headroomPercent} (location "${location.id}")`);
    }
    if (!Number.isInteger(loadBalancers) || loadBalancers < 0) {
      throw new Error(`loadBalancers must be a non-negative integer, got ${loadBalancers} (location "${location.id}")`);
    }

    const total = quotaTotals(consumers.map((c) => c.peakResources), headroomPercent);
    this.quota = new ResourceQuotaV1(this, 'resource-quota', {
      metadata: { name: 'location-quota', namespace: this.name, labels: locationLabels(location.id) },
      spec: {
        hard: {
          pods: String(total.pods),
          'requests.cpu': `${total.cpuRequestMillicores}m`,
          'limits.cpu': `${total.cpuLimitMillicores}m`,
          'requests.memory': `${total.memoryRequestMiB}Mi`,
          'limits.memory': `${total.memoryLimitMiB}Mi`,
          'services.loadbalancers': String(loadBalancers),
        },
      },
    });
    return this.quota;
  }
}

/** Sum of peaks, each raised by `headroomPercent` and rounded up. Exported for tests. */
export function quotaTotals(peaks: readonly PeakResources[], headroomPercent: number): PeakResources {
  const sum = (key: keyof PeakResources) => {
    const raw = peaks.reduce((total, p) => total + p[key], 0);
    return Math.ceil((raw * (100 + headroomPercent)) / 100);
  };
  return {
    pods: sum('pods'),
    cpuRequestMillicores: sum('cpuRequestMillicores'),
    cpuLimitMillicores: sum('cpuLimitMillicores'),
    memoryRequestMiB: sum('memoryRequestMiB'),
    memoryLimitMiB: sum('memoryLimitMiB'),
  };
}

function requireRequestsWithinLimits(field: string, r: ContainerResources, location: Location): void {
  for (const [request, limit] of [
    ['cpuRequestMillicores', 'cpuLimitMillicores'],
    ['memoryRequestMiB', 'memoryLimitMiB'],
  ] as const) {
    if (!Number.isInteger(r[request]) || r[request] < 1) {
      throw new Error(`${field}.${request} must be a positive integer, got ${r[request]} (location "${location.id}")`);
    }
    if (r[limit] < r[request]) {
      throw new Error(`${field}.${limit} must be at least ${field}.${request} (${r[request]}), got ${r[limit]} (location "${location.id}")`);
    }
  }
}
