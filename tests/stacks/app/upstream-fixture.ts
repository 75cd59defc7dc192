/**
 * Literal stand-ins for the outputs of `platform-<region>` and `<location>-data`, so the app stack
 * is unit-tested against the contracts alone. A cross-stack test wires the real stacks.
 */
import * as path from 'node:path';
import type { BackendConfig } from '../../../stacks/backend';
import type { Location } from '../../../stacks/config/location';
import { loadLocations } from '../../../stacks/config/load-locations';
import type { LocationDataOutputs, PlatformOutputs } from '../../../stacks/stack-contracts';

export const LOCATIONS_DIR = path.join(__dirname, '../../../locations');
export const TEST_IMAGE_TAG = 'v1.8.0';
export const LOCAL_BACKEND: BackendConfig = { kind: 'local', dir: '../../../.tfstate' };
export const FIXTURE_VPC_CIDR = '10.40.0.0/16';

export function sampleLocations(): Location[] {
  return loadLocations(LOCATIONS_DIR);
}

export function sampleLocation(id: string): Location {
  const location = sampleLocations().find((l) => l.id === id);
  if (!location) throw new Error(`no sample location "${id}" in ${LOCATIONS_DIR}`);
  return location;
}

export function platformFixture(region: string): PlatformOutputs {
  const registry = `123456789012.dkr.ecr.${region}.amazonaws.com`;
  return {
    region,
    vpcId: 'vpc-0fixture',
    vpcCidrBlock: FIXTURE_VPC_CIDR,
    privateSubnetIds: ['subnet-0private-a', 'subnet-0private-b', 'subnet-0private-c'],
    databaseSubnetIds: ['subnet-0database-a', 'subnet-0database-b', 'subnet-0database-c'],
    clusterName: `platform-${region}`,
    clusterEndpoint: 'https://FIXTURE0123456789.gr7.eks.amazonaws.com',
    clusterCertificateAuthorityData: 'LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==',
    clusterSecurityGroupId: 'sg-0fixturecluster',
    oidcProviderArn: `arn:aws:iam::123456789012:oidc-provider/oidc.eks.${region}.amazonaws.com/id/FIXTURE`,
    oidcIssuerHostPath: `oidc.eks.${region}.amazonaws.com/id/FIXTURE`,
    ecrRepositoryUrls: { api: `${registry}/restaurant/api`, ws: `${registry}/restaurant/ws` },
    pullThroughCacheUrls: { ecrPublic: `${registry}/ecr-public`, kubernetes: `${registry}/k8s`, quay: `${registry}/quay` },
    alertmanagerRoleArn: `arn:aws:iam::123456789012:role/restaurant-${region}-alertmanager`,
  };
}

/** An issued ACM certificate in the location's region, as the data stack hands it on. */
export function apiCertificateArnFixture(region: string): string {
  return `arn:aws:acm:${region}:123456789012:certificate/0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0`;
}

export function dataFixture(location: Location): LocationDataOutputs {
  const replicaHosts = Array.from(
    { length: location.sizing.database.readReplicas },
    (_, i) => `db-replica-${i + 1}.fixture.internal`,
  );
  return {
    database: {
      primaryHost: 'db-primary.fixture.internal',
      replicaHosts,
      port: 5432,
      name: 'restaurant',
      appUser: 'restaurant_app',
      masterSecretArn: `arn:aws:secretsmanager:${location.region}:123456789012:secret:${location.id}/rds/master-Fx7Qz1`,
    },
    redis: {
      primaryHost: 'redis-primary.fixture.internal',
      readerHost: 'redis-reader.fixture.internal',
      port: 6379,
      user: 'restaurant-app',
    },
    assets: {
      bucketName: `${location.id}-assets-fixture`,
      cdnDomainName: location.domains.cdn,
      distributionId: 'E0FIXTURE12345',
    },
    appRoleArn: `arn:aws:iam::123456789012:role/${location.id}-app`,
    databaseBootstrapRoleArn: `arn:aws:iam::123456789012:role/${location.id}-db-bootstrap`,
    apiCertificateArn: apiCertificateArnFixture(location.region),
  };
}
