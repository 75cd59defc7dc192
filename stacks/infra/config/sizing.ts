/**
 * The one place where business sizing (tier, seats, peak orders) becomes technical sizing.
 * `npm run locations` prints the result; every value can be overridden in the location file.
 *
 * The api's max replicas come from the measured cost of an order (the committed bench figures in
 * stacks/checks/capacity/measured-capacity.json, through api-pod-capacity.ts), the same figure the
 * capacity check judges the bounds with: refresh the json from `npm run bench:api` and a cheaper
 * order lowers the pods every location is sized for, a dearer one raises them.
 */
import { ordersPerMinutePerPodAtTarget } from '../../checks/capacity/api-pod-capacity';
import { committedMeasuredCapacity, type MeasuredCapacity } from '../../checks/capacity/measured-capacity';
import type { TechnicalSizing, Tier } from './location';

/** Peak orders per minute up to which a location is `small`, then `medium`; above is `large`. */
export const TIER_THRESHOLDS_ORDERS_PER_MINUTE = { small: 40, medium: 150 } as const;

/** Websocket connections one ws pod keeps with low delivery latency. */
export const CONNECTIONS_PER_WS_POD = 1500;
/** Devices per seat: guests' phones at tables plus kitchen and floor screens. */
export const CONNECTIONS_PER_SEAT = 0.6;
/** Peak load is planned at this multiple so a lost zone or a surge does not saturate the HPA. */
export const PEAK_HEADROOM = 2;

type Profile = TechnicalSizing;

const workload = (min: number, max: number, cpuReq: number, cpuLim: number, memReq: number, memLim: number) => ({
  minReplicas: min,
  maxReplicas: max,
  cpuRequestMillicores: cpuReq,
  cpuLimitMillicores: cpuLim,
  memoryRequestMiB: memReq,
  memoryLimitMiB: memLim,
});

export const TIER_PROFILES: Readonly<Record<Tier, Profile>> = {
  small: {
    database: { instanceClass: 'db.t4g.medium', readReplicas: 0, allocatedStorageGiB: 50, maxAllocatedStorageGiB: 200, backupRetentionDays: 7 },
    redis: { nodeType: 'cache.t4g.small', nodeCount: 2 },
    api: workload(2, 4, 250, 1000, 256, 512),
    ws: workload(2, 3, 100, 500, 192, 384),
    nginx: { replicas: 2 },
  },
  medium: {
    database: { instanceClass: 'db.r6g.large', readReplicas: 1, allocatedStorageGiB: 100, maxAllocatedStorageGiB: 500, backupRetentionDays: 14 },
    redis: { nodeType: 'cache.r6g.large', nodeCount: 2 },
    api: workload(2, 8, 500, 1000, 384, 768),
    ws: workload(2, 4, 200, 1000, 256, 512),
    nginx: { replicas: 2 },
  },
  large: {
    database: { instanceClass: 'db.r6g.xlarge', readReplicas: 2, allocatedStorageGiB: 200, maxAllocatedStorageGiB: 1000, backupRetentionDays: 30 },
    redis: { nodeType: 'cache.r6g.large', nodeCount: 3 },
    api: workload(3, 12, 500, 1500, 512, 1024),
    ws: workload(2, 6, 250, 1000, 256, 512),
    nginx: { replicas: 3 },
  },
};

export function tierForPeakOrders(peakOrdersPerMinute: number): Tier {
  if (peakOrdersPerMinute <= TIER_THRESHOLDS_ORDERS_PER_MINUTE.small) return 'small';
  if (peakOrdersPerMinute <= TIER_THRESHOLDS_ORDERS_PER_MINUTE.medium) return 'medium';
  return 'large';
}

/** Read replicas grow with read load: one more per 300 orders/min above the medium threshold. */
function readReplicasFor(tier: Tier, peakOrdersPerMinute: number): number {
  const base = TIER_PROFILES[tier].database.readReplicas;
  const extra = tier === 'large'
    ? Math.floor((peakOrdersPerMinute - TIER_THRESHOLDS_ORDERS_PER_MINUTE.medium) / 300)
    : 0;
  return Math.min(5, base + Math.max(0, extra));
}

/**
 * Derives the technical sizing; the tier profile is a floor that the business numbers raise. Api
 * pods: the peak times PEAK_HEADROOM over what one pod of the tier serves at the HPA's CPU target,
 * priced with `measured` (an order's requests, stacks/checks/capacity/request-mix.ts).
 */
export function deriveSizing(
  business: { tier: Tier; seats: number; peakOrdersPerMinute: number },
  measured: MeasuredCapacity = committedMeasuredCapacity(),
): TechnicalSizing {
  const profile = TIER_PROFILES[business.tier];
  const apiPods = Math.ceil((business.peakOrdersPerMinute * PEAK_HEADROOM) / ordersPerMinutePerPodAtTarget(profile.api, measured.api));
  const wsPods = Math.ceil((business.seats * CONNECTIONS_PER_SEAT * PEAK_HEADROOM) / CONNECTIONS_PER_WS_POD);
  return {
    database: { ...profile.database, readReplicas: readReplicasFor(business.tier, business.peakOrdersPerMinute) },
    redis: { ...profile.redis },
    api: { ...profile.api, maxReplicas: Math.max(profile.api.maxReplicas, apiPods) },
    ws: { ...profile.ws, maxReplicas: Math.max(profile.ws.maxReplicas, wsPods) },
    nginx: { ...profile.nginx },
  };
}
