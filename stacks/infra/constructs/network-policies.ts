/**
 * The namespace's traffic rules: deny everything, then allow exactly the paths the platform uses.
 *
 *   internet / NLB ──8080──▶ nginx ──8080──▶ api, ws ──5432, 6379──▶ RDS, ElastiCache (VPC)
 *                                              │ └──────443──────▶ AWS APIs (STS, S3, CloudFront)
 *   migrate, maintenance ──5432, 6379, 443──▶ same as api
 *   db-bootstrap ──5432, 443──▶ RDS; STS and Secrets Manager (the master secret); no Redis
 *   every pod ──53──▶ kube-dns
 *   monitoring namespace ──9113──▶ nginx exporter; ──9090 (internal: /metrics)──▶ api, ws
 *
 * nginx reaches api and ws on their API port only, never on the internal port of probes and
 * metrics. Enforcement needs a policy engine: on EKS, the VPC CNI with network policy enabled
 * (platform stack). It lets kubelet probes through from the node's own address.
 */
import { Construct } from 'constructs';
import { NetworkPolicyV1, type NetworkPolicyV1Spec } from '@cdktf/provider-kubernetes/lib/network-policy-v1';
import { Token } from '../cdktf';
import { locationLabels, type PodGroup } from './kubernetes-conventions';
import type { HttpWorkload } from './http-workload';
import type { LocationNamespace } from './location-namespace';
import type { NginxGateway } from './nginx-gateway';

/** Port AWS API endpoints (STS for IRSA, S3, CloudFront, Secrets Manager) listen on. */
const HTTPS_PORT = 443;

/**
 * Pods selected by their `app.kubernetes.io/component` label: a PodGroup, or pods of a component
 * outside the long-running set, such as the database bootstrap Job's.
 */
export interface ComponentPods {
  readonly component: string;
  readonly podSelector: Readonly<Record<string, string>>;
}

export interface NetworkPoliciesProps {
  readonly namespace: LocationNamespace;
  readonly gateway: NginxGateway;
  /** Workloads behind nginx: reachable from nginx on their API port, from the scraper on their internal port. */
  readonly backends: readonly HttpWorkload[];
  /** Pods that talk to the database, Redis and AWS APIs: api, ws and the database jobs. */
  readonly dataClients: readonly PodGroup[];
  /**
   * Pods that talk to the database and AWS APIs but never to Redis: the database bootstrap Job
   * (the master login, from Secrets Manager).
   * @default [] - no such policy
   */
  readonly databaseAdminClients?: readonly ComponentPods[];
  /**
   * Where RDS and ElastiCache live. Their addresses change on failover and are not known at
   * synth, so the rule allows their ports towards the whole VPC.
   */
  readonly vpcCidrBlock: string;
  readonly databasePort: number;
  readonly redisPort: number;
  /**
   * Namespace of the Prometheus that scrapes metrics (kube-prometheus-stack in the addons stack).
   * @default 'monitoring'
   */
  readonly monitoringNamespace?: string;
  /**
   * Destinations of HTTPS egress for AWS APIs. All addresses, VPC included: AWS service IPs are
   * many and change, and interface VPC endpoints (if the platform adds them) sit inside the VPC.
   * The rule is limited to port 443; nothing in the VPC but AWS endpoints listens there for these
   * pods (the EKS API endpoint does, but the pods carry no Kubernetes token).
   * @default ['0.0.0.0/0']
   */
  readonly awsApiCidrs?: readonly string[];
}

export class NetworkPolicies extends Construct {
  readonly defaultDeny: NetworkPolicyV1;
  /** Every policy, for resources that must wait until their pods' traffic is allowed. */
  readonly policies: readonly NetworkPolicyV1[];

  constructor(scope: Construct, id: string, props: NetworkPoliciesProps) {
    super(scope, id);
    const { namespace, gateway } = props;
    const location = namespace.location;
    const monitoringNamespace = props.monitoringNamespace ?? 'monitoring';
    const awsApiCidrs = props.awsApiCidrs ?? ['0.0.0.0/0'];
    const at = `(location "${location.id}")`;
    if (props.backends.length === 0) throw new Error(`backends must list at least 1 workload, got 0 ${at}`);
    if (props.dataClients.length === 0) throw new Error(`dataClients must list at least 1 pod group, got 0 ${at}`);
    if (!Token.isUnresolved(props.vpcCidrBlock) && !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(props.vpcCidrBlock)) {
      throw new Error(`vpcCidrBlock must be an IPv4 CIDR such as 10.0.0.0/16, got "${props.vpcCidrBlock}" ${at}`);
    }
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(monitoringNamespace)) {
      throw new Error(`monitoringNamespace must be a namespace name (a DNS label), got "${monitoringNamespace}" ${at}`);
    }

    const policies: NetworkPolicyV1[] = [];
    const policy = (policyId: string, name: string, spec: NetworkPolicyV1Spec) => {
      const created = new NetworkPolicyV1(this, policyId, {
        metadata: { name, namespace: namespace.name, labels: locationLabels(location.id) },
        spec,
      });
      policies.push(created);
      return created;
    };
    const podsOf = (group: PodGroup) => ({ matchLabels: { ...group.podSelector } });
    const monitoring = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': monitoringNamespace } } };
    const tcp = (port: number) => ({ port: Token.isUnresolved(port) ? Token.asString(port) : String(port), protocol: 'TCP' });
    const components = (groups: readonly ComponentPods[]) => ({
      matchExpressions: [{ key: 'app.kubernetes.io/component', operator: 'In', values: groups.map((g) => g.component) }],
    });

    // An empty podSelector with both policy types and no rules: nothing in, nothing out.
    this.defaultDeny = policy('default-deny', 'default-deny-all', {
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
    });

    policy('dns-egress', 'allow-dns-egress', {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
          ports: [
            { port: '53', protocol: 'UDP' },
            { port: '53', protocol: 'TCP' },
          ],
        },
      ],
    });

    policy('gateway-ingress', 'allow-nginx-ingress', {
      podSelector: podsOf(gateway),
      policyTypes: ['Ingress'],
      ingress: [
        // No `from`: any source. With client IP preservation the source is the client itself
        // (and the NLB's health checks come from its own addresses in the VPC).
        { ports: [tcp(gateway.port)] },
        { from: [monitoring], ports: [tcp(gateway.metricsPort)] },
      ],
    });

    policy('gateway-egress', 'allow-nginx-to-backends', {
      podSelector: podsOf(gateway),
      policyTypes: ['Egress'],
      egress: props.backends.map((backend) => ({ to: [{ podSelector: podsOf(backend) }], ports: [tcp(backend.port)] })),
    });

    props.backends.forEach((backend) => {
      policy(`${backend.component}-ingress`, `allow-${backend.component}-ingress`, {
        podSelector: podsOf(backend),
        policyTypes: ['Ingress'],
        ingress: [
          { from: [{ podSelector: podsOf(gateway) }], ports: [tcp(backend.port)] },
          // Metrics are served on the internal port only (`/metrics`; the API port answers 404).
          { from: [monitoring], ports: [tcp(backend.internalPort)] },
        ],
      });
    });

    policy('data-egress', 'allow-data-egress', {
      podSelector: components(props.dataClients),
      policyTypes: ['Egress'],
      egress: [
        { to: [{ ipBlock: { cidr: props.vpcCidrBlock } }], ports: [tcp(props.databasePort), tcp(props.redisPort)] },
        { to: awsApiCidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: [tcp(HTTPS_PORT)] },
      ],
    });

    const databaseAdminClients = props.databaseAdminClients ?? [];
    if (databaseAdminClients.length > 0) {
      policy('database-admin-egress', 'allow-database-admin-egress', {
        podSelector: components(databaseAdminClients),
        policyTypes: ['Egress'],
        egress: [
          { to: [{ ipBlock: { cidr: props.vpcCidrBlock } }], ports: [tcp(props.databasePort)] },
          { to: awsApiCidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: [tcp(HTTPS_PORT)] },
        ],
      });
    }

    this.policies = policies;
  }
}
