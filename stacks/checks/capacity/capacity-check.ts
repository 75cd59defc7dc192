/**
 * Can a location's HPA bounds carry its declared peak? From the measured per-process capacity
 * (measured-capacity.json), the location's sizing and the HPA behaviour the app stack ships:
 *
 * - api, static: at max replicas with every pod at the HPA's CPU target, the pods must serve the
 *   declared peak with `REQUIRED_HEADROOM` to spare: at the target the HPA is content, so that is
 *   the load the bounds carry without pods running hot;
 * - api, dynamic: the HPA simulated over the peak-hour curve (which surges 20 % above the declared
 *   peak); demand above what the ready pods can serve at all is reported as unserved;
 * - ws: connections (seats x devices per seat) against max replicas x connections a pod's memory
 *   limit holds, from the measured memory per connection;
 * - ws behind ip_hash: nginx pins each client address to one ws pod (the design asks for ip_hash),
 *   and a restaurant's guest phones and screens mostly share the venue's one public address (its
 *   Wi-Fi's NAT). The worst case, every device of the location on one pod, must fit in one pod's
 *   memory limit; more replicas do not help it.
 */
import type { Location } from '../../infra/config/location';
import { CONNECTIONS_PER_SEAT } from '../../infra/config/sizing';
import { HPA_BEHAVIOUR } from '../../infra/constructs/http-workload';
import { ordersPerMinutePerPodAtTarget, usableMillicores } from './api-pod-capacity';
import type { MeasuredCapacity } from './measured-capacity';
import { CURVE_MINUTES, loadAt } from './peak-hour-curve';
import { ordersPerMinuteAt } from './request-mix';
import { simulateHpa, type HpaSpec, type SimulationStep } from './hpa-simulator';

/** Capacity at the HPA target must exceed the declared peak by this factor. */
export const REQUIRED_HEADROOM = 1.25;
export { NODE_PROCESS_MAX_MILLICORES } from './api-pod-capacity';
/** Share of a ws pod's memory limit planned for connections (the rest: heap growth, GC, buffers). */
export const WS_MEMORY_BUDGET = 0.8;

export type Verdict = 'ok' | 'tight' | 'insufficient';

export interface CapacityVerdict {
  readonly location: string;
  readonly peakOrdersPerMinute: number;
  readonly verdict: Verdict;
  /** Why, one line each; empty when ok. */
  readonly reasons: readonly string[];
  readonly api: {
    readonly minReplicas: number;
    readonly maxReplicas: number;
    readonly ordersPerMinutePerPodAtTarget: number;
    readonly capacityAtMaxOrdersPerMinute: number;
    /** capacity at max / declared peak. */
    readonly headroom: number;
    /** The smallest max replicas that passes the static check. */
    readonly requiredMaxReplicas: number;
    readonly simulation: {
      readonly steps: readonly SimulationStep[];
      readonly peakReplicas: number;
      readonly secondsAtMax: number;
      /** Orders that found no capacity over the whole curve. */
      readonly unservedOrders: number;
    };
  };
  readonly ws: {
    readonly maxReplicas: number;
    readonly connectionsAtPeak: number;
    readonly connectionsPerPod: number;
    /** max replicas x connections per pod / connections at peak: devices spread over the pods. */
    readonly headroom: number;
    /** nginx ip_hash's worst case: every device of the location behind one address, on one pod. */
    readonly onePod: OnePodCheck;
  };
}

export interface OnePodCheck {
  /** Every device of the location at peak (seats x devices per seat). */
  readonly connections: number;
  /** What one pod's memory limit holds. */
  readonly connectionsPerPod: number;
  readonly memoryLimitMiB: number;
  /** connectionsPerPod / connections. */
  readonly headroom: number;
  readonly verdict: Verdict;
  /** The smallest ws memory limit that holds every device with REQUIRED_HEADROOM. */
  readonly requiredMemoryLimitMiB: number;
}

/** Connections a ws pod with `memoryLimitMiB` holds, from the measured memory per connection. */
export function wsConnectionsPerPod(memoryLimitMiB: number, measured: MeasuredCapacity): number {
  return Math.max(0, Math.floor(((memoryLimitMiB * WS_MEMORY_BUDGET - measured.ws.baselineMemoryMiB) * 1024) / measured.ws.memoryPerConnectionKiB));
}

/** The ws memory limit whose pod holds `connections`. */
export function wsMemoryLimitFor(connections: number, measured: MeasuredCapacity): number {
  return Math.ceil(((connections * measured.ws.memoryPerConnectionKiB) / 1024 + measured.ws.baselineMemoryMiB) / WS_MEMORY_BUDGET);
}

function verdictOf(headroom: number): Verdict {
  if (headroom < 1) return 'insufficient';
  if (headroom < REQUIRED_HEADROOM) return 'tight';
  return 'ok';
}

/** The ip_hash worst case of a location: all its devices behind one public address, so on one ws pod. */
export function checkOnePod(location: Location, measured: MeasuredCapacity): OnePodCheck {
  const connections = Math.ceil(location.business.seats * CONNECTIONS_PER_SEAT);
  const { memoryLimitMiB } = location.sizing.ws;
  const connectionsPerPod = wsConnectionsPerPod(memoryLimitMiB, measured);
  const headroom = connections === 0 ? Infinity : connectionsPerPod / connections;
  return {
    connections,
    connectionsPerPod,
    memoryLimitMiB,
    headroom,
    verdict: verdictOf(headroom),
    requiredMemoryLimitMiB: wsMemoryLimitFor(Math.ceil(connections * REQUIRED_HEADROOM), measured),
  };
}

export function apiHpaSpec(location: Location): HpaSpec {
  const api = location.sizing.api;
  return {
    minReplicas: api.minReplicas,
    maxReplicas: api.maxReplicas,
    cpuRequestMillicores: api.cpuRequestMillicores,
    usableMillicores: usableMillicores(api),
    cpuTargetUtilizationPercent: HPA_BEHAVIOUR.cpuTargetUtilizationPercent,
    scaleDownStabilizationSeconds: HPA_BEHAVIOUR.scaleDownStabilizationSeconds,
    scaleUp: HPA_BEHAVIOUR.scaleUp,
    scaleDown: HPA_BEHAVIOUR.scaleDown,
  };
}

export function checkCapacity(location: Location, measured: MeasuredCapacity): CapacityVerdict {
  const peak = location.business.peakOrdersPerMinute;
  const hpa = apiHpaSpec(location);
  const perMillicore = ordersPerMinuteAt(1, measured.api);
  // The same figure the sizing plans the bounds with (api-pod-capacity.ts).
  const perPodAtTarget = ordersPerMinutePerPodAtTarget(location.sizing.api, measured.api);
  const capacityAtMax = hpa.maxReplicas * perPodAtTarget;
  const headroom = capacityAtMax / peak;
  const requiredMaxReplicas = Math.ceil((peak * REQUIRED_HEADROOM) / perPodAtTarget);

  const steps = simulateHpa({
    hpa,
    ordersPerMinutePerMillicore: perMillicore,
    demandAt: (second) => peak * loadAt(second / 60),
    durationSeconds: CURVE_MINUTES * 60,
  });
  const period = steps.length > 1 ? steps[1]!.second - steps[0]!.second : 15;
  const unservedOrders = steps.reduce((sum, s) => sum + (s.unservedOrdersPerMinute * period) / 60, 0);
  const peakReplicas = Math.max(...steps.map((s) => s.replicas));
  const secondsAtMax = steps.filter((s) => s.replicas === hpa.maxReplicas).length * period;

  const wsSizing = location.sizing.ws;
  const connectionsAtPeak = Math.ceil(location.business.seats * CONNECTIONS_PER_SEAT);
  const connectionsPerPod = wsConnectionsPerPod(wsSizing.memoryLimitMiB, measured);
  const onePod = checkOnePod(location, measured);
  const wsHeadroom = connectionsAtPeak === 0 ? Infinity : (wsSizing.maxReplicas * connectionsPerPod) / connectionsAtPeak;

  const reasons: string[] = [];
  let verdict: Verdict = 'ok';
  const worsen = (to: Verdict, reason: string) => {
    reasons.push(reason);
    if (to === 'insufficient' || verdict === 'ok') verdict = to;
  };
  const fmt = (n: number) => n.toFixed(1);
  if (headroom < 1) {
    worsen('insufficient', `api: ${hpa.maxReplicas} pods at the ${hpa.cpuTargetUtilizationPercent}% CPU target serve ${Math.round(capacityAtMax)} orders/min, below the declared peak of ${peak}; raise sizing.api.maxReplicas to ${requiredMaxReplicas}`);
  } else if (headroom < REQUIRED_HEADROOM) {
    worsen('tight', `api: headroom ${fmt(headroom)}x at max replicas is under ${REQUIRED_HEADROOM}x; raise sizing.api.maxReplicas to ${requiredMaxReplicas}`);
  }
  if (unservedOrders >= 1) {
    worsen('insufficient', `api: in the simulated peak hour (surging to 1.2x the peak) ${Math.round(unservedOrders)} orders found no capacity`);
  }
  if (wsHeadroom < 1) {
    worsen('insufficient', `ws: ${wsSizing.maxReplicas} pods hold ${wsSizing.maxReplicas * connectionsPerPod} connections, below ${connectionsAtPeak} at peak (${location.business.seats} seats x ${CONNECTIONS_PER_SEAT})`);
  } else if (wsHeadroom < REQUIRED_HEADROOM) {
    worsen('tight', `ws: headroom ${fmt(wsHeadroom)}x is under ${REQUIRED_HEADROOM}x`);
  }
  if (onePod.verdict !== 'ok') {
    const what =
      onePod.verdict === 'insufficient'
        ? `which holds ${onePod.connectionsPerPod} in its ${onePod.memoryLimitMiB} MiB memory limit`
        : `headroom ${fmt(onePod.headroom)}x (${onePod.connectionsPerPod} in its ${onePod.memoryLimitMiB} MiB memory limit) is under ${REQUIRED_HEADROOM}x`;
    worsen(
      onePod.verdict,
      `ws: nginx ip_hash puts all ${onePod.connections} devices of the venue (${location.business.seats} seats x ${CONNECTIONS_PER_SEAT}, one public address) on one pod, ${what}; raise sizing.ws.memoryLimitMiB to ${onePod.requiredMemoryLimitMiB}`,
    );
  }

  return {
    location: location.id,
    peakOrdersPerMinute: peak,
    verdict,
    reasons,
    api: {
      minReplicas: hpa.minReplicas,
      maxReplicas: hpa.maxReplicas,
      ordersPerMinutePerPodAtTarget: perPodAtTarget,
      capacityAtMaxOrdersPerMinute: capacityAtMax,
      headroom,
      requiredMaxReplicas,
      simulation: { steps, peakReplicas, secondsAtMax, unservedOrders },
    },
    ws: { maxReplicas: wsSizing.maxReplicas, connectionsAtPeak, connectionsPerPod, headroom: wsHeadroom, onePod },
  };
}
