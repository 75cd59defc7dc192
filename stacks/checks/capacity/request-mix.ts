/**
 * What one order costs an api pod. A dining order is not one request: guests browse the menu and
 * poll its status, staff move it through the kitchen. sizing.ts plans with 40 requests per order;
 * this splits them into the two kinds the bench measures: writes (the create and five status
 * changes, each a transaction plus a stream event) and cached reads (menu, order status).
 */
import type { MeasuredCapacity } from './measured-capacity';

export const REQUEST_MIX_PER_ORDER = { writes: 6, cachedReads: 34 } as const;

/** CPU-seconds one order costs, from the measured per-process rates. */
export function cpuSecondsPerOrder(api: MeasuredCapacity['api']): number {
  return REQUEST_MIX_PER_ORDER.writes / api.orderCreatesPerCpuSecond + REQUEST_MIX_PER_ORDER.cachedReads / api.cachedReadsPerCpuSecond;
}

/** Orders per minute a pod serves while using `millicores` of CPU. */
export function ordersPerMinuteAt(millicores: number, api: MeasuredCapacity['api']): number {
  return ((millicores / 1000) / cpuSecondsPerOrder(api)) * 60;
}
