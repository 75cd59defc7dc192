/**
 * What one api pod carries, from the measured per-process capacity (measured-capacity.json): the
 * one figure behind both the sizing, which sets a location's api HPA bounds
 * (stacks/infra/config/sizing.ts), and the capacity check, which judges them (capacity-check.ts).
 * A cheaper order (more creates or cached reads per CPU-second in the json) lowers the pods a
 * location is sized for; a dearer one raises them; no constant to edit.
 *
 * A pod is counted at the HPA's CPU target: there the HPA is content, so that is the load the
 * bounds carry without pods running hot.
 */
import type { WorkloadSizing } from '../../infra/config/location';
import { HPA_BEHAVIOUR } from '../../infra/constructs/http-workload';
import type { MeasuredCapacity } from './measured-capacity';
import { ordersPerMinuteAt } from './request-mix';

/** A Node process runs JavaScript on one core; a CPU limit above that buys GC and I/O threads only. */
export const NODE_PROCESS_MAX_MILLICORES = 1000;

/** The CPU an api pod can put to work: its limit, at most one core (see NODE_PROCESS_MAX_MILLICORES). */
export function usableMillicores(api: Pick<WorkloadSizing, 'cpuLimitMillicores'>): number {
  return Math.min(api.cpuLimitMillicores, NODE_PROCESS_MAX_MILLICORES);
}

/** The CPU an api pod uses at the HPA's CPU target (a share of its request), at most what it can use. */
export function millicoresAtTarget(api: Pick<WorkloadSizing, 'cpuRequestMillicores' | 'cpuLimitMillicores'>): number {
  return Math.min(usableMillicores(api), (api.cpuRequestMillicores * HPA_BEHAVIOUR.cpuTargetUtilizationPercent) / 100);
}

/** Orders per minute one api pod serves at the HPA's CPU target, at the measured cost of an order. */
export function ordersPerMinutePerPodAtTarget(api: Pick<WorkloadSizing, 'cpuRequestMillicores' | 'cpuLimitMillicores'>, measured: MeasuredCapacity['api']): number {
  return ordersPerMinuteAt(millicoresAtTarget(api), measured);
}
