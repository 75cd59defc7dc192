/**
 * Sizes a region's EKS node groups, one per availability zone, from the locations it serves. The
 * HPA bounds in each location's sizing say how many pods can run at peak; the nodes must hold all
 * of them at once, plus the cluster's own add-ons, with room left for bin-packing waste. A pure
 * function, so `npm run locations` and the tests can show the result without synthesizing anything.
 *
 * Why one group per zone: a managed node group spanning zones is one Auto Scaling group, and the
 * cluster autoscaler cannot choose which zone it grows. A pod bound to a zonal EBS volume
 * (Prometheus, Alertmanager: gp3, WaitForFirstConsumer) fits only in its volume's zone; with one
 * group per zone the autoscaler grows exactly that zone, and `balance-similar-node-groups`
 * (charts/cluster-autoscaler/values.yaml) keeps the zones level for everything else.
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

export interface RegionNodeSizing {
  /** Distinct availability zones of the region's locations, sorted: one node group each. */
  readonly zones: readonly string[];
  /**
   * Bounds of each zone's node group, the same for every zone (so the autoscaler's balancing
   * sees similar groups): `minSize` spreads the baseline over the zones, `maxSize` lets the zones
   * left after one zone fails hold the whole peak between them.
   */
  readonly perZone: NodeGroupSizing;
  /** Nodes the region needs at every location's HPA minimum (at least MIN_NODES). */
  readonly baselineNodes: number;
  /** Nodes the region needs at every location's HPA maximum (at least one above baselineNodes). */
  readonly peakNodes: number;
  /** Requests of every location's pods at their HPA minimum, plus cluster add-ons. */
  readonly baselineDemand: ResourceDemand;
  /** Requests of every location's pods at their HPA maximum, plus cluster add-ons. */
  readonly peakDemand: ResourceDemand;
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
 * NGINX_EXPORTER_DEFAULT_RESOURCES in `stacks/infra/constructs/nginx-gateway.ts`.
 */
export const NGINX_POD_REQUESTS = { cpuMillicores: 110, memoryMiB: 96 } as const;

/**
 * Share of a node's usable capacity we plan to fill: the rest absorbs bin-packing waste (pods do
 * not split across nodes) and the surge pods of rolling deployments.
 */
export const TARGET_NODE_UTILISATION = 0.8;

/** Floor for the region: one node can neither survive a drain nor spread across zones. */
export const MIN_NODES = 2;

/**
 * Ceiling on the region's peak node count we accept without a deliberate decision: beyond it,
 * bigger instance types are cheaper to run than more nodes (fewer DaemonSet copies), and a typo in
 * a location file should not buy 300 nodes.
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
 * The node groups of one region, one per zone its locations use.
 *
 * - `minSize` per zone: the baseline (at least MIN_NODES) spread evenly, rounded up, and never
 *   below one, so zone-spread pods and zonal volumes always find a node in every zone.
 * - `maxSize` per zone: the region's peak on the zones that remain when one fails
 *   (ceil(peak / (zones - 1))). The maximum is a ceiling, not a purchase: the autoscaler adds nodes
 *   only for pending pods, so in normal operation the zones sit near peak / zones each; but when a
 *   zone goes, its pods (and the HPAs' extra pods) land in the others, and a ceiling of
 *   peak / zones would leave them pending exactly when the locations need them. The locations'
 *   HPA bounds are planned for a lost zone too (PEAK_HEADROOM in sizing.ts).
 * - `desiredSize` starts at the minimum and is the autoscaler's from then on.
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

  const zones = [...new Set(locations.flatMap((l) => l.availabilityZones))].sort();
  const baselineDemand = addDemand([...locations.map((l) => locationDemand(l, 'minReplicas')), CLUSTER_ADDON_REQUESTS]);
  const peakDemand = addDemand([...locations.map((l) => locationDemand(l, 'maxReplicas')), CLUSTER_ADDON_REQUESTS]);

  const baselineNodes = Math.max(MIN_NODES, nodesFor(baselineDemand));
  // One node above the baseline at least, so the autoscaler can replace a node before draining it.
  const peakNodes = Math.max(baselineNodes + 1, nodesFor(peakDemand));
  if (peakNodes > MAX_NODES) {
    const ids = locations.map((l) => l.id).join(', ');
    throw new Error(
      `node groups of region "${first.region}" would need ${peakNodes} nodes of ${NODE_INSTANCE_TYPES[0]} at peak, more than the ${MAX_NODES} allowed ` +
        `(locations: ${ids}); lower the locations' maxReplicas or requests, or move the region to a larger instance type`,
    );
  }

  const minSize = Math.max(1, Math.ceil(baselineNodes / zones.length));
  // A region of one zone has no zone to fail over to: its one group holds the whole peak.
  const zonesAfterOneFails = Math.max(1, zones.length - 1);
  const maxSize = Math.max(minSize + 1, Math.ceil(peakNodes / zonesAfterOneFails));

  return {
    zones,
    perZone: { instanceTypes: [...NODE_INSTANCE_TYPES], minSize, desiredSize: minSize, maxSize },
    baselineNodes,
    peakNodes,
    baselineDemand,
    peakDemand,
  };
}
