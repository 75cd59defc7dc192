/**
 * `<location>-data`: the stateful services of one location. PostgreSQL (Multi-AZ primary plus
 * read replicas), Redis, the asset bucket behind CloudFront with the guest and kitchen web client
 * published to it, the api's TLS certificate, the IRSA roles of the api and of the database
 * bootstrap Job, and the alarms.
 * Network and cluster come from the region's platform stack as cross-stack references (cdktf turns
 * them into platform outputs and a remote-state read here).
 *
 * Nothing here reads from AWS at plan time: no data sources, account id and region derived from
 * ARNs and the location file, so CI plans every location without credentials.
 */
import type { Construct } from 'constructs';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import type { BackendConfig } from '../backend';
import { applyBackend } from '../backend';
import { TerraformOutput, TerraformStack } from '../cdktf';
import type { Location } from '../config/location';
import type { HostedZone } from '../config/platform-settings';
import type { WebClientBuild } from '../config/web-client-build';
import { ApiCertificate } from '../constructs/api-certificate';
import { AppServiceRole, arnAccountId } from '../constructs/app-service-role';
import { CdnBucket, MENU_IMAGES_PREFIX } from '../constructs/cdn-bucket';
import { DatabaseBootstrapRole } from '../constructs/database-bootstrap-role';
import { LocationAlarms } from '../constructs/location-alarms';
import { LocationKmsKey } from '../constructs/location-kms-key';
import { DATABASE_APP_USER, PostgresWithReplicas, postgresLogGroupPrefix } from '../constructs/postgres-with-replicas';
import { RedisReplicationGroup, redisLogGroupPrefix } from '../constructs/redis-replication-group';
import { WebClientObjects } from '../constructs/web-client-objects';
import type { LocationDataOutputs, PlatformOutputs } from '../stack-contracts';
import { stackTags } from '../tags';

export interface LocationDataStackProps {
  readonly location: Location;
  readonly platform: PlatformOutputs;
  readonly backend: BackendConfig;
  /**
   * Route 53 zones of the location's names (`hostedZoneFor` over the platform settings): the
   * certificates' validation records, and the CDN name's alias records, are created in them.
   * @default {} - no records: the stack outputs the validation records to create by hand
   */
  readonly hostedZones?: { readonly api?: HostedZone; readonly cdn?: HostedZone };
  /** The web client build published to the CDN bucket (loadWebClientBuild; the same for every location). */
  readonly webClient: WebClientBuild;
}

/** Start of a quiet night hour in UTC per region family (about 02:00-05:00 local). */
const QUIET_HOUR_UTC_BY_REGION_PREFIX: ReadonlyArray<readonly [RegExp, number]> = [
  [/^ap-/, 19],
  [/^(eu|il|me|af)-/, 1],
  [/^(us|ca)-/, 8],
  [/^sa-/, 6],
];

/**
 * Backup, snapshot and maintenance windows in the location's night, so that I/O pauses and
 * failovers miss service hours. RDS: backup, then maintenance an hour later on Sunday night;
 * Redis: snapshot, then maintenance on Monday night, so the two never restart together.
 */
export function maintenanceWindowsFor(region: string) {
  const hour = QUIET_HOUR_UTC_BY_REGION_PREFIX.find(([pattern]) => pattern.test(region))?.[1] ?? 19;
  const hh = (offset: number) => String((hour + offset) % 24).padStart(2, '0');
  return {
    databaseBackup: `${hh(0)}:00-${hh(0)}:30`,
    databaseMaintenance: `sun:${hh(1)}:00-sun:${hh(2)}:00`,
    redisSnapshot: `${hh(0)}:00-${hh(1)}:00`,
    redisMaintenance: `mon:${hh(1)}:00-mon:${hh(2)}:00`,
  };
}

export class LocationDataStack extends TerraformStack implements LocationDataOutputs {
  readonly database: LocationDataOutputs['database'];
  readonly redis: LocationDataOutputs['redis'];
  readonly assets: LocationDataOutputs['assets'];
  readonly appRoleArn: string;
  readonly databaseBootstrapRoleArn: string;
  readonly apiCertificateArn: string;

  readonly postgres: PostgresWithReplicas;
  readonly cache: RedisReplicationGroup;
  readonly cdn: CdnBucket;
  readonly webClient: WebClientObjects;
  readonly apiCertificate: ApiCertificate;
  readonly appRole: AppServiceRole;
  readonly databaseBootstrapRole: DatabaseBootstrapRole;
  readonly alarms: LocationAlarms;
  readonly dataKey: LocationKmsKey;

  constructor(scope: Construct, id: string, props: LocationDataStackProps) {
    super(scope, id);
    const { location, platform } = props;
    if (id !== `${location.id}-data`) {
      throw new Error(`id must be "${location.id}-data" (<location>-data; it names the state file), got "${id}" (location "${location.id}")`);
    }
    applyBackend(this, id, props.backend);

    const defaultTags = [{ tags: stackTags(id, location) }];
    new AwsProvider(this, 'aws', { region: location.region, defaultTags });
    // CloudFront's certificate and metrics live in us-east-1 only.
    const usEast1 = new AwsProvider(this, 'aws-us-east-1', { alias: 'us_east_1', region: 'us-east-1', defaultTags });

    // The account that owns the cluster's OIDC provider is the account of this stack.
    const accountId = arnAccountId(platform.oidcProviderArn);
    const windows = maintenanceWindowsFor(location.region);

    this.dataKey = new LocationKmsKey(this, 'data-key', {
      location,
      purpose: 'data',
      accountId,
      allowCloudWatchAlarms: true,
      cloudWatchLogGroupPrefixes: [postgresLogGroupPrefix(location.id), redisLogGroupPrefix(location.id)],
    });

    this.postgres = new PostgresWithReplicas(this, 'postgres', {
      location,
      vpcId: platform.vpcId,
      subnetIds: platform.databaseSubnetIds,
      encryptionKey: this.dataKey,
      backupWindow: windows.databaseBackup,
      maintenanceWindow: windows.databaseMaintenance,
    });
    this.postgres.allowFrom('cluster', platform.clusterSecurityGroupId);

    this.cache = new RedisReplicationGroup(this, 'redis', {
      location,
      vpcId: platform.vpcId,
      subnetIds: platform.privateSubnetIds,
      encryptionKey: this.dataKey,
      snapshotWindow: windows.redisSnapshot,
      maintenanceWindow: windows.redisMaintenance,
    });
    this.cache.allowFrom('cluster', platform.clusterSecurityGroupId);

    this.cdn = new CdnBucket(this, 'cdn', { location, accountId, usEast1Provider: usEast1, hostedZone: props.hostedZones?.cdn });
    this.webClient = new WebClientObjects(this, 'web-client', { location, cdn: this.cdn, build: props.webClient, stackId: id });
    // In the location's region (default provider): the app stack's NLB terminates TLS with it.
    this.apiCertificate = new ApiCertificate(this, 'api-certificate', { location, hostedZone: props.hostedZones?.api });

    this.appRole = new AppServiceRole(this, 'app-role', {
      location,
      oidcProviderArn: platform.oidcProviderArn,
      oidcIssuerHostPath: platform.oidcIssuerHostPath,
    });
    this.postgres.grantConnect(this.appRole.role, DATABASE_APP_USER);
    this.cache.grantConnect(this.appRole.role);
    this.cdn.grantWrite(this.appRole.role, MENU_IMAGES_PREFIX);
    this.cdn.grantInvalidate(this.appRole.role);

    // The app stack's bootstrap Job creates the app's login role as the master before each
    // migration; only its own service account's role may read the master secret.
    this.databaseBootstrapRole = new DatabaseBootstrapRole(this, 'db-bootstrap-role', {
      location,
      oidcProviderArn: platform.oidcProviderArn,
      oidcIssuerHostPath: platform.oidcIssuerHostPath,
    });
    this.postgres.grantReadMasterSecret(this.databaseBootstrapRole.role);

    this.alarms = new LocationAlarms(this, 'alarms', {
      location,
      database: this.postgres,
      redis: this.cache,
      cdn: this.cdn,
      encryptionKey: this.dataKey,
      accountId,
      usEast1Provider: usEast1,
    });

    this.database = {
      primaryHost: this.postgres.primaryHost,
      replicaHosts: this.postgres.replicaHosts,
      port: this.postgres.port,
      name: this.postgres.databaseName,
      appUser: DATABASE_APP_USER,
      masterSecretArn: this.postgres.masterSecretArn,
    };
    this.redis = {
      primaryHost: this.cache.primaryHost,
      readerHost: this.cache.readerHost,
      port: this.cache.port,
      user: this.cache.appUserName,
    };
    this.assets = {
      bucketName: this.cdn.bucketName,
      cdnDomainName: this.cdn.cdnDomainName,
      distributionId: this.cdn.distributionId,
    };
    this.appRoleArn = this.appRole.roleArn;
    this.databaseBootstrapRoleArn = this.databaseBootstrapRole.roleArn;
    this.apiCertificateArn = this.apiCertificate.certificateArn;

    // For operators; nothing secret is output (the master password exists only in its secret).
    const output = (name: string, value: unknown, description: string) => new TerraformOutput(this, name, { value, description });
    output('dbPrimaryEndpoint', this.database.primaryHost, 'PostgreSQL primary host name');
    output('dbReplicaEndpoints', this.database.replicaHosts, 'PostgreSQL read replica host names');
    output('dbPort', this.database.port, 'PostgreSQL port');
    output('dbName', this.database.name, 'Application database');
    output('dbAppUser', this.database.appUser, 'Application login role (RDS IAM authentication)');
    output('dbMasterSecretArn', this.database.masterSecretArn, 'Secrets Manager secret of the break-glass master login');
    output('redisPrimaryEndpoint', this.redis.primaryHost, 'Redis primary endpoint');
    output('redisReaderEndpoint', this.redis.readerHost, 'Redis reader endpoint');
    output('redisPort', this.redis.port, 'Redis port (TLS)');
    output('redisUser', this.redis.user, 'Redis RBAC user of the app (IAM authentication)');
    output('assetBucketName', this.assets.bucketName, 'S3 bucket of static assets and menu images');
    output('cdnDomainName', this.assets.cdnDomainName, 'Public CDN host name');
    output('cdnDistributionId', this.assets.distributionId, 'CloudFront distribution id');
    output('cdnDistributionDomainName', this.cdn.distribution.domainName, 'Target of the CNAME record for the CDN host name');
    output('cdnCertificateValidationRecords', this.cdn.certificate.domainValidationOptions, 'DNS records that validate the CDN certificate');
    output('apiCertificateArn', this.apiCertificateArn, `ACM certificate of ${location.domains.api} (issued), served by the nginx NLB`);
    output('apiCertificateValidationRecords', this.apiCertificate.validationRecords, 'DNS records that validate the API certificate');
    output('appRoleArn', this.appRoleArn, 'IAM role of the api service account (IRSA)');
    output('dbBootstrapRoleArn', this.databaseBootstrapRoleArn, 'IAM role of the database bootstrap Job service account (IRSA); reads the master secret');
    output('alarmTopicArn', this.alarms.topic.arn, 'SNS topic of the location alarms');
  }
}
