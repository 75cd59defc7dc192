/**
 * A fleet of generated locations for the benches and the synth tests: `count` files written as
 * `npm run location:add` writes them (`bench-000.yaml`, ...), round-robin over three regions and
 * the tiers, plus a `platform.yaml` with a section for each region (the committed one covers the
 * sample regions only).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { newLocationYaml } from '../../stacks/cli/location-add';
import { TIERS } from '../../stacks/infra/config/location';
import { platformSettingsYaml } from './platform-settings';

export const GENERATED_REGIONS = ['ap-southeast-1', 'eu-west-2', 'us-east-1'] as const;

export const generatedLocationId = (index: number) => `bench-${String(index).padStart(3, '0')}`;

export interface GeneratedFleet {
  readonly locationsDir: string;
  readonly platformSettingsFile: string;
  readonly ids: readonly string[];
}

/** Writes `<root>/locations/bench-NNN.yaml` for `count` locations and `<root>/platform.yaml`. */
export function writeGeneratedFleet(root: string, count: number): GeneratedFleet {
  const locationsDir = path.join(root, 'locations');
  fs.mkdirSync(locationsDir, { recursive: true });
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = generatedLocationId(i);
    const region = GENERATED_REGIONS[i % GENERATED_REGIONS.length]!;
    fs.writeFileSync(path.join(locationsDir, `${id}.yaml`), newLocationYaml({ id, region, tier: TIERS[i % TIERS.length]!, domain: 'bench.example.com' }));
    ids.push(id);
  }
  const platformSettingsFile = path.join(root, 'platform.yaml');
  fs.writeFileSync(platformSettingsFile, platformSettingsYaml(GENERATED_REGIONS));
  return { locationsDir, platformSettingsFile, ids };
}
