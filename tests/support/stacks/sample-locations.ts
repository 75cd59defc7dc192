/** The sample locations of `locations/`, loaded once for every stack and construct test. */
import * as path from 'node:path';
import type { Location } from '../../../stacks/infra/config/location';
import { loadLocations, locationsByRegion } from '../../../stacks/infra/config/load-locations';

export const LOCATIONS_DIR = path.join(__dirname, '../../../locations');
export const SAMPLE_LOCATION_IDS = ['sukhumvit-cafe', 'kanchanaburi-resort', 'london-shoreditch'] as const;
export type SampleLocationId = (typeof SAMPLE_LOCATION_IDS)[number];

let cached: readonly Location[] | undefined;

/** Every sample location, a new list each call (the locations themselves are shared: do not mutate them). */
export function sampleLocations(): Location[] {
  cached ??= loadLocations(LOCATIONS_DIR);
  return [...cached];
}

export function sampleLocation(id: string): Location {
  const location = sampleLocations().find((l) => l.id === id);
  if (!location) throw new Error(`no sample location "${id}" in ${LOCATIONS_DIR}`);
  return location;
}

/** The sample locations of `region`. */
export const locationsOf = (region: string): Location[] => locationsByRegion(sampleLocations()).get(region) ?? [];
