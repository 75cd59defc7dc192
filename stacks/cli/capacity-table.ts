/** The capacity verdict of every location as a table, for `npm run locations` and `npm run capacity`. */
import type { CapacityVerdict } from '../capacity/capacity-check';
import { renderTable } from './table';

export function capacityTable(results: readonly CapacityVerdict[]): string {
  const rows = results.map((r) => [
    r.location,
    String(r.peakOrdersPerMinute),
    `${r.api.minReplicas}-${r.api.maxReplicas}`,
    `${r.api.headroom.toFixed(2)}x`,
    String(r.api.simulation.peakReplicas),
    r.ws.headroom === Infinity ? 'n/a' : `${r.ws.headroom.toFixed(1)}x`,
    r.verdict,
  ]);
  const table = renderTable(['location', 'orders/min', 'api pods', 'api headroom', 'sim. peak pods', 'ws headroom', 'capacity'], rows);
  const reasons = results.flatMap((r) => r.reasons.map((reason) => `  ${r.location}: ${reason}`));
  return reasons.length === 0 ? table : `${table}\n${reasons.join('\n')}`;
}
