/**
 * `npm run capacity [-- --dir DIR] [-- --out DIR]`: the capacity and autoscaling check of every
 * location, printed and written as a report (HTML with a replicas-over-time chart per location,
 * SVGs, JSON). Exit 1 when a location cannot carry its peak, so CI can hold a location file back.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { checkCapacity } from '../checks/capacity/capacity-check';
import { writeCapacityReport } from '../checks/capacity/capacity-report';
import { loadMeasuredCapacity } from '../checks/capacity/measured-capacity';
import { loadLocations } from '../infra/config/load-locations';
import { LocationConfigError } from '../infra/config/location-config-error';
import { capacityTable } from './capacity-table';
import { expectedError, runCli } from './run-cli';

function main(): number {
  const { values } = parseArgs({
    options: { dir: { type: 'string', default: 'locations' }, out: { type: 'string', default: 'bench-results/capacity' } },
  });
  const measured = loadMeasuredCapacity();
  const results = loadLocations(path.resolve(values.dir!)).map((l) => checkCapacity(l, measured));
  console.log(capacityTable(results));
  const written = writeCapacityReport(path.resolve(values.out!), results, measured);
  console.log(`\nreport: ${path.relative(process.cwd(), written.find((f) => f.endsWith('index.html'))!)}`);
  const failing = results.filter((r) => r.verdict === 'insufficient');
  if (failing.length > 0) {
    console.error(`${failing.length} location(s) cannot carry their peak: ${failing.map((r) => r.location).join(', ')}`);
    return 1;
  }
  return 0;
}

runCli(main, { expected: [expectedError([LocationConfigError], 1)] });
