/** Shared inputs of the platform tests: locations built from the samples and small stacks to build in. */
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Testing, TerraformStack } from '../../../stacks/infra/cdktf';
import { EksCluster, type EksClusterProps } from '../../../stacks/infra/constructs/eks-cluster';
import { IrsaOidcProvider } from '../../../stacks/infra/constructs/irsa-oidc-provider';
import { LogsKmsKey } from '../../../stacks/infra/constructs/logs-kms-key';
import { Network } from '../../../stacks/infra/constructs/network';
import type { BackendConfig } from '../../../stacks/infra/backend';
import type { Location, WorkloadSizing } from '../../../stacks/infra/config/location';

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
 * A cluster `restaurant-test` (id `cluster`) on what it stands on: a log key (`logs-key`) and a
 * network in `availabilityZones` (`network`, default one zone).
 */
export function testCluster(
  stack: TerraformStack,
  options: { availabilityZones?: readonly string[]; cluster?: Partial<Omit<EksClusterProps, 'network' | 'logKey'>> } = {},
): { logKey: LogsKmsKey; network: Network; cluster: EksCluster } {
  const logKey = new LogsKmsKey(stack, 'logs-key', { aliasName: 'test/logs', region: 'ap-southeast-1' });
  const network = new Network(stack, 'network', {
    name: 'restaurant-test',
    region: 'ap-southeast-1',
    cidrBlock: '10.10.0.0/16',
    availabilityZones: options.availabilityZones ?? ['ap-southeast-1a'],
    flowLogKey: logKey,
  });
  const cluster = new EksCluster(stack, 'cluster', { name: 'restaurant-test', network, logKey, ...options.cluster });
  return { logKey, network, cluster };
}

/**
 * What every IRSA role construct stands on, built in `stack`: `testCluster` in one zone and its
 * OIDC provider (ids `logs-key`, `network`, `cluster`, `irsa`).
 */
export function clusterWithIrsa(stack: TerraformStack, options: { partition?: string } = {}): { cluster: EksCluster; oidcProvider: IrsaOidcProvider } {
  const { cluster } = testCluster(stack, { cluster: options.partition ? { partition: options.partition } : {} });
  return { cluster, oidcProvider: new IrsaOidcProvider(stack, 'irsa', { cluster }) };
}
