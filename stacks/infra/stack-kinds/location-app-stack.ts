/**
 * `<location>-app`: everything of one restaurant location that runs in Kubernetes, in the
 * location's namespace of its region's EKS cluster. Inputs are the platform and data stacks'
 * contracts (cross-stack references in the real app, literals in unit tests).
 *
 * Apply order inside the stack: namespace and NetworkPolicies, then the release's database
 * bootstrap Job (the `app` role the migration logs in as), then its migration Job, then api, ws
 * and the CronJobs (they need the migrated schema); nginx does not wait.
 */
import type { Construct } from 'constructs';
import { KubernetesProvider } from '@cdktf/provider-kubernetes/lib/provider';
import { ServiceAccountV1 } from '@cdktf/provider-kubernetes/lib/service-account-v1';
import { APP_SERVICE_ACCOUNT_NAME, DEFAULT_WS_HEARTBEAT_INTERVAL_MS } from '../../../contract/constants';
import { applyBackend, type BackendConfig } from '../backend';
import { dependable, TerraformOutput, TerraformStack, Token, type ITerraformDependable } from '../cdktf';
import { clusterAccess } from '../cluster-access';
import type { Location } from '../config/location';
import type { LocationDataOutputs, PlatformOutputs } from '../stack-contracts';
import { containerEnvironment } from '../constructs/container-environment';
import { DatabaseBootstrapJob } from '../constructs/database-bootstrap-job';
import { DatabaseMaintenanceJobs } from '../constructs/database-maintenance-jobs';
import { HttpWorkload } from '../constructs/http-workload';
import { standardLabels, workloadResources } from '../constructs/kubernetes-conventions';
import { LocationNamespace } from '../constructs/location-namespace';
import { NetworkPolicies } from '../constructs/network-policies';
import { NGINX_RESOLVER_VALID_SECONDS, NginxGateway } from '../constructs/nginx-gateway';

export interface LocationAppStackProps {
  readonly location: Location;
  readonly platform: PlatformOutputs;
  readonly data: LocationDataOutputs;
  readonly backend: BackendConfig;
  /** Release tag of the api and ws images (ECR tags are immutable; `latest` is refused). */
  readonly imageTag: string;
  /**
   * Whether the platform settings name the Route 53 zone of `domains.api`: the nginx Service then
   * asks ExternalDNS (addons stack) to point the name at its NLB.
   * @default false - the NLB host name is an output, to point the name at by hand
   */
  readonly apiNameInHostedZone?: boolean;
}

/** Docker tag grammar. */
const IMAGE_TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** TTL CoreDNS gives cluster.local records (the EKS default Corefile: `kubernetes ... ttl 5`). */
const CLUSTER_DNS_TTL_SECONDS = 5;
/** Endpoint controller and CoreDNS watch catching up with a terminating pod. */
const ENDPOINT_PROPAGATION_SECONDS = 5;
/**
 * A terminating api/ws pod keeps serving this long before SIGTERM: until its address has left
 * the headless Service's DNS answer, CoreDNS's TTL and nginx's resolver cache.
 */
export const BACKEND_PRESTOP_SLEEP_SECONDS = ENDPOINT_PROPAGATION_SECONDS + CLUSTER_DNS_TTL_SECONDS + NGINX_RESOLVER_VALID_SECONDS;
/** Margin between the app's own shutdown deadline and SIGKILL: logs flushed, pools ended. */
const SHUTDOWN_MARGIN_SECONDS = 5;

/**
 * Time from the start of termination to SIGKILL. api: 25 s to finish requests after the preStop
 * sleep. ws: longer, so the server can close websockets with 1001 in batches and clients
 * reconnect to the other pods gradually instead of all at once.
 */
export const TERMINATION_GRACE_PERIOD_SECONDS = { api: 45, ws: 60 } as const;

/** The app's `SHUTDOWN_GRACE_MS`: what is left of the grace period after preStop, minus a margin. */
export function shutdownGraceMs(component: 'api' | 'ws'): number {
  return (TERMINATION_GRACE_PERIOD_SECONDS[component] - BACKEND_PRESTOP_SLEEP_SECONDS - SHUTDOWN_MARGIN_SECONDS) * 1000;
}

export class LocationAppStack extends TerraformStack {
  readonly namespace: LocationNamespace;
  readonly api: HttpWorkload;
  readonly ws: HttpWorkload;
  readonly gateway: NginxGateway;
  readonly jobs: DatabaseMaintenanceJobs;
  readonly databaseBootstrap: DatabaseBootstrapJob;
  readonly networkPolicies: NetworkPolicies;

  constructor(scope: Construct, id: string, props: LocationAppStackProps) {
    const { location, platform, data, imageTag } = props;
    validateProps(id, props);
    super(scope, id);
    applyBackend(this, id, props.backend);

    const access = clusterAccess(platform);
    new KubernetesProvider(this, 'kubernetes', {
      host: access.host,
      clusterCaCertificate: access.clusterCaCertificate,
      exec: [access.exec],
    });

    const apiImage = `${platform.ecrRepositoryUrls.api}:${imageTag}`;
    const wsImage = `${platform.ecrRepositoryUrls.ws}:${imageTag}`;
    // One value for both sides: the ws pings at this interval and nginx derives its websocket
    // timeout from it; the app's own default, so a process started without the variable agrees.
    const heartbeatMs = DEFAULT_WS_HEARTBEAT_INTERVAL_MS;

    this.namespace = new LocationNamespace(this, 'namespace', { location });

    // One service account for every pod of the api image: the contract makes all four roles
    // authenticate to RDS and ElastiCache with IAM, so each needs the role; the data stack
    // trusts exactly this service account (`system:serviceaccount:<location>:api`).
    const appServiceAccount = new ServiceAccountV1(this, 'app-service-account', {
      metadata: {
        name: APP_SERVICE_ACCOUNT_NAME,
        namespace: this.namespace.name,
        labels: standardLabels(location.id, 'api'),
        annotations: { 'eks.amazonaws.com/role-arn': data.appRoleArn },
      },
      automountServiceAccountToken: false,
    });

    const workload = (component: 'api' | 'ws', image: string) =>
      new HttpWorkload(this, component, {
        namespace: this.namespace,
        component,
        image,
        sizing: location.sizing[component],
        environment: containerEnvironment({
          role: component,
          location,
          data,
          shutdownGraceMs: shutdownGraceMs(component),
          websocketHeartbeatIntervalMs: heartbeatMs,
        }),
        serviceAccount: appServiceAccount,
        terminationGracePeriodSeconds: TERMINATION_GRACE_PERIOD_SECONDS[component],
        preStopSleepSeconds: BACKEND_PRESTOP_SLEEP_SECONDS,
      });
    this.api = workload('api', apiImage);
    this.ws = workload('ws', wsImage);

    this.gateway = new NginxGateway(this, 'nginx', {
      namespace: this.namespace,
      api: this.api,
      ws: this.ws,
      replicas: location.sizing.nginx.replicas,
      websocketHeartbeatIntervalMs: heartbeatMs,
      tlsCertificateArn: data.apiCertificateArn,
      // nginx and its exporter come through the region's ECR pull-through cache, not Docker Hub.
      pullThroughCacheUrls: platform.pullThroughCacheUrls,
      externalDnsHostname: props.apiNameInHostedZone ? location.domains.api : undefined,
    });

    this.jobs = new DatabaseMaintenanceJobs(this, 'database-jobs', {
      namespace: this.namespace,
      image: apiImage,
      releaseTag: imageTag,
      migrateEnvironment: containerEnvironment({ role: 'migrate', location, data }),
      maintenanceEnvironment: containerEnvironment({ role: 'maintenance', location, data }),
      serviceAccount: appServiceAccount,
      resources: workloadResources(location.sizing.api),
    });

    // Creates the role the migration logs in as, as the RDS master, under its own service account
    // (the data stack's bootstrap role, the only one that may read the master secret).
    this.databaseBootstrap = new DatabaseBootstrapJob(this, 'database-bootstrap', {
      namespace: this.namespace,
      image: apiImage,
      releaseTag: imageTag,
      environment: containerEnvironment({ role: 'db-bootstrap', location, data }),
      roleArn: data.databaseBootstrapRoleArn,
    });

    this.networkPolicies = new NetworkPolicies(this, 'network-policies', {
      namespace: this.namespace,
      gateway: this.gateway,
      backends: [this.api, this.ws],
      dataClients: [this.api, this.ws, this.jobs.migrationPods, this.jobs.maintenancePods],
      databaseAdminClients: [this.databaseBootstrap.pods],
      vpcCidrBlock: platform.vpcCidrBlock,
      databasePort: data.database.port,
      redisPort: data.redis.port,
    });

    this.namespace.addResourceQuota([this.api, this.ws, this.gateway, this.jobs, this.databaseBootstrap]);

    // The bootstrap and the migration must reach the database (their egress rules); the migration
    // logs in as the role the bootstrap makes, and must finish before the new code runs. A failed
    // bootstrap or migration fails the apply and leaves the running release untouched.
    runAfter(this.databaseBootstrap.job, ...this.networkPolicies.policies);
    runAfter(this.jobs.migration, ...this.networkPolicies.policies, this.databaseBootstrap.job);
    for (const dependent of [this.api.deployment, this.ws.deployment, ...this.jobs.cronJobs]) {
      runAfter(dependent, this.jobs.migration);
    }

    new TerraformOutput(this, 'namespaceName', {
      value: this.namespace.name,
      description: 'Kubernetes namespace of the location',
    });
    new TerraformOutput(this, 'nginxServiceName', {
      value: this.gateway.service.metadata.name,
      description: 'LoadBalancer Service in front of nginx',
    });
    new TerraformOutput(this, 'nginxLoadBalancerHostname', {
      value: this.gateway.loadBalancerHostname,
      description: props.apiNameInHostedZone
        ? `NLB host name (TLS on 443 only); ExternalDNS points ${location.domains.api} at it`
        : `NLB host name (TLS on 443 only); point ${location.domains.api} at it (an alias or CNAME record)`,
    });
  }
}

/**
 * Adds Terraform `depends_on` edges: `resource` is created after every one of `dependencies`.
 * Terraform takes only bare addresses there (`kubernetes_job_v1.x`); `fqn` is an interpolation
 * (`${kubernetes_job_v1.x}`), which `terraform validate` refuses, so each goes through cdktf's
 * `dependable`, the same token the `dependsOn` constructor prop produces.
 */
function runAfter(resource: { dependsOn?: string[] }, ...dependencies: readonly ITerraformDependable[]): void {
  resource.dependsOn = [...(resource.dependsOn ?? []), ...dependencies.map((d) => dependable(d))];
}

function validateProps(id: string, props: LocationAppStackProps): void {
  const { location, imageTag } = props;
  const expectedId = `${location.id}-app`;
  if (id !== expectedId) {
    throw new Error(`stack id must be "${expectedId}" (it names the state file), got "${id}" (location "${location.id}")`);
  }
  if (typeof imageTag !== 'string' || Token.isUnresolved(imageTag) || !IMAGE_TAG_PATTERN.test(imageTag) || imageTag === 'latest') {
    throw new Error(
      `imageTag must be a pinned image tag (1-128 letters, digits, _ . -, not starting with . or -, not "latest"), got "${String(imageTag)}" (location "${location.id}")`,
    );
  }
}
