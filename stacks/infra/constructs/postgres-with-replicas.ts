/**
 * A location's PostgreSQL: a Multi-AZ primary and 0..5 read replicas spread over the location's
 * zones, encrypted with the location key, reachable only from security groups granted with
 * `allowFrom`, logging slow statements and lock waits to encrypted CloudWatch log groups.
 *
 * The master password never appears in code, in the plan or in Terraform state:
 * - AWS refuses read replicas of a source whose master password Secrets Manager manages
 *   (`manage_master_user_password`), so RDS cannot own the password here.
 * - An ephemeral `aws_secretsmanager_random_password` (Terraform >= 1.10) generates it on each
 *   run, and only write-only arguments (Terraform >= 1.11) receive it: the primary's `password_wo`
 *   and the break-glass secret's `secret_string_wo`. Both carry the location's
 *   `databasePasswordVersion` as their `*_wo_version`; the provider sends the new value only when
 *   that number changes, and both change in the same apply. Rotation = bump the number.
 * - The application never uses the master user. It logs in as `app` with RDS IAM authentication
 *   (`grantConnect` lets the api's role sign tokens for it); a role with `rds_iam` cannot log in
 *   with a password. The deploy creates `app`: the `<location>-app` stack runs a database bootstrap
 *   Job before every release's migration (stacks/infra/constructs/database-bootstrap-job.ts,
 *   app/src/db/bootstrap.ts). It reads this secret under its own IRSA role, the only one granted
 *   `grantReadMasterSecret`, and as the master creates `app` LOGIN, grants it `rds_iam`, grants
 *   `app` to the master (PostgreSQL 16: needed to hand `app` the database), makes `app` the owner
 *   of the database and creates pg_stat_statements; each step only when missing, so later runs
 *   change nothing.
 */
import { Construct } from 'constructs';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { DbInstance } from '@cdktf/provider-aws/lib/db-instance';
import { DbParameterGroup } from '@cdktf/provider-aws/lib/db-parameter-group';
import { DbSubnetGroup } from '@cdktf/provider-aws/lib/db-subnet-group';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { SecretsmanagerSecret } from '@cdktf/provider-aws/lib/secretsmanager-secret';
import { SecretsmanagerSecretVersion } from '@cdktf/provider-aws/lib/secretsmanager-secret-version';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import { DATABASE_PORT } from '../../../contract/constants';
import { Fn, TerraformStack, Token } from '../cdktf';
import type { Location } from '../config/location';
import { arnAccountId, policyDocument } from './app-service-role';
import type { LocationKmsKey } from './location-kms-key';

/** The application's database. */
export const DATABASE_NAME = 'restaurant';
/** The application's login role; it authenticates with RDS IAM tokens (`rds_iam`), never a password. */
export const DATABASE_APP_USER = 'app';
/** Break-glass master user; its password lives only in the `<location>/rds/master` secret. */
export const DATABASE_MASTER_USER = 'platform_admin';

/**
 * Prefix of the log group names of every instance of a location (RDS names them
 * `/aws/rds/instance/<identifier>/<log>`), for the key policy that lets CloudWatch Logs encrypt them.
 */
export function postgresLogGroupPrefix(locationId: string): string {
  return `/aws/rds/instance/${locationId}-postgres`;
}

const CLOUDWATCH_LOG_EXPORTS = ['postgresql', 'upgrade'] as const;
const MONITORING_INTERVALS_SECONDS = [1, 5, 10, 15, 30, 60] as const;
const PEER_NAME_PATTERN = /^[a-z][a-z0-9-]{0,30}$/;

export interface PostgresWithReplicasProps {
  /**
   * Sizing (`sizing.database`), zones, naming, the password version and when restarting changes
   * apply (`applyChanges.database`: `apply_immediately` of every instance) come from the location.
   */
  readonly location: Location;
  readonly vpcId: string;
  /** Database subnets, one per zone; the primary's standby and the replicas land in them. */
  readonly subnetIds: readonly string[];
  /** Encrypts storage, Performance Insights, the master secret and the log groups. */
  readonly encryptionKey: LocationKmsKey;
  /**
   * PostgreSQL major version. Only the major is pinned: with `auto_minor_version_upgrade` AWS
   * applies minors in the maintenance window, and a pinned minor would make the next plan try
   * to downgrade. A major upgrade is a deliberate change (new parameter group family).
   * @default '16'
   */
  readonly engineMajorVersion?: string;
  /**
   * Statements slower than this are logged with their duration, in milliseconds.
   * @default 250
   */
  readonly logMinDurationStatementMs?: number;
  /**
   * Enhanced Monitoring granularity in seconds (1, 5, 10, 15, 30 or 60).
   * @default 60
   */
  readonly monitoringIntervalSeconds?: number;
  /**
   * Performance Insights retention in days (7 is the free tier).
   * @default 7
   */
  readonly performanceInsightsRetentionDays?: number;
  /**
   * Retention of the exported PostgreSQL logs, in days.
   * @default 30
   */
  readonly logRetentionDays?: number;
  /**
   * Daily backup window, UTC `hh24:mi-hh24:mi`; must not overlap the maintenance window.
   * @default '19:00-19:30'
   */
  readonly backupWindow?: string;
  /**
   * Weekly maintenance window, UTC `ddd:hh24:mi-ddd:hh24:mi`.
   * @default 'sun:20:00-sun:21:00'
   */
  readonly maintenanceWindow?: string;
}

export class PostgresWithReplicas extends Construct {
  readonly primary: DbInstance;
  /** In zone order; empty for a location without replicas. */
  readonly replicas: readonly DbInstance[];
  readonly securityGroup: SecurityGroup;
  readonly parameterGroup: DbParameterGroup;
  readonly subnetGroup: DbSubnetGroup;
  /** Break-glass secret `<location>/rds/master`: JSON {username, password, host, port, dbname}. */
  readonly masterSecret: SecretsmanagerSecret;
  readonly masterSecretArn: string;
  readonly primaryHost: string;
  readonly replicaHosts: readonly string[];
  readonly port = DATABASE_PORT;
  readonly databaseName = DATABASE_NAME;
  /** Storage allocated at creation, in GiB (autoscaling may grow it up to the maximum). */
  readonly allocatedStorageGiB: number;
  private readonly location: Location;
  private readonly encryptionKey: LocationKmsKey;

  constructor(scope: Construct, id: string, props: PostgresWithReplicasProps) {
    super(scope, id);
    const { location, encryptionKey } = props;
    const sizing = location.sizing.database;
    const engineMajorVersion = props.engineMajorVersion ?? '16';
    const logMinDurationStatementMs = props.logMinDurationStatementMs ?? 250;
    const monitoringIntervalSeconds = props.monitoringIntervalSeconds ?? 60;
    const performanceInsightsRetentionDays = props.performanceInsightsRetentionDays ?? 7;
    const logRetentionDays = props.logRetentionDays ?? 30;
    const backupWindow = props.backupWindow ?? '19:00-19:30';
    const maintenanceWindow = props.maintenanceWindow ?? 'sun:20:00-sun:21:00';

    const fail = (field: string, allowed: string, got: unknown): never => {
      throw new Error(`${field} must be ${allowed}, got ${String(got)} (location "${location.id}")`);
    };
    const known = (value: unknown) => !Token.isUnresolved(value);
    if (known(sizing.readReplicas) && (!Number.isInteger(sizing.readReplicas) || sizing.readReplicas < 0 || sizing.readReplicas > 5)) {
      fail('readReplicas', '0..5', sizing.readReplicas);
    }
    if (known(sizing.backupRetentionDays) && (!Number.isInteger(sizing.backupRetentionDays) || sizing.backupRetentionDays < 7 || sizing.backupRetentionDays > 35)) {
      fail('backupRetentionDays', '7..35', sizing.backupRetentionDays);
    }
    if (known(sizing.allocatedStorageGiB) && (sizing.allocatedStorageGiB < 20 || sizing.allocatedStorageGiB > 65536)) {
      fail('allocatedStorageGiB', '20..65536', sizing.allocatedStorageGiB);
    }
    if (known(sizing.maxAllocatedStorageGiB) && known(sizing.allocatedStorageGiB) && sizing.maxAllocatedStorageGiB < sizing.allocatedStorageGiB) {
      fail('maxAllocatedStorageGiB', `at least allocatedStorageGiB (${sizing.allocatedStorageGiB})`, sizing.maxAllocatedStorageGiB);
    }
    if (known(monitoringIntervalSeconds) && !(MONITORING_INTERVALS_SECONDS as readonly number[]).includes(monitoringIntervalSeconds)) {
      fail('monitoringIntervalSeconds', `one of ${MONITORING_INTERVALS_SECONDS.join(', ')}`, monitoringIntervalSeconds);
    }
    if (known(performanceInsightsRetentionDays) && performanceInsightsRetentionDays !== 7 && !(performanceInsightsRetentionDays % 31 === 0 && performanceInsightsRetentionDays <= 731)) {
      fail('performanceInsightsRetentionDays', '7 or a multiple of 31 up to 731', performanceInsightsRetentionDays);
    }
    if (location.availabilityZones.length < 2) {
      fail('availabilityZones', 'at least 2 zones for Multi-AZ', location.availabilityZones.length);
    }

    this.location = location;
    this.encryptionKey = encryptionKey;
    this.allocatedStorageGiB = sizing.allocatedStorageGiB;
    // Both start with postgresLogGroupPrefix's identifier part, so the key policy covers their logs.
    const primaryIdentifier = `${location.id}-postgres`;
    const replicaIdentifiers = Array.from({ length: sizing.readReplicas }, (_, i) => `${primaryIdentifier}-replica-${i + 1}`);

    this.securityGroup = new SecurityGroup(this, 'security-group', {
      name: `${location.id}-postgres`,
      description: `PostgreSQL of ${location.id}: ingress only from granted security groups`,
      vpcId: props.vpcId,
      tags: { Name: `${location.id}-postgres` },
    });

    this.subnetGroup = new DbSubnetGroup(this, 'subnet-group', {
      name: `${location.id}-postgres`,
      description: `Database subnets of ${location.id}`,
      subnetIds: [...props.subnetIds],
    });

    this.parameterGroup = new DbParameterGroup(this, 'parameter-group', {
      // The family is part of the name so a major upgrade creates the new group before the old
      // one is destroyed (a group cannot be deleted while an instance uses it).
      name: `${location.id}-postgres${engineMajorVersion}`,
      family: `postgres${engineMajorVersion}`,
      description: `PostgreSQL ${engineMajorVersion} settings of ${location.id}`,
      parameter: [
        // Static: in effect from creation; a later change waits for a reboot, which RDS does not
        // perform for it (the plan summary names such changes, stacks/checks/plan/disruptive-changes.ts).
        { name: 'shared_preload_libraries', value: 'pg_stat_statements', applyMethod: 'pending-reboot' },
        { name: 'pg_stat_statements.track', value: 'all', applyMethod: 'immediate' },
        { name: 'log_min_duration_statement', value: String(logMinDurationStatementMs), applyMethod: 'immediate' },
        // Clients must use TLS: the app verifies the RDS CA (`DATABASE_SSL=verify-full`).
        { name: 'rds.force_ssl', value: '1', applyMethod: 'immediate' },
        { name: 'log_lock_waits', value: '1', applyMethod: 'immediate' },
        // Temp files over 10 MB point at a missing index or an undersized work_mem.
        { name: 'log_temp_files', value: '10240', applyMethod: 'immediate' },
        { name: 'log_autovacuum_min_duration', value: '1000', applyMethod: 'immediate' },
        { name: 'track_io_timing', value: '1', applyMethod: 'immediate' },
        // A forgotten open transaction holds locks and blocks vacuum; the pool reconnects.
        { name: 'idle_in_transaction_session_timeout', value: '60000', applyMethod: 'immediate' },
      ],
      lifecycle: { createBeforeDestroy: true },
    });

    const monitoringRole = new IamRole(this, 'monitoring-role', {
      name: `${location.id}-rds-monitoring`,
      description: `Enhanced Monitoring of the ${location.id} database instances`,
      assumeRolePolicy: policyDocument([
        { Effect: 'Allow', Principal: { Service: 'monitoring.rds.amazonaws.com' }, Action: 'sts:AssumeRole' },
      ]),
    });
    // RDS checks the role's permissions when an instance is created: attach the policy first.
    const monitoringPolicy = new IamRolePolicyAttachment(this, 'monitoring-role-policy', {
      role: monitoringRole.name,
      policyArn: 'arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole',
    });

    // Created before the instances so RDS writes into encrypted groups with a retention, instead
    // of creating never-expiring, unencrypted ones that Terraform would then fail to create.
    const logGroupsOf = (identifier: string, key: string) =>
      CLOUDWATCH_LOG_EXPORTS.map(
        (log) =>
          new CloudwatchLogGroup(this, `${key}-log-${log}`, {
            name: `/aws/rds/instance/${identifier}/${log}`,
            retentionInDays: logRetentionDays,
            kmsKeyId: encryptionKey.keyArn,
          }),
      );

    this.masterSecret = new SecretsmanagerSecret(this, 'master-secret', {
      name: `${location.id}/rds/master`,
      description: `Break-glass master login of the ${location.id} database; the app uses IAM authentication`,
      kmsKeyId: encryptionKey.keyArn,
      recoveryWindowInDays: 30,
    });
    this.masterSecretArn = this.masterSecret.arn;
    const masterPassword = this.ephemeralMasterPassword();

    // Settings every instance shares; replicas inherit engine, storage and encryption from the source.
    const common = {
      instanceClass: sizing.instanceClass,
      parameterGroupName: this.parameterGroup.name,
      dbSubnetGroupName: this.subnetGroup.name,
      vpcSecurityGroupIds: [this.securityGroup.id],
      publiclyAccessible: false,
      iamDatabaseAuthenticationEnabled: true,
      caCertIdentifier: 'rds-ca-rsa2048-g1',
      autoMinorVersionUpgrade: true,
      copyTagsToSnapshot: true,
      maintenanceWindow,
      // Changes that restart or fail over an instance (class, storage type, engine version...)
      // wait for the maintenance window unless the location chose `immediately`.
      applyImmediately: location.applyChanges.database === 'immediately',
      performanceInsightsEnabled: true,
      performanceInsightsKmsKeyId: encryptionKey.keyArn,
      performanceInsightsRetentionPeriod: performanceInsightsRetentionDays,
      monitoringInterval: monitoringIntervalSeconds,
      monitoringRoleArn: monitoringRole.arn,
      enabledCloudwatchLogsExports: [...CLOUDWATCH_LOG_EXPORTS],
    };

    this.primary = new DbInstance(this, 'primary', {
      ...common,
      identifier: primaryIdentifier,
      engine: 'postgres',
      engineVersion: engineMajorVersion,
      dbName: DATABASE_NAME,
      port: DATABASE_PORT,
      username: DATABASE_MASTER_USER,
      passwordWo: masterPassword,
      passwordWoVersion: location.databasePasswordVersion,
      multiAz: true,
      storageType: 'gp3',
      allocatedStorage: sizing.allocatedStorageGiB,
      maxAllocatedStorage: sizing.maxAllocatedStorageGiB,
      storageEncrypted: true,
      kmsKeyId: encryptionKey.keyArn,
      backupRetentionPeriod: sizing.backupRetentionDays,
      backupWindow,
      deletionProtection: true,
      skipFinalSnapshot: false,
      finalSnapshotIdentifier: `${primaryIdentifier}-final`,
      // Automated backups outlive an accidental deletion for their retention period.
      deleteAutomatedBackups: false,
      dependsOn: [...logGroupsOf(primaryIdentifier, 'primary'), monitoringPolicy],
    });

    new SecretsmanagerSecretVersion(this, 'master-secret-value', {
      secretId: this.masterSecret.id,
      secretStringWo: Fn.jsonencode({
        username: DATABASE_MASTER_USER,
        password: masterPassword,
        host: this.primary.address,
        port: DATABASE_PORT,
        dbname: DATABASE_NAME,
      }),
      secretStringWoVersion: location.databasePasswordVersion,
    });

    const zones = location.availabilityZones;
    this.replicas = replicaIdentifiers.map(
      (identifier, i) =>
        new DbInstance(this, `replica-${i + 1}`, {
          ...common,
          identifier,
          // An ARN, not the identifier: the provider requires one when a subnet group is set.
          replicateSourceDb: this.primary.arn,
          availabilityZone: zones[i % zones.length],
          // Replicas hold no data of their own: removing one (fewer readReplicas) must not need
          // a manual unlock or leave a snapshot behind, and RDS keeps no backups of them.
          deletionProtection: false,
          skipFinalSnapshot: true,
          backupRetentionPeriod: 0,
          // A replica starts with its source's storage but does not follow its source's
          // autoscaling: without its own ceiling it fills up once the primary has grown past it.
          maxAllocatedStorage: sizing.maxAllocatedStorageGiB,
          dependsOn: [...logGroupsOf(identifier, `replica-${i + 1}`), monitoringPolicy],
        }),
    );

    this.primaryHost = this.primary.address;
    this.replicaHosts = this.replicas.map((replica) => replica.address);
  }

  /** Every instance, primary first. */
  get instances(): readonly DbInstance[] {
    return [this.primary, ...this.replicas];
  }

  /**
   * Admits PostgreSQL connections from a security group. `peerName` names the rule's construct
   * (a contract: renaming it replaces the rule), e.g. `cluster`.
   */
  allowFrom(peerName: string, securityGroupId: string): VpcSecurityGroupIngressRule {
    if (!PEER_NAME_PATTERN.test(peerName)) {
      throw new Error(`peerName must be 1-31 lowercase letters, digits and hyphens, got "${peerName}" (location "${this.location.id}")`);
    }
    return new VpcSecurityGroupIngressRule(this, `ingress-from-${peerName}`, {
      securityGroupId: this.securityGroup.id,
      referencedSecurityGroupId: securityGroupId,
      ipProtocol: 'tcp',
      fromPort: DATABASE_PORT,
      toPort: DATABASE_PORT,
      description: `PostgreSQL from ${peerName}`,
    });
  }

  /**
   * Lets a role sign RDS IAM auth tokens for `dbUser` on the primary and every replica; the
   * resource is the database user on each instance's resource id, never `*`.
   */
  grantConnect(role: IamRole, dbUser: string = DATABASE_APP_USER): IamRolePolicy {
    const accountId = arnAccountId(this.primary.arn);
    return new IamRolePolicy(this, `grant-connect-${role.node.id}-${dbUser}`, {
      role: role.name,
      name: `postgres-connect-${dbUser}`,
      policy: policyDocument([
        {
          Sid: 'ConnectAsDatabaseUser',
          Effect: 'Allow',
          Action: 'rds-db:connect',
          Resource: this.instances.map(
            (instance) => `arn:aws:rds-db:${this.location.region}:${accountId}:dbuser:${instance.resourceId}/${dbUser}`,
          ),
        },
      ]),
    });
  }

  /**
   * Lets a role read the break-glass master secret: `secretsmanager:GetSecretValue` on this one
   * secret, and `kms:Decrypt` on the location key only when Secrets Manager decrypts this secret
   * for it (`kms:ViaService` and the secret's ARN in the encryption context). Meant for the
   * database bootstrap's role alone; the app's role never gets it.
   */
  grantReadMasterSecret(role: IamRole): IamRolePolicy {
    return new IamRolePolicy(this, `grant-read-master-secret-${role.node.id}`, {
      role: role.name,
      name: 'postgres-read-master-secret',
      policy: policyDocument([
        { Sid: 'ReadMasterSecret', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: this.masterSecretArn },
        {
          Sid: 'DecryptMasterSecretThroughSecretsManager',
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: this.encryptionKey.keyArn,
          Condition: {
            StringEquals: {
              'kms:ViaService': `secretsmanager.${this.location.region}.amazonaws.com`,
              'kms:EncryptionContext:SecretARN': this.masterSecretArn,
            },
          },
        },
      ]),
    });
  }

  /**
   * Declares the ephemeral password generator and returns a reference to its value. cdktf 0.21
   * predates ephemeral resources, so the block is a raw stack override and the reference a token.
   * Ephemeral values exist only while Terraform runs; they are never written to plan or state.
   */
  private ephemeralMasterPassword(): string {
    const stack = TerraformStack.of(this);
    const name = `${this.node.scopes
      .slice(this.node.scopes.indexOf(stack) + 1)
      .map((s) => s.node.id)
      .join('_')
      .replace(/[^A-Za-z0-9_]/g, '_')}_master_password`;
    stack.addOverride(`ephemeral.aws_secretsmanager_random_password.${name}`, {
      password_length: 40,
      // RDS forbids / @ " and space in master passwords; letters and digits give 238 bits.
      exclude_punctuation: true,
      // Always true once the secret exists; while the secret is still to be created the value is
      // unknown, so Terraform defers opening the ephemeral resource (GetRandomPassword) to apply.
      // That keeps a first plan, and CI's credential-less plan, free of AWS calls.
      require_each_included_type: Fn.startswith(this.masterSecret.arn, 'arn:'),
    });
    const reference = `ephemeral.aws_secretsmanager_random_password.${name}.random_password`;
    return Token.asString({
      creationStack: [],
      resolve: (context: { suppressBraces?: boolean }) => (context.suppressBraces ? reference : `\${${reference}}`),
    });
  }
}
