import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BackendConfig } from '../../stacks/infra/backend';
import type { App } from '../../stacks/infra/cdktf';
import { Testing } from '../../stacks/infra/cdktf';
import { locationsByRegion } from '../../stacks/infra/config/load-locations';
import { DATABASE_APP_USER, DATABASE_NAME } from '../../stacks/infra/constructs/postgres-with-replicas';
import { LocationDataStack, maintenanceWindowsFor } from '../../stacks/infra/stack-kinds/location-data-stack';
import { PlatformStack } from '../../stacks/infra/stack-kinds/platform-stack';
import type { LocationDataOutputs } from '../../stacks/infra/stack-contracts';
import { regionSettings } from '../../tools/synth/platform-settings';
import { PlatformFixtureStack } from '../support/stacks/platform-fixture-stack';
import { allKeys, asList, blockOf, policy, refOf, resources } from '../support/stacks/data-fixtures';
import { type Json, synthJson } from '../support/stacks/synth-json';
import { SAMPLE_LOCATION_IDS, sampleLocation, sampleLocations } from '../support/stacks/sample-locations';
import { webClientFixture } from '../support/stacks/web-client-fixture';

const BACKEND: BackendConfig = { kind: 'local', dir: '../../../.tfstate' };
const webClient = webClientFixture();

/** Builds one fixture platform per region and a data stack per sample location. */
function buildDataStacks(app: App) {
  const dataStacks = new Map<string, LocationDataStack>();
  for (const [region, locations] of locationsByRegion(sampleLocations())) {
    const zones = [...new Set(locations.flatMap((l) => l.availabilityZones))].sort();
    const platform = new PlatformFixtureStack(app, `platform-${region}`, { region, availabilityZones: zones, backend: BACKEND });
    for (const location of locations) {
      dataStacks.set(location.id, new LocationDataStack(app, `${location.id}-data`, { location, platform: platform.outputs, backend: BACKEND, webClient }));
    }
  }
  return dataStacks;
}

/** Full synth (cross-stack references wired) into the app's temporary outdir. */
function synthesizeApp(app: App): (stackId: string) => Json {
  app.synth();
  return (stackId) => JSON.parse(fs.readFileSync(path.join(app.outdir, 'stacks', stackId, 'cdk.tf.json'), 'utf8')) as Json;
}

/** Drops what changes without a change of ours: cdktf's metadata blocks (version, paths). */
function stripVolatile(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripVolatile);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([key]) => key !== '//').map(([key, v]) => [key, stripVolatile(v)]));
  }
  return value;
}

describe('LocationDataStack', () => {
  const app = Testing.app();
  const dataStacks = buildDataStacks(app);
  const synthesized = new Map([...dataStacks].map(([id, stack]) => [id, synthJson(stack)]));

  describe('defaults', () => {
    test.each([
      ['ap-southeast-1', { databaseBackup: '19:00-19:30', databaseMaintenance: 'sun:20:00-sun:21:00', redisSnapshot: '19:00-20:00', redisMaintenance: 'mon:20:00-mon:21:00' }],
      ['eu-west-2', { databaseBackup: '01:00-01:30', databaseMaintenance: 'sun:02:00-sun:03:00', redisSnapshot: '01:00-02:00', redisMaintenance: 'mon:02:00-mon:03:00' }],
      ['us-east-1', { databaseBackup: '08:00-08:30', databaseMaintenance: 'sun:09:00-sun:10:00', redisSnapshot: '08:00-09:00', redisMaintenance: 'mon:09:00-mon:10:00' }],
    ])('maintenance windows of %s fall in the local night', (region, windows) => {
      expect(maintenanceWindowsFor(region)).toEqual(windows);
    });
  });

  describe('errors', () => {
    test('fails when the stack id is not <location>-data', () => {
      const location = sampleLocation('sukhumvit-cafe');
      const platform = new PlatformFixtureStack(app, 'platform-for-errors', { region: location.region, availabilityZones: location.availabilityZones });
      expect(() => new LocationDataStack(app, 'sukhumvit-data', { location, platform: platform.outputs, backend: BACKEND, webClient })).toThrow(
        'id must be "sukhumvit-cafe-data" (<location>-data; it names the state file), got "sukhumvit-data" (location "sukhumvit-cafe")',
      );
    });
  });

  describe.each(SAMPLE_LOCATION_IDS)('behaviour for %s', (id) => {
    const location = sampleLocation(id);
    const stack = dataStacks.get(id)!;
    const json = synthesized.get(id)!;
    // The fixture platform's resources, referenced as Testing.synth renders them (no cross-stack wiring).
    const clusterSecurityGroup = '${aws_security_group.cluster-sg.id}';

    test('the default provider is the location region, an aliased one is us-east-1; both tag everything', () => {
      const tags = { ...location.tags, location: id, stack: `${id}-data`, 'managed-by': 'cdktf' };
      expect(json.provider.aws).toEqual([
        { region: location.region, default_tags: [{ tags }] },
        { alias: 'us_east_1', region: 'us-east-1', default_tags: [{ tags }] },
      ]);
    });

    test('state in its own file, named by the stack id', () => {
      expect(json.terraform.backend).toEqual({ local: { path: `../../../.tfstate/${id}-data.tfstate` } });
    });

    test('implements LocationDataOutputs from the resources it creates', () => {
      const outputs: LocationDataOutputs = stack;
      expect(outputs.database).toMatchObject({ port: 5432, name: DATABASE_NAME, appUser: DATABASE_APP_USER });
      expect(outputs.database.replicaHosts).toHaveLength(location.sizing.database.readReplicas);
      expect(outputs.redis).toMatchObject({ port: 6379, user: `${id}-app` });
      expect(outputs.assets.cdnDomainName).toBe(location.domains.cdn);
      // The stack outputs carry the same values, resolved (dbMasterSecretArn and dbBootstrapRoleArn
      // are database.masterSecretArn and databaseBootstrapRoleArn).
      const value = (name: string) => json.output[name].value as unknown;
      expect(value('dbPrimaryEndpoint')).toBe(refOf(stack.postgres.primary, 'address'));
      expect(value('dbReplicaEndpoints')).toEqual(stack.postgres.replicas.map((r) => refOf(r, 'address')));
      expect(value('redisPrimaryEndpoint')).toBe(refOf(stack.cache.replicationGroup, 'primary_endpoint_address'));
      expect(value('redisReaderEndpoint')).toBe(refOf(stack.cache.replicationGroup, 'reader_endpoint_address'));
      expect(value('assetBucketName')).toBe(refOf(stack.cdn.bucket, 'bucket'));
      expect(value('cdnDistributionId')).toBe(refOf(stack.cdn.distribution, 'id'));
      expect(value('appRoleArn')).toBe(refOf(stack.appRole.role, 'arn'));
      expect(value('dbBootstrapRoleArn')).toBe(refOf(stack.databaseBootstrapRole.role, 'arn'));
      expect(value('dbMasterSecretArn')).toBe(refOf(stack.postgres.masterSecret, 'arn'));
      // The issued certificate: the ARN as the validation resource returns it, once DNS validation succeeded.
      expect(value('apiCertificateArn')).toBe(refOf(stack.apiCertificate.validation, 'certificate_arn'));
      expect(value('apiCertificateValidationRecords')).toBe(
        `\${tolist(${refOf(stack.apiCertificate.certificate, 'domain_validation_options').slice(2, -1)})}`,
      );
    });

    test('the api certificate is regional, for the api host name, validated by DNS like the CDN one', () => {
      const certificates = resources(json, 'aws_acm_certificate');
      expect(certificates.map((c) => [c.domain_name, c.provider])).toEqual(
        expect.arrayContaining([
          [location.domains.api, undefined],
          [location.domains.cdn, 'aws.us_east_1'],
        ]),
      );
      expect(certificates).toHaveLength(2);
      for (const certificate of certificates) {
        expect(certificate).toMatchObject({ validation_method: 'DNS', lifecycle: { create_before_destroy: true } });
      }
      expect(resources(json, 'aws_acm_certificate_validation')).toHaveLength(2);
    });

    test('outputs are named by resource and none is sensitive or secret', () => {
      expect(Object.keys(json.output).sort()).toEqual(
        [
          'alarmTopicArn',
          'apiCertificateArn',
          'apiCertificateValidationRecords',
          'appRoleArn',
          'assetBucketName',
          'cdnCertificateValidationRecords',
          'cdnDistributionDomainName',
          'cdnDistributionId',
          'cdnDomainName',
          'dbAppUser',
          'dbBootstrapRoleArn',
          'dbMasterSecretArn',
          'dbName',
          'dbPort',
          'dbPrimaryEndpoint',
          'dbReplicaEndpoints',
          'redisPort',
          'redisPrimaryEndpoint',
          'redisReaderEndpoint',
          'redisUser',
        ].sort(),
      );
      for (const output of Object.values(json.output as Record<string, Json>)) {
        expect(output.sensitive).toBeUndefined();
        expect(JSON.stringify(output.value)).not.toMatch(/ephemeral|password|secret_string/);
      }
    });

    test('publishes the web client to its CDN bucket: every published file of the build, and its own config.json', () => {
      expect(stack.webClient.paths).toEqual([...webClient.files.map((f) => f.path), 'config.json'].sort());
      const objects = resources(json, 'aws_s3_object');
      expect(objects).toHaveLength(3);
      for (const object of objects) expect(object.bucket).toBe(refOf(stack.cdn.bucket, 'id'));
      const config = objects.find((o) => o.key === 'web/config.json')!;
      expect(JSON.parse(config.content)).toEqual({ apiBaseUrl: `https://${location.domains.api}`, websocketUrl: `wss://${location.domains.api}/ws` });
    });

    test('no data source: synth and plan need no AWS credentials', () => {
      expect(json.data).toBeUndefined();
    });

    test('databases and Redis admit only the cluster security group of the platform', () => {
      const rules = resources(json, 'aws_vpc_security_group_ingress_rule');
      expect(rules.map((r) => [r.from_port, r.referenced_security_group_id])).toEqual([
        [5432, clusterSecurityGroup],
        [6379, clusterSecurityGroup],
      ]);
      for (const group of resources(json, 'aws_security_group')) expect(group).not.toHaveProperty('ingress');
    });

    test('no password attribute anywhere; the master password is an ephemeral value', () => {
      expect(allKeys(json)).not.toContain('password');
      expect(Object.keys(json.ephemeral.aws_secretsmanager_random_password)).toEqual(['postgres_master_password']);
    });

    test('the app role is trusted by the api service account of this location only', () => {
      const trust = policy(blockOf(json, stack.appRole.role).assume_role_policy).Statement[0]!;
      const conditions = trust.Condition!.StringEquals!;
      const issuer = '${replace(aws_iam_openid_connect_provider.oidc.url, "https://", "")}';
      expect(conditions).toEqual({ [`${issuer}:sub`]: `system:serviceaccount:${id}:api`, [`${issuer}:aud`]: 'sts.amazonaws.com' });
      expect(trust.Principal).toEqual({ Federated: '${aws_iam_openid_connect_provider.oidc.arn}' });
    });

    test('the app role gets exactly the four grants, each on specific resources', () => {
      const grants = resources(json, 'aws_iam_role_policy').filter((p) => p.role === refOf(stack.appRole.role, 'name'));
      expect(grants.map((g) => g.name).sort()).toEqual(['assets-write-menu-images', 'cdn-invalidate', 'postgres-connect-app', 'redis-connect']);
      for (const grant of grants) {
        for (const statement of policy(grant.policy).Statement) {
          expect(statement.Effect).toBe('Allow');
          for (const resource of asList(statement.Resource)) {
            expect(resource).not.toBe('*');
            // The only wildcard allowed is the key prefix of the menu images.
            expect(resource.replace(/\/menu-images\/\*$/, '')).not.toContain('*');
          }
          for (const action of asList(statement.Action)) expect(action).not.toContain('*');
        }
      }
    });

    test('the bootstrap role is trusted by the db-bootstrap service account of this location only', () => {
      const trust = policy(blockOf(json, stack.databaseBootstrapRole.role).assume_role_policy).Statement[0]!;
      const issuer = '${replace(aws_iam_openid_connect_provider.oidc.url, "https://", "")}';
      expect(trust.Condition!.StringEquals).toEqual({ [`${issuer}:sub`]: `system:serviceaccount:${id}:db-bootstrap`, [`${issuer}:aud`]: 'sts.amazonaws.com' });
    });

    test('only the bootstrap role may read the master secret, and it may do nothing else', () => {
      const grants = resources(json, 'aws_iam_role_policy');
      const bootstrapGrants = grants.filter((p) => p.role === refOf(stack.databaseBootstrapRole.role, 'name'));
      expect(bootstrapGrants.map((g) => g.name)).toEqual(['postgres-read-master-secret']);
      const secretArn = refOf(stack.postgres.masterSecret, 'arn');
      const mentionsSecret = grants.filter((g) => String(g.policy).includes(secretArn) || String(g.policy).includes('secretsmanager:'));
      expect(mentionsSecret).toEqual(bootstrapGrants);
      expect(resources(json, 'aws_iam_role_policy_attachment').map((a) => a.role)).not.toContain(refOf(stack.databaseBootstrapRole.role, 'name'));
    });

    test('encryption everywhere: database, secret, Redis, logs, topics and bucket use customer keys', () => {
      expect(blockOf(json, stack.postgres.primary).storage_encrypted).toBe(true);
      expect(blockOf(json, stack.cache.replicationGroup).at_rest_encryption_enabled).toBe('true');
      for (const group of resources(json, 'aws_cloudwatch_log_group')) expect(group.kms_key_id).toBe(refOf(stack.dataKey.key, 'arn'));
      for (const topic of resources(json, 'aws_sns_topic')) expect(topic.kms_master_key_id).toMatch(/^\$\{aws_kms_key\./);
      for (const key of resources(json, 'aws_kms_key')) expect(key.enable_key_rotation).toBe(true);
    });
  });

  test('snapshot of kanchanaburi-resort-data, cross-stack references included', () => {
    const snapshotApp = Testing.app();
    buildDataStacks(snapshotApp);
    const read = synthesizeApp(snapshotApp);
    expect(stripVolatile(read('kanchanaburi-resort-data'))).toMatchSnapshot();
  });
});

describe('LocationDataStack on the real PlatformStack', () => {
  const app = Testing.app();
  for (const [region, locations] of locationsByRegion(sampleLocations())) {
    const platform = new PlatformStack(app, `platform-${region}`, { region, locations, backend: BACKEND, settings: regionSettings(region) });
    for (const location of locations) new LocationDataStack(app, `${location.id}-data`, { location, platform, backend: BACKEND, webClient });
  }
  const read = synthesizeApp(app);

  test.each(SAMPLE_LOCATION_IDS)('%s-data reads the platform only through its remote state', (id) => {
    const region = sampleLocation(id).region;
    const json = read(`${id}-data`);
    expect(Object.keys(json.data)).toEqual(['terraform_remote_state']);
    expect(json.data.terraform_remote_state).toEqual({
      [`cross-stack-reference-input-platform-${region}`]: {
        backend: 'local',
        config: { path: `../../../.tfstate/platform-${region}.tfstate` },
        workspace: '${terraform.workspace}',
      },
    });
    const platformOutputs = Object.keys(read(`platform-${region}`).output as Json);
    const referenced = [...JSON.stringify(json).matchAll(/outputs\.(cross-stack-output-[A-Za-z0-9._-]+?)[}.,\s"\\]/g)].map((m) => m[1]!);
    expect(referenced.length).toBeGreaterThan(0);
    for (const name of referenced) expect(platformOutputs).toContain(name);
  });
});
