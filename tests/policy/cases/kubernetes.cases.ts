import { adding, at, compliantAppStack, edit, resource, without } from '../support/fixtures';
import type { FailingCase, PassingCase } from './failing-case';

const stack = compliantAppStack;
const API = 'kubernetes_deployment_v1.api';
const CRON = 'kubernetes_cron_job_v1.refresh';

type Values = Record<string, unknown>;
/** The first container of the API deployment. */
const apiContainer = (v: Values) => at(v, 'spec', 'template', 'spec', 'container', 0);
const apiSecurity = (v: Values) => at(apiContainer(v), 'security_context');
const cronContainer = (v: Values) => at(v, 'spec', 'job_template', 'spec', 'template', 'spec', 'container', 0);

export const KUBERNETES_CASES: FailingCase[] = [
  {
    rule: 'K8S-001',
    when: 'a deployment container has no liveness probe',
    input: edit(stack(), API, (v) => {
      delete apiContainer(v).liveness_probe;
    }),
    messages: [`${API}: container "api" has no liveness_probe; a hung process must be restarted`],
  },
  {
    rule: 'K8S-002',
    when: 'a deployment container has no readiness probe',
    input: edit(stack(), API, (v) => {
      delete apiContainer(v).readiness_probe;
    }),
    messages: [`${API}: container "api" has no readiness_probe; traffic must wait until the container can serve it`],
  },
  {
    rule: 'K8S-003',
    when: 'an init container requests no CPU',
    input: edit(stack(), API, (v) => {
      delete at(v, 'spec', 'template', 'spec', 'init_container', 0, 'resources', 'requests').cpu;
    }),
    messages: [`${API}: init container "wait" sets no resources.requests.cpu; the scheduler and the HPA need it`],
  },
  {
    rule: 'K8S-004',
    when: 'a CronJob container has no CPU limit',
    input: edit(stack(), CRON, (v) => {
      delete at(cronContainer(v), 'resources', 'limits').cpu;
    }),
    messages: [`${CRON}: container "refresh" sets no resources.limits.cpu; one container must not starve the node`],
  },
  {
    rule: 'K8S-005',
    when: 'a container has no resources at all',
    input: edit(stack(), API, (v) => {
      delete apiContainer(v).resources;
    }),
    messages: [`${API}: container "api" sets no resources.requests.memory; the scheduler and the HPA need it`],
  },
  {
    rule: 'K8S-006',
    when: 'a container has no memory limit',
    input: edit(stack(), API, (v) => {
      delete at(apiContainer(v), 'resources', 'limits').memory;
    }),
    messages: [`${API}: container "api" sets no resources.limits.memory; a leak must end in an OOM kill of its own container`],
  },
  {
    rule: 'K8S-007',
    when: 'an image uses the latest tag',
    input: edit(stack(), API, (v) => {
      at(v, 'spec', 'template', 'spec', 'init_container', 0).image = 'busybox:latest';
    }),
    messages: [`${API}: init container "wait" image "busybox:latest" uses the "latest" tag; pin a release tag or digest`],
  },
  {
    rule: 'K8S-007',
    when: 'an interpolated repository URL has no tag',
    input: edit(stack(), API, (v) => {
      apiContainer(v).image = '${data.terraform_remote_state.platform.outputs.api_repository_url}';
    }),
    messages: [`${API}: container "api" image "\${data.terraform_remote_state.platform.outputs.api_repository_url}" has no tag; pin a release tag or digest`],
  },
  {
    rule: 'K8S-008',
    when: 'a container is privileged',
    input: edit(stack(), API, (v) => {
      apiSecurity(v).privileged = true;
    }),
    messages: [`${API}: container "api" is privileged; remove security_context.privileged`],
  },
  {
    rule: 'K8S-009',
    when: 'allow_privilege_escalation is left at its default',
    input: edit(stack(), CRON, (v) => {
      delete at(cronContainer(v), 'security_context').allow_privilege_escalation;
    }),
    messages: [`${CRON}: container "refresh" has security_context.allow_privilege_escalation not set (defaults to true); set it to false`],
  },
  {
    rule: 'K8S-010',
    when: 'a config map and a Helm release leave the namespace unset',
    input: edit(
      edit(stack(), 'kubernetes_config_map_v1.settings', (v) => ({ ...v, metadata: { name: 'settings' } })),
      'helm_release.metrics_server',
      ({ namespace: _, ...v }) => v,
    ),
    messages: [
      'kubernetes_config_map_v1.settings: is in the "default" namespace; deploy into the location\'s (or the add-on\'s) own namespace',
      'helm_release.metrics_server: is in the "default" namespace; deploy into the location\'s (or the add-on\'s) own namespace',
    ],
  },
  {
    rule: 'K8S-011',
    when: 'the root filesystem is writable',
    input: edit(stack(), API, (v) => {
      apiSecurity(v).read_only_root_filesystem = false;
    }),
    messages: [`${API}: container "api" has security_context.read_only_root_filesystem false; set it to true and mount an emptyDir where it writes`],
  },
  {
    rule: 'K8S-012',
    when: 'neither container nor pod requires a non-root user',
    input: edit(stack(), API, (v) => {
      delete apiSecurity(v).run_as_non_root;
      delete apiSecurity(v).run_as_user;
      delete at(v, 'spec', 'template', 'spec', 'security_context').run_as_non_root;
      delete at(v, 'spec', 'template', 'spec', 'security_context').run_as_user;
    }),
    messages: [`${API}: container "api" has run_as_non_root not set (defaults to false) (container and pod); set it to true`],
  },
  {
    rule: 'K8S-012',
    when: 'a container runs as user 0',
    input: edit(stack(), API, (v) => {
      apiSecurity(v).run_as_user = '0';
    }),
    messages: [`${API}: container "api" runs as user 0 (root); run as an unprivileged user`],
  },
  {
    rule: 'K8S-013',
    when: 'a container opts out of seccomp',
    input: edit(stack(), API, (v) => {
      apiSecurity(v).seccomp_profile = { type: 'Unconfined' };
    }),
    messages: [`${API}: container "api" has seccomp profile "Unconfined" (container and pod); set security_context.seccomp_profile.type = "RuntimeDefault"`],
  },
  {
    rule: 'K8S-014',
    when: 'a container drops only NET_RAW',
    input: edit(stack(), API, (v) => {
      apiSecurity(v).capabilities = { drop: ['NET_RAW'] };
    }),
    messages: [`${API}: container "api" drops capabilities ["NET_RAW"]; drop ["ALL"]`],
  },
  {
    rule: 'K8S-014',
    when: 'a container adds SYS_ADMIN back',
    input: edit(stack(), API, (v) => {
      apiSecurity(v).capabilities = { add: ['SYS_ADMIN', 'NET_BIND_SERVICE'], drop: ['ALL'] };
    }),
    messages: [`${API}: container "api" adds capabilities SYS_ADMIN; add none beyond NET_BIND_SERVICE`],
  },
  {
    rule: 'K8S-015',
    when: 'a CronJob pod mounts the service account token (provider default)',
    input: edit(stack(), CRON, (v) => {
      delete at(v, 'spec', 'job_template', 'spec', 'template', 'spec').automount_service_account_token;
    }),
    messages: [`${CRON}: pod spec has automount_service_account_token not set (defaults to true); set it to false`],
  },
  {
    rule: 'K8S-016',
    when: 'the deployment has no disruption budget',
    input: without(stack(), 'kubernetes_pod_disruption_budget_v1.api'),
    messages: [`${API}: has no PodDisruptionBudget selecting its pods; add one (e.g. max_unavailable = 1)`],
  },
  {
    rule: 'K8S-016',
    when: "the budget's selector matches other pods",
    input: edit(stack(), 'kubernetes_pod_disruption_budget_v1.api', (v) => {
      at(v, 'spec').selector = { match_labels: { 'app.kubernetes.io/name': 'order-ws' } };
    }),
    messages: [`${API}: has no PodDisruptionBudget selecting its pods; add one (e.g. max_unavailable = 1)`],
  },
  {
    rule: 'K8S-017',
    when: 'an autoscaled deployment sets replicas',
    input: edit(stack(), API, (v) => {
      at(v, 'spec').replicas = '2';
    }),
    messages: [`${API}: spec.replicas is "2" but kubernetes_horizontal_pod_autoscaler_v2.api scales it; remove replicas so applies do not reset the autoscaler`],
  },
  {
    rule: 'K8S-018',
    when: 'the namespace has no default-deny policy',
    input: without(stack(), 'kubernetes_network_policy_v1.default_deny'),
    messages: [
      'kubernetes_namespace_v1.namespace: namespace "testville" has no default-deny NetworkPolicy for Ingress, Egress; add one selecting all pods with policy_types ["Ingress", "Egress"] and no rules',
    ],
  },
  {
    rule: 'K8S-018',
    when: 'the all-pods policy denies ingress only',
    input: edit(stack(), 'kubernetes_network_policy_v1.default_deny', (v) => {
      at(v, 'spec').policy_types = ['Ingress'];
    }),
    messages: [
      'kubernetes_namespace_v1.namespace: namespace "testville" has no default-deny NetworkPolicy for Egress; add one selecting all pods with policy_types ["Ingress", "Egress"] and no rules',
    ],
  },
  {
    rule: 'K8S-019',
    when: 'the EBS storage class does not encrypt',
    input: edit(stack(), 'kubernetes_storage_class_v1.gp3', (v) => ({ ...v, parameters: { type: 'gp3' } })),
    messages: ['kubernetes_storage_class_v1.gp3: parameters.encrypted is not "true"; EBS volumes for cluster workloads must be encrypted'],
  },
  {
    rule: 'HELM-001',
    when: 'a chart from a repository floats on a version range',
    input: edit(stack(), 'helm_release.metrics_server', (v) => ({ ...v, version: '^3.13.0' })),
    messages: ['helm_release.metrics_server: version is "^3.13.0"; pin the chart "metrics-server" to one release'],
  },
  {
    rule: 'HELM-001',
    when: 'an OCI chart has no version',
    input: adding(stack(), resource('helm_release.tool', { chart: 'oci://registry.example/charts/tool', name: 'tool', namespace: 'monitoring' })),
    messages: ['helm_release.tool: version is not set; pin the chart "oci://registry.example/charts/tool" to one release'],
  },
];

export const KUBERNETES_PASSING: PassingCase[] = [
  {
    when: 'a local chart without a version',
    input: adding(stack(), resource('helm_release.dashboards', { chart: './charts/platform-dashboards', name: 'dashboards', namespace: 'monitoring' })),
  },
  {
    when: 'a deployment without an autoscaler that sets replicas, with a budget that selects by expression',
    input: adding(
      edit(stack(), 'kubernetes_pod_disruption_budget_v1.api', (v) => {
        at(v, 'spec').selector = { match_expressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: ['order-api', 'nginx'] }] };
      }),
      resource('kubernetes_deployment_v1.nginx', {
        metadata: { name: 'nginx', namespace: 'testville' },
        spec: {
          replicas: '2',
          selector: { match_labels: { 'app.kubernetes.io/name': 'nginx' } },
          template: {
            metadata: { labels: { 'app.kubernetes.io/name': 'nginx' } },
            spec: {
              automount_service_account_token: false,
              container: {
                image: 'nginxinc/nginx-unprivileged:1.28.0-alpine',
                liveness_probe: { tcp_socket: { port: 'http' } },
                name: 'nginx',
                readiness_probe: { tcp_socket: { port: 'http' } },
                resources: { limits: { cpu: '1', memory: '256Mi' }, requests: { cpu: '100m', memory: '64Mi' } },
                security_context: {
                  allow_privilege_escalation: false,
                  capabilities: { drop: ['ALL'] },
                  read_only_root_filesystem: true,
                  run_as_non_root: true,
                  seccomp_profile: { type: 'RuntimeDefault' },
                },
              },
            },
          },
        },
      }),
    ),
  },
  {
    when: 'deny-all split into one policy per direction',
    input: adding(
      edit(stack(), 'kubernetes_network_policy_v1.default_deny', (v) => {
        at(v, 'spec').policy_types = ['Ingress'];
      }),
      resource('kubernetes_network_policy_v1.deny_egress', {
        metadata: { name: 'deny-egress', namespace: '${kubernetes_namespace_v1.namespace.metadata[0].name}' },
        spec: { pod_selector: { match_labels: {} }, policy_types: ['Egress'] },
      }),
    ),
  },
];
