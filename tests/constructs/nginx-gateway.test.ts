import { createHash } from 'node:crypto';
import type { Construct } from 'constructs';
import { DEFAULT_WS_HEARTBEAT_INTERVAL_MS } from '../../contract/constants';
import { NGINX_CONTAINER_UID, NGINX_IMAGE, websocketProxyTimeoutSeconds } from '../../nginx/nginx-config';
import { TerraformVariable, Testing } from '../../stacks/infra/cdktf';
// Only the test imports it: the app stack itself should not load the AWS provider for a constant.
import { EKS_SERVICE_IPV4_CIDR } from '../../stacks/infra/constructs/eks-cluster';
import type { Location } from '../../stacks/infra/config/location';
import {
  CLUSTER_DNS_IP,
  CLUSTER_SERVICE_IPV4_CIDR,
  kubeDnsServiceIp,
  escapeTerraformTemplate,
  EXTERNAL_DNS_HOSTNAME_ANNOTATION,
  NGINX_HEALTH_PATH,
  NGINX_PROMETHEUS_EXPORTER_IMAGE,
  NGINX_STATUS_PATH,
  NGINX_STATUS_PORT,
  nginxConnectionSizing,
  NginxGateway,
  NLB_TLS_POLICY,
  type NginxGatewayProps,
  websocketConnectionsPerWsPod,
} from '../../stacks/infra/constructs/nginx-gateway';
import { loadMeasuredCapacity } from '../../stacks/checks/capacity/measured-capacity';
import { CONNECTIONS_PER_WS_POD } from '../../stacks/infra/config/sizing';
import { buildParts, resourceNamed } from '../support/stacks/app-fixtures';
import { type Json, synthJson } from '../support/stacks/synth-json';
import { apiCertificateArnFixture } from '../support/stacks/stack-outputs';
import { sampleLocation, sampleLocations } from '../support/stacks/sample-locations';

const locations = sampleLocations();

function gatewayFor(app: Construct, location: Location, props: Partial<NginxGatewayProps> = {}) {
  const parts = buildParts(app, location);
  const gateway = new NginxGateway(parts.stack, 'nginx', {
    namespace: parts.namespace,
    api: parts.api,
    ws: parts.ws,
    replicas: location.sizing.nginx.replicas,
    websocketHeartbeatIntervalMs: DEFAULT_WS_HEARTBEAT_INTERVAL_MS,
    tlsCertificateArn: apiCertificateArnFixture(location.region),
    ...props,
  });
  return { gateway, json: synthJson(parts.stack) };
}

describe('NginxGateway', () => {
  const app = Testing.app();
  const built = new Map(locations.map((l) => [l.id, gatewayFor(app, l)]));
  const of = (locationId: string, type: string, name: string): Json => resourceNamed(built.get(locationId)!.json, type, name);

  test.each(locations.map((l) => [l.id]))('%s: fixed replicas from the sizing (nginx is not autoscaled)', (locationId) => {
    const deployment = of(locationId, 'kubernetes_deployment_v1', 'nginx');
    expect(deployment.spec.replicas).toBe(String(sampleLocation(locationId).sizing.nginx.replicas));
    expect(deployment.lifecycle).toBeUndefined();
  });

  test.each(locations.map((l) => [l.id]))('%s: the config names the headless Services and the cluster resolver', (locationId) => {
    const config = built.get(locationId)!.gateway.renderedConfig;
    expect(config).toContain(`server api.${locationId}.svc.cluster.local:8080 resolve`);
    expect(config).toContain(`server ws.${locationId}.svc.cluster.local:8080 resolve`);
    expect(config).toContain(`resolver ${CLUSTER_DNS_IP} valid=5s`);
    expect(config).toContain('least_conn;');
    expect(config).toContain('ip_hash;');
    expect(config).toContain(`proxy_read_timeout ${websocketProxyTimeoutSeconds(DEFAULT_WS_HEARTBEAT_INTERVAL_MS)}s;`);
  });

  test('the ConfigMap holds the rendered config and the pods carry its sha256', () => {
    const { gateway } = built.get('sukhumvit-cafe')!;
    const configMap = of('sukhumvit-cafe', 'kubernetes_config_map_v1', 'nginx-config');
    expect(configMap.data['nginx.conf']).toBe(escapeTerraformTemplate(gateway.renderedConfig));
    const annotations = of('sukhumvit-cafe', 'kubernetes_deployment_v1', 'nginx').spec.template.metadata.annotations;
    expect(annotations['checksum/config']).toBe(createHash('sha256').update(gateway.renderedConfig).digest('hex'));
  });

  test('the checksum changes when the config changes, and only then', () => {
    const location = sampleLocation('sukhumvit-cafe');
    const same = gatewayFor(app, location).gateway.configChecksum;
    const otherHeartbeat = gatewayFor(app, location, { websocketHeartbeatIntervalMs: 40000 }).gateway.configChecksum;
    const otherResolver = gatewayFor(app, location, { clusterDnsIp: '10.100.0.10' }).gateway.configChecksum;
    expect(same).toBe(built.get('sukhumvit-cafe')!.gateway.configChecksum);
    expect(otherHeartbeat).not.toBe(same);
    expect(otherResolver).not.toBe(same);
  });

  test('without the platform cache, the images are pulled from NGINX\'s ECR Public repositories, never anonymously from Docker Hub', () => {
    const [nginx, exporter] = of('sukhumvit-cafe', 'kubernetes_deployment_v1', 'nginx').spec.template.spec.container;
    expect([nginx.image, exporter.image]).toEqual(['public.ecr.aws/nginx/nginx-unprivileged:1.28.0-alpine', 'public.ecr.aws/nginx/nginx-prometheus-exporter:1.4.2']);
  });

  test('with the platform cache, both images are pulled through it', () => {
    const location = sampleLocation('sukhumvit-cafe');
    const urls = { ecrPublic: '123456789012.dkr.ecr.ap-southeast-1.amazonaws.com/ecr-public', kubernetes: 'k', quay: 'q' };
    const { json } = gatewayFor(app, location, { pullThroughCacheUrls: urls });
    const [nginx, exporter] = resourceNamed(json, 'kubernetes_deployment_v1', 'nginx').spec.template.spec.container;
    expect(nginx.image).toBe(`${urls.ecrPublic}/nginx/nginx-unprivileged:1.28.0-alpine`);
    expect(exporter.image).toBe(`${urls.ecrPublic}/nginx/nginx-prometheus-exporter:1.4.2`);
  });

  test('nginx and the exporter run restricted, with probes, limits and writable /tmp', () => {
    const spec = of('kanchanaburi-resort', 'kubernetes_deployment_v1', 'nginx').spec.template.spec;
    expect(spec.security_context).toMatchObject({ run_as_non_root: true, run_as_user: String(NGINX_CONTAINER_UID) });
    const [nginx, exporter] = spec.container;
    expect(nginx.image).toBe(NGINX_IMAGE);
    expect(nginx.command).toEqual(['nginx', '-c', '/etc/nginx/k8s/nginx.conf', '-g', 'daemon off;']);
    expect(nginx.liveness_probe.http_get.path).toBe(NGINX_HEALTH_PATH);
    expect(nginx.readiness_probe.http_get.path).toBe(NGINX_HEALTH_PATH);
    expect(nginx.volume_mount).toEqual([
      { name: 'tmp', mount_path: '/tmp' },
      { name: 'config', mount_path: '/etc/nginx/k8s', read_only: true },
    ]);
    expect(exporter.image).toBe(NGINX_PROMETHEUS_EXPORTER_IMAGE);
    expect(exporter.image).toMatch(/:\d+\.\d+\.\d+$/);
    expect(exporter.args).toContain(`--nginx.scrape-uri=http://127.0.0.1:${NGINX_STATUS_PORT}${NGINX_STATUS_PATH}`);
    // The status port is loopback-only inside the pod: neither a container port nor a Service port.
    expect(JSON.stringify(spec.container)).not.toContain(`"container_port":${NGINX_STATUS_PORT}`);
    for (const container of [nginx, exporter]) {
      expect(container.resources.limits).toEqual({ cpu: expect.stringMatching(/m$/), memory: expect.stringMatching(/Mi$/) });
      expect(container.security_context).toMatchObject({ read_only_root_filesystem: true, allow_privilege_escalation: false, capabilities: { drop: ['ALL'] } });
      expect(container.liveness_probe).toBeDefined();
      expect(container.readiness_probe).toBeDefined();
    }
  });

  test('the renderer serves the health and status paths the probes and exporter use', () => {
    const config = built.get('london-shoreditch')!.gateway.renderedConfig;
    expect(config).toContain(`location = ${NGINX_HEALTH_PATH} {`);
    expect(config).toContain(`location = ${NGINX_STATUS_PATH} {`);
    expect(config).toContain(`listen 127.0.0.1:${NGINX_STATUS_PORT};`);
    expect(config).toContain('pid /tmp/nginx.pid;');
  });

  test('one worker per CPU of the container limit, not of the node', () => {
    expect(built.get('sukhumvit-cafe')!.gateway.renderedConfig).toContain('worker_processes 1;');
    const twoCpus = gatewayFor(app, sampleLocation('sukhumvit-cafe'), {
      resources: { cpuRequestMillicores: 500, cpuLimitMillicores: 1500, memoryRequestMiB: 64, memoryLimitMiB: 256 },
    });
    expect(twoCpus.gateway.renderedConfig).toContain('worker_processes 2;');
  });

  // ws tier at max replicas x 1,500 connections over the nginx pods left while one is down; two
  // connections per websocket plus 1,024 for HTTP; per address: seats x 0.6 devices x 2 headroom.
  test.each([
    ['kanchanaburi-resort', 'ws max 6, nginx 3, 420 seats', 10024, 11048, 504],
    ['london-shoreditch', 'ws max 4, nginx 2, 140 seats', 13024, 14048, 168],
    ['sukhumvit-cafe', 'ws max 3, nginx 2, 36 seats', 10024, 11048, 44],
  ])('%s (%s): connections sized from the ws HPA bounds and the seats', (locationId, _sizing, workerConnections, rlimit, perAddress) => {
    const config = built.get(locationId)!.gateway.renderedConfig;
    expect(config).toContain(`worker_connections ${workerConnections};`);
    expect(config).toContain(`worker_rlimit_nofile ${rlimit};`);
    expect(config).toContain(`limit_conn ws_per_address ${perAddress};`);
  });

  test('explicit per-pod and per-address websocket figures override the derived ones', () => {
    const { gateway } = gatewayFor(app, sampleLocation('sukhumvit-cafe'), { websocketConnectionsPerWsPod: 500, websocketConnectionsPerAddress: 60 });
    // 3 ws pods x 500 on the one nginx pod left: 2 x 1,500 + 1,024 is below the 4,096 floor.
    expect(gateway.renderedConfig).toContain('worker_connections 4096;');
    expect(gateway.renderedConfig).toContain('limit_conn ws_per_address 60;');
  });

  test.each<[string, Partial<NginxGatewayProps>, string]>([
    [
      'websocketConnectionsPerAddress is above what one nginx pod is sized for',
      { websocketConnectionsPerAddress: 4501 },
      'websocketConnectionsPerAddress must be an integer in 1..4500 (the websockets one nginx pod is sized for), got 4501 (location "sukhumvit-cafe")',
    ],
    [
      'websocketConnectionsPerAddress is 0',
      { websocketConnectionsPerAddress: 0 },
      'websocketConnectionsPerAddress must be an integer in 1..4500 (the websockets one nginx pod is sized for), got 0 (location "sukhumvit-cafe")',
    ],
    ['websocketConnectionsPerWsPod is 0', { websocketConnectionsPerWsPod: 0 }, 'websocketConnectionsPerWsPod must be a positive integer, got 0 (location "sukhumvit-cafe")'],
  ])('fails when %s', (_case, props, message) => {
    expect(() => gatewayFor(app, sampleLocation('sukhumvit-cafe'), props)).toThrow(new Error(message));
  });

  test('an internet-facing NLB with IP targets that preserves client IPs (ip_hash needs them)', () => {
    const service = of('sukhumvit-cafe', 'kubernetes_service_v1', 'nginx');
    expect(service.spec.type).toBe('LoadBalancer');
    expect(service.spec.external_traffic_policy).toBe('Local');
    expect(service.metadata.annotations).toMatchObject({
      'service.beta.kubernetes.io/aws-load-balancer-type': 'external',
      'service.beta.kubernetes.io/aws-load-balancer-nlb-target-type': 'ip',
      'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing',
      'service.beta.kubernetes.io/aws-load-balancer-attributes': 'load_balancing.cross_zone.enabled=true',
    });
    expect(service.metadata.annotations['service.beta.kubernetes.io/aws-load-balancer-target-group-attributes']).toContain(
      'preserve_client_ip.enabled=true',
    );
  });

  test.each(locations.map((l) => [l.id]))('%s: the NLB terminates TLS on 443 with the location certificate and exposes nothing else', (locationId) => {
    const location = sampleLocation(locationId);
    const service = of(locationId, 'kubernetes_service_v1', 'nginx');
    expect(service.spec.port).toEqual([{ name: 'https', port: 443, target_port: 'http', protocol: 'TCP' }]);
    expect(service.metadata.annotations).toMatchObject({
      'service.beta.kubernetes.io/aws-load-balancer-ssl-cert': apiCertificateArnFixture(location.region),
      'service.beta.kubernetes.io/aws-load-balancer-ssl-ports': '443',
      'service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy': 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      'service.beta.kubernetes.io/aws-load-balancer-backend-protocol': 'tcp',
    });
    expect(NLB_TLS_POLICY).toBe('ELBSecurityPolicy-TLS13-1-2-2021-06');
    // The NLB health check still speaks plain HTTP to nginx's container port.
    expect(service.metadata.annotations['service.beta.kubernetes.io/aws-load-balancer-healthcheck-port']).toBe('traffic-port');
  });

  test('without externalDnsHostname the Service asks ExternalDNS for nothing', () => {
    const service = of('sukhumvit-cafe', 'kubernetes_service_v1', 'nginx');
    expect(service.metadata.annotations).not.toHaveProperty([EXTERNAL_DNS_HOSTNAME_ANNOTATION]);
  });

  test('externalDnsHostname: ExternalDNS points the public API name at the NLB', () => {
    const location = sampleLocation('sukhumvit-cafe');
    const { json } = gatewayFor(Testing.app(), location, { externalDnsHostname: location.domains.api });
    const service = resourceNamed(json, 'kubernetes_service_v1', 'nginx');
    expect(EXTERNAL_DNS_HOSTNAME_ANNOTATION).toBe('external-dns.alpha.kubernetes.io/hostname');
    expect(service.metadata.annotations[EXTERNAL_DNS_HOSTNAME_ANNOTATION]).toBe('api.sukhumvit-cafe.banrimkwae.com');
  });

  test('nginx tells the upstreams the client came over https, not the scheme of the decrypted hop', () => {
    const config = built.get('sukhumvit-cafe')!.gateway.renderedConfig;
    expect(config.match(/proxy_set_header X-Forwarded-Proto https;/g)).toHaveLength(2);
    expect(config).not.toContain('X-Forwarded-Proto $scheme');
  });

  test('a certificate ARN that is a token (the data stack output) is passed through unchecked', () => {
    const location = sampleLocation('sukhumvit-cafe');
    const parts = buildParts(app, location);
    const arn = new TerraformVariable(parts.stack, 'certificate-arn', { type: 'string' }).stringValue;
    new NginxGateway(parts.stack, 'nginx', {
      namespace: parts.namespace,
      api: parts.api,
      ws: parts.ws,
      replicas: 2,
      websocketHeartbeatIntervalMs: DEFAULT_WS_HEARTBEAT_INTERVAL_MS,
      tlsCertificateArn: arn,
    });
    const service = resourceNamed(synthJson(parts.stack), 'kubernetes_service_v1', 'nginx');
    expect(service.metadata.annotations['service.beta.kubernetes.io/aws-load-balancer-ssl-cert']).toBe('${var.certificate-arn}');
  });

  test.each<[string, Partial<NginxGatewayProps>, string]>([
    ['the defaults (60 s grace, 15 s preStop)', {}, 'worker_shutdown_timeout 40s;'],
    ['a longer grace period', { terminationGracePeriodSeconds: 120, preStopSleepSeconds: 20 }, 'worker_shutdown_timeout 95s;'],
    ['a window of 5 s or less', { terminationGracePeriodSeconds: 20, preStopSleepSeconds: 15 }, 'worker_shutdown_timeout 1s;'],
    ['an explicit value', { workerShutdownTimeoutSeconds: 44 }, 'worker_shutdown_timeout 44s;'],
  ])('nginx closes leftover connections before SIGKILL: %s', (_case, props, directive) => {
    const { gateway, json } = gatewayFor(app, sampleLocation('sukhumvit-cafe'), props);
    expect(gateway.renderedConfig).toContain(directive);
    const seconds = Number(/worker_shutdown_timeout (\d+)s;/.exec(gateway.renderedConfig)![1]);
    const podSpec = resourceNamed(json, 'kubernetes_deployment_v1', 'nginx').spec.template.spec;
    const preStopSeconds = Number(podSpec.container[0].lifecycle.pre_stop[0].exec.command[1]);
    expect(preStopSeconds + seconds).toBeLessThan(podSpec.termination_grace_period_seconds);
  });

  test.each<[string, Partial<NginxGatewayProps>, string]>([
    [
      'workerShutdownTimeoutSeconds reaches the end of the grace period',
      { workerShutdownTimeoutSeconds: 45 },
      'workerShutdownTimeoutSeconds must be a positive integer below terminationGracePeriodSeconds (60) minus preStopSleepSeconds (15), i.e. below 45, got 45 (location "sukhumvit-cafe")',
    ],
    [
      'workerShutdownTimeoutSeconds is 0',
      { workerShutdownTimeoutSeconds: 0 },
      'workerShutdownTimeoutSeconds must be a positive integer below terminationGracePeriodSeconds (60) minus preStopSleepSeconds (15), i.e. below 45, got 0 (location "sukhumvit-cafe")',
    ],
    [
      'workerShutdownTimeoutSeconds is not an integer',
      { workerShutdownTimeoutSeconds: 2.5 },
      'workerShutdownTimeoutSeconds must be a positive integer below terminationGracePeriodSeconds (60) minus preStopSleepSeconds (15), i.e. below 45, got 2.5 (location "sukhumvit-cafe")',
    ],
    [
      'the grace period leaves nginx no second after the preStop sleep',
      { terminationGracePeriodSeconds: 16, preStopSleepSeconds: 15 },
      'workerShutdownTimeoutSeconds must be a positive integer below terminationGracePeriodSeconds (16) minus preStopSleepSeconds (15), i.e. below 1, got 1 (location "sukhumvit-cafe")',
    ],
    [
      'the certificate is the us-east-1 one (CloudFront\'s, not the NLB region\'s)',
      { tlsCertificateArn: apiCertificateArnFixture('us-east-1') },
      `tlsCertificateArn must be the ARN of an ACM certificate in ap-southeast-1 (arn:aws:acm:ap-southeast-1:<account>:certificate/<id>; an NLB uses certificates of its own region only), got "${apiCertificateArnFixture('us-east-1')}" (location "sukhumvit-cafe")`,
    ],
    [
      'the certificate is an IAM server certificate',
      { tlsCertificateArn: 'arn:aws:iam::123456789012:server-certificate/api' },
      'tlsCertificateArn must be the ARN of an ACM certificate in ap-southeast-1 (arn:aws:acm:ap-southeast-1:<account>:certificate/<id>; an NLB uses certificates of its own region only), got "arn:aws:iam::123456789012:server-certificate/api" (location "sukhumvit-cafe")',
    ],
    [
      'the certificate ARN is empty',
      { tlsCertificateArn: '' },
      'tlsCertificateArn must be the ARN of an ACM certificate in ap-southeast-1 (arn:aws:acm:ap-southeast-1:<account>:certificate/<id>; an NLB uses certificates of its own region only), got "" (location "sukhumvit-cafe")',
    ],
  ])('fails when %s', (_case, props, message) => {
    expect(() => gatewayFor(app, sampleLocation('sukhumvit-cafe'), props)).toThrow(new Error(message));
  });

  test('a PodDisruptionBudget lets a drain take one pod at a time', () => {
    const pdb = of('sukhumvit-cafe', 'kubernetes_pod_disruption_budget_v1', 'nginx');
    expect(pdb.spec.max_unavailable).toBe('1');
  });

  test('a dedicated service account without token', () => {
    const sa = of('sukhumvit-cafe', 'kubernetes_service_account_v1', 'nginx');
    expect(sa.automount_service_account_token).toBe(false);
    expect(sa.metadata.annotations).toBeUndefined();
  });

  test('fails when replicas is not a positive integer', () => {
    expect(() => gatewayFor(app, sampleLocation('sukhumvit-cafe'), { replicas: 0 })).toThrow(
      'replicas must be a positive integer, got 0 (location "sukhumvit-cafe")',
    );
  });

  test('fails when the cluster DNS address is a name', () => {
    expect(() => gatewayFor(app, sampleLocation('sukhumvit-cafe'), { clusterDnsIp: 'kube-dns.kube-system' })).toThrow(
      'clusterDnsIp must be the IPv4 address of the cluster DNS Service (e.g. 172.20.0.10), got "kube-dns.kube-system" (location "sukhumvit-cafe")',
    );
  });
});

describe('nginx gateway helpers', () => {
  test.each([
    ['172.20.0.0/16', '172.20.0.10'],
    ['10.100.0.0/16', '10.100.0.10'],
    ['10.96.0.0/12', '10.96.0.10'],
    ['172.20.5.7/16', '172.20.0.10'],
  ])('kube-dns of service range %s is %s', (cidr, ip) => {
    expect(kubeDnsServiceIp(cidr)).toBe(ip);
  });

  test('nginx resolves with the DNS address of the service range the platform creates the cluster with', () => {
    expect(CLUSTER_SERVICE_IPV4_CIDR).toBe(EKS_SERVICE_IPV4_CIDR);
    expect(CLUSTER_DNS_IP).toBe('172.20.0.10');
  });

  test('fails when the service range is not an IPv4 CIDR', () => {
    expect(() => kubeDnsServiceIp('172.20.0.0')).toThrow(
      'serviceIpv4Cidr must be an IPv4 CIDR with a prefix of 8..28 such as 172.20.0.0/16, got "172.20.0.0"',
    );
  });

  test.each([
    ['one nginx pod: it carries the whole tier', { wsMaxReplicas: 4, websocketConnectionsPerWsPod: 1500, nginxReplicas: 1, seats: 100 }, 6000, 13024, 120],
    ['three nginx pods: two carry the tier while one is down', { wsMaxReplicas: 6, websocketConnectionsPerWsPod: 1500, nginxReplicas: 3, seats: 420 }, 4500, 10024, 504],
    ['a small tier: never below the 4096 floor', { wsMaxReplicas: 2, websocketConnectionsPerWsPod: 500, nginxReplicas: 2, seats: 10 }, 1000, 4096, 12],
  ])('nginxConnectionSizing: %s', (_case, input, websocketsPerNginxPod, workerConnections, perAddress) => {
    expect(nginxConnectionSizing(input)).toEqual({ websocketsPerNginxPod, workerConnections, websocketConnectionsPerAddress: perAddress });
  });

  test('a ws pod carries the planned connections, or fewer when its memory limit holds fewer', () => {
    const measured = loadMeasuredCapacity();
    expect(websocketConnectionsPerWsPod({ memoryLimitMiB: 512 }, measured)).toBe(CONNECTIONS_PER_WS_POD);
    // 150 MiB x 0.8 budget - the idle process, at the measured KiB per connection.
    const expected = Math.floor(((150 * 0.8 - measured.ws.baselineMemoryMiB) * 1024) / measured.ws.memoryPerConnectionKiB);
    expect(expected).toBeLessThan(CONNECTIONS_PER_WS_POD);
    expect(websocketConnectionsPerWsPod({ memoryLimitMiB: 150 }, measured)).toBe(expected);
  });

  test('Terraform template sequences are escaped, nginx variables are not', () => {
    expect(escapeTerraformTemplate('set $a ${b}; %{c} $host')).toBe('set $a $${b}; %%{c} $host');
  });
});
