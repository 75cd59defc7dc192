/**
 * Literal stand-ins for the outputs of `platform-<region>` and `<location>-data`, so the app and
 * addons stacks are unit-tested against the contracts alone. A cross-stack test wires the real stacks.
 */
import type { BackendConfig } from '../../../stacks/infra/backend';
import type { Location } from '../../../stacks/infra/config/location';
import type { LocationDataOutputs, PlatformOutputs } from '../../../stacks/infra/stack-contracts';

export const TEST_IMAGE_TAG = 'v1.8.0';
export const LOCAL_BACKEND: BackendConfig = { kind: 'local', dir: '../../../.tfstate' };
export const FIXTURE_VPC_CIDR = '10.40.0.0/16';

/**
 * `platform-<region>`'s outputs as literals. The one platform-output fixture of the tests: a test
 * that asserts on particular values (the addons stack's cluster name, account) overrides those.
 */
export function platformFixture(region: string, overrides: Partial<PlatformOutputs> = {}): PlatformOutputs {
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
    ...overrides,
  };
}

/**
 * ap-southeast-1's platform in account 111122223333, as the addons stack's tests and snapshot know
 * it: what the addons stack reads of the platform (cluster, endpoint, OIDC provider, VPC,
 * Alertmanager role) set to these values, the rest from `platformFixture`.
 */
export const ADDONS_PLATFORM_FIXTURE: PlatformOutputs = platformFixture('ap-southeast-1', {
  vpcId: 'vpc-0a1b2c3d',
  clusterName: 'restaurant-ap-southeast-1',
  clusterEndpoint: 'https://0123456789ABCDEF.gr7.ap-southeast-1.eks.amazonaws.com',
  clusterCertificateAuthorityData: 'LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t',
  oidcProviderArn: 'arn:aws:iam::111122223333:oidc-provider/oidc.eks.ap-southeast-1.amazonaws.com/id/0123456789ABCDEF',
  oidcIssuerHostPath: 'oidc.eks.ap-southeast-1.amazonaws.com/id/0123456789ABCDEF',
  alertmanagerRoleArn: 'arn:aws:iam::111122223333:role/restaurant-ap-southeast-1-alertmanager',
});

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
