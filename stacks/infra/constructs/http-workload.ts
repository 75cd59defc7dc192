/**
 * One HPA-managed HTTP workload of the api image (the order API or the websocket server): its
 * Deployment, a headless Service nginx resolves to pod addresses, a HorizontalPodAutoscaler
 * (autoscaling/v2) and a PodDisruptionBudget.
 *
 * The Deployment has no `replicas`: the HPA owns the count, and a value here would reset it on
 * every apply (Terraform would set the Deployment back to that count, undoing the HPA's scaling).
 * `ignore_changes` on `spec[0].replicas` keeps Terraform from ever reporting the HPA's changes as
 * drift (tests/constructs/http-workload.test.ts checks both).
 */
import { Construct } from 'constructs';
import { DeploymentV1 } from '@cdktf/provider-kubernetes/lib/deployment-v1';
import { HorizontalPodAutoscalerV2 } from '@cdktf/provider-kubernetes/lib/horizontal-pod-autoscaler-v2';
import { PodDisruptionBudgetV1 } from '@cdktf/provider-kubernetes/lib/pod-disruption-budget-v1';
import type { ServiceAccountV1 } from '@cdktf/provider-kubernetes/lib/service-account-v1';
import { ServiceV1 } from '@cdktf/provider-kubernetes/lib/service-v1';
import { APP_HTTP_PORT, APP_INTERNAL_PORT, LIVENESS_PATH, METRICS_PATH, READINESS_PATH } from '../../../contract/constants';
import { Token } from '../cdktf';
import type { WorkloadSizing } from '../config/location';
import {
  APP_CONTAINER_UID,
  environmentList,
  type PeakResources,
  peakOf,
  peakPodsDuringRollout,
  type PodGroup,
  type QuotaConsumer,
  resourceRequirements,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  rollingUpdateStrategy,
  selectorLabels,
  standardLabels,
  tmpVolume,
  tmpVolumeMount,
  topologySpread,
  workloadResources,
} from './kubernetes-conventions';
import type { LocationNamespace } from './location-namespace';

/** Name of the APP_INTERNAL_PORT container port (probes and metrics). */
export const INTERNAL_PORT_NAME = 'internal';

export interface HttpWorkloadProps {
  readonly namespace: LocationNamespace;
  /** Also the Deployment, Service and container name (`api` or `ws`): nginx's upstream host names. */
  readonly component: 'api' | 'ws';
  /** A pinned image reference (`<repository>:<tag>`). */
  readonly image: string;
  /** Requests, limits and HPA bounds. */
  readonly sizing: WorkloadSizing;
  /** From `containerEnvironment`; must contain `SHUTDOWN_GRACE_MS` and `INTERNAL_PORT` (APP_INTERNAL_PORT). */
  readonly environment: Readonly<Record<string, string>>;
  readonly serviceAccount: ServiceAccountV1;
  /** Seconds from the start of termination (the preStop hook runs first) until SIGKILL. */
  readonly terminationGracePeriodSeconds: number;
  /**
   * Seconds the preStop hook waits before the process gets SIGTERM, while the pod keeps serving:
   * long enough for its address to leave the headless Service's DNS answer and nginx's resolver
   * cache, so nginx stops sending new requests before the process stops accepting them.
   */
  readonly preStopSleepSeconds: number;
  /** @default 70 */
  readonly cpuTargetUtilizationPercent?: number;
  /**
   * Memory is a weak scaling signal for Node (V8 keeps its heap), so its target sits above CPU's:
   * it adds pods before the memory limit kills one, but rarely drives scale-down.
   * @default 80
   */
  readonly memoryTargetUtilizationPercent?: number;
  /**
   * How long the HPA waits for lower recommendations to persist before removing pods: a lunch
   * rush comes in waves, and a pod removed between two waves is missed in the next.
   * @default 300
   */
  readonly scaleDownStabilizationSeconds?: number;
}

/**
 * The autoscaling behaviour every api and ws HPA gets. Exported because the capacity check
 * (stacks/checks/capacity/) simulates the HPA with exactly these numbers.
 */
export const HPA_BEHAVIOUR = {
  cpuTargetUtilizationPercent: 70,
  memoryTargetUtilizationPercent: 80,
  scaleDownStabilizationSeconds: 300,
  /** Scale up at once: double, or add 4 pods, every 15 s, whichever adds more. */
  scaleUp: { percent: 100, pods: 4, periodSeconds: 15 },
  /** Scale down slowly: at most a quarter of the pods per minute, after the window. */
  scaleDown: { percent: 25, periodSeconds: 60 },
} as const;

export class HttpWorkload extends Construct implements QuotaConsumer, PodGroup {
  readonly component: 'api' | 'ws';
  readonly deployment: DeploymentV1;
  readonly service: ServiceV1;
  readonly autoscaler: HorizontalPodAutoscalerV2;
  readonly disruptionBudget: PodDisruptionBudgetV1;
  readonly podSelector: Readonly<Record<string, string>>;
  /** The container port, which is also the Service port (what nginx proxies to). */
  readonly port = APP_HTTP_PORT;
  /** Probes and metrics; only the kubelet and the monitoring namespace reach it (network-policies.ts). */
  readonly internalPort = APP_INTERNAL_PORT;
  /** `<name>.<namespace>.svc.cluster.local`: resolves to one address per ready pod. */
  readonly serviceDnsName: string;
  readonly peakResources: PeakResources;

  constructor(scope: Construct, id: string, props: HttpWorkloadProps) {
    super(scope, id);
    const { namespace, component, sizing } = props;
    const location = namespace.location;
    const cpuTarget = props.cpuTargetUtilizationPercent ?? HPA_BEHAVIOUR.cpuTargetUtilizationPercent;
    const memoryTarget = props.memoryTargetUtilizationPercent ?? HPA_BEHAVIOUR.memoryTargetUtilizationPercent;
    const scaleDownStabilizationSeconds = props.scaleDownStabilizationSeconds ?? HPA_BEHAVIOUR.scaleDownStabilizationSeconds;
    const { scaleUp, scaleDown } = HPA_BEHAVIOUR;
    validate(props, location.id, { cpuTarget, memoryTarget, scaleDownStabilizationSeconds });

    const name = component;
    const selector = selectorLabels(location.id, component);
    const labels = standardLabels(location.id, component);
    const metadata = { name, namespace: namespace.name, labels };
    this.component = component;
    this.podSelector = selector;
    this.serviceDnsName = `${name}.${namespace.serviceDomain}`;
    this.peakResources = peakOf(peakPodsDuringRollout(sizing.maxReplicas), [workloadResources(sizing)]);

    const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
      httpGet: { path, port: INTERNAL_PORT_NAME },
      periodSeconds,
      timeoutSeconds: 2,
      failureThreshold,
    });

    this.deployment = new DeploymentV1(this, 'deployment', {
      metadata,
      spec: {
        // No `replicas`: see the file comment.
        selector: { matchLabels: selector },
        strategy: rollingUpdateStrategy(),
        revisionHistoryLimit: 5,
        // Pods count as available only after 10 s of readiness, so a pod that passes one probe
        // and then fails under load does not let the rollout remove an old pod.
        minReadySeconds: 10,
        template: {
          metadata: {
            labels,
            annotations: {
              'prometheus.io/scrape': 'true',
              'prometheus.io/port': String(APP_INTERNAL_PORT),
              'prometheus.io/path': METRICS_PATH,
            },
          },
          spec: {
            serviceAccountName: props.serviceAccount.metadata.name,
            // IRSA credentials come from the pod identity webhook's own projected token.
            automountServiceAccountToken: false,
            // Pods do not need a variable per Service of the namespace; the app reads only its contract.
            enableServiceLinks: false,
            terminationGracePeriodSeconds: props.terminationGracePeriodSeconds,
            securityContext: restrictedPodSecurityContext(APP_CONTAINER_UID),
            topologySpreadConstraint: topologySpread(selector),
            volume: [tmpVolume()],
            container: [
              {
                name,
                image: props.image,
                imagePullPolicy: 'IfNotPresent',
                port: [
                  { name: 'http', containerPort: APP_HTTP_PORT, protocol: 'TCP' },
                  { name: INTERNAL_PORT_NAME, containerPort: APP_INTERNAL_PORT, protocol: 'TCP' },
                ],
                env: environmentList(props.environment),
                resources: resourceRequirements(workloadResources(sizing)),
                securityContext: restrictedContainerSecurityContext(APP_CONTAINER_UID),
                volumeMount: [tmpVolumeMount()],
                // Up to 60 s to start (migrations already ran; this covers a cold image pull
                // finishing and the first database connections), then the liveness probe takes over.
                startupProbe: probe(LIVENESS_PATH, 2, 30),
                livenessProbe: probe(LIVENESS_PATH, 10, 3),
                readinessProbe: probe(READINESS_PATH, 5, 2),
                lifecycle: {
                  // `node` is the one binary the image is sure to have (it may be distroless, without `sleep`).
                  preStop: [{ exec: { command: ['node', '-e', `setTimeout(() => {}, ${props.preStopSleepSeconds * 1000})`] } }],
                },
              },
            ],
          },
        },
      },
      // The apply fails, instead of reporting success, when the new pods never become ready.
      waitForRollout: true,
      timeouts: { create: '15m', update: '15m' },
      lifecycle: { ignoreChanges: ['spec[0].replicas'] },
    });

    this.service = new ServiceV1(this, 'service', {
      metadata,
      spec: {
        // Headless: DNS returns the ready pods' addresses, so nginx balances over pods itself
        // (least_conn, ip_hash) instead of over one virtual IP that kube-proxy balances again.
        clusterIp: 'None',
        selector,
        port: [{ name: 'http', port: APP_HTTP_PORT, targetPort: 'http', protocol: 'TCP' }],
      },
    });

    this.autoscaler = new HorizontalPodAutoscalerV2(this, 'autoscaler', {
      metadata,
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: this.deployment.metadata.name },
        minReplicas: sizing.minReplicas,
        maxReplicas: sizing.maxReplicas,
        metric: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: cpuTarget } } },
          { type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: memoryTarget } } },
        ],
        behavior: {
          scaleUp: [
            {
              stabilizationWindowSeconds: 0,
              selectPolicy: 'Max',
              policy: [
                { type: 'Percent', value: scaleUp.percent, periodSeconds: scaleUp.periodSeconds },
                { type: 'Pods', value: scaleUp.pods, periodSeconds: scaleUp.periodSeconds },
              ],
            },
          ],
          scaleDown: [
            {
              stabilizationWindowSeconds: scaleDownStabilizationSeconds,
              selectPolicy: 'Min',
              policy: [{ type: 'Percent', value: scaleDown.percent, periodSeconds: scaleDown.periodSeconds }],
            },
          ],
        },
      },
    });

    this.disruptionBudget = new PodDisruptionBudgetV1(this, 'disruption-budget', {
      metadata,
      spec: {
        // maxUnavailable, not minAvailable: a drain may always take one pod at a time, so it is
        // never blocked, and minReplicas >= 2 (location schema) keeps one serving meanwhile.
        maxUnavailable: '1',
        selector: { matchLabels: selector },
      },
    });
  }
}

/** `<repository>:<tag>`; a registry port (`host:5000/repo`) is not a tag, since tags hold no `/`. */
const PINNED_IMAGE = /^[^\s@]+:([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$/;

function validate(
  props: HttpWorkloadProps,
  locationId: string,
  resolved: { cpuTarget: number; memoryTarget: number; scaleDownStabilizationSeconds: number },
): void {
  const at = `(workload "${props.component}", location "${locationId}")`;
  const fail = (field: string, requirement: string, value: unknown): never => {
    throw new Error(`${field} must ${requirement}, got ${typeof value === 'string' ? `"${value}"` : String(value)} ${at}`);
  };
  if (props.component !== 'api' && props.component !== 'ws') fail('component', 'be "api" or "ws"', props.component);
  if (!Token.isUnresolved(props.image)) {
    const tag = PINNED_IMAGE.exec(props.image)?.[1];
    if (tag === undefined || tag === 'latest') fail('image', 'be a repository with a pinned tag (<repository>:<tag>, not latest)', props.image);
  }
  const { sizing } = props;
  if (!Number.isInteger(sizing.minReplicas) || sizing.minReplicas < 1) fail('sizing.minReplicas', 'be a positive integer', sizing.minReplicas);
  if (!Number.isInteger(sizing.maxReplicas) || sizing.maxReplicas < sizing.minReplicas) {
    fail('sizing.maxReplicas', `be an integer of at least sizing.minReplicas (${sizing.minReplicas})`, sizing.maxReplicas);
  }
  for (const [field, value] of [
    ['cpuTargetUtilizationPercent', resolved.cpuTarget],
    ['memoryTargetUtilizationPercent', resolved.memoryTarget],
  ] as const) {
    if (!Number.isInteger(value) || value < 1 || value > 100) fail(field, 'be an integer in 1..100', value);
  }
  if (!Number.isInteger(resolved.scaleDownStabilizationSeconds) || resolved.scaleDownStabilizationSeconds < 0 || resolved.scaleDownStabilizationSeconds > 3600) {
    fail('scaleDownStabilizationSeconds', 'be an integer in 0..3600', resolved.scaleDownStabilizationSeconds);
  }
  const grace = props.terminationGracePeriodSeconds;
  const preStop = props.preStopSleepSeconds;
  if (!Number.isInteger(preStop) || preStop < 0) fail('preStopSleepSeconds', 'be a non-negative integer', preStop);
  if (!Number.isInteger(grace) || grace <= preStop) {
    fail('terminationGracePeriodSeconds', `be an integer above preStopSleepSeconds (${preStop})`, grace);
  }
  // The probes and the scrape annotations name this port: a process listening elsewhere would
  // never turn ready.
  if (props.environment.INTERNAL_PORT !== String(APP_INTERNAL_PORT)) {
    fail('environment.INTERNAL_PORT', `be "${APP_INTERNAL_PORT}", the port the probes and scrape annotations use`, props.environment.INTERNAL_PORT);
  }
  // The process gets SIGTERM only after the preStop hook; it must finish before SIGKILL.
  const budgetMs = (grace - preStop) * 1000;
  const shutdownGrace = props.environment.SHUTDOWN_GRACE_MS;
  if (shutdownGrace === undefined || !/^\d+$/.test(shutdownGrace) || Number(shutdownGrace) >= budgetMs) {
    fail(
      'environment.SHUTDOWN_GRACE_MS',
      `be set below (terminationGracePeriodSeconds - preStopSleepSeconds) x 1000 = ${budgetMs} so the process exits before SIGKILL`,
      shutdownGrace,
    );
  }
}
