import { APP_SERVICE_ACCOUNT_NAME, DATABASE_BOOTSTRAP_SERVICE_ACCOUNT_NAME } from '../../contract/constants';
import { configSchema } from '../../contract/environment';
import { Testing } from '../../stacks/infra/cdktf';
import type { Location } from '../../stacks/infra/config/location';
import { databaseBootstrapJobName } from '../../stacks/infra/constructs/database-bootstrap-job';
import { MAINTENANCE_TASKS, migrationJobName } from '../../stacks/infra/constructs/database-maintenance-jobs';
import { MONITORING_NAMESPACE } from '../../stacks/infra/stack-kinds/addons-stack';
import { LocationAppStack, type LocationAppStackProps, shutdownGraceMs } from '../../stacks/infra/stack-kinds/location-app-stack';
import { allContainers, envOf, replaceTokens, resourceNamed } from '../support/stacks/app-fixtures';
import { type Json, resourcesOfType, synthJson } from '../support/stacks/synth-json';
import { dataFixture, LOCAL_BACKEND, platformFixture, TEST_IMAGE_TAG } from '../support/stacks/stack-outputs';
import { sampleLocation, sampleLocations } from '../support/stacks/sample-locations';

const locations = sampleLocations();

function propsFor(location: Location, overrides: Partial<LocationAppStackProps> = {}): LocationAppStackProps {
  return {
    location,
    platform: platformFixture(location.region),
    data: dataFixture(location),
    backend: LOCAL_BACKEND,
    imageTag: TEST_IMAGE_TAG,
    ...overrides,
  };
}

describe('LocationAppStack', () => {
  const app = Testing.app();
  const stacks = new Map(locations.map((l) => [l.id, new LocationAppStack(app, `${l.id}-app`, propsFor(l))]));
  const synthesized = new Map([...stacks].map(([id, stack]) => [id, synthJson(stack)]));
  const ids = locations.map((l) => [l.id]);
  const jsonOf = (id: string): Json => synthesized.get(id);

  test.each(ids)('%s: api and ws Deployments have no replicas key; nginx has the sized count', (id) => {
    const json = jsonOf(id);
    for (const name of ['api', 'ws']) {
      const deployment = resourceNamed(json, 'kubernetes_deployment_v1', name);
      expect(JSON.stringify(deployment)).not.toMatch(/"replicas"/);
      expect(deployment.lifecycle.ignore_changes).toEqual(['spec[0].replicas']);
    }
    expect(resourceNamed(json, 'kubernetes_deployment_v1', 'nginx').spec.replicas).toBe(String(sampleLocation(id).sizing.nginx.replicas));
  });

  test.each(ids)('%s: HPA bounds match the location sizing', (id) => {
    const location = sampleLocation(id);
    for (const name of ['api', 'ws'] as const) {
      const hpa = resourceNamed(jsonOf(id), 'kubernetes_horizontal_pod_autoscaler_v2', name);
      expect([hpa.spec.min_replicas, hpa.spec.max_replicas]).toEqual([location.sizing[name].minReplicas, location.sizing[name].maxReplicas]);
    }
  });

  test.each(ids)('%s: every container of every workload has limits and the restricted security context', (id) => {
    const containers = allContainers(jsonOf(id));
    expect(containers.map((c) => `${c.kind}/${c.workload}/${c.container.name}`).sort()).toEqual(
      [
        'Deployment/api/api',
        'Deployment/ws/ws',
        'Deployment/nginx/nginx',
        'Deployment/nginx/exporter',
        `Job/${databaseBootstrapJobName(TEST_IMAGE_TAG)}/db-bootstrap`,
        `Job/${migrationJobName(TEST_IMAGE_TAG)}/migrate`,
        ...MAINTENANCE_TASKS.map((t) => `CronJob/${t.name}/maintenance`),
      ].sort(),
    );
    for (const { container, podSpec } of containers) {
      expect(container.resources.limits.cpu).toMatch(/^\d+m$/);
      expect(container.resources.limits.memory).toMatch(/^\d+Mi$/);
      expect(container.resources.requests).toBeDefined();
      expect(container.security_context).toMatchObject({
        run_as_non_root: true,
        read_only_root_filesystem: true,
        allow_privilege_escalation: false,
        capabilities: { drop: ['ALL'] },
        seccomp_profile: { type: 'RuntimeDefault' },
      });
      expect(Number(container.security_context.run_as_user)).toBeGreaterThan(0);
      expect(podSpec.security_context).toMatchObject({ run_as_non_root: true, seccomp_profile: { type: 'RuntimeDefault' } });
      expect(podSpec.automount_service_account_token).toBe(false);
      expect(container.image).toMatch(/:[A-Za-z0-9_][A-Za-z0-9_.-]*$/);
      expect(container.image).not.toMatch(/:latest$/);
    }
  });

  test.each(ids)('%s: every long-running container has liveness and readiness probes', (id) => {
    for (const { kind, container } of allContainers(jsonOf(id))) {
      if (kind !== 'Deployment') continue;
      expect(container.liveness_probe).toBeDefined();
      expect(container.readiness_probe).toBeDefined();
    }
  });

  test.each(ids)('%s: every app container environment passes the strict app contract', (id) => {
    for (const { container } of allContainers(jsonOf(id))) {
      if (container.image.includes('nginx')) continue;
      const env = Object.fromEntries(Object.entries(envOf(container)).map(([k, v]) => [k, replaceTokens(v, 'resolved.fixture.internal')]));
      const result = configSchema.strict().safeParse(env);
      expect(result.error?.issues ?? []).toEqual([]);
    }
  });

  test.each(ids)('%s: PodDisruptionBudgets for api, ws and nginx; default deny NetworkPolicy', (id) => {
    const json = jsonOf(id);
    const pdbs = Object.values(resourcesOfType(json, 'kubernetes_pod_disruption_budget_v1')).map((p: Json) => p.metadata.name);
    expect(pdbs.sort()).toEqual(['api', 'nginx', 'ws']);
    expect(resourceNamed(json, 'kubernetes_network_policy_v1', 'default-deny-all').spec.policy_types).toEqual(['Ingress', 'Egress']);
  });

  test.each(ids)('%s: CronJob schedules', (id) => {
    const schedules = Object.values(resourcesOfType(jsonOf(id), 'kubernetes_cron_job_v1')).map((c: Json) => [c.metadata.name, c.spec.schedule]);
    expect(schedules.sort()).toEqual(MAINTENANCE_TASKS.map((t) => [t.name, t.schedule]).sort());
  });

  test.each(ids)('%s: everything lives in the location namespace', (id) => {
    const json = jsonOf(id);
    expect(Object.values(resourcesOfType(json, 'kubernetes_namespace_v1'))[0].metadata.name).toBe(id);
    for (const [type, resources] of Object.entries(json.resource as Record<string, Record<string, Json>>)) {
      if (type === 'kubernetes_namespace_v1') continue;
      for (const resource of Object.values(resources)) expect(resource.metadata.namespace).toMatch(/^\$\{kubernetes_namespace_v1\.namespace_/);
    }
  });

  test.each(ids)('%s: images are the release tag in the api and ws repositories', (id) => {
    const json = jsonOf(id);
    const { ecrRepositoryUrls } = platformFixture(sampleLocation(id).region);
    expect(resourceNamed(json, 'kubernetes_deployment_v1', 'api').spec.template.spec.container[0].image).toBe(`${ecrRepositoryUrls.api}:${TEST_IMAGE_TAG}`);
    expect(resourceNamed(json, 'kubernetes_deployment_v1', 'ws').spec.template.spec.container[0].image).toBe(`${ecrRepositoryUrls.ws}:${TEST_IMAGE_TAG}`);
  });

  test.each(ids)("%s: nginx and its exporter come through the region's ECR pull-through cache of ECR Public, tags kept", (id) => {
    const { pullThroughCacheUrls } = platformFixture(sampleLocation(id).region);
    const [nginx, exporter] = resourceNamed(jsonOf(id), 'kubernetes_deployment_v1', 'nginx').spec.template.spec.container;
    expect(nginx.image).toBe(`${pullThroughCacheUrls.ecrPublic}/nginx/nginx-unprivileged:1.28.0-alpine`);
    expect(exporter.image).toBe(`${pullThroughCacheUrls.ecrPublic}/nginx/nginx-prometheus-exporter:1.4.2`);
    // No digests: none was read from a registry, and a pinned release tag is what K8S-007 asks for.
    for (const image of [nginx.image, exporter.image]) expect(image).not.toContain('@sha256:');
  });

  test.each(ids)("%s: the nginx NLB serves the data stack's API certificate on 443 only", (id) => {
    const service = resourceNamed(jsonOf(id), 'kubernetes_service_v1', 'nginx');
    expect(service.metadata.annotations['service.beta.kubernetes.io/aws-load-balancer-ssl-cert']).toBe(dataFixture(sampleLocation(id)).apiCertificateArn);
    expect(service.spec.port.map((p: Json) => p.port)).toEqual([443]);
  });

  test.each(ids)('%s: nginx closes leftover websockets itself before the kubelet kills it', (id) => {
    const gateway = stacks.get(id)!.gateway;
    const seconds = Number(/worker_shutdown_timeout (\d+)s;/.exec(gateway.renderedConfig)![1]);
    const podSpec = resourceNamed(jsonOf(id), 'kubernetes_deployment_v1', 'nginx').spec.template.spec;
    const preStopSeconds = Number(podSpec.container[0].lifecycle.pre_stop[0].exec.command[1]);
    expect(preStopSeconds + seconds).toBeLessThan(podSpec.termination_grace_period_seconds);
  });

  test('the api service account carries the IRSA role and no token', () => {
    const sa = resourceNamed(jsonOf('sukhumvit-cafe'), 'kubernetes_service_account_v1', 'api');
    expect(sa.metadata.annotations).toEqual({ 'eks.amazonaws.com/role-arn': dataFixture(sampleLocation('sukhumvit-cafe')).appRoleArn });
    expect(sa.automount_service_account_token).toBe(false);
  });

  test('the bootstrap Job has its own service account with the bootstrap role; the app account is not used for it', () => {
    const json = jsonOf('sukhumvit-cafe');
    const sa = resourceNamed(json, 'kubernetes_service_account_v1', DATABASE_BOOTSTRAP_SERVICE_ACCOUNT_NAME);
    expect(sa.metadata.annotations).toEqual({ 'eks.amazonaws.com/role-arn': dataFixture(sampleLocation('sukhumvit-cafe')).databaseBootstrapRoleArn });
    const bootstrap = resourceNamed(json, 'kubernetes_job_v1', databaseBootstrapJobName(TEST_IMAGE_TAG));
    expect(bootstrap.spec.template.spec.service_account_name).toMatch(/^\$\{kubernetes_service_account_v1\.database-bootstrap_service-account_/);
    // Every other pod runs under the app's account, which cannot read the master secret.
    for (const { workload, podSpec } of allContainers(json)) {
      if (workload === bootstrap.metadata.name || workload === 'nginx') continue;
      expect(podSpec.service_account_name).toMatch(/^\$\{kubernetes_service_account_v1\.app-service-account\./);
    }
  });

  test('only the bootstrap pods may reach the database without Redis, and they are no data client', () => {
    const json = jsonOf('sukhumvit-cafe');
    const admin = resourceNamed(json, 'kubernetes_network_policy_v1', 'allow-database-admin-egress');
    expect(admin.spec.pod_selector.match_expressions[0].values).toEqual(['db-bootstrap']);
    expect(resourceNamed(json, 'kubernetes_network_policy_v1', 'allow-data-egress').spec.pod_selector.match_expressions[0].values).toEqual([
      'api',
      'ws',
      'migrate',
      'maintenance',
    ]);
  });

  test('apply order: policies, then the bootstrap, then the migration, then api, ws and CronJobs', () => {
    const json = jsonOf('london-shoreditch');
    const jobs = resourcesOfType(json, 'kubernetes_job_v1');
    const idOf = (name: string) => Object.entries(jobs).find(([, job]) => job.metadata.name === name)![0];
    const [bootstrapId, migrationId] = [idOf(databaseBootstrapJobName(TEST_IMAGE_TAG)), idOf(migrationJobName(TEST_IMAGE_TAG))];
    const policyIds = Object.keys(resourcesOfType(json, 'kubernetes_network_policy_v1'));
    const policies = policyIds.map((p) => `kubernetes_network_policy_v1.${p}`);
    expect(policyIds.some((p) => p.startsWith('network-policies_database-admin-egress_'))).toBe(true);
    expect([...jobs[bootstrapId].depends_on].sort()).toEqual([...policies].sort());
    expect([...jobs[migrationId].depends_on].sort()).toEqual([...policies, `kubernetes_job_v1.${bootstrapId}`].sort());
    const dependents = [
      resourceNamed(json, 'kubernetes_deployment_v1', 'api'),
      resourceNamed(json, 'kubernetes_deployment_v1', 'ws'),
      ...Object.values(resourcesOfType(json, 'kubernetes_cron_job_v1')),
    ];
    for (const dependent of dependents) expect(dependent.depends_on).toEqual([`kubernetes_job_v1.${migrationId}`]);
    expect(resourceNamed(json, 'kubernetes_deployment_v1', 'nginx').depends_on).toBeUndefined();
  });

  test('the provider reaches the region cluster with a short-lived token', () => {
    const [provider] = jsonOf('kanchanaburi-resort').provider.kubernetes;
    expect(provider.host).toBe(platformFixture('ap-southeast-1').clusterEndpoint);
    expect(provider.exec[0]).toEqual({
      api_version: 'client.authentication.k8s.io/v1beta1',
      command: 'aws',
      args: ['eks', 'get-token', '--cluster-name', 'platform-ap-southeast-1', '--region', 'ap-southeast-1'],
    });
  });

  test('state and outputs', () => {
    const json = jsonOf('sukhumvit-cafe');
    expect(json.terraform.backend.local.path).toBe('../../../.tfstate/sukhumvit-cafe-app.tfstate');
    expect(Object.keys(json.output).sort()).toEqual(['namespaceName', 'nginxLoadBalancerHostname', 'nginxServiceName']);
  });

  test('the quota covers HPA maxima during rollouts, nginx and the jobs (sukhumvit-cafe)', () => {
    // api 4 max -> 6 pods x 250m/1000m/256Mi/512Mi; ws 3 -> 5 x 100m/500m/192Mi/384Mi;
    // nginx 2 -> 4 x (110m/1100m/96Mi/320Mi); jobs 3 x api; the bootstrap 1 x 50m/500m/128Mi/256Mi
    // (it may run while a CronJob does); plus 10 %.
    const quota = Object.values(resourcesOfType(jsonOf('sukhumvit-cafe'), 'kubernetes_resource_quota_v1'))[0];
    expect(quota.spec.hard).toEqual({
      pods: '21',
      'requests.cpu': '3564m',
      'limits.cpu': '18040m',
      'requests.memory': '4154Mi',
      'limits.memory': '8871Mi',
      'services.loadbalancers': '1',
    });
  });

  test('SHUTDOWN_GRACE_MS leaves the preStop sleep and a margin inside the grace period', () => {
    expect(shutdownGraceMs('api')).toBe(25000);
    expect(shutdownGraceMs('ws')).toBe(40000);
    const ws = resourceNamed(jsonOf('sukhumvit-cafe'), 'kubernetes_deployment_v1', 'ws').spec.template.spec;
    expect(ws.termination_grace_period_seconds).toBe(60);
    expect(envOf(ws.container[0]).SHUTDOWN_GRACE_MS).toBe('40000');
  });

  test('snapshot (sukhumvit-cafe)', () => {
    expect(stripVolatile(jsonOf('sukhumvit-cafe'))).toMatchSnapshot();
  });
});

describe('LocationAppStack errors', () => {
  const app = Testing.app();
  const location = sampleLocation('sukhumvit-cafe');

  test.each([
    ['latest', '"latest"'],
    ['', '""'],
    ['v1 beta', '"v1 beta"'],
    ['-v1', '"-v1"'],
  ])('fails when imageTag is %j', (imageTag, shown) => {
    expect(() => new LocationAppStack(app, 'sukhumvit-cafe-app', propsFor(location, { imageTag }))).toThrow(
      `imageTag must be a pinned image tag (1-128 letters, digits, _ . -, not starting with . or -, not "latest"), got ${shown} (location "sukhumvit-cafe")`,
    );
  });

  test('fails when the stack id is not <location>-app', () => {
    expect(() => new LocationAppStack(app, 'sukhumvit-app', propsFor(location))).toThrow(
      'stack id must be "sukhumvit-cafe-app" (it names the state file), got "sukhumvit-app" (location "sukhumvit-cafe")',
    );
  });
});

describe('LocationAppStack agreements with the other stacks', () => {
  const app = Testing.app();
  const json = synthJson(new LocationAppStack(app, 'london-shoreditch-app', propsFor(sampleLocation('london-shoreditch'))));

  test('the IRSA service account is the one the data stack role trusts', () => {
    const sa = resourceNamed(json, 'kubernetes_service_account_v1', APP_SERVICE_ACCOUNT_NAME);
    expect(sa.metadata.annotations['eks.amazonaws.com/role-arn']).toBeDefined();
  });

  test('scrapes are allowed from the namespace the addons stack installs Prometheus in', () => {
    const ingress = resourceNamed(json, 'kubernetes_network_policy_v1', 'allow-api-ingress');
    expect(ingress.spec.ingress[1].from[0].namespace_selector.match_labels['kubernetes.io/metadata.name']).toBe(MONITORING_NAMESPACE);
  });
});

/**
 * Drops what changes for reasons outside this stack: cdktf's metadata block, and the nginx.conf
 * body and its checksum (the renderer has its own tests; here only their presence matters).
 */
function stripVolatile(json: Json): Json {
  const copy = JSON.parse(JSON.stringify(json));
  delete copy['//'];
  for (const configMap of Object.values(resourcesOfType(copy, 'kubernetes_config_map_v1'))) {
    configMap.data['nginx.conf'] = '<rendered by nginx/nginx-config.ts>';
  }
  const annotations = resourceNamed(copy, 'kubernetes_deployment_v1', 'nginx').spec.template.metadata.annotations;
  annotations['checksum/config'] = '<sha256 of nginx.conf>';
  return copy;
}
