import { Testing } from '../../stacks/infra/cdktf';
import type { PeakResources } from '../../stacks/infra/constructs/kubernetes-conventions';
import { peakOf, peakPodsDuringRollout } from '../../stacks/infra/constructs/kubernetes-conventions';
import { CONTAINER_DEFAULT_RESOURCES, LocationNamespace, quotaTotals } from '../../stacks/infra/constructs/location-namespace';
import { resourcesOfType, synthJson } from '../support/stacks/synth-json';
import { testStack } from '../support/stacks/app-fixtures';
import { sampleLocation } from '../support/stacks/sample-locations';

const consumer = (peak: PeakResources) => ({ peakResources: peak });
const onePod: PeakResources = { pods: 1, cpuRequestMillicores: 100, cpuLimitMillicores: 200, memoryRequestMiB: 64, memoryLimitMiB: 128 };

describe('LocationNamespace', () => {
  const app = Testing.app();
  const location = sampleLocation('london-shoreditch');

  function synthNamespace(configure?: (ns: LocationNamespace) => void) {
    const stack = testStack(app);
    const ns = new LocationNamespace(stack, 'namespace', { location });
    configure?.(ns);
    return { ns, json: synthJson(stack) };
  }

  test('the namespace is the location id, labelled, and enforces the restricted Pod Security Standard', () => {
    const { json } = synthNamespace();
    const [namespace] = Object.values(resourcesOfType(json, 'kubernetes_namespace_v1'));
    expect(namespace.metadata.name).toBe('london-shoreditch');
    expect(namespace.metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'app.kubernetes.io/instance': 'london-shoreditch',
      'app.kubernetes.io/part-of': 'restaurant-platform',
      'app.kubernetes.io/managed-by': 'cdktf',
      'elbv2.k8s.aws/pod-readiness-gate-inject': 'enabled',
    });
  });

  test('the default service account mounts no API token', () => {
    const { json } = synthNamespace();
    const [sa] = Object.values(resourcesOfType(json, 'kubernetes_default_service_account_v1'));
    expect(sa.automount_service_account_token).toBe(false);
  });

  test('LimitRange defaults apply to containers that state no resources', () => {
    const { json } = synthNamespace();
    const [limitRange] = Object.values(resourcesOfType(json, 'kubernetes_limit_range_v1'));
    expect(limitRange.spec.limit).toEqual([
      {
        type: 'Container',
        default_request: { cpu: `${CONTAINER_DEFAULT_RESOURCES.cpuRequestMillicores}m`, memory: `${CONTAINER_DEFAULT_RESOURCES.memoryRequestMiB}Mi` },
        default: { cpu: `${CONTAINER_DEFAULT_RESOURCES.cpuLimitMillicores}m`, memory: `${CONTAINER_DEFAULT_RESOURCES.memoryLimitMiB}Mi` },
      },
    ]);
  });

  test('objects in the namespace reference it, so Terraform creates the namespace first', () => {
    const { ns } = synthNamespace();
    expect(ns.name).toMatch(/^\$\{TfToken\[/);
    expect(ns.serviceDomain).toBe('london-shoreditch.svc.cluster.local');
  });

  test('no quota until the workloads are known', () => {
    const { json } = synthNamespace();
    expect(resourcesOfType(json, 'kubernetes_resource_quota_v1')).toEqual({});
  });

  test('the quota is the sum of the consumers peaks plus 10 % headroom by default', () => {
    const { json } = synthNamespace((ns) => ns.addResourceQuota([consumer(onePod), consumer(peakOf(9, [onePod]))]));
    const [quota] = Object.values(resourcesOfType(json, 'kubernetes_resource_quota_v1'));
    expect(quota.spec.hard).toEqual({
      pods: '11',
      'requests.cpu': '1100m',
      'limits.cpu': '2200m',
      'requests.memory': '704Mi',
      'limits.memory': '1408Mi',
      'services.loadbalancers': '1',
    });
  });

  test('headroom and load balancers can be set', () => {
    const { json } = synthNamespace((ns) => ns.addResourceQuota([consumer(onePod)], { headroomPercent: 0, loadBalancers: 2 }));
    const [quota] = Object.values(resourcesOfType(json, 'kubernetes_resource_quota_v1'));
    expect(quota.spec.hard).toMatchObject({ pods: '1', 'requests.cpu': '100m', 'services.loadbalancers': '2' });
  });

  test.each([
    [2, 4],
    [4, 6],
    [16, 24],
  ])('a Deployment of %i replicas can hold %i pods during a rollout (surge plus terminating)', (replicas, pods) => {
    expect(peakPodsDuringRollout(replicas)).toBe(pods);
  });

  test('quota totals round up', () => {
    expect(quotaTotals([{ ...onePod, cpuRequestMillicores: 101 }], 10).cpuRequestMillicores).toBe(112);
  });

  test('fails when the quota is added twice', () => {
    expect(() =>
      synthNamespace((ns) => {
        ns.addResourceQuota([consumer(onePod)]);
        ns.addResourceQuota([consumer(onePod)]);
      }),
    ).toThrow('addResourceQuota may be called once per namespace, got a second call (location "london-shoreditch")');
  });

  test('fails when the quota has no consumers', () => {
    expect(() => synthNamespace((ns) => ns.addResourceQuota([]))).toThrow(
      'addResourceQuota needs at least 1 consumer, got 0 (location "london-shoreditch")',
    );
  });

  test('fails when headroom is outside 0..100', () => {
    expect(() => synthNamespace((ns) => ns.addResourceQuota([consumer(onePod)], { headroomPercent: 150 }))).toThrow(
      'headroomPercent must be an integer in 0..100, got 150 (location "london-shoreditch")',
    );
  });

  test('fails when a container default request exceeds its limit', () => {
    const stack = testStack(app);
    expect(
      () => new LocationNamespace(stack, 'namespace', { location, containerDefaults: { ...CONTAINER_DEFAULT_RESOURCES, memoryRequestMiB: 512 } }),
    ).toThrow('containerDefaults.memoryLimitMiB must be at least containerDefaults.memoryRequestMiB (512), got 256 (location "london-shoreditch")');
  });
});
