/** The capacity verdict of every location as a table, for `npm run locations` and `npm run capacity`. */
import type { CapacityVerdict, OnePodCheck } from '../checks/capacity/capacity-check';
import { renderTable } from './table';

/**
 * nginx ip_hash's worst case as one cell: every device of the venue on one ws pod, against what
 * that pod's memory limit holds, with its verdict (`252 / 15923 (63.2x) ok`).
 */
export function onePodCell(onePod: OnePodCheck): string {
  const headroom = onePod.headroom === Infinity ? 'n/a' : `${onePod.headroom.toFixed(1)}x`;
  return `${onePod.connections} / ${onePod.connectionsPerPod} (${headroom}) ${onePod.verdict}`;
}

export function capacityTable(results: readonly CapacityVerdict[]): string {
  const rows = results.map((r) => [
    r.location,
    String(r.peakOrdersPerMinute),
    `${r.api.minReplicas}-${r.api.maxReplicas}`,
    `${r.api.headroom.toFixed(2)}x`,
    String(r.api.simulation.peakReplicas),
    r.ws.headroom === Infinity ? 'n/a' : `${r.ws.headroom.toFixed(1)}x`,
    onePodCell(r.ws.onePod),
    r.verdict,
  ]);
  const table = renderTable(
    ['location', 'orders/min', 'api pods', 'api headroom', 'sim. peak pods', 'ws headroom', 'venue on one ws pod (ip_hash)', 'capacity'],
    rows,
  );
  const legend = 'venue on one ws pod: nginx ip_hash pins an address to one pod, and a venue\'s devices share its public address: devices at peak / connections one pod\'s memory limit holds';
  const reasons = results.flatMap((r) => r.reasons.map((reason) => `  ${r.location}: ${reason}`));
  return [table, legend, ...reasons].join('\n');
}
