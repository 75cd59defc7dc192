/**
 * `npm run locations [-- --json] [-- --dir DIR]`: every location with its derived sizing and its
 * capacity verdict (can the HPA bounds carry the declared peak; see stacks/checks/capacity/).
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadLocations } from '../infra/config/load-locations';
import { LocationConfigError } from '../infra/config/location-config-error';
import { checkCapacity } from '../checks/capacity/capacity-check';
import { loadMeasuredCapacity } from '../checks/capacity/measured-capacity';
import { capacityTable } from './capacity-table';
import { expectedError, runCli } from './run-cli';
import { sizingTable } from './sizing-table';

function main(): number {
  const { values } = parseArgs({
    options: { json: { type: 'boolean', default: false }, dir: { type: 'string', default: 'locations' } },
  });
  const locations = loadLocations(path.resolve(values.dir!));
  if (values.json) {
    console.log(JSON.stringify(locations, null, 2));
  } else {
    console.log(sizingTable(locations));
    console.log(`\n${locations.length} location(s); * = overridden in the location file\n`);
    const measured = loadMeasuredCapacity();
    console.log(capacityTable(locations.map((l) => checkCapacity(l, measured))));
    console.log(`\ncapacity from ${measured.source.command} (${measured.source.measuredOn}); charts: npm run capacity`);
  }
  return 0;
}

runCli(main, { expected: [expectedError([LocationConfigError], 1)] });
