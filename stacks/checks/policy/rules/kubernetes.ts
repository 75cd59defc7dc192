/**
 * Kubernetes resources of the hashicorp/kubernetes provider (`kubernetes_deployment_v1`, ...) and
 * Helm releases. These stacks cannot be planned here, so rules read synthesized JSON; they read a
 * plan the same way where one exists. Workloads are Deployments, StatefulSets, DaemonSets,
 * ReplicationControllers, Pods, Jobs and CronJobs, in every provider version (`_v1` or none);
 * container rules cover init containers too. What Helm charts deploy is not visible to them.
 */
import type { PolicyInput, PolicyResource, PolicyRule, Violation } from '../policy-types';
import {
  KUBERNETES_STACKS,
  asString,
  blocks,
  effectiveValues,
  first,
  isExpression,
  isFalse,
  isSet,
  isTrue,
  listed,
  ofType,
  refersTo,
  shown,
  stringList,
  violation,
  withoutInterpolations,
} from './helpers';

/** `kubernetes_deployment_v1` → `deployment`; anything not of the provider → undefined. */
function kindOf(type: string): string | undefined {
  return /^kubernetes_(.+?)(_v\d+(beta\d+)?)?$/.exec(type)?.[1];
}

const LONG_RUNNING_KINDS = ['deployment', 'stateful_set', 'daemon_set', 'daemonset', 'replication_controller', 'pod'];
const BATCH_KINDS = ['job', 'cron_job'];
const SCALABLE_KINDS = ['deployment', 'stateful_set'];
/** The Kubernetes kind a scale_target_ref names for each scalable provider kind. */
const KIND_NAMES: Readonly<Record<string, string>> = { deployment: 'Deployment', stateful_set: 'StatefulSet' };
/** Kinds created in a namespace (patching resources such as `kubernetes_labels` are left out). */
const NAMESPACED_KINDS = [
  ...LONG_RUNNING_KINDS,
  ...BATCH_KINDS,
  'service',
  'config_map',
  'secret',
  'service_account',
  'default_service_account',
  'horizontal_pod_autoscaler',
  'pod_disruption_budget',
  'network_policy',
  'role',
  'role_binding',
  'ingress',
  'persistent_volume_claim',
  'limit_range',
  'resource_quota',
  'endpoints',
  'endpoint_slice',
];

const isKind = (resource: PolicyResource, kinds: readonly string[]) => kinds.includes(kindOf(resource.type) ?? '');

/** The pod spec of a workload (`spec.template.spec`, a CronJob's `spec.job_template.spec.template.spec`, a Pod's `spec`). */
function podSpecOf(resource: PolicyResource): Record<string, unknown> {
  const spec = first(effectiveValues(resource).spec);
  switch (kindOf(resource.type)) {
    case 'pod':
      return spec;
    case 'cron_job':
      return first(first(first(first(spec.job_template).spec).template).spec);
    default:
      return first(first(spec.template).spec);
  }
}

const podTemplateLabels = (resource: PolicyResource): Record<string, unknown> =>
  (first(first(first(effectiveValues(resource).spec).template).metadata).labels as Record<string, unknown> | undefined) ?? {};

interface Container {
  readonly label: string;
  readonly values: Record<string, unknown>;
}

function containersOf(podSpec: Record<string, unknown>, withInit = true): Container[] {
  return [
    ...blocks(podSpec.container).map((values) => ({ label: `container ${shown(values.name)}`, values })),
    ...(withInit ? blocks(podSpec.init_container).map((values) => ({ label: `init container ${shown(values.name)}`, values })) : []),
  ];
}

/**
 * An `evaluate` that checks every container of every workload of the given kinds. `check` gets the
 * container, and the pod spec for pod-level settings that containers inherit.
 */
function eachContainer(
  kinds: readonly string[],
  check: (container: Record<string, unknown>, podSpec: Record<string, unknown>) => string | undefined,
  options: { withInit?: boolean } = {},
): (input: PolicyInput) => Violation[] {
  return (input) =>
    input.resources
      .filter((r) => isKind(r, kinds))
      .flatMap((workload) => {
        const podSpec = podSpecOf(workload);
        return containersOf(podSpec, options.withInit ?? true).flatMap(({ label, values }) => {
          const message = check(values, podSpec);
          return message === undefined ? [] : [violation(workload, `${label} ${message}`)];
        });
      });
}

const WORKLOAD_KINDS = [...LONG_RUNNING_KINDS, ...BATCH_KINDS];

/**
 * The namespace a resource lives in: its literal `metadata.namespace`, the name of the in-stack
 * namespace resource it refers to, the expression itself when it refers elsewhere, or "default"
 * when unset (Kubernetes' and the provider's default).
 */
export function namespaceOf(input: PolicyInput, resource: PolicyResource): string {
  const values = effectiveValues(resource);
  const written = resource.type === 'helm_release' ? values.namespace : first(values.metadata).namespace;
  if (!isSet(written)) return 'default';
  if (isExpression(written)) {
    const target = input.resources.find((r) => kindOf(r.type) === 'namespace' && refersTo(written, r.address));
    const name = target ? asString(first(effectiveValues(target).metadata).name) : undefined;
    return name ?? String(written);
  }
  return String(written);
}

interface LabelSelector {
  match_labels?: unknown;
  match_expressions?: unknown;
}

/** Whether a label selector selects pods with these labels (an empty selector selects all). */
function selects(selector: LabelSelector, labels: Record<string, unknown>): boolean {
  const matchLabels = (selector.match_labels as Record<string, unknown> | undefined) ?? {};
  if (!Object.entries(matchLabels).every(([key, value]) => labels[key] === value)) return false;
  return blocks(selector.match_expressions).every((e) => {
    const key = String(e.key);
    const values = stringList(e.values);
    switch (e.operator) {
      case 'In':
        return key in labels && values.includes(String(labels[key]));
      case 'NotIn':
        return !(key in labels) || !values.includes(String(labels[key]));
      case 'Exists':
        return key in labels;
      case 'DoesNotExist':
        return !(key in labels);
      default:
        return false;
    }
  });
}

const securityContextOf = (values: Record<string, unknown>) => first(values.security_context);

/** An image pinned by digest, or by a tag other than `latest` (`${...}` parts read as opaque text). */
function imageProblem(image: unknown): string | undefined {
  if (typeof image !== 'string' || image === '') return 'has no image';
  const text = withoutInterpolations(image);
  const [name, digest] = text.split('@');
  if (digest) return undefined;
  const tagAt = name!.lastIndexOf(':');
  const tag = tagAt > name!.lastIndexOf('/') ? name!.slice(tagAt + 1) : '';
  if (tag === '') return `image ${shown(image)} has no tag; pin a release tag or digest`;
  if (tag === 'latest') return `image ${shown(image)} uses the "latest" tag; pin a release tag or digest`;
  return undefined;
}

const CPU_MEMORY_RULES = [
  { id: 'K8S-003', title: 'Containers request CPU', checkov: 'CKV_K8S_10', trivy: 'AVD-KSV-0015', kind: 'requests', resource: 'cpu', why: 'the scheduler and the HPA need it' },
  { id: 'K8S-004', title: 'Containers limit CPU', checkov: 'CKV_K8S_11', trivy: 'AVD-KSV-0011', kind: 'limits', resource: 'cpu', why: 'one container must not starve the node' },
  { id: 'K8S-005', title: 'Containers request memory', checkov: 'CKV_K8S_12', trivy: 'AVD-KSV-0016', kind: 'requests', resource: 'memory', why: 'the scheduler and the HPA need it' },
  { id: 'K8S-006', title: 'Containers limit memory', checkov: 'CKV_K8S_13', trivy: 'AVD-KSV-0018', kind: 'limits', resource: 'memory', why: 'a leak must end in an OOM kill of its own container' },
] as const;

const EBS_PROVISIONERS = ['ebs.csi.aws.com', 'kubernetes.io/aws-ebs'];
/** Helm version strings that float instead of naming one chart release. */
const FLOATING_VERSION = /[\^~<>|*]|(^|\.)[xX](\.|$)|^\s*$|^latest$/;

export const KUBERNETES_RULES: readonly PolicyRule[] = [
  {
    id: 'K8S-001',
    title: 'Long-running containers have a liveness probe',
    checkov: 'CKV_K8S_8',
    appliesTo: KUBERNETES_STACKS,
    // Jobs, CronJobs and init containers run to completion and are exempt.
    evaluate: eachContainer(
      LONG_RUNNING_KINDS,
      (c) => (blocks(c.liveness_probe).length > 0 ? undefined : 'has no liveness_probe; a hung process must be restarted'),
      { withInit: false },
    ),
  },
  {
    id: 'K8S-002',
    title: 'Long-running containers have a readiness probe',
    checkov: 'CKV_K8S_9',
    appliesTo: KUBERNETES_STACKS,
    // Jobs, CronJobs and init containers are exempt.
    evaluate: eachContainer(
      LONG_RUNNING_KINDS,
      (c) => (blocks(c.readiness_probe).length > 0 ? undefined : 'has no readiness_probe; traffic must wait until the container can serve it'),
      { withInit: false },
    ),
  },
  ...CPU_MEMORY_RULES.map(
    (rule): PolicyRule => ({
      id: rule.id,
      title: rule.title,
      checkov: rule.checkov,
      trivy: rule.trivy,
      appliesTo: KUBERNETES_STACKS,
      // A namespace LimitRange default does not count: the workload's own spec must say it.
      evaluate: eachContainer(WORKLOAD_KINDS, (c) => {
        const amounts = (first(c.resources)[rule.kind] as Record<string, unknown> | undefined) ?? {};
        return isSet(amounts[rule.resource]) ? undefined : `sets no resources.${rule.kind}.${rule.resource}; ${rule.why}`;
      }),
    }),
  ),
  {
    id: 'K8S-007',
    title: 'Container images are pinned (a release tag or digest, never latest)',
    checkov: 'CKV_K8S_14',
    trivy: 'AVD-KSV-0013',
    appliesTo: KUBERNETES_STACKS,
    // Interpolated parts (an ECR repository URL from the platform stack) are opaque; the tag must
    // be visible. Digests (CKV_K8S_43) are not required: our images come from ECR repositories
    // with immutable tags (ECR-001), and third-party images are pinned to release tags.
    evaluate: eachContainer(WORKLOAD_KINDS, (c) => imageProblem(c.image)),
  },
  {
    id: 'K8S-008',
    title: 'Containers are not privileged',
    checkov: 'CKV_K8S_16',
    trivy: 'AVD-KSV-0017',
    appliesTo: KUBERNETES_STACKS,
    // Absent means false.
    evaluate: eachContainer(WORKLOAD_KINDS, (c) =>
      isTrue(securityContextOf(c).privileged) ? 'is privileged; remove security_context.privileged' : undefined,
    ),
  },
  {
    id: 'K8S-009',
    title: 'Containers cannot escalate privileges',
    checkov: 'CKV_K8S_20',
    trivy: 'AVD-KSV-0001',
    appliesTo: KUBERNETES_STACKS,
    // Absent means true (Kubernetes' default), so it must be set to false.
    evaluate: eachContainer(WORKLOAD_KINDS, (c) => {
      const value = securityContextOf(c).allow_privilege_escalation;
      return isFalse(value) ? undefined : `has security_context.allow_privilege_escalation ${shown(value, 'true')}; set it to false`;
    }),
  },
  {
    id: 'K8S-010',
    title: 'Nothing is deployed to the default namespace',
    checkov: 'CKV_K8S_21',
    trivy: 'AVD-KSV-0110',
    appliesTo: KUBERNETES_STACKS,
    // metadata.namespace (a Helm release's namespace) absent means "default".
    evaluate: (input) =>
      input.resources
        .filter((r) => isKind(r, NAMESPACED_KINDS) || r.type === 'helm_release')
        .filter((r) => namespaceOf(input, r) === 'default')
        .map((r) => violation(r, 'is in the "default" namespace; deploy into the location\'s (or the add-on\'s) own namespace')),
  },
  {
    id: 'K8S-011',
    title: 'Containers have a read-only root filesystem',
    checkov: 'CKV_K8S_22',
    trivy: 'AVD-KSV-0014',
    appliesTo: KUBERNETES_STACKS,
    // Absent means false; writable paths are emptyDir mounts.
    evaluate: eachContainer(WORKLOAD_KINDS, (c) => {
      const value = securityContextOf(c).read_only_root_filesystem;
      return isTrue(value) ? undefined : `has security_context.read_only_root_filesystem ${shown(value, 'false')}; set it to true and mount an emptyDir where it writes`;
    }),
  },
  {
    id: 'K8S-012',
    title: 'Containers run as a non-root user',
    checkov: 'CKV_K8S_23',
    trivy: 'AVD-KSV-0012',
    appliesTo: KUBERNETES_STACKS,
    // run_as_non_root on the container, or on the pod when the container leaves it unset; an
    // explicit run_as_user of 0 fails either way.
    evaluate: eachContainer(WORKLOAD_KINDS, (c, podSpec) => {
      const container = securityContextOf(c);
      const pod = first(podSpec.security_context);
      const runAsUser = container.run_as_user ?? pod.run_as_user;
      if (runAsUser !== undefined && String(runAsUser) === '0') return 'runs as user 0 (root); run as an unprivileged user';
      const nonRoot = container.run_as_non_root ?? pod.run_as_non_root;
      return isTrue(nonRoot) ? undefined : `has run_as_non_root ${shown(nonRoot, 'false')} (container and pod); set it to true`;
    }),
  },
  {
    id: 'K8S-013',
    title: 'Containers run with the RuntimeDefault seccomp profile',
    checkov: 'CKV_K8S_31',
    trivy: 'AVD-KSV-0030',
    appliesTo: KUBERNETES_STACKS,
    // seccomp_profile.type on the container, or on the pod when the container leaves it unset,
    // must be RuntimeDefault or Localhost; absent means Unconfined.
    evaluate: eachContainer(WORKLOAD_KINDS, (c, podSpec) => {
      const type = first(securityContextOf(c).seccomp_profile).type ?? first(first(podSpec.security_context).seccomp_profile).type;
      return type === 'RuntimeDefault' || type === 'Localhost'
        ? undefined
        : `has seccomp profile ${shown(type, '"Unconfined"')} (container and pod); set security_context.seccomp_profile.type = "RuntimeDefault"`;
    }),
  },
  {
    id: 'K8S-014',
    title: 'Containers drop all Linux capabilities',
    checkov: 'CKV_K8S_37',
    trivy: 'AVD-KSV-0003',
    appliesTo: KUBERNETES_STACKS,
    // capabilities.drop must include ALL; add may only bring back NET_BIND_SERVICE.
    evaluate: eachContainer(WORKLOAD_KINDS, (c) => {
      const capabilities = first(securityContextOf(c).capabilities);
      const dropped = stringList(capabilities.drop);
      const added = stringList(capabilities.add).filter((cap) => cap !== 'NET_BIND_SERVICE');
      if (!dropped.includes('ALL')) return `drops capabilities ${shown(dropped.length > 0 ? dropped : undefined)}; drop ["ALL"]`;
      if (added.length > 0) return `adds capabilities ${listed(added)}; add none beyond NET_BIND_SERVICE`;
      return undefined;
    }),
  },
  {
    id: 'K8S-015',
    title: 'Pods do not mount a service account token',
    checkov: 'CKV_K8S_38',
    appliesTo: KUBERNETES_STACKS,
    // The provider sends automount_service_account_token = true when it is absent, overriding the
    // service account's own setting, so the pod spec must say false. IRSA does not need it: the
    // EKS webhook projects its own web-identity token.
    evaluate: (input) =>
      input.resources
        .filter((r) => isKind(r, WORKLOAD_KINDS))
        .filter((r) => !isFalse(podSpecOf(r).automount_service_account_token))
        .map((r) =>
          violation(r, `pod spec has automount_service_account_token ${shown(podSpecOf(r).automount_service_account_token, 'true')}; set it to false`),
        ),
  },
  {
    id: 'K8S-016',
    title: 'Every Deployment and StatefulSet has a PodDisruptionBudget',
    appliesTo: KUBERNETES_STACKS,
    // A kubernetes_pod_disruption_budget(_v1) in the same namespace whose selector selects the
    // workload's pod template labels (a budget without a selector selects nothing). Node drains
    // during cluster upgrades must not take every replica at once.
    evaluate: (input) => {
      const budgets = input.resources.filter((r) => kindOf(r.type) === 'pod_disruption_budget');
      return input.resources
        .filter((r) => isKind(r, SCALABLE_KINDS))
        .filter((workload) => {
          const labels = podTemplateLabels(workload);
          const namespace = namespaceOf(input, workload);
          return !budgets.some((b) => {
            const selector = blocks(first(effectiveValues(b).spec).selector)[0];
            return namespaceOf(input, b) === namespace && selector !== undefined && selects(selector, labels);
          });
        })
        .map((workload) => violation(workload, 'has no PodDisruptionBudget selecting its pods; add one (e.g. max_unavailable = 1)'));
    },
  },
  {
    id: 'K8S-017',
    title: 'Deployments scaled by a HorizontalPodAutoscaler do not set replicas',
    appliesTo: KUBERNETES_STACKS,
    // A HorizontalPodAutoscaler's scale_target_ref names the workload by a reference to it or by
    // its literal name in the same namespace. With spec.replicas set, every apply resets the
    // replica count the autoscaler chose.
    evaluate: (input) => {
      const autoscalers = input.resources.filter((r) => kindOf(r.type) === 'horizontal_pod_autoscaler');
      return input.resources
        .filter((r) => isKind(r, SCALABLE_KINDS))
        .flatMap((workload) => {
          const name = first(effectiveValues(workload).metadata).name;
          const scaler = autoscalers.find((a) => {
            const target = first(first(effectiveValues(a).spec).scale_target_ref);
            const designated = refersTo(target.name, workload.address) || (typeof name === 'string' && target.name === name);
            return designated && target.kind === KIND_NAMES[kindOf(workload.type) ?? ''] && namespaceOf(input, a) === namespaceOf(input, workload);
          });
          const replicas = first(effectiveValues(workload).spec).replicas;
          if (!scaler || replicas === undefined || replicas === null) return [];
          return [violation(workload, `spec.replicas is ${shown(replicas)} but ${scaler.address} scales it; remove replicas so applies do not reset the autoscaler`)];
        });
    },
  },
  {
    id: 'K8S-018',
    title: 'Namespaces that run workloads deny all traffic by default',
    appliesTo: KUBERNETES_STACKS,
    // For every namespace with a workload of this stack: a NetworkPolicy selecting every pod (empty
    // pod_selector) with policy_types Ingress and Egress and no rules, or one such policy per
    // direction. policy_types absent means ["Ingress"] (Kubernetes' default without egress rules).
    evaluate: (input) => {
      const policies = input.resources.filter((r) => kindOf(r.type) === 'network_policy');
      const workloads = input.resources.filter((r) => isKind(r, WORKLOAD_KINDS));
      const namespaces = [...new Set(workloads.map((w) => namespaceOf(input, w)))];
      return namespaces.flatMap((namespace) => {
        const denies = (direction: 'Ingress' | 'Egress') =>
          policies.some((p) => {
            if (namespaceOf(input, p) !== namespace) return false;
            const spec = first(effectiveValues(p).spec);
            const selector = first(spec.pod_selector);
            const selectsAll = Object.keys((selector.match_labels as object | undefined) ?? {}).length === 0 && blocks(selector.match_expressions).length === 0;
            const types = spec.policy_types === undefined ? ['Ingress'] : stringList(spec.policy_types);
            return selectsAll && types.includes(direction) && blocks(spec[direction.toLowerCase()]).length === 0;
          });
        const missing = (['Ingress', 'Egress'] as const).filter((d) => !denies(d));
        if (missing.length === 0) return [];
        const owner =
          input.resources.find((r) => kindOf(r.type) === 'namespace' && first(effectiveValues(r).metadata).name === namespace) ??
          workloads.find((w) => namespaceOf(input, w) === namespace)!;
        return [
          violation(
            owner,
            `namespace ${shown(namespace)} has no default-deny NetworkPolicy for ${listed(missing)}; add one selecting all pods with policy_types ["Ingress", "Egress"] and no rules`,
          ),
        ];
      });
    },
  },
  {
    id: 'K8S-019',
    title: 'EBS storage classes encrypt volumes',
    appliesTo: KUBERNETES_STACKS,
    // parameters.encrypted absent means unencrypted (unless the account encrypts by default,
    // which this stack does not control).
    evaluate: (input) =>
      input.resources
        .filter((r) => kindOf(r.type) === 'storage_class')
        .filter((r) => EBS_PROVISIONERS.includes(String(effectiveValues(r).storage_provisioner)))
        .filter((r) => !isTrue(((effectiveValues(r).parameters as Record<string, unknown> | undefined) ?? {}).encrypted))
        .map((r) => violation(r, 'parameters.encrypted is not "true"; EBS volumes for cluster workloads must be encrypted')),
  },
  {
    id: 'HELM-001',
    title: 'Helm releases from a repository pin the chart version',
    appliesTo: KUBERNETES_STACKS,
    // A chart from a repository (`repository`, or an oci:// chart) needs an exact `version`;
    // absent, empty or a range installs whatever is newest. Local chart paths are exempt: they
    // are versioned with this repository.
    evaluate: (input) =>
      ofType(input, 'helm_release').flatMap((release) => {
        const values = effectiveValues(release);
        const remote = isSet(values.repository) || String(values.chart ?? '').startsWith('oci://');
        if (!remote) return [];
        const version = values.version;
        return typeof version === 'string' && !FLOATING_VERSION.test(version)
          ? []
          : [violation(release, `version is ${shown(version)}; pin the chart ${shown(values.chart)} to one release`)];
      }),
  },
];
