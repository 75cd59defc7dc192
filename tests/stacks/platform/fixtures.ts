/** Shared inputs of the platform tests: the real sample locations and small stacks to build in. */
import * as path from 'node:path';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Testing, TerraformStack } from '../../../stacks/cdktf';
import type { BackendConfig } from '../../../stacks/backend';
import type { Location, WorkloadSizing } from '../../../stacks/config/location';
import { loadLocations, locationsByRegion } from '../../../stacks/config/load-locations';

export const LOCATIONS_DIR = path.join(__dirname, '../../../locations');
export const sampleLocations: readonly Location[] = loadLocations(LOCATIONS_DIR);
export const locationsOf = (region: string): Location[] => locationsByRegion(sampleLocations).get(region) ?? [];

export function sampleLocation(id: string): Location {
  const location = sampleLocations.find((l) => l.id === id);
  if (!location) throw new Error(`no sample location "${id}"`);
  return location;
}

export const S3_BACKEND: BackendConfig = { kind: 's3', bucket: 'test-state-bucket', region: 'ap-southeast-1', keyPrefix: 'restaurant-platform' };

/** A location built from a sample one, with other zones, region or workload sizing. */
export function locationFixture(
  base: Location,
  changes: {
    id?: string;
    region?: string;
    availabilityZones?: readonly string[];
    api?: Partial<WorkloadSizing>;
    ws?: Partial<WorkloadSizing>;
    nginxReplicas?: number;
  },
): Location {
  return {
    ...base,
    id: changes.id ?? base.id,
    region: changes.region ?? base.region,
    availabilityZones: changes.availabilityZones ?? base.availabilityZones,
    sizing: {
      ...base.sizing,
      api: { ...base.sizing.api, ...changes.api },
      ws: { ...base.sizing.ws, ...changes.ws },
      nginx: { replicas: changes.nginxReplicas ?? base.sizing.nginx.replicas },
    },
  };
}

/**
 * Makes empty stacks with an AWS provider, for testing one construct on its own. All stacks of
 * one factory share one App (create one factory per describe block).
 */
export function constructStacks(): () => TerraformStack {
  const app = Testing.app();
  let count = 0;
  return () => {
    count += 1;
    const stack = new TerraformStack(app, `construct-test-${count}`);
    new AwsProvider(stack, 'aws', { region: 'ap-southeast-1' });
    return stack;
  };
}
