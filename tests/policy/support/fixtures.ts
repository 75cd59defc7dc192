/**
 * Small stacks for policy tests, written the way cdktf synthesizes them (single nested blocks as
 * objects, references as `${...}`), each compliant with every rule. A failing case edits one of
 * them, so the rule under test is the only thing that changes.
 */
import type { PolicyInput, PolicyResource } from '../../../stacks/checks/policy/policy-types';
import type { StackKind } from '../../../stacks/infra/stack-contracts';

type Values = Record<string, unknown>;

/** A synthesized resource at `type.name`. */
export function resource(address: string, values: Values): PolicyResource {
  return { address, type: address.slice(0, address.indexOf('.')), values, unknown: new Set() };
}

/**
 * A planned resource: `after` as the plan knows it, the names of attributes it leaves unknown, and
 * optionally the configured attributes (`PolicyResource.configured`).
 */
export function planned(address: string, after: Values, unknown: readonly string[] = [], configured?: Values): PolicyResource {
  return { ...resource(address, after), unknown: new Set(unknown), ...(configured ? { configured } : {}) };
}

export function input(stack: string, kind: StackKind, resources: PolicyResource[], extra: Partial<PolicyInput> = {}): PolicyInput {
  return { stack, kind, source: 'synth', resources, ...extra };
}

/** A copy of `stack` with the resource at `address` rewritten by `edit` (which gets a deep copy). */
export function edit(stack: PolicyInput, address: string, change: (values: Values) => Values | void): PolicyInput {
  if (!stack.resources.some((r) => r.address === address)) throw new Error(`no ${address} in fixture ${stack.stack}`);
  return {
    ...stack,
    resources: stack.resources.map((r) => {
      if (r.address !== address) return r;
      const copy = structuredClone(r.values) as Values;
      return { ...r, values: change(copy) ?? copy };
    }),
  };
}

export const without = (stack: PolicyInput, ...addresses: string[]): PolicyInput => ({
  ...stack,
  resources: stack.resources.filter((r) => !addresses.includes(r.address)),
});

export const adding = (stack: PolicyInput, ...resources: PolicyResource[]): PolicyInput => ({ ...stack, resources: [...stack.resources, ...resources] });

/** Nested access for edits: `at(v, 'spec', 'template', 'spec')` on blocks written as objects. */
export function at(values: Values, ...path: (string | number)[]): Values {
  let current: unknown = values;
  for (const key of path) current = (current as Record<string | number, unknown>)[key];
  return current as Values;
}

const DEFAULT_TAGS = { 'cost-center': 'cc-9-test', owner: 'platform-team', location: 'testville', stack: 'testville-data' };

/** A location data stack (`testville-data`) that passes every rule. */
export function compliantDataStack(): PolicyInput {
  const instance = {
    auto_minor_version_upgrade: true,
    copy_tags_to_snapshot: true,
    enabled_cloudwatch_logs_exports: ['postgresql', 'upgrade'],
    iam_database_authentication_enabled: true,
    instance_class: 'db.t4g.medium',
    monitoring_interval: 60,
    monitoring_role_arn: '${aws_iam_role.monitoring.arn}',
    parameter_group_name: '${aws_db_parameter_group.postgres.name}',
    performance_insights_enabled: true,
    performance_insights_kms_key_id: '${aws_kms_key.data.arn}',
    publicly_accessible: false,
  };
  return input(
    'testville-data',
    'data',
    [
      resource('aws_kms_key.data', { description: 'testville data', enable_key_rotation: true }),
      resource('aws_iam_role.monitoring', { assume_role_policy: '{}' }),
      resource('aws_db_parameter_group.postgres', {
        family: 'postgres16',
        name: 'testville-postgres16',
        parameter: [
          { name: 'rds.force_ssl', value: '1', apply_method: 'immediate' },
          { name: 'log_min_duration_statement', value: '250', apply_method: 'immediate' },
        ],
      }),
      resource('aws_db_instance.primary', {
        ...instance,
        allocated_storage: 50,
        max_allocated_storage: 200,
        backup_retention_period: 14,
        deletion_protection: true,
        engine: 'postgres',
        engine_version: '16',
        final_snapshot_identifier: 'testville-postgres-final',
        identifier: 'testville-postgres',
        kms_key_id: '${aws_kms_key.data.arn}',
        multi_az: true,
        skip_final_snapshot: false,
        storage_encrypted: true,
      }),
      resource('aws_db_instance.replica', {
        ...instance,
        backup_retention_period: 0,
        deletion_protection: false,
        identifier: 'testville-postgres-replica-1',
        max_allocated_storage: 200,
        replicate_source_db: '${aws_db_instance.primary.arn}',
        skip_final_snapshot: true,
      }),
      resource('aws_elasticache_replication_group.redis', {
        at_rest_encryption_enabled: 'true',
        automatic_failover_enabled: true,
        description: 'testville cache',
        engine: 'redis',
        kms_key_id: '${aws_kms_key.data.arn}',
        log_delivery_configuration: [
          { destination: '${aws_cloudwatch_log_group.slow.name}', destination_type: 'cloudwatch-logs', log_format: 'json', log_type: 'slow-log' },
          { destination: '${aws_cloudwatch_log_group.engine.name}', destination_type: 'cloudwatch-logs', log_format: 'json', log_type: 'engine-log' },
        ],
        multi_az_enabled: true,
        node_type: 'cache.t4g.small',
        num_cache_clusters: 2,
        replication_group_id: 'testville-redis',
        snapshot_retention_limit: 1,
        transit_encryption_enabled: true,
        transit_encryption_mode: 'required',
        user_group_ids: ['${aws_elasticache_user_group.users.user_group_id}'],
      }),
      resource('aws_cloudwatch_log_group.slow', { name: '/aws/elasticache/testville/slow-log' }),
      resource('aws_cloudwatch_log_group.engine', { name: '/aws/elasticache/testville/engine-log' }),
      resource('aws_elasticache_user.default', {
        access_string: 'off -@all',
        authentication_mode: { type: 'no-password-required' },
        engine: 'redis',
        user_id: 'testville-default',
        user_name: 'default',
      }),
      resource('aws_elasticache_user.app', {
        access_string: 'on ~app:* +@all -@dangerous',
        authentication_mode: { type: 'iam' },
        engine: 'redis',
        user_id: 'testville-app',
        user_name: 'testville-app',
      }),
      resource('aws_elasticache_user_group.users', {
        engine: 'redis',
        user_group_id: 'testville-redis-users',
        user_ids: ['${aws_elasticache_user.default.user_id}', '${aws_elasticache_user.app.user_id}'],
      }),
      resource('aws_s3_bucket.assets', { bucket: 'testville-assets' }),
      resource('aws_s3_bucket.logs', { bucket: 'testville-logs' }),
      ...(['assets', 'logs'] as const).flatMap((b) => [
        resource(`aws_s3_bucket_public_access_block.${b}`, {
          block_public_acls: true,
          block_public_policy: true,
          bucket: `\${aws_s3_bucket.${b}.id}`,
          ignore_public_acls: true,
          restrict_public_buckets: true,
        }),
        resource(`aws_s3_bucket_ownership_controls.${b}`, {
          bucket: `\${aws_s3_bucket.${b}.id}`,
          rule: { object_ownership: b === 'logs' ? 'BucketOwnerPreferred' : 'BucketOwnerEnforced' },
        }),
        resource(`aws_s3_bucket_lifecycle_configuration.${b}`, {
          bucket: `\${aws_s3_bucket.${b}.id}`,
          rule: [{ id: 'expire', status: 'Enabled', filter: {}, expiration: { days: 90 } }],
        }),
        resource(`aws_s3_bucket_policy.${b}`, {
          bucket: `\${aws_s3_bucket.${b}.id}`,
          policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'DenyInsecureTransport',
                Effect: 'Deny',
                Principal: '*',
                Action: 's3:*',
                Resource: [`\${aws_s3_bucket.${b}.arn}`, `\${aws_s3_bucket.${b}.arn}/*`],
                Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              },
            ],
          }),
        }),
      ]),
      resource('aws_s3_bucket_versioning.assets', { bucket: '${aws_s3_bucket.assets.id}', versioning_configuration: { status: 'Enabled' } }),
      resource('aws_s3_bucket_server_side_encryption_configuration.assets', {
        bucket: '${aws_s3_bucket.assets.id}',
        rule: [{ apply_server_side_encryption_by_default: { kms_master_key_id: '${aws_kms_key.data.arn}', sse_algorithm: 'aws:kms' }, bucket_key_enabled: true }],
      }),
      resource('aws_s3_bucket_server_side_encryption_configuration.logs', {
        bucket: '${aws_s3_bucket.logs.id}',
        rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: 'AES256' } }],
      }),
      resource('aws_s3_bucket_logging.assets', { bucket: '${aws_s3_bucket.assets.id}', target_bucket: '${aws_s3_bucket.logs.id}', target_prefix: 's3-access/' }),
      resource('aws_cloudfront_origin_access_control.assets', {
        name: 'testville-assets',
        origin_access_control_origin_type: 's3',
        signing_behavior: 'always',
        signing_protocol: 'sigv4',
      }),
      resource('aws_cloudfront_response_headers_policy.security', {
        name: 'testville-security-headers',
        security_headers_config: {
          content_type_options: { override: true },
          strict_transport_security: { access_control_max_age_sec: 63072000, include_subdomains: true, override: true, preload: true },
          content_security_policy: {
            content_security_policy: "default-src 'self'; connect-src 'self' https://api.testville.example wss://api.testville.example; frame-ancestors 'none'",
            override: true,
          },
        },
      }),
      resource('aws_s3_object.index', {
        bucket: '${aws_s3_bucket.assets.id}',
        key: 'web/index.html',
        source: 'assets/web-index/0123/index.html',
        source_hash: '${filemd5("assets/web-index/0123/index.html")}',
        content_type: 'text/html; charset=utf-8',
        cache_control: 'no-cache',
      }),
      resource('aws_cloudfront_distribution.cdn', {
        default_cache_behavior: {
          allowed_methods: ['GET', 'HEAD'],
          cached_methods: ['GET', 'HEAD'],
          response_headers_policy_id: '${aws_cloudfront_response_headers_policy.security.id}',
          target_origin_id: 'assets',
          viewer_protocol_policy: 'redirect-to-https',
        },
        enabled: true,
        logging_config: { bucket: '${aws_s3_bucket.logs.bucket_domain_name}', include_cookies: false, prefix: 'cloudfront/' },
        ordered_cache_behavior: [
          {
            allowed_methods: ['GET', 'HEAD'],
            cached_methods: ['GET', 'HEAD'],
            path_pattern: '/assets/*',
            response_headers_policy_id: '${aws_cloudfront_response_headers_policy.security.id}',
            target_origin_id: 'assets',
            viewer_protocol_policy: 'https-only',
          },
        ],
        origin: [
          {
            domain_name: '${aws_s3_bucket.assets.bucket_regional_domain_name}',
            origin_access_control_id: '${aws_cloudfront_origin_access_control.assets.id}',
            origin_id: 'assets',
          },
        ],
        restrictions: { geo_restriction: { restriction_type: 'none' } },
        viewer_certificate: { acm_certificate_arn: '${aws_acm_certificate.cdn.arn}', minimum_protocol_version: 'TLSv1.2_2021', ssl_support_method: 'sni-only' },
      }),
      resource('aws_acm_certificate.cdn', { domain_name: 'cdn.testville.example', provider: 'aws.us_east_1', validation_method: 'DNS' }),
    ],
    { providerDefaultTags: { aws: DEFAULT_TAGS, 'aws.us_east_1': DEFAULT_TAGS } },
  );
}

/** A region's platform stack (`platform-test-1`) that passes every rule. */
export function compliantPlatformStack(): PolicyInput {
  const tags = { 'cost-center': 'cc-0001-platform', owner: 'platform-team', stack: 'platform-test-1' };
  return input(
    'platform-test-1',
    'platform',
    [
      resource('aws_vpc.main', { cidr_block: '10.0.0.0/16', tags: { Name: 'test-1' } }),
      resource('aws_default_security_group.main', { vpc_id: '${aws_vpc.main.id}', tags: { Name: 'test-1-default-unused' } }),
      resource('aws_cloudwatch_log_group.flow', { name: '/vpc/test-1/flow' }),
      resource('aws_flow_log.main', {
        iam_role_arn: '${aws_iam_role.flow.arn}',
        log_destination: '${aws_cloudwatch_log_group.flow.arn}',
        traffic_type: 'ALL',
        vpc_id: '${aws_vpc.main.id}',
      }),
      resource('aws_iam_role.flow', { assume_role_policy: '{}' }),
      resource('aws_kms_key.secrets', { enable_key_rotation: true }),
      resource('aws_kms_alias.secrets', { name: 'alias/test-1-secrets', target_key_id: '${aws_kms_key.secrets.id}' }),
      resource('aws_eks_cluster.cluster', {
        enabled_cluster_log_types: ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'],
        encryption_config: { provider: { key_arn: '${aws_kms_key.secrets.arn}' }, resources: ['secrets'] },
        name: 'test-1',
        role_arn: '${aws_iam_role.cluster.arn}',
        vpc_config: { endpoint_private_access: true, endpoint_public_access: false, subnet_ids: ['${aws_subnet.a.id}'] },
      }),
      resource('aws_iam_role.cluster', { assume_role_policy: '{}' }),
      resource('aws_subnet.a', { cidr_block: '10.0.0.0/20', vpc_id: '${aws_vpc.main.id}' }),
      resource('aws_launch_template.nodes', {
        block_device_mappings: [{ device_name: '/dev/xvda', ebs: { encrypted: 'true', volume_size: 50, volume_type: 'gp3' } }],
        metadata_options: { http_endpoint: 'enabled', http_put_response_hop_limit: 1, http_tokens: 'required' },
        name: 'test-1-nodes',
      }),
      resource('aws_eks_node_group.nodes', {
        cluster_name: '${aws_eks_cluster.cluster.name}',
        launch_template: { id: '${aws_launch_template.nodes.id}', version: '${aws_launch_template.nodes.latest_version}' },
        node_role_arn: '${aws_iam_role.cluster.arn}',
        scaling_config: { desired_size: 2, max_size: 4, min_size: 2 },
        subnet_ids: ['${aws_subnet.a.id}'],
      }),
      resource('aws_ecr_repository.api', {
        encryption_configuration: [{ encryption_type: 'KMS', kms_key: '${aws_kms_key.secrets.arn}' }],
        image_scanning_configuration: { scan_on_push: true },
        image_tag_mutability: 'IMMUTABLE',
        name: 'restaurant/api',
      }),
    ],
    { providerDefaultTags: { aws: tags } },
  );
}

const LABELS = { 'app.kubernetes.io/name': 'order-api', 'app.kubernetes.io/instance': 'testville' };
const NAMESPACE = '${kubernetes_namespace_v1.namespace.metadata[0].name}';

const secureContainer = (name: string, image: string) => ({
  image,
  name,
  resources: { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '100m', memory: '128Mi' } },
  security_context: {
    allow_privilege_escalation: false,
    capabilities: { drop: ['ALL'] },
    privileged: false,
    read_only_root_filesystem: true,
    run_as_non_root: true,
    run_as_user: '10001',
    seccomp_profile: { type: 'RuntimeDefault' },
  },
});

const podSecurity = { fs_group: '10001', run_as_non_root: true, run_as_user: '10001', seccomp_profile: { type: 'RuntimeDefault' } };

/** A location app stack (`testville-app`) that passes every rule. */
export function compliantAppStack(): PolicyInput {
  return input('testville-app', 'app', [
    resource('kubernetes_namespace_v1.namespace', { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted' }, name: 'testville' } }),
    resource('kubernetes_deployment_v1.api', {
      metadata: { labels: LABELS, name: 'api', namespace: NAMESPACE },
      spec: {
        selector: { match_labels: LABELS },
        template: {
          metadata: { labels: { ...LABELS, 'app.kubernetes.io/component': 'api' } },
          spec: {
            automount_service_account_token: false,
            container: [
              {
                ...secureContainer('api', '${data.terraform_remote_state.platform.outputs.api_repository_url}:v1.2.3'),
                liveness_probe: { http_get: { path: '/healthz', port: 'http' } },
                readiness_probe: { http_get: { path: '/readyz', port: 'http' } },
              },
            ],
            init_container: [secureContainer('wait', 'busybox:1.37.0')],
            security_context: podSecurity,
          },
        },
      },
    }),
    resource('kubernetes_horizontal_pod_autoscaler_v2.api', {
      metadata: { name: 'api', namespace: NAMESPACE },
      spec: { max_replicas: 4, min_replicas: 2, scale_target_ref: { api_version: 'apps/v1', kind: 'Deployment', name: '${kubernetes_deployment_v1.api.metadata[0].name}' } },
    }),
    resource('kubernetes_pod_disruption_budget_v1.api', {
      metadata: { name: 'api', namespace: NAMESPACE },
      spec: { max_unavailable: '1', selector: { match_labels: LABELS } },
    }),
    resource('kubernetes_cron_job_v1.refresh', {
      metadata: { name: 'refresh', namespace: NAMESPACE },
      spec: {
        job_template: {
          metadata: {},
          spec: {
            template: {
              metadata: {},
              spec: {
                automount_service_account_token: false,
                container: [secureContainer('refresh', 'registry.example/restaurant/api@sha256:0123456789abcdef')],
                restart_policy: 'Never',
                security_context: podSecurity,
              },
            },
          },
        },
        schedule: '*/15 * * * *',
      },
    }),
    resource('kubernetes_network_policy_v1.default_deny', {
      metadata: { name: 'default-deny-all', namespace: NAMESPACE },
      spec: { pod_selector: {}, policy_types: ['Ingress', 'Egress'] },
    }),
    resource('kubernetes_network_policy_v1.api_ingress', {
      metadata: { name: 'allow-api-ingress', namespace: NAMESPACE },
      spec: { ingress: [{ ports: [{ port: '8080', protocol: 'TCP' }] }], pod_selector: { match_labels: LABELS }, policy_types: ['Ingress'] },
    }),
    resource('kubernetes_config_map_v1.settings', { data: { LOG_LEVEL: 'info' }, metadata: { name: 'settings', namespace: NAMESPACE } }),
    resource('kubernetes_storage_class_v1.gp3', {
      metadata: { name: 'gp3' },
      parameters: { encrypted: 'true', type: 'gp3' },
      storage_provisioner: 'ebs.csi.aws.com',
    }),
    resource('helm_release.metrics_server', {
      chart: 'metrics-server',
      name: 'metrics-server',
      namespace: 'monitoring',
      repository: 'https://kubernetes-sigs.github.io/metrics-server/',
      version: '3.13.0',
    }),
  ]);
}

/** The compliant fixture of a stack kind. */
export function compliantStack(kind: StackKind): PolicyInput {
  switch (kind) {
    case 'data':
      return compliantDataStack();
    case 'platform':
      return compliantPlatformStack();
    case 'app':
      return compliantAppStack();
    case 'addons':
      return { ...compliantAppStack(), stack: 'addons-test-1', kind: 'addons' };
  }
}
