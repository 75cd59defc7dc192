import type { Construct } from 'constructs';
import { DEFAULT_WS_HEARTBEAT_INTERVAL_MS } from '../../contract/constants';
import { Testing } from '../../stacks/infra/cdktf';
import type { Location } from '../../stacks/infra/config/location';
import { NetworkPolicies, type NetworkPoliciesProps } from '../../stacks/infra/constructs/network-policies';
import { NginxGateway } from '../../stacks/infra/constructs/nginx-gateway';
import { buildParts, resourceNamed } from '../support/stacks/app-fixtures';
import { type Json, resourcesOfType, synthJson } from '../support/stacks/synth-json';
import { apiCertificateArnFixture, FIXTURE_VPC_CIDR } from '../support/stacks/stack-outputs';
import { sampleLocation } from '../support/stacks/sample-locations';

function policiesFor(app: Construct, location: Location, props: Partial<NetworkPoliciesProps> = {}) {
  const parts = buildParts(app, location);
  const gateway = new NginxGateway(parts.stack, 'nginx', {
    namespace: parts.namespace,
    api: parts.api,
    ws: parts.ws,
    replicas: 2,
    websocketHeartbeatIntervalMs: DEFAULT_WS_HEARTBEAT_INTERVAL_MS,
    tlsCertificateArn: apiCertificateArnFixture(location.region),
  });
  const policies = new NetworkPolicies(parts.stack, 'network-policies', {
    namespace: parts.namespace,
    gateway,
    backends: [parts.api, parts.ws],
    dataClients: [parts.api, parts.ws, { component: 'migrate', podSelector: { 'app.kubernetes.io/component': 'migrate' } }],
    vpcCidrBlock: FIXTURE_VPC_CIDR,
    databasePort: 5432,
    redisPort: 6379,
    ...props,
  });
  return { policies, json: synthJson(parts.stack) };
}

const selectorOf = (component: string, locationId = 'kanchanaburi-resort') => ({
  'app.kubernetes.io/component': component,
  'app.kubernetes.io/instance': locationId,
  'app.kubernetes.io/name': component === 'nginx' ? 'nginx' : `order-${component}`,
});

describe('NetworkPolicies', () => {
  const app = Testing.app();
  const location = sampleLocation('kanchanaburi-resort');
  const { json, policies } = policiesFor(app, location);
  const policy = (name: string): Json => resourceNamed(json, 'kubernetes_network_policy_v1', name);

  test('default deny: every pod, both directions, no rule', () => {
    const deny = policy('default-deny-all');
    expect(deny.spec).toEqual({ pod_selector: {}, policy_types: ['Ingress', 'Egress'] });
    expect(policies.defaultDeny).toBe(policies.policies[0]);
  });

  test('every pod may query kube-dns on 53 UDP and TCP', () => {
    const dns = policy('allow-dns-egress');
    expect(dns.spec.pod_selector).toEqual({});
    expect(dns.spec.egress[0].to[0]).toEqual({
      namespace_selector: { match_labels: { 'kubernetes.io/metadata.name': 'kube-system' } },
      pod_selector: { match_labels: { 'k8s-app': 'kube-dns' } },
    });
    expect(dns.spec.egress[0].ports).toEqual([
      { port: '53', protocol: 'UDP' },
      { port: '53', protocol: 'TCP' },
    ]);
  });

  test('nginx accepts its port from anywhere and exporter scrapes from monitoring only', () => {
    const ingress = policy('allow-nginx-ingress');
    expect(ingress.spec.pod_selector.match_labels).toEqual(selectorOf('nginx'));
    expect(ingress.spec.ingress[0]).toEqual({ ports: [{ port: '8080', protocol: 'TCP' }] });
    expect(ingress.spec.ingress[1]).toEqual({
      from: [{ namespace_selector: { match_labels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
      ports: [{ port: '9113', protocol: 'TCP' }],
    });
  });

  test('nginx reaches api and ws on 8080 only; the scraper reaches their internal port (9090) only', () => {
    const egress = policy('allow-nginx-to-backends');
    expect(egress.spec.egress.map((e: Json) => e.to[0].pod_selector.match_labels)).toEqual([selectorOf('api'), selectorOf('ws')]);
    expect(egress.spec.egress.map((e: Json) => e.ports)).toEqual([[{ port: '8080', protocol: 'TCP' }], [{ port: '8080', protocol: 'TCP' }]]);
    for (const component of ['api', 'ws']) {
      const ingress = policy(`allow-${component}-ingress`);
      expect(ingress.spec.pod_selector.match_labels).toEqual(selectorOf(component));
      expect(ingress.spec.ingress).toEqual([
        { from: [{ pod_selector: { match_labels: selectorOf('nginx') } }], ports: [{ port: '8080', protocol: 'TCP' }] },
        { from: [{ namespace_selector: { match_labels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], ports: [{ port: '9090', protocol: 'TCP' }] },
      ]);
    }
  });

  test('data clients reach PostgreSQL and Redis in the VPC, and AWS APIs on 443', () => {
    const data = policy('allow-data-egress');
    expect(data.spec.pod_selector.match_expressions).toEqual([
      { key: 'app.kubernetes.io/component', operator: 'In', values: ['api', 'ws', 'migrate'] },
    ]);
    expect(data.spec.egress[0]).toEqual({
      to: [{ ip_block: { cidr: FIXTURE_VPC_CIDR } }],
      ports: [
        { port: '5432', protocol: 'TCP' },
        { port: '6379', protocol: 'TCP' },
      ],
    });
    expect(data.spec.egress[1]).toEqual({ to: [{ ip_block: { cidr: '0.0.0.0/0' } }], ports: [{ port: '443', protocol: 'TCP' }] });
  });

  test('without database admin clients there is no database-only egress policy', () => {
    expect(Object.values(resourcesOfType(json, 'kubernetes_network_policy_v1')).map((p: Json) => p.metadata.name)).not.toContain('allow-database-admin-egress');
  });

  test('database admin clients (the bootstrap) reach PostgreSQL in the VPC and AWS APIs on 443, not Redis', () => {
    const bootstrapPods = { component: 'db-bootstrap', podSelector: { 'app.kubernetes.io/component': 'db-bootstrap' } };
    const { json: other, policies: otherPolicies } = policiesFor(app, location, { databaseAdminClients: [bootstrapPods] });
    const admin = resourceNamed(other, 'kubernetes_network_policy_v1', 'allow-database-admin-egress');
    expect(admin.spec.pod_selector.match_expressions).toEqual([{ key: 'app.kubernetes.io/component', operator: 'In', values: ['db-bootstrap'] }]);
    expect(admin.spec.policy_types).toEqual(['Egress']);
    expect(admin.spec.egress).toEqual([
      { to: [{ ip_block: { cidr: FIXTURE_VPC_CIDR } }], ports: [{ port: '5432', protocol: 'TCP' }] },
      { to: [{ ip_block: { cidr: '0.0.0.0/0' } }], ports: [{ port: '443', protocol: 'TCP' }] },
    ]);
    // Not a data client: the Redis rule does not select it.
    expect(resourceNamed(other, 'kubernetes_network_policy_v1', 'allow-data-egress').spec.pod_selector.match_expressions[0].values).not.toContain('db-bootstrap');
    expect(otherPolicies.policies).toHaveLength(policies.policies.length + 1);
  });

  test('every policy lives in the location namespace', () => {
    const all = Object.values(resourcesOfType(json, 'kubernetes_network_policy_v1'));
    expect(all).toHaveLength(policies.policies.length);
    for (const p of all) expect(p.metadata.namespace).toMatch(/kubernetes_namespace_v1\.namespace/);
  });

  test('the monitoring namespace can be named', () => {
    const { json: other } = policiesFor(app, location, { monitoringNamespace: 'observability' });
    const ingress = resourceNamed(other, 'kubernetes_network_policy_v1', 'allow-api-ingress');
    expect(ingress.spec.ingress[1].from[0].namespace_selector.match_labels['kubernetes.io/metadata.name']).toBe('observability');
  });

  test('fails when the VPC CIDR is not a CIDR', () => {
    expect(() => policiesFor(app, location, { vpcCidrBlock: 'vpc-0fixture' })).toThrow(
      'vpcCidrBlock must be an IPv4 CIDR such as 10.0.0.0/16, got "vpc-0fixture" (location "kanchanaburi-resort")',
    );
  });

  test('fails when there is no backend', () => {
    expect(() => policiesFor(app, location, { backends: [] })).toThrow('backends must list at least 1 workload, got 0 (location "kanchanaburi-resort")');
  });

  test('fails when the monitoring namespace is not a DNS label', () => {
    expect(() => policiesFor(app, location, { monitoringNamespace: 'Monitoring' })).toThrow(
      'monitoringNamespace must be a namespace name (a DNS label), got "Monitoring" (location "kanchanaburi-resort")',
    );
  });
});
