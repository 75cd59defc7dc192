/**
 * The public entry of a location: nginx behind an AWS Network Load Balancer, balancing the api
 * (least_conn) and the websocket servers (ip_hash) over their headless Services' pod addresses.
 * ConfigMap (rendered by `nginx/nginx-config.ts`, the one renderer), Deployment with a fixed
 * replica count (nginx is not autoscaled), LoadBalancer Service, PodDisruptionBudget.
 *
 * TLS ends at the NLB (a TLS listener on 443 with the data stack's ACM certificate); the NLB
 * forwards plain TCP to nginx on 8080. Only 443 is exposed: there is no port 80 to redirect from,
 * because behind a TLS-terminating NLB nginx cannot tell an HTTP connection from a decrypted
 * HTTPS one (that would need the PROXY protocol or a second target port), and a plain-HTTP
 * listener that served the API would send bearer tokens in the clear.
 *
 * Connection sizing (issue 12: one guest token opened 1,919 sockets until `worker_connections are
 * not enough`, and other restaurants' kitchens could not connect): nginx's connection table holds
 * every websocket the ws tier is planned for at its HPA maximum, with one nginx pod down, and
 * `limit_conn` keeps one client address to a location's worth of devices, so a flood runs into the
 * per-address limit (and the ws service's per-token caps), never into nginx's own ceiling.
 */
import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { Construct } from 'constructs';
import { ConfigMapV1 } from '@cdktf/provider-kubernetes/lib/config-map-v1';
import { DeploymentV1 } from '@cdktf/provider-kubernetes/lib/deployment-v1';
import { PodDisruptionBudgetV1 } from '@cdktf/provider-kubernetes/lib/pod-disruption-budget-v1';
import { ServiceAccountV1 } from '@cdktf/provider-kubernetes/lib/service-account-v1';
import { ServiceV1 } from '@cdktf/provider-kubernetes/lib/service-v1';
import { NGINX_CONTAINER_PORT, NGINX_CONTAINER_UID, NGINX_IMAGE, NGINX_STATUS_PATH, NGINX_STATUS_PORT, renderNginxConfig } from '../../../nginx/nginx-config';
import { WS_MEMORY_BUDGET } from '../../checks/capacity/capacity-check';
import { loadMeasuredCapacity, type MeasuredCapacity } from '../../checks/capacity/measured-capacity';
import { Token } from '../cdktf';
import type { WorkloadSizing } from '../config/location';
import { CONNECTIONS_PER_SEAT, CONNECTIONS_PER_WS_POD, PEAK_HEADROOM } from '../config/sizing';
import {
  type ContainerResources,
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
} from './kubernetes-conventions';
import type { HttpWorkload } from './http-workload';
import { cachedImage, type PullThroughCacheUrls } from './image-pull-through-cache';
import type { LocationNamespace } from './location-namespace';

/**
 * Service address range of the region's EKS cluster. The platform stack creates the cluster with
 * exactly this range (`EKS_SERVICE_IPV4_CIDR` in `eks-cluster.ts`; a test keeps the two equal).
 * Not a cross-stack value on purpose: nginx needs the DNS address at synth time, because it is
 * part of the rendered file and of the checksum that rolls the pods.
 */
export const CLUSTER_SERVICE_IPV4_CIDR = '172.20.0.0/16';

/** kube-dns's ClusterIP: EKS gives it the tenth address of the service range. */
export function kubeDnsServiceIp(serviceIpv4Cidr: string): string {
  const [address, prefix] = serviceIpv4Cidr.split('/');
  const prefixLength = Number(prefix);
  if (!address || !isIPv4(address) || !/^\d{1,2}$/.test(prefix ?? '') || prefixLength < 8 || prefixLength > 28) {
    throw new Error(`serviceIpv4Cidr must be an IPv4 CIDR with a prefix of 8..28 such as 172.20.0.0/16, got "${serviceIpv4Cidr}"`);
  }
  const base = address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  const network = base - (base % 2 ** (32 - prefixLength));
  const dns = network + 10;
  return [24, 16, 8, 0].map((shift) => Math.floor(dns / 2 ** shift) % 256).join('.');
}

/** IP address nginx resolves the headless Services with (a name would need DNS to find DNS). */
export const CLUSTER_DNS_IP = kubeDnsServiceIp(CLUSTER_SERVICE_IPV4_CIDR);

/**
 * How long nginx trusts a resolved pod address. Short, because a terminating pod keeps serving
 * only for its preStop sleep: the api/ws preStop must outlast this plus the DNS record TTL.
 */
export const NGINX_RESOLVER_VALID_SECONDS = 5;

/** nginx's own endpoints, as `nginx/nginx-config.ts` renders them (a test checks they are there). */
export const NGINX_HEALTH_PATH = '/nginx-health';
/** stub_status, served on the loopback-only status port (NGINX_STATUS_PORT) of each pod. */
export { NGINX_STATUS_PATH, NGINX_STATUS_PORT };

/**
 * Pinned exporter that turns `stub_status` into Prometheus metrics; the metric names it exposes
 * are listed in `nginx/stub-status.ts`, and the alert rules and dashboards use only those. From
 * NGINX's Amazon ECR Public repository, pulled through the region's ECR cache (`cachedImage`).
 */
export const NGINX_PROMETHEUS_EXPORTER_IMAGE = 'public.ecr.aws/nginx/nginx-prometheus-exporter:1.4.2';
export const NGINX_EXPORTER_PORT = 9113;
/** The exporter's image is a static binary on `scratch`; any non-root uid runs it. */
export const NGINX_EXPORTER_UID = 65534;

export const NGINX_DEFAULT_RESOURCES: ContainerResources = {
  cpuRequestMillicores: 100,
  cpuLimitMillicores: 1000,
  memoryRequestMiB: 64,
  memoryLimitMiB: 256,
};

export const NGINX_EXPORTER_DEFAULT_RESOURCES: ContainerResources = {
  cpuRequestMillicores: 10,
  cpuLimitMillicores: 100,
  memoryRequestMiB: 32,
  memoryLimitMiB: 64,
};

/** nginx's connection table never goes below the renderer's default. */
export const NGINX_MIN_WORKER_CONNECTIONS = 4096;
/**
 * Connection slots per worker kept for HTTP: client keep-alive connections and the api upstream
 * pool (the api traffic never came near the former 4096 in total).
 */
export const NGINX_HTTP_CONNECTIONS_PER_WORKER = 1024;

/**
 * Websocket connections one ws pod is planned to carry: the sizing's CONNECTIONS_PER_WS_POD (what
 * the HPA bounds are derived from), or fewer if the pod's memory limit holds fewer at the measured
 * memory per connection (`stacks/checks/capacity/measured-capacity.json`, as the capacity check counts).
 */
export function websocketConnectionsPerWsPod(ws: Pick<WorkloadSizing, 'memoryLimitMiB'>, measured: MeasuredCapacity = loadMeasuredCapacity()): number {
  const memoryHeld = Math.floor(((ws.memoryLimitMiB * WS_MEMORY_BUDGET - measured.ws.baselineMemoryMiB) * 1024) / measured.ws.memoryPerConnectionKiB);
  return Math.max(1, Math.min(CONNECTIONS_PER_WS_POD, memoryHeld));
}

export interface NginxConnectionSizingInput {
  /** The ws HPA's maximum (`sizing.ws.maxReplicas`). */
  readonly wsMaxReplicas: number;
  /** See `websocketConnectionsPerWsPod`. */
  readonly websocketConnectionsPerWsPod: number;
  /** Fixed nginx replicas (`sizing.nginx.replicas`). */
  readonly nginxReplicas: number;
  /** `business.seats` of the location. */
  readonly seats: number;
}

export interface NginxConnectionSizing {
  /** Websockets one nginx pod must carry: the ws tier at its maximum, spread over the nginx pods left while one is down. */
  readonly websocketsPerNginxPod: number;
  /** Per worker: two connections per websocket (client and upstream) plus the HTTP share. */
  readonly workerConnections: number;
  /** The location's devices at peak, with the planning headroom. */
  readonly websocketConnectionsPerAddress: number;
}

/**
 * nginx's connection sizing for a location.
 *
 * - Every worker gets room for the whole pod's websockets: accepts are not balanced across workers
 *   (no reuseport, accept_mutex off), and a slot costs a few hundred bytes.
 * - One nginx pod may be down (rollout, PDB maxUnavailable 1): the others carry its clients.
 * - Per address: a restaurant's devices share one public address behind its Wi-Fi (and guests on
 *   mobile data may share a carrier's NAT), so the limit admits the whole location's devices at
 *   peak, seats x CONNECTIONS_PER_SEAT x PEAK_HEADROOM (a reconnecting device briefly holds two
 *   sockets). The NLB spreads one address's connections over the nginx pods, so an address can hold
 *   at most replicas x this in all; the ws service's per-token and per-table caps sit on top.
 */
export function nginxConnectionSizing(input: NginxConnectionSizingInput): NginxConnectionSizing {
  const websocketsPerNginxPod = Math.ceil((input.wsMaxReplicas * input.websocketConnectionsPerWsPod) / Math.max(1, input.nginxReplicas - 1));
  return {
    websocketsPerNginxPod,
    workerConnections: Math.max(NGINX_MIN_WORKER_CONNECTIONS, 2 * websocketsPerNginxPod + NGINX_HTTP_CONNECTIONS_PER_WORKER),
    websocketConnectionsPerAddress: Math.ceil(input.seats * CONNECTIONS_PER_SEAT * PEAK_HEADROOM),
  };
}

/** Where the ConfigMap is mounted; nginx is started with `-c` on the file in it. */
const CONFIG_DIR = '/etc/nginx/k8s';
const CONFIG_KEY = 'nginx.conf';
/** The one port the Network Load Balancer listens on: TLS, terminated by the NLB. */
export const NLB_TLS_PORT = 443;
/** ELB security policy of the TLS listener: TLS 1.3 and 1.2 only (no TLS 1.0/1.1). */
export const NLB_TLS_POLICY = 'ELBSecurityPolicy-TLS13-1-2-2021-06';
/** Seconds between the end of nginx's `worker_shutdown_timeout` and SIGKILL: sockets closed, workers exited. */
const NGINX_EXIT_MARGIN_SECONDS = 5;
/** An ACM certificate; the region is checked separately, against the location's. */
const ACM_CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate\/[0-9a-f-]+$/;

/** The Service annotation ExternalDNS reads the public host name from. */
export const EXTERNAL_DNS_HOSTNAME_ANNOTATION = 'external-dns.alpha.kubernetes.io/hostname';

export interface NginxGatewayProps {
  readonly namespace: LocationNamespace;
  /** Upstream `api` (least_conn). */
  readonly api: HttpWorkload;
  /** Upstream `ws` (ip_hash). */
  readonly ws: HttpWorkload;
  /** Fixed replica count (`location.sizing.nginx.replicas`). */
  readonly replicas: number;
  /** The ws service's ping interval; nginx's websocket timeouts are derived from it. */
  readonly websocketHeartbeatIntervalMs: number;
  /**
   * ARN of the issued ACM certificate for `domains.api` in the location's region
   * (`LocationDataOutputs.apiCertificateArn`); the NLB's TLS listener serves it.
   */
  readonly tlsCertificateArn: string;
  /**
   * The region's ECR pull-through cache (`PlatformOutputs.pullThroughCacheUrls`): the nginx and
   * exporter images are pulled through it.
   * @default - pulled from their upstream registry (public.ecr.aws) directly
   */
  readonly pullThroughCacheUrls?: PullThroughCacheUrls;
  /**
   * Public host name (`domains.api`) that ExternalDNS (addons stack) points at the NLB. Set it
   * only when the platform settings name the hosted zone of that name; ExternalDNS manages only
   * those zones.
   * @default - no DNS record: the NLB host name is a stack output to point the name at by hand
   */
  readonly externalDnsHostname?: string;
  /** @default CLUSTER_DNS_IP */
  readonly clusterDnsIp?: string;
  /** @default NGINX_RESOLVER_VALID_SECONDS */
  readonly resolverValidSeconds?: number;
  /** @default NGINX_DEFAULT_RESOURCES */
  readonly resources?: ContainerResources;
  /** @default NGINX_EXPORTER_DEFAULT_RESOURCES */
  readonly exporterResources?: ContainerResources;
  /**
   * Seconds a terminating nginx pod keeps accepting connections, so the NLB target deregistration
   * (30 s delay, see the Service) stops new connections before nginx stops listening.
   * @default 15
   */
  readonly preStopSleepSeconds?: number;
  /**
   * nginx stops gracefully (the image's stop signal is SIGQUIT) and waits for open connections;
   * websockets still open after workerShutdownTimeoutSeconds are closed by nginx itself, and their
   * clients reconnect to another pod.
   * @default 60
   */
  readonly terminationGracePeriodSeconds?: number;
  /**
   * nginx's `worker_shutdown_timeout`: after the preStop sleep, how long nginx waits for open
   * connections (in practice: websockets) before closing them and exiting. Must end before
   * SIGKILL, i.e. be below terminationGracePeriodSeconds minus preStopSleepSeconds.
   * @default - terminationGracePeriodSeconds - preStopSleepSeconds - 5, at least 1 (40 with the defaults)
   */
  readonly workerShutdownTimeoutSeconds?: number;
  /**
   * Websocket connections one ws pod carries, the base of nginx's `worker_connections` (and of
   * `worker_rlimit_nofile`, which the renderer keeps above it).
   * @default - websocketConnectionsPerWsPod(location.sizing.ws): CONNECTIONS_PER_WS_POD, or fewer if the memory limit holds fewer
   */
  readonly websocketConnectionsPerWsPod?: number;
  /**
   * `limit_conn` on `/ws`: concurrent websockets per client address on one nginx pod. At most the
   * websockets one nginx pod is sized for.
   * @default - ceil(business.seats x CONNECTIONS_PER_SEAT x PEAK_HEADROOM), see `nginxConnectionSizing`
   */
  readonly websocketConnectionsPerAddress?: number;
}

export class NginxGateway extends Construct implements QuotaConsumer, PodGroup {
  readonly component = 'nginx' as const;
  readonly serviceAccount: ServiceAccountV1;
  readonly configMap: ConfigMapV1;
  readonly deployment: DeploymentV1;
  readonly service: ServiceV1;
  readonly disruptionBudget: PodDisruptionBudgetV1;
  /** The rendered nginx.conf, as stored in the ConfigMap. */
  readonly renderedConfig: string;
  /** sha256 of `renderedConfig`: a pod annotation, so a config change rolls the pods. */
  readonly configChecksum: string;
  readonly podSelector: Readonly<Record<string, string>>;
  /** The container port nginx listens on. */
  readonly port = NGINX_CONTAINER_PORT;
  readonly metricsPort = NGINX_EXPORTER_PORT;
  readonly peakResources: PeakResources;

  constructor(scope: Construct, id: string, props: NginxGatewayProps) {
    super(scope, id);
    const { namespace } = props;
    const location = namespace.location;
    const clusterDnsIp = props.clusterDnsIp ?? CLUSTER_DNS_IP;
    const resolverValidSeconds = props.resolverValidSeconds ?? NGINX_RESOLVER_VALID_SECONDS;
    const resources = props.resources ?? NGINX_DEFAULT_RESOURCES;
    const exporterResources = props.exporterResources ?? NGINX_EXPORTER_DEFAULT_RESOURCES;
    const preStopSleepSeconds = props.preStopSleepSeconds ?? 15;
    const terminationGracePeriodSeconds = props.terminationGracePeriodSeconds ?? 60;
    const at = `(location "${location.id}")`;
    if (!Number.isInteger(props.replicas) || props.replicas < 1) {
      throw new Error(`replicas must be a positive integer, got ${props.replicas} ${at}`);
    }
    if (!isIPv4(clusterDnsIp)) {
      throw new Error(`clusterDnsIp must be the IPv4 address of the cluster DNS Service (e.g. ${CLUSTER_DNS_IP}), got "${clusterDnsIp}" ${at}`);
    }
    if (!Number.isInteger(preStopSleepSeconds) || preStopSleepSeconds < 0) {
      throw new Error(`preStopSleepSeconds must be a non-negative integer, got ${preStopSleepSeconds} ${at}`);
    }
    if (!Number.isInteger(terminationGracePeriodSeconds) || terminationGracePeriodSeconds <= preStopSleepSeconds) {
      throw new Error(`terminationGracePeriodSeconds must be an integer above preStopSleepSeconds (${preStopSleepSeconds}), got ${terminationGracePeriodSeconds} ${at}`);
    }
    // What is left of the grace period once the preStop sleep is over and nginx gets SIGQUIT.
    const shutdownWindowSeconds = terminationGracePeriodSeconds - preStopSleepSeconds;
    const workerShutdownTimeoutSeconds = props.workerShutdownTimeoutSeconds ?? Math.max(1, shutdownWindowSeconds - NGINX_EXIT_MARGIN_SECONDS);
    if (!Number.isInteger(workerShutdownTimeoutSeconds) || workerShutdownTimeoutSeconds < 1 || workerShutdownTimeoutSeconds >= shutdownWindowSeconds) {
      throw new Error(
        `workerShutdownTimeoutSeconds must be a positive integer below terminationGracePeriodSeconds (${terminationGracePeriodSeconds}) minus preStopSleepSeconds (${preStopSleepSeconds}), i.e. below ${shutdownWindowSeconds}, got ${workerShutdownTimeoutSeconds} ${at}`,
      );
    }
    const perWsPod = props.websocketConnectionsPerWsPod ?? websocketConnectionsPerWsPod(location.sizing.ws);
    if (!Number.isInteger(perWsPod) || perWsPod < 1) {
      throw new Error(`websocketConnectionsPerWsPod must be a positive integer, got ${perWsPod} ${at}`);
    }
    const sizing = nginxConnectionSizing({
      wsMaxReplicas: location.sizing.ws.maxReplicas,
      websocketConnectionsPerWsPod: perWsPod,
      nginxReplicas: props.replicas,
      seats: location.business.seats,
    });
    const perAddress = props.websocketConnectionsPerAddress ?? sizing.websocketConnectionsPerAddress;
    if (!Number.isInteger(perAddress) || perAddress < 1 || perAddress > sizing.websocketsPerNginxPod) {
      throw new Error(
        `websocketConnectionsPerAddress must be an integer in 1..${sizing.websocketsPerNginxPod} (the websockets one nginx pod is sized for), got ${perAddress} ${at}`,
      );
    }
    const tlsCertificateArn = props.tlsCertificateArn;
    if (!Token.isUnresolved(tlsCertificateArn)) {
      const region = ACM_CERTIFICATE_ARN.exec(tlsCertificateArn ?? '')?.[1];
      if (region !== location.region) {
        throw new Error(
          `tlsCertificateArn must be the ARN of an ACM certificate in ${location.region} (arn:aws:acm:${location.region}:<account>:certificate/<id>; an NLB uses certificates of its own region only), got "${String(tlsCertificateArn)}" ${at}`,
        );
      }
    }

    this.renderedConfig = renderNginxConfig({
      mode: 'kubernetes',
      apiService: { dnsName: props.api.serviceDnsName, port: props.api.port },
      wsService: { dnsName: props.ws.serviceDnsName, port: props.ws.port },
      resolver: clusterDnsIp,
      resolverValidSeconds,
      websocketHeartbeatIntervalMs: props.websocketHeartbeatIntervalMs,
      listenPort: NGINX_CONTAINER_PORT,
      statusListenPort: NGINX_STATUS_PORT,
      // `auto` would start one worker per node CPU, not per CPU of this container's limit.
      workerProcesses: Math.max(1, Math.ceil(resources.cpuLimitMillicores / 1000)),
      workerConnections: sizing.workerConnections,
      websocketConnectionsPerAddress: perAddress,
      workerShutdownTimeoutSeconds,
      // nginx only ever sees the NLB's decrypted TCP, so `$scheme` would say http; clients can
      // reach it over TLS only (the Service exposes nothing but 443).
      forwardedProto: 'https',
    });
    this.configChecksum = createHash('sha256').update(this.renderedConfig).digest('hex');

    const selector = selectorLabels(location.id, 'nginx');
    const labels = standardLabels(location.id, 'nginx');
    const metadata = { name: 'nginx', namespace: namespace.name, labels };
    this.podSelector = selector;
    this.peakResources = peakOf(peakPodsDuringRollout(props.replicas), [resources, exporterResources]);

    this.serviceAccount = new ServiceAccountV1(this, 'service-account', {
      metadata,
      automountServiceAccountToken: false,
    });

    this.configMap = new ConfigMapV1(this, 'config', {
      metadata: { ...metadata, name: 'nginx-config' },
      data: { [CONFIG_KEY]: escapeTerraformTemplate(this.renderedConfig) },
    });

    const httpProbe = (periodSeconds: number, failureThreshold: number) => ({
      httpGet: { path: NGINX_HEALTH_PATH, port: 'http' },
      periodSeconds,
      timeoutSeconds: 2,
      failureThreshold,
    });
    const exporterProbe = { tcpSocket: [{ port: 'metrics' }], periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 };

    this.deployment = new DeploymentV1(this, 'deployment', {
      metadata,
      spec: {
        // Fixed: nginx is not autoscaled, so Terraform owns the count.
        replicas: String(props.replicas),
        selector: { matchLabels: selector },
        strategy: rollingUpdateStrategy(),
        revisionHistoryLimit: 5,
        minReadySeconds: 5,
        template: {
          metadata: {
            labels,
            annotations: {
              'checksum/config': this.configChecksum,
              'prometheus.io/scrape': 'true',
              'prometheus.io/port': String(NGINX_EXPORTER_PORT),
              'prometheus.io/path': '/metrics',
            },
          },
          spec: {
            serviceAccountName: this.serviceAccount.metadata.name,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            terminationGracePeriodSeconds,
            securityContext: restrictedPodSecurityContext(NGINX_CONTAINER_UID),
            topologySpreadConstraint: topologySpread(selector),
            volume: [
              // Pid file and every temp path of the rendered config live under /tmp.
              tmpVolume(256),
              { name: 'config', configMap: { name: this.configMap.metadata.name } },
            ],
            container: [
              {
                name: 'nginx',
                image: cachedImage(NGINX_IMAGE, props.pullThroughCacheUrls),
                imagePullPolicy: 'IfNotPresent',
                // Bypasses the image entrypoint, whose scripts try to rewrite files under /etc/nginx.
                command: ['nginx', '-c', `${CONFIG_DIR}/${CONFIG_KEY}`, '-g', 'daemon off;'],
                port: [{ name: 'http', containerPort: NGINX_CONTAINER_PORT, protocol: 'TCP' }],
                resources: resourceRequirements(resources),
                securityContext: restrictedContainerSecurityContext(NGINX_CONTAINER_UID),
                volumeMount: [tmpVolumeMount(), { name: 'config', mountPath: CONFIG_DIR, readOnly: true }],
                startupProbe: httpProbe(1, 30),
                livenessProbe: httpProbe(10, 3),
                readinessProbe: httpProbe(5, 2),
                lifecycle: { preStop: [{ exec: { command: ['sleep', String(preStopSleepSeconds)] } }] },
              },
              {
                name: 'exporter',
                image: cachedImage(NGINX_PROMETHEUS_EXPORTER_IMAGE, props.pullThroughCacheUrls),
                imagePullPolicy: 'IfNotPresent',
                args: [
                  // The status server listens on the pod's loopback only: nothing outside the pod reaches it.
                  `--nginx.scrape-uri=http://127.0.0.1:${NGINX_STATUS_PORT}${NGINX_STATUS_PATH}`,
                  `--web.listen-address=:${NGINX_EXPORTER_PORT}`,
                ],
                port: [{ name: 'metrics', containerPort: NGINX_EXPORTER_PORT, protocol: 'TCP' }],
                resources: resourceRequirements(exporterResources),
                securityContext: restrictedContainerSecurityContext(NGINX_EXPORTER_UID),
                livenessProbe: exporterProbe,
                readinessProbe: exporterProbe,
              },
            ],
          },
        },
      },
      waitForRollout: true,
      timeouts: { create: '10m', update: '10m' },
    });

    this.service = new ServiceV1(this, 'service', {
      metadata: {
        ...metadata,
        annotations: {
          // Provisioned by the AWS Load Balancer Controller (not the legacy in-tree controller).
          'service.beta.kubernetes.io/aws-load-balancer-type': 'external',
          // Targets are pod IPs, not node ports: no second hop through kube-proxy, and with
          // client IP preservation nginx sees the real client address, which ip_hash needs.
          'service.beta.kubernetes.io/aws-load-balancer-nlb-target-type': 'ip',
          'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing',
          'service.beta.kubernetes.io/aws-load-balancer-attributes': 'load_balancing.cross_zone.enabled=true',
          // TLS listener on 443 with the location's certificate; plain TCP from the NLB to nginx.
          'service.beta.kubernetes.io/aws-load-balancer-ssl-cert': tlsCertificateArn,
          'service.beta.kubernetes.io/aws-load-balancer-ssl-ports': String(NLB_TLS_PORT),
          'service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy': NLB_TLS_POLICY,
          'service.beta.kubernetes.io/aws-load-balancer-backend-protocol': 'tcp',
          // Client IP preservation is off by default for IP targets over TCP. 30 s deregistration
          // (default 300) keeps a rollout short; nginx's preStop sleep covers it for new connections.
          'service.beta.kubernetes.io/aws-load-balancer-target-group-attributes':
            'preserve_client_ip.enabled=true,deregistration_delay.timeout_seconds=30',
          'service.beta.kubernetes.io/aws-load-balancer-healthcheck-protocol': 'http',
          'service.beta.kubernetes.io/aws-load-balancer-healthcheck-path': NGINX_HEALTH_PATH,
          'service.beta.kubernetes.io/aws-load-balancer-healthcheck-port': 'traffic-port',
          // An alias record of the public name to the NLB, kept by ExternalDNS (addons stack).
          ...(props.externalDnsHostname ? { [EXTERNAL_DNS_HOSTNAME_ANNOTATION]: props.externalDnsHostname } : {}),
        },
      },
      spec: {
        type: 'LoadBalancer',
        // With IP targets the NLB bypasses kube-proxy and this changes nothing on the data path;
        // it keeps client IPs if someone switches to instance targets, where Cluster would SNAT.
        externalTrafficPolicy: 'Local',
        selector,
        port: [{ name: 'https', port: NLB_TLS_PORT, targetPort: 'http', protocol: 'TCP' }],
      },
      waitForLoadBalancer: true,
    });

    this.disruptionBudget = new PodDisruptionBudgetV1(this, 'disruption-budget', {
      metadata,
      spec: { maxUnavailable: '1', selector: { matchLabels: selector } },
    });
  }

  /** Public host name of the Network Load Balancer, known after apply (for the `domains.api` record). */
  get loadBalancerHostname(): string {
    return this.service.status.get(0).loadBalancer.get(0).ingress.get(0).hostname;
  }
}

/**
 * Terraform reads every JSON string as a template: `${` and `%{` would be interpolated. nginx
 * variables are `$name`, but a `${name}` form (valid nginx) must still reach the file verbatim.
 */
export function escapeTerraformTemplate(text: string): string {
  // Replacer functions: in a replacement string `$$` would itself mean one `$`.
  return text.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
}
