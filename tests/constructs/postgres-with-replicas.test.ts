import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { Testing } from '../../stacks/infra/cdktf';
import type { Location } from '../../stacks/infra/config/location';
import { LocationKmsKey } from '../../stacks/infra/constructs/location-kms-key';
import {
  DATABASE_APP_USER,
  DATABASE_MASTER_USER,
  DATABASE_NAME,
  PostgresWithReplicas,
  type PostgresWithReplicasProps,
} from '../../stacks/infra/constructs/postgres-with-replicas';
import { ACCOUNT_ID, allKeys, asList, blockOf, find, hostStack, policy, refOf, resources, withSizing } from '../support/stacks/data-fixtures';
import { type Json, synthJson } from '../support/stacks/synth-json';
import { SAMPLE_LOCATION_IDS, sampleLocation } from '../support/stacks/sample-locations';

const CLUSTER_SG = 'sg-0cluster';

describe('PostgresWithReplicas', () => {
  const app = Testing.app();
  let stackCount = 0;

  function build(location: Location, props: Partial<PostgresWithReplicasProps> = {}) {
    const { stack } = hostStack(app, `postgres-${++stackCount}`, location);
    const encryptionKey = new LocationKmsKey(stack, 'key', { location, purpose: 'data', accountId: ACCOUNT_ID });
    const postgres = new PostgresWithReplicas(stack, 'postgres', {
      location,
      vpcId: 'vpc-0test',
      subnetIds: ['subnet-a', 'subnet-b', 'subnet-c'],
      encryptionKey,
      ...props,
    });
    return { stack, postgres, encryptionKey };
  }

  function synthWithGrants(location: Location) {
    const { stack, postgres, encryptionKey } = build(location);
    postgres.allowFrom('cluster', CLUSTER_SG);
    const role = new IamRole(stack, 'role', { name: 'test-role', assumeRolePolicy: '{}' });
    postgres.grantConnect(role);
    postgres.grantReadMasterSecret(role);
    return { postgres, encryptionKey, json: synthJson(stack) };
  }

  const synthesized = new Map(SAMPLE_LOCATION_IDS.map((id) => [id, synthWithGrants(sampleLocation(id))]));
  const { json: cafe, postgres: cafePostgres } = synthesized.get('sukhumvit-cafe')!;

  describe('defaults', () => {
    test('PostgreSQL 16 pinned by major version, with the matching parameter group family', () => {
      expect(blockOf(cafe, cafePostgres.primary)).toMatchObject({ engine: 'postgres', engine_version: '16', auto_minor_version_upgrade: true });
      expect(blockOf(cafe, cafePostgres.parameterGroup)).toMatchObject({
        family: 'postgres16',
        name: 'sukhumvit-cafe-postgres16',
        lifecycle: { create_before_destroy: true },
      });
    });

    test('statements slower than 250 ms are logged; monitoring every 60 s; Performance Insights kept 7 days', () => {
      const parameters = blockOf(cafe, cafePostgres.parameterGroup).parameter as Json[];
      expect(parameters).toContainEqual({ name: 'log_min_duration_statement', value: '250', apply_method: 'immediate' });
      expect(blockOf(cafe, cafePostgres.primary)).toMatchObject({ monitoring_interval: 60, performance_insights_retention_period: 7 });
    });

    test('restarting changes wait for the maintenance window on every instance', () => {
      for (const instance of [cafePostgres.primary, ...cafePostgres.replicas]) {
        expect(blockOf(cafe, instance).apply_immediately).toBe(false);
      }
    });

    test('backup and maintenance windows do not overlap', () => {
      expect(blockOf(cafe, cafePostgres.primary)).toMatchObject({ backup_window: '19:00-19:30', maintenance_window: 'sun:20:00-sun:21:00' });
    });

    test('the application database and the break-glass master user', () => {
      expect(blockOf(cafe, cafePostgres.primary)).toMatchObject({ db_name: DATABASE_NAME, username: DATABASE_MASTER_USER, port: 5432 });
      expect(DATABASE_APP_USER).toBe('app');
    });
  });

  describe('errors', () => {
    const cafeLocation = sampleLocation('sukhumvit-cafe');
    test('fails when readReplicas is 7', () => {
      expect(() => build(withSizing(cafeLocation, { database: { readReplicas: 7 } }))).toThrow(
        'readReplicas must be 0..5, got 7 (location "sukhumvit-cafe")',
      );
    });
    test('fails when readReplicas is negative', () => {
      expect(() => build(withSizing(cafeLocation, { database: { readReplicas: -1 } }))).toThrow(
        'readReplicas must be 0..5, got -1 (location "sukhumvit-cafe")',
      );
    });
    test('fails when backupRetentionDays is below 7', () => {
      expect(() => build(withSizing(cafeLocation, { database: { backupRetentionDays: 3 } }))).toThrow(
        'backupRetentionDays must be 7..35, got 3 (location "sukhumvit-cafe")',
      );
    });
    test('fails when maxAllocatedStorageGiB is below allocatedStorageGiB', () => {
      expect(() => build(withSizing(cafeLocation, { database: { allocatedStorageGiB: 100, maxAllocatedStorageGiB: 50 } }))).toThrow(
        'maxAllocatedStorageGiB must be at least allocatedStorageGiB (100), got 50 (location "sukhumvit-cafe")',
      );
    });
    test('fails when monitoringIntervalSeconds is not one RDS offers', () => {
      expect(() => build(cafeLocation, { monitoringIntervalSeconds: 45 })).toThrow(
        'monitoringIntervalSeconds must be one of 1, 5, 10, 15, 30, 60, got 45 (location "sukhumvit-cafe")',
      );
    });
    test('fails when performanceInsightsRetentionDays is not 7 or a multiple of 31', () => {
      expect(() => build(cafeLocation, { performanceInsightsRetentionDays: 30 })).toThrow(
        'performanceInsightsRetentionDays must be 7 or a multiple of 31 up to 731, got 30 (location "sukhumvit-cafe")',
      );
    });
    test('fails when the location has one zone', () => {
      expect(() => build({ ...cafeLocation, availabilityZones: ['ap-southeast-1a'] })).toThrow(
        'availabilityZones must be at least 2 zones for Multi-AZ, got 1 (location "sukhumvit-cafe")',
      );
    });
    test('fails when allowFrom gets a peer name that cannot name a construct', () => {
      const { postgres } = build(cafeLocation);
      expect(() => postgres.allowFrom('EKS nodes', CLUSTER_SG)).toThrow(
        'peerName must be 1-31 lowercase letters, digits and hyphens, got "EKS nodes" (location "sukhumvit-cafe")',
      );
    });
  });

  describe.each(SAMPLE_LOCATION_IDS)('behaviour for %s', (id) => {
    const location = sampleLocation(id);
    const { json, postgres, encryptionKey } = synthesized.get(id)!;
    const primary = blockOf(json, postgres.primary);
    const replicas = postgres.replicas.map((replica) => blockOf(json, replica));
    const keyArn = refOf(encryptionKey.key, 'arn');

    test('one read replica per sizing.database.readReplicas', () => {
      expect(replicas).toHaveLength(location.sizing.database.readReplicas);
      expect(resources(json, 'aws_db_instance')).toHaveLength(location.sizing.database.readReplicas + 1);
    });

    test('the primary is Multi-AZ, private, encrypted gp3 with storage autoscaling from the sizing', () => {
      expect(primary).toMatchObject({
        multi_az: true,
        publicly_accessible: false,
        storage_type: 'gp3',
        allocated_storage: location.sizing.database.allocatedStorageGiB,
        max_allocated_storage: location.sizing.database.maxAllocatedStorageGiB,
        storage_encrypted: true,
        kms_key_id: keyArn,
        instance_class: location.sizing.database.instanceClass,
      });
    });

    test('the primary is protected: deletion protection, final snapshot, backups of at least 7 days', () => {
      expect(primary).toMatchObject({
        deletion_protection: true,
        skip_final_snapshot: false,
        final_snapshot_identifier: `${id}-postgres-final`,
        copy_tags_to_snapshot: true,
        delete_automated_backups: false,
        backup_retention_period: location.sizing.database.backupRetentionDays,
      });
      expect(primary.backup_retention_period).toBeGreaterThanOrEqual(7);
    });

    test('every instance: IAM auth, TLS CA, Performance Insights with the key, enhanced monitoring, log exports', () => {
      for (const instance of [primary, ...replicas]) {
        expect(instance).toMatchObject({
          iam_database_authentication_enabled: true,
          ca_cert_identifier: 'rds-ca-rsa2048-g1',
          publicly_accessible: false,
          performance_insights_enabled: true,
          performance_insights_kms_key_id: keyArn,
          monitoring_interval: 60,
          monitoring_role_arn: refOf(find(postgres, 'monitoring-role'), 'arn'),
          enabled_cloudwatch_logs_exports: ['postgresql', 'upgrade'],
        });
      }
    });

    test('replicas follow the primary, in its class, spread over the location zones', () => {
      replicas.forEach((replica, i) => {
        expect(replica).toMatchObject({
          replicate_source_db: refOf(postgres.primary, 'arn'),
          instance_class: location.sizing.database.instanceClass,
          availability_zone: location.availabilityZones[i % location.availabilityZones.length],
          identifier: `${id}-postgres-replica-${i + 1}`,
          deletion_protection: false,
          skip_final_snapshot: true,
        });
        // Replicas inherit the source's storage but not its autoscaling: each grows on its own
        // up to the primary's ceiling, so it never fills up behind a primary that has grown.
        expect(replica.max_allocated_storage).toBe(primary.max_allocated_storage);
        expect(replica).not.toHaveProperty('allocated_storage');
        expect(replica).not.toHaveProperty('engine');
        expect(replica).not.toHaveProperty('password_wo');
      });
      if (replicas.length >= location.availabilityZones.length) {
        expect(new Set(replicas.map((r) => r.availability_zone)).size).toBe(location.availabilityZones.length);
      }
    });

    test('the parameter group forces TLS and loads pg_stat_statements at the next reboot', () => {
      const parameters = blockOf(json, postgres.parameterGroup).parameter as Json[];
      expect(parameters).toEqual(
        expect.arrayContaining([
          { name: 'rds.force_ssl', value: '1', apply_method: 'immediate' },
          { name: 'shared_preload_libraries', value: 'pg_stat_statements', apply_method: 'pending-reboot' },
          { name: 'pg_stat_statements.track', value: 'all', apply_method: 'immediate' },
          { name: 'log_lock_waits', value: '1', apply_method: 'immediate' },
        ]),
      );
      for (const instance of [primary, ...replicas]) {
        expect(instance.parameter_group_name).toBe(refOf(postgres.parameterGroup, 'name'));
      }
    });

    test('port 5432 is open only to the security group granted with allowFrom', () => {
      const securityGroup = blockOf(json, postgres.securityGroup);
      expect(securityGroup).not.toHaveProperty('ingress');
      expect(securityGroup).not.toHaveProperty('egress');
      const rules = resources(json, 'aws_vpc_security_group_ingress_rule');
      expect(rules).toHaveLength(1);
      expect(rules[0]).toMatchObject({
        security_group_id: refOf(postgres.securityGroup, 'id'),
        referenced_security_group_id: CLUSTER_SG,
        ip_protocol: 'tcp',
        from_port: 5432,
        to_port: 5432,
      });
      expect(rules[0]).not.toHaveProperty('cidr_ipv4');
    });

    test('the master password is ephemeral and reaches RDS and Secrets Manager only as write-only arguments', () => {
      const generators = json.ephemeral?.aws_secretsmanager_random_password as Json;
      expect(Object.keys(generators)).toEqual(['postgres_master_password']);
      expect(generators.postgres_master_password).toMatchObject({ password_length: 40, exclude_punctuation: true });
      const reference = '${ephemeral.aws_secretsmanager_random_password.postgres_master_password.random_password}';
      expect(primary).toMatchObject({ password_wo: reference, password_wo_version: location.databasePasswordVersion });

      const secretValue = blockOf(json, find(postgres, 'master-secret-value'));
      expect(secretValue.secret_string_wo_version).toBe(location.databasePasswordVersion);
      expect(secretValue.secret_string_wo).toContain('ephemeral.aws_secretsmanager_random_password.postgres_master_password.random_password');
      expect(secretValue.secret_string_wo).toContain('"host" = aws_db_instance.');
      expect(secretValue).not.toHaveProperty('secret_string');

      const keys = allKeys(json);
      expect(keys).not.toContain('password');
      expect(keys).not.toContain('manage_master_user_password');
      expect(keys).not.toContain('secret_string');
    });

    test('opening the password generator waits for the secret, so a first plan calls no AWS API', () => {
      const generator = json.ephemeral.aws_secretsmanager_random_password.postgres_master_password as Json;
      expect(generator.require_each_included_type).toBe(
        `\${startswith(${refOf(postgres.masterSecret, 'arn').slice(2, -1)}, "arn:")}`,
      );
    });

    test('the break-glass secret is named for the location and encrypted with the location key', () => {
      expect(blockOf(json, postgres.masterSecret)).toMatchObject({ name: `${id}/rds/master`, kms_key_id: keyArn });
    });

    test('exported logs go to encrypted log groups that exist before the instances', () => {
      const logGroups = resources(json, 'aws_cloudwatch_log_group');
      expect(logGroups).toHaveLength(2 * (replicas.length + 1));
      for (const group of logGroups) expect(group).toMatchObject({ kms_key_id: keyArn, retention_in_days: 30 });
      expect(logGroups.map((g) => g.name)).toContain(`/aws/rds/instance/${id}-postgres/postgresql`);
      for (const instance of [primary, ...replicas]) {
        const dependencies = asList(instance.depends_on as string[]);
        expect(dependencies.filter((d) => d.startsWith('aws_cloudwatch_log_group.'))).toHaveLength(2);
        expect(dependencies.filter((d) => d.startsWith('aws_iam_role_policy_attachment.'))).toHaveLength(1);
      }
    });

    test('grantConnect allows rds-db:connect as app on each instance resource id, nothing wider', () => {
      const grant = blockOf(json, find(postgres, 'grant-connect-role-app'));
      const statements = policy(grant.policy).Statement;
      expect(statements).toHaveLength(1);
      expect(statements[0]!.Action).toBe('rds-db:connect');
      const arns = asList(statements[0]!.Resource);
      expect(arns).toHaveLength(replicas.length + 1);
      for (const arn of arns) {
        expect(arn).toMatch(new RegExp(`^arn:aws:rds-db:${location.region}:\\$\\{element\\(split\\(":", aws_db_instance\\.[^)]+\\.arn\\), 4\\)\\}:dbuser:\\$\\{aws_db_instance\\.[^}]+\\.resource_id\\}/app$`));
        expect(arn).not.toContain('*');
      }
    });
  });

  describe.each(SAMPLE_LOCATION_IDS)('grantReadMasterSecret for %s', (id) => {
    const { json, postgres, encryptionKey } = synthesized.get(id)!;
    const location = sampleLocation(id);
    const secretArn = refOf(postgres.masterSecret, 'arn');

    test('GetSecretValue on the master secret only, Decrypt on the location key only through Secrets Manager for it', () => {
      const grant = blockOf(json, find(postgres, 'grant-read-master-secret-role'));
      expect(grant.name).toBe('postgres-read-master-secret');
      expect(policy(grant.policy).Statement).toEqual([
        { Sid: 'ReadMasterSecret', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: secretArn },
        {
          Sid: 'DecryptMasterSecretThroughSecretsManager',
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: refOf(encryptionKey.key, 'arn'),
          Condition: {
            StringEquals: {
              'kms:ViaService': `secretsmanager.${location.region}.amazonaws.com`,
              'kms:EncryptionContext:SecretARN': secretArn,
            },
          },
        },
      ]);
    });
  });

  describe('options', () => {
    test('rotating the master password is bumping databasePasswordVersion', () => {
      const { stack, postgres } = build({ ...sampleLocation('london-shoreditch'), databasePasswordVersion: 3 });
      const json = synthJson(stack);
      expect(blockOf(json, postgres.primary).password_wo_version).toBe(3);
      expect(blockOf(json, find(postgres, 'master-secret-value')).secret_string_wo_version).toBe(3);
    });

    test('applyChanges.database = immediately applies restarting changes at once, on every instance', () => {
      const location = sampleLocation('kanchanaburi-resort');
      const { stack, postgres } = build({ ...location, applyChanges: { ...location.applyChanges, database: 'immediately' } });
      const json = synthJson(stack);
      expect(postgres.replicas.length).toBeGreaterThan(0);
      for (const instance of postgres.instances) expect(blockOf(json, instance).apply_immediately).toBe(true);
    });

    test('a location without replicas still gets a Multi-AZ primary', () => {
      const { stack, postgres } = build(withSizing(sampleLocation('london-shoreditch'), { database: { readReplicas: 0 } }));
      const json = synthJson(stack);
      expect(resources(json, 'aws_db_instance')).toHaveLength(1);
      expect(blockOf(json, postgres.primary).multi_az).toBe(true);
    });
  });
});
