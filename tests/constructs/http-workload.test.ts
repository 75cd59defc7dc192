import { APP_INTERNAL_PORT, LIVENESS_PATH, READINESS_PATH } from '../../contract/constants';
import { Testing } from '../../stacks/infra/cdktf';
import { containerEnvironment } from '../../stacks/infra/constructs/container-environment';
import { buildParts, envOf, resourceNamed } from '../support/stacks/app-fixtures';
import { type Json, synthJson } from '../support/stacks/synth-json';
import { dataFixture } from '../support/stacks/stack-outputs';
import { sampleLocation, sampleLocations } from '../support/stacks/sample-locations';

const locations = sampleLocations();

describe('HttpWorkload', () => {
  const app = Testing.app();
  const synthesized = new Map(locations.map((l) => [l.id, synthJson(buildParts(app, l).stack)]));
  const cases = locations.flatMap((l) => (['api', 'ws'] as const).map((c) => [l.id, c] as const));
  const of = (locationId: string, type: string, name: string): Json => resourceNamed(synthesized.get(locationId), type, name);

  test.each(cases)('%s %s: the Deployment has no replicas and ignores replica changes (HPA-managed)', (locationId, component) => {
    const deployment = of(locationId, 'kubernetes_deployment_v1', component);
    expect(Object.keys(deployment.spec)).not.toContain('replicas');
    expect(deployment.lifecycle.ignore_changes).toEqual(['spec[0].replicas']);
    expect(deployment.wait_for_rollout).toBe(true);
  });

  test.each(cases)('%s %s: HPA bounds and targets come from the sizing', (locationId, component) => {
    const sizing = sampleLocation(locationId).sizing[component];
    const hpa = of(locationId, 'kubernetes_horizontal_pod_autoscaler_v2', component);
    expect(hpa.spec.min_replicas).toBe(sizing.minReplicas);
    expect(hpa.spec.max_replicas).toBe(sizing.maxReplicas);
    expect(hpa.spec.scale_target_ref).toMatchObject({ api_version: 'apps/v1', kind: 'Deployment' });
    expect(hpa.spec.metric.map((m: Json) => [m.resource.name, m.resource.target.average_utilization])).toEqual([
      ['cpu', 70],
      ['memory', 80],
    ]);
    expect(hpa.spec.behavior.scale_down[0].stabilization_window_seconds).toBe(300);
    expect(hpa.spec.behavior.scale_up[0].policy.length).toBeGreaterThan(0);
  });

  test.each(cases)('%s %s: container probes, resources and restricted security context', (locationId, component) => {
    const sizing = sampleLocation(locationId).sizing[component];
    const spec = of(locationId, 'kubernetes_deployment_v1', component).spec.template.spec;
    const [container] = spec.container;
    // Probes go to the internal port: the public one (what nginx proxies to) answers 404 there.
    expect(container.port).toEqual([
      { name: 'http', container_port: 8080, protocol: 'TCP' },
      { name: 'internal', container_port: APP_INTERNAL_PORT, protocol: 'TCP' },
    ]);
    expect(envOf(container).INTERNAL_PORT).toBe(String(APP_INTERNAL_PORT));
    expect(container.liveness_probe.http_get).toEqual({ path: LIVENESS_PATH, port: 'internal' });
    expect(container.readiness_probe.http_get).toEqual({ path: READINESS_PATH, port: 'internal' });
    expect(container.startup_probe.http_get).toEqual({ path: LIVENESS_PATH, port: 'internal' });
    expect(container.resources).toEqual({
      requests: { cpu: `${sizing.cpuRequestMillicores}m`, memory: `${sizing.memoryRequestMiB}Mi` },
      limits: { cpu: `${sizing.cpuLimitMillicores}m`, memory: `${sizing.memoryLimitMiB}Mi` },
    });
    expect(container.security_context).toMatchObject({
      run_as_non_root: true,
      run_as_user: '10001',
      read_only_root_filesystem: true,
      allow_privilege_escalation: false,
      capabilities: { drop: ['ALL'] },
      seccomp_profile: { type: 'RuntimeDefault' },
    });
    expect(spec.security_context).toMatchObject({ run_as_non_root: true, run_as_user: '10001', seccomp_profile: { type: 'RuntimeDefault' } });
    expect(container.volume_mount).toContainEqual({ name: 'tmp', mount_path: '/tmp' });
    expect(spec.volume).toContainEqual({ name: 'tmp', empty_dir: { size_limit: '64Mi' } });
  });

  test.each(cases)('%s %s: spreads over zones and nodes, rolls without losing capacity', (locationId, component) => {
    const deployment = of(locationId, 'kubernetes_deployment_v1', component);
    const spread = deployment.spec.template.spec.topology_spread_constraint;
    expect(spread.map((c: Json) => [c.topology_key, c.max_skew, c.when_unsatisfiable])).toEqual([
      ['topology.kubernetes.io/zone', 1, 'ScheduleAnyway'],
      ['kubernetes.io/hostname', 1, 'ScheduleAnyway'],
    ]);
    expect(deployment.spec.strategy.rolling_update).toEqual({ max_unavailable: '0', max_surge: '25%' });
  });

  test.each(cases)('%s %s: drains before SIGTERM, and the app stops before SIGKILL', (locationId, component) => {
    const spec = of(locationId, 'kubernetes_deployment_v1', component).spec.template.spec;
    const [container] = spec.container;
    expect(container.lifecycle.pre_stop[0].exec.command).toEqual(['node', '-e', 'setTimeout(() => {}, 15000)']);
    const graceMs = spec.termination_grace_period_seconds * 1000;
    expect(Number(envOf(container).SHUTDOWN_GRACE_MS)).toBeLessThan(graceMs - 15000);
  });

  test.each(cases)('%s %s: headless Service and PodDisruptionBudget', (locationId, component) => {
    const deployment = of(locationId, 'kubernetes_deployment_v1', component);
    const service = of(locationId, 'kubernetes_service_v1', component);
    expect(service.spec.cluster_ip).toBe('None');
    expect(service.spec.selector).toEqual(deployment.spec.selector.match_labels);
    const pdb = of(locationId, 'kubernetes_pod_disruption_budget_v1', component);
    expect(pdb.spec.max_unavailable).toBe('1');
    expect(pdb.spec.selector.match_labels).toEqual(deployment.spec.selector.match_labels);
  });

  test.each(['api', 'ws'])('Prometheus scrape annotations of %s point at the internal port', (component) => {
    const annotations = of('sukhumvit-cafe', 'kubernetes_deployment_v1', component).spec.template.metadata.annotations;
    expect(annotations).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090', 'prometheus.io/path': '/metrics' });
  });

  test('the Service exposes the API port only, not the internal one', () => {
    expect(of('sukhumvit-cafe', 'kubernetes_service_v1', 'api').spec.port).toEqual([{ name: 'http', port: 8080, target_port: 'http', protocol: 'TCP' }]);
  });

  test('no Kubernetes API token and the IRSA service account', () => {
    const spec = of('sukhumvit-cafe', 'kubernetes_deployment_v1', 'ws').spec.template.spec;
    expect(spec.automount_service_account_token).toBe(false);
    expect(spec.service_account_name).toMatch(/kubernetes_service_account_v1\.sa\.metadata\[0\]\.name/);
  });

  test('the DNS name nginx resolves', () => {
    const parts = buildParts(app, sampleLocation('sukhumvit-cafe'));
    expect(parts.api.serviceDnsName).toBe('api.sukhumvit-cafe.svc.cluster.local');
    expect(parts.ws.serviceDnsName).toBe('ws.sukhumvit-cafe.svc.cluster.local');
  });
});

describe('HttpWorkload errors', () => {
  const app = Testing.app();
  const location = sampleLocation('sukhumvit-cafe');

  test('fails when SHUTDOWN_GRACE_MS does not end before SIGKILL', () => {
    expect(() => buildParts(app, location, { api: { terminationGracePeriodSeconds: 30 } })).toThrow(
      'environment.SHUTDOWN_GRACE_MS must be set below (terminationGracePeriodSeconds - preStopSleepSeconds) x 1000 = 15000 so the process exits before SIGKILL, got "25000" (workload "api", location "sukhumvit-cafe")',
    );
  });

  test('fails when the grace period does not outlast the preStop sleep', () => {
    expect(() => buildParts(app, location, { ws: { preStopSleepSeconds: 60 } })).toThrow(
      'terminationGracePeriodSeconds must be an integer above preStopSleepSeconds (60), got 60 (workload "ws", location "sukhumvit-cafe")',
    );
  });

  test('fails when the environment puts INTERNAL_PORT elsewhere than the probes look', () => {
    const environment = { ...containerEnvironment({ role: 'api', location, data: dataFixture(location), shutdownGraceMs: 20000 }), INTERNAL_PORT: '9191' };
    expect(() => buildParts(app, location, { api: { environment } })).toThrow(
      'environment.INTERNAL_PORT must be "9090", the port the probes and scrape annotations use, got "9191" (workload "api", location "sukhumvit-cafe")',
    );
  });

  test('fails when the image is not pinned', () => {
    expect(() => buildParts(app, location, { api: { image: '123456789012.dkr.ecr.ap-southeast-1.amazonaws.com/restaurant/api:latest' } })).toThrow(
      'image must be a repository with a pinned tag (<repository>:<tag>, not latest), got "123456789012.dkr.ecr.ap-southeast-1.amazonaws.com/restaurant/api:latest" (workload "api", location "sukhumvit-cafe")',
    );
    expect(() => buildParts(app, location, { api: { image: 'registry.example:5000/api' } })).toThrow('image must be a repository with a pinned tag');
  });

  test('fails when a utilization target is outside 1..100', () => {
    expect(() => buildParts(app, location, { ws: { cpuTargetUtilizationPercent: 0 } })).toThrow(
      'cpuTargetUtilizationPercent must be an integer in 1..100, got 0 (workload "ws", location "sukhumvit-cafe")',
    );
  });

  test('fails when maxReplicas is below minReplicas', () => {
    expect(() => buildParts(app, location, { api: { sizing: { ...location.sizing.api, minReplicas: 5, maxReplicas: 3 } } })).toThrow(
      'sizing.maxReplicas must be an integer of at least sizing.minReplicas (5), got 3 (workload "api", location "sukhumvit-cafe")',
    );
  });
});
