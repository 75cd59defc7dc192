/**
 * The derived sizing of every location as a table: printed by `npm run locations` and by the main
 * job. A `*` marks a value the location file overrides.
 */
import type { Location } from '../infra/config/location';
import { deriveSizing } from '../infra/config/sizing';
import { renderTable } from './table';

export function sizingTable(locations: readonly Location[]): string {
  const rows = locations.map((l) => {
    const derived = deriveSizing(l.business);
    const s = l.sizing;
    const mark = (value: string, derivedValue: string) => (value === derivedValue ? value : `${value}*`);
    const range = (w: { minReplicas: number; maxReplicas: number }) => `${w.minReplicas}-${w.maxReplicas}`;
    return [
      l.id,
      l.region,
      l.business.tier,
      String(l.business.seats),
      String(l.business.peakOrdersPerMinute),
      mark(s.database.instanceClass, derived.database.instanceClass),
      mark(String(s.database.readReplicas), String(derived.database.readReplicas)),
      mark(`${s.redis.nodeType} x${s.redis.nodeCount}`, `${derived.redis.nodeType} x${derived.redis.nodeCount}`),
      mark(range(s.api), range(derived.api)),
      mark(range(s.ws), range(derived.ws)),
      mark(String(s.nginx.replicas), String(derived.nginx.replicas)),
    ];
  });
  return renderTable(
    ['location', 'region', 'tier', 'seats', 'orders/min', 'db class', 'replicas', 'redis', 'api pods', 'ws pods', 'nginx'],
    rows,
  );
}
