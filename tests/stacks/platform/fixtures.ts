/** Shared inputs of the platform tests: the real sample locations and small stacks to build in. */
import * as path from 'node:path';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Testing, TerraformStack } from '../../../stacks/cdktf';
import { EksCluster } from '../../../stacks/constructs/eks-cluster';
import { IrsaOidcProvider } from '../../../stacks/constructs/irsa-oidc-provider';
import { LogsKmsKey } from '../../../stacks/constructs/logs-kms-key';
import { Network } from '../../../stacks/constructs/network';
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

/**
 * What every IRSA role construct stands on, built in `stack`: a log key, a one-zone network, the
 * cluster `restaurant-test` and its OIDC provider (ids `logs-key`, `network`, `cluster`, `irsa`).
 */
export function clusterWithIrsa(stack: TerraformStack, options: { partition?: string } = {}): { cluster: EksCluster; oidcProvider: IrsaOidcProvider } {
  const logKey = new LogsKmsKey(stack, 'logs-key', { aliasName: 'test/logs', region: 'ap-southeast-1' });
  const network = new Network(stack, 'network', {
    name: 'restaurant-test',
    region: 'ap-southeast-1',
    cidrBlock: '10.10.0.0/16',
    availabilityZones: ['ap-southeast-1a'],
    flowLogKey: logKey,
  });
  const cluster = new EksCluster(stack, 'cluster', { name: 'restaurant-test', network, logKey, ...(options.partition ? { partition: options.partition } : {}) });
  return { cluster, oidcProvider: new IrsaOidcProvider(stack, 'irsa', { cluster }) };
}
