/**
 * Conventions every Kubernetes object of a location's app stack follows: recommended labels,
 * the restricted pod security settings, and the resource arithmetic the namespace quota uses.
 * Plain values, not constructs, so each workload construct applies the same rules the same way.
 */
import type { WorkloadSizing } from '../config/location';

/** The platform name in `app.kubernetes.io/part-of`. */
export const PART_OF = 'restaurant-platform';

/** uid and gid of the api/ws image (its Dockerfile creates this user; issue #4 builds it). */
export const APP_CONTAINER_UID = 10001;

/** Where every container gets a writable emptyDir; the root filesystem stays read-only. */
export const TMP_MOUNT_PATH = '/tmp';

export const WORKLOAD_COMPONENTS = ['api', 'ws', 'nginx', 'migrate', 'maintenance'] as const;
export type WorkloadComponent = (typeof WORKLOAD_COMPONENTS)[number];

/**
 * `app.kubernetes.io/name` per component: the application a pod runs. Jobs run the api image, so
 * they share its name and differ by component.
 */
const APP_NAMES: Readonly<Record<WorkloadComponent, string>> = {
  api: 'order-api',
  ws: 'order-ws',
  nginx: 'nginx',
  migrate: 'order-api',
  maintenance: 'order-api',
};

/**
 * The labels a selector matches on. Deployment selectors are immutable, so this set never
 * grows: adding a key would force every Deployment to be replaced.
 */
export function selectorLabels(locationId: string, component: WorkloadComponent): Record<string, string> {
  return {
    'app.kubernetes.io/name': APP_NAMES[component],
    'app.kubernetes.io/instance': locationId,
    'app.kubernetes.io/component': component,
  };
}

/** Every recommended label: selector labels plus the ones that only describe. */
export function standardLabels(locationId: string, component: WorkloadComponent): Record<string, string> {
  return {
    ...selectorLabels(locationId, component),
    'app.kubernetes.io/part-of': PART_OF,
    'app.kubernetes.io/managed-by': 'cdktf',
  };
}

/** Labels of objects that belong to the whole location rather than one component (namespace). */
export function locationLabels(locationId: string): Record<string, string> {
  return {
    'app.kubernetes.io/instance': locationId,
    'app.kubernetes.io/part-of': PART_OF,
    'app.kubernetes.io/managed-by': 'cdktf',
  };
}

/** A set of pods other constructs can address: NetworkPolicies select them by these labels. */
export interface PodGroup {
  readonly component: WorkloadComponent;
  readonly podSelector: Readonly<Record<string, string>>;
}

/**
 * Pod-level settings of the `restricted` Pod Security Standard, which the namespace enforces.
 * `fsGroup` makes emptyDir volumes writable by the container user.
 */
export function restrictedPodSecurityContext(uid: number) {
  return {
    runAsNonRoot: true,
    runAsUser: String(uid),
    runAsGroup: String(uid),
    fsGroup: String(uid),
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Container-level settings of the `restricted` standard plus a read-only root filesystem. */
export function restrictedContainerSecurityContext(uid: number) {
  return {
    runAsNonRoot: true,
    runAsUser: String(uid),
    runAsGroup: String(uid),
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Requests and limits of one container. */
export interface ContainerResources {
  readonly cpuRequestMillicores: number;
  readonly cpuLimitMillicores: number;
  readonly memoryRequestMiB: number;
  readonly memoryLimitMiB: number;
}

export function resourceRequirements(r: ContainerResources) {
  return {
    requests: { cpu: `${r.cpuRequestMillicores}m`, memory: `${r.memoryRequestMiB}Mi` },
    limits: { cpu: `${r.cpuLimitMillicores}m`, memory: `${r.memoryLimitMiB}Mi` },
  };
}

export function workloadResources(sizing: WorkloadSizing): ContainerResources {
  return {
    cpuRequestMillicores: sizing.cpuRequestMillicores,
    cpuLimitMillicores: sizing.cpuLimitMillicores,
    memoryRequestMiB: sizing.memoryRequestMiB,
    memoryLimitMiB: sizing.memoryLimitMiB,
  };
}

/** The most a workload can hold at once, for sizing the namespace's ResourceQuota. */
export interface PeakResources extends ContainerResources {
  readonly pods: number;
}

/** Something whose pods count against the namespace quota. */
export interface QuotaConsumer {
  readonly peakResources: PeakResources;
}

/** Per-pod resources (the sum over its containers) times a pod count. */
export function peakOf(pods: number, containers: readonly ContainerResources[]): PeakResources {
  const sum = (key: keyof ContainerResources) => containers.reduce((total, c) => total + c[key], 0) * pods;
  return {
    pods,
    cpuRequestMillicores: sum('cpuRequestMillicores'),
    cpuLimitMillicores: sum('cpuLimitMillicores'),
    memoryRequestMiB: sum('memoryRequestMiB'),
    memoryLimitMiB: sum('memoryLimitMiB'),
  };
}

/** Share of the desired replicas a rolling update may add (`maxSurge`); nothing goes down first. */
export const ROLLING_UPDATE_MAX_SURGE_PERCENT = 25;

export function rollingUpdateStrategy() {
  return {
    type: 'RollingUpdate',
    rollingUpdate: { maxUnavailable: '0', maxSurge: `${ROLLING_UPDATE_MAX_SURGE_PERCENT}%` },
  };
}

/**
 * Pods a Deployment of `replicas` can hold during a rollout: the surge pods of the new version,
 * plus as many old pods that still count against the quota while they terminate (a pod uses
 * quota until its grace period ends, and the next surge starts as soon as new pods are ready).
 */
export function peakPodsDuringRollout(replicas: number): number {
  const surge = Math.ceil((replicas * ROLLING_UPDATE_MAX_SURGE_PERCENT) / 100);
  return replicas + 2 * surge;
}

/** Spread replicas over zones first, then nodes; never refuse to schedule for it. */
export function topologySpread(selector: Readonly<Record<string, string>>) {
  return ['topology.kubernetes.io/zone', 'kubernetes.io/hostname'].map((topologyKey) => ({
    topologyKey,
    maxSkew: 1,
    whenUnsatisfiable: 'ScheduleAnyway',
    labelSelector: [{ matchLabels: { ...selector } }],
  }));
}

/** An emptyDir for `/tmp`, capped so a runaway temp file evicts the pod instead of filling the node. */
export function tmpVolume(sizeLimitMiB = 64) {
  return { name: 'tmp', emptyDir: { sizeLimit: `${sizeLimitMiB}Mi` } };
}

export function tmpVolumeMount() {
  return { name: 'tmp', mountPath: TMP_MOUNT_PATH };
}

/** Container `env` entries from a name-to-value map, in a stable order. */
export function environmentList(env: Readonly<Record<string, string>>) {
  return Object.keys(env)
    .sort()
    .map((name) => ({ name, value: env[name]! }));
}
