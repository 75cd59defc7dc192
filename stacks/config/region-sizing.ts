/**
 * Sizes a region's EKS node group from the locations it serves. The HPA bounds in each location's
 * sizing say how many pods can run at peak; the node group must hold all of them at once, plus the
 * cluster's own add-ons, with room left for bin-packing waste. A pure function, so
 * `npm run locations` and the tests can show the result without synthesizing anything.
 */
import type { Location, WorkloadSizing } from './location';

/** CPU, memory and pod slots: the three things a node runs out of. */
export interface ResourceDemand {
  readonly cpuMillicores: number;
  readonly memoryMiB: number;
  readonly pods: number;
}

export interface NodeGroupSizing {
  /** Same vCPU and memory, so the cluster autoscaler's arithmetic holds for any of them. */
  readonly instanceTypes: readonly string[];
  readonly minSize: number;
  /** Only the initial value: the node group ignores later changes so the autoscaler owns it. */
  readonly desiredSize: number;
  readonly maxSize: number;
}

export interface RegionNodeSizing extends NodeGroupSizing {
  /** Requests of every location's pods at their HPA minimum, plus cluster add-ons. */
  readonly baselineDemand: ResourceDemand;
  /** Requests of every location's pods at their HPA maximum, plus cluster add-ons. */
  readonly peakDemand: ResourceDemand;
  /** Distinct availability zones of the region's locations. */
  readonly zoneCount: number;
}

/**
 * General-purpose x86 nodes: the api and ws images are built for amd64. Both types have 4 vCPU and
 * 16 GiB; m5 is the fallback when a zone runs short of m6i capacity.
 */
export const NODE_INSTANCE_TYPES = ['m6i.xlarge', 'm5.xlarge'] as const;

/**
 * What the kubelet offers pods on one node of NODE_INSTANCE_TYPES: EKS reserves 80m CPU and
 * 255 MiB + 11 MiB per pod of memory, plus 100 MiB eviction threshold; the VPC CNI allows 58 pods
 * (4 ENIs x 15 addresses) without prefix delegation.
 */
export const NODE_ALLOCATABLE: ResourceDemand = { cpuMillicores: 3920, memoryMiB: 14_800, pods: 58 };

/** DaemonSets on every node: aws-node, kube-proxy, ebs-csi-node, prometheus-node-exporter. */
export const DAEMONSET_REQUESTS_PER_NODE: ResourceDemand = { cpuMillicores: 250, memoryMiB: 512, pods: 4 };

/**
 * Cluster-wide add-ons (coredns, ebs-csi-controller, metrics-server, kube-prometheus-stack,
 * aws-load-balancer-controller, cluster-autoscaler, and external-dns where a region has hosted
 * zones: reserved everywhere, 20m / 64 MiB / 1 pod). Keep in step with the requests in
 * `charts/<chart>/values.yaml`: two Prometheus replicas at 500m / 2 GiB dominate.
 */
export const CLUSTER_ADDON_REQUESTS: ResourceDemand = { cpuMillicores: 2220, memoryMiB: 6720, pods: 20 };

/**
 * Requests of one nginx pod (nginx plus its Prometheus exporter). Location sizing fixes nginx's
 * replica count but not its requests; keep this equal to NGINX_DEFAULT_RESOURCES plus
 * NGINX_EXPORTER_DEFAULT_RESOURCES in `stacks/constructs/nginx-gateway.ts`.
 */
export const NGINX_POD_REQUESTS = { cpuMillicores: 110, memoryMiB: 96 } as const;

/**
 * Share of a node's usable capacity we plan to fill: the rest absorbs bin-packing waste (pods do
 * not split across nodes) and the surge pods of rolling deployments.
 */
export const TARGET_NODE_UTILISATION = 0.8;

/** Floor for the node group: one node can neither survive a drain nor spread across zones. */
export const MIN_NODES = 2;

/**
 * Ceiling we accept without a deliberate decision: beyond it, bigger instance types are cheaper to
 * run than more nodes (fewer DaemonSet copies), and a typo in a location file should not buy 300 nodes.
 */
export const MAX_NODES = 100;

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function workloadDemand(w: WorkloadSizing, replicas: number): ResourceDemand {
  return { cpuMillicores: w.cpuRequestMillicores * replicas, memoryMiB: w.memoryRequestMiB * replicas, pods: replicas };
}

function addDemand(parts: readonly ResourceDemand[]): ResourceDemand {
  return {
    cpuMillicores: sum(parts.map((p) => p.cpuMillicores)),
    memoryMiB: sum(parts.map((p) => p.memoryMiB)),
    pods: sum(parts.map((p) => p.pods)),
  };
}

function locationDemand(location: Location, bound: 'minReplicas' | 'maxReplicas'): ResourceDemand {
  const { api, ws, nginx } = location.sizing;
  return addDemand([
    workloadDemand(api, api[bound]),
    workloadDemand(ws, ws[bound]),
    { cpuMillicores: NGINX_POD_REQUESTS.cpuMillicores * nginx.replicas, memoryMiB: NGINX_POD_REQUESTS.memoryMiB * nginx.replicas, pods: nginx.replicas },
  ]);
}

/** Nodes needed to hold `demand`, counting each dimension separately and taking the largest. */
export function nodesFor(demand: ResourceDemand): number {
  const usable = {
    cpuMillicores: (NODE_ALLOCATABLE.cpuMillicores - DAEMONSET_REQUESTS_PER_NODE.cpuMillicores) * TARGET_NODE_UTILISATION,
    memoryMiB: (NODE_ALLOCATABLE.memoryMiB - DAEMONSET_REQUESTS_PER_NODE.memoryMiB) * TARGET_NODE_UTILISATION,
    pods: (NODE_ALLOCATABLE.pods - DAEMONSET_REQUESTS_PER_NODE.pods) * TARGET_NODE_UTILISATION,
  };
  return Math.max(
    Math.ceil(demand.cpuMillicores / usable.cpuMillicores),
    Math.ceil(demand.memoryMiB / usable.memoryMiB),
    Math.ceil(demand.pods / usable.pods),
  );
}

/**
 * The node group of one region. `minSize` keeps a node in every zone the locations use, so
 * zone-spread pods always have somewhere to go; `maxSize` holds every location at its HPA maximum
 * at once; `desiredSize` starts at the minimum and is the autoscaler's from then on.
 */
export function regionNodeSizing(locations: readonly Location[]): RegionNodeSizing {
  const first = locations[0];
  if (!first) throw new Error('regionNodeSizing needs at least one location, got none');
  const stray = locations.find((l) => l.region !== first.region);
  if (stray) {
    throw new Error(
      `regionNodeSizing needs locations of one region, got "${stray.region}" (location "${stray.id}") besides "${first.region}" (location "${first.id}")`,
    );
  }

  const zoneCount = new Set(locations.flatMap((l) => l.availabilityZones)).size;
  const baselineDemand = addDemand([...locations.map((l) => locationDemand(l, 'minReplicas')), CLUSTER_ADDON_REQUESTS]);
  const peakDemand = addDemand([...locations.map((l) => locationDemand(l, 'maxReplicas')), CLUSTER_ADDON_REQUESTS]);

  const minSize = Math.max(MIN_NODES, zoneCount, nodesFor(baselineDemand));
  // One node above the minimum at least, so the autoscaler can replace a node before draining it.
  const maxSize = Math.max(minSize + 1, nodesFor(peakDemand));
  if (maxSize > MAX_NODES) {
    const ids = locations.map((l) => l.id).join(', ');
    throw new Error(
      `node group of region "${first.region}" would need ${maxSize} nodes of ${NODE_INSTANCE_TYPES[0]} at peak, more than the ${MAX_NODES} allowed ` +
        `(locations: ${ids}); lower the locations' maxReplicas or requests, or move the region to a larger instance type`,
    );
  }

  return {
    instanceTypes: [...NODE_INSTANCE_TYPES],
    minSize,
    desiredSize: minSize,
    maxSize,
    baselineDemand,
    peakDemand,
    zoneCount,
  };
}
