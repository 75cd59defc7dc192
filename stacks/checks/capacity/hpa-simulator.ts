/**
 * A step simulation of the Kubernetes HPA (autoscaling/v2) for CPU utilization, following the
 * controller's algorithm (pkg/controller/podautoscaler):
 * - every sync period (15 s) desired = ceil(ready × utilization / target), unless the ratio is
 *   within the 10 % tolerance;
 * - scale-down: the highest recommendation of the stabilization window wins, then the Percent
 *   policy caps removals per period (relative to the replicas at the period's start);
 * - scale-up: no window (0 s), capped by the larger of the Percent and Pods policies per period;
 * - clamped to [min, max].
 * Pods added take `podStartupSeconds` to become ready (image pull is warm, readiness probe passes)
 * and only ready pods serve and are measured, as metrics-server reports them.
 *
 * Simplifications, on purpose: CPU is the only metric (memory is a weak signal for Node and its
 * target sits higher); load spreads evenly over ready pods (nginx least_conn); a pod's CPU use is
 * proportional to the orders it serves, capped at what its process can use.
 */
export interface HpaSpec {
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly cpuRequestMillicores: number;
  /** What one pod can actually use: min(limit, one core for a Node process). */
  readonly usableMillicores: number;
  readonly cpuTargetUtilizationPercent: number;
  readonly scaleDownStabilizationSeconds: number;
  readonly scaleUp: { readonly percent: number; readonly pods: number; readonly periodSeconds: number };
  readonly scaleDown: { readonly percent: number; readonly periodSeconds: number };
}

export interface SimulationInput {
  readonly hpa: HpaSpec;
  /** Orders per minute one pod serves per millicore of CPU. */
  readonly ordersPerMinutePerMillicore: number;
  /** Demand in orders per minute at a given second. */
  readonly demandAt: (second: number) => number;
  readonly durationSeconds: number;
  /** @default 15 */
  readonly syncPeriodSeconds?: number;
  /** @default 30 */
  readonly podStartupSeconds?: number;
  /** @default 0.1 */
  readonly tolerance?: number;
}

export interface SimulationStep {
  readonly second: number;
  readonly demandOrdersPerMinute: number;
  /** Replicas the Deployment asks for (the HPA's last decision). */
  readonly replicas: number;
  readonly readyReplicas: number;
  /** Average CPU utilization of ready pods against their request, in percent. */
  readonly cpuUtilizationPercent: number;
  /** Orders per minute the ready pods can serve at most. */
  readonly capacityOrdersPerMinute: number;
  /** Demand above capacity (queued, slow or failed orders). */
  readonly unservedOrdersPerMinute: number;
}

export function simulateHpa(input: SimulationInput): SimulationStep[] {
  const { hpa } = input;
  const sync = input.syncPeriodSeconds ?? 15;
  const startup = input.podStartupSeconds ?? 30;
  const tolerance = input.tolerance ?? 0.1;
  const perPodMax = hpa.usableMillicores * input.ordersPerMinutePerMillicore;

  let replicas = hpa.minReplicas;
  // Each pod's ready time; the initial ones are ready from the start.
  let pods: number[] = Array.from({ length: replicas }, () => 0);
  const recommendations: { second: number; replicas: number }[] = [];
  const scaleEvents: { second: number; change: number }[] = [];
  const steps: SimulationStep[] = [];

  for (let second = 0; second <= input.durationSeconds; second += sync) {
    const demand = input.demandAt(second);
    const ready = Math.max(1, pods.filter((readyAt) => readyAt <= second).length);
    const usedMillicoresPerPod = Math.min(hpa.usableMillicores, demand / ready / input.ordersPerMinutePerMillicore);
    const utilization = (usedMillicoresPerPod / hpa.cpuRequestMillicores) * 100;
    const capacity = ready * perPodMax;
    steps.push({
      second,
      demandOrdersPerMinute: demand,
      replicas,
      readyReplicas: ready,
      cpuUtilizationPercent: utilization,
      capacityOrdersPerMinute: capacity,
      unservedOrdersPerMinute: Math.max(0, demand - capacity),
    });

    // The HPA's decision for the next period.
    const ratio = utilization / hpa.cpuTargetUtilizationPercent;
    const raw = Math.abs(ratio - 1) <= tolerance ? replicas : Math.ceil(ready * ratio);
    recommendations.push({ second, replicas: raw });
    let next: number;
    // The replicas at the start of each policy period: undo the period's changes (both directions).
    const periodStart = (periodSeconds: number) => replicas - scaleEvents.filter((e) => e.second > second - periodSeconds).reduce((sum, e) => sum + e.change, 0);
    if (raw < replicas) {
      const window = recommendations.filter((r) => r.second > second - hpa.scaleDownStabilizationSeconds);
      const stabilized = Math.max(...window.map((r) => r.replicas));
      // The controller truncates (int32 conversion) the Percent policy's floor.
      const floor = Math.floor(periodStart(hpa.scaleDown.periodSeconds) * (1 - hpa.scaleDown.percent / 100));
      next = Math.min(replicas, Math.max(stabilized, floor));
    } else if (raw > replicas) {
      const start = periodStart(hpa.scaleUp.periodSeconds);
      // selectPolicy Max: the policy allowing the larger change; Percent rounds up.
      const ceiling = Math.max(Math.ceil(start * (1 + hpa.scaleUp.percent / 100)), start + hpa.scaleUp.pods);
      next = Math.min(raw, ceiling);
    } else {
      next = replicas;
    }
    next = Math.min(hpa.maxReplicas, Math.max(hpa.minReplicas, next));
    if (next !== replicas) {
      scaleEvents.push({ second, change: next - replicas });
      if (next > replicas) pods = [...pods, ...Array.from({ length: next - replicas }, () => second + startup)];
      // Scale-down removes the newest pods first (not-ready ones go before serving ones).
      else pods = [...pods].sort((a, b) => a - b).slice(0, next);
      replicas = next;
    }
  }
  return steps;
}
