/**
 * Cost-allocation tags on AWS resources.
 *
 * Which resources are taggable, and which tags they get:
 * - plan: a resource type is taggable when its planned values have `tags_all`, where the provider
 *   has already merged the provider's `default_tags` with the resource's `tags`. A `tags_all`
 *   unknown at plan time (a tag value computed at apply) is not judged.
 * - synth: the provider's `default_tags` (`PolicyInput.providerDefaultTags`, for the provider
 *   configuration the resource names in `provider`, else `aws`) merged with its `tags`. A type is
 *   taggable when it is in `TAGGABLE_AWS_TYPES` or when it writes `tags`. The two lists below were
 *   read from `terraform providers schema -json` of hashicorp/aws 5.100.0 (a type is taggable when
 *   it has `tags_all`); a test fails when a synthesized AWS type is in neither, so the lists grow
 *   with the stacks.
 */
import { REQUIRED_TAG_KEYS } from '../../../infra/config/location-schema';
import type { PolicyInput, PolicyResource, PolicyRule } from '../policy-types';
import { AWS_STACKS, isSet, listed, shown, violation } from './helpers';

export const TAGGABLE_AWS_TYPES: ReadonlySet<string> = new Set([
  'aws_acm_certificate', 'aws_cloudfront_distribution', 'aws_cloudwatch_log_group', 'aws_cloudwatch_metric_alarm', 'aws_db_instance',
  'aws_db_option_group', 'aws_db_parameter_group', 'aws_db_subnet_group', 'aws_default_security_group', 'aws_dynamodb_table',
  'aws_ebs_volume', 'aws_ecr_repository', 'aws_efs_file_system', 'aws_eip', 'aws_eks_access_entry', 'aws_eks_addon', 'aws_eks_cluster',
  'aws_eks_fargate_profile', 'aws_eks_node_group', 'aws_eks_pod_identity_association', 'aws_elasticache_cluster',
  'aws_elasticache_parameter_group', 'aws_elasticache_replication_group', 'aws_elasticache_subnet_group', 'aws_elasticache_user',
  'aws_elasticache_user_group', 'aws_flow_log', 'aws_iam_instance_profile', 'aws_iam_openid_connect_provider', 'aws_iam_policy',
  'aws_iam_role', 'aws_iam_user', 'aws_instance', 'aws_internet_gateway', 'aws_kms_key', 'aws_lambda_function', 'aws_launch_template',
  'aws_lb', 'aws_lb_listener', 'aws_lb_target_group', 'aws_nat_gateway', 'aws_network_acl', 'aws_rds_cluster', 'aws_rds_cluster_instance',
  'aws_route53_health_check', 'aws_route53_zone', 'aws_route_table', 'aws_s3_bucket', 'aws_s3_object', 'aws_secretsmanager_secret', 'aws_security_group',
  'aws_sns_topic', 'aws_sqs_queue', 'aws_ssm_parameter', 'aws_subnet', 'aws_vpc', 'aws_vpc_endpoint',
  'aws_vpc_security_group_egress_rule', 'aws_vpc_security_group_ingress_rule', 'aws_wafv2_web_acl',
]);

export const UNTAGGABLE_AWS_TYPES: ReadonlySet<string> = new Set([
  'aws_acm_certificate_validation', 'aws_cloudfront_cache_policy', 'aws_cloudfront_function', 'aws_cloudfront_origin_access_control',
  'aws_cloudfront_response_headers_policy', 'aws_cloudwatch_dashboard', 'aws_cloudwatch_log_metric_filter', 'aws_ecr_lifecycle_policy',
  // A creation template's `resource_tags` go to the repositories it creates, not to the template.
  'aws_ecr_pull_through_cache_rule', 'aws_ecr_repository_creation_template',
  'aws_eks_access_policy_association', 'aws_iam_role_policy', 'aws_iam_role_policy_attachment', 'aws_kms_alias', 'aws_kms_grant',
  'aws_kms_key_policy', 'aws_route', 'aws_route53_record', 'aws_route_table_association', 'aws_s3_bucket_acl',
  'aws_s3_bucket_cors_configuration', 'aws_s3_bucket_lifecycle_configuration', 'aws_s3_bucket_logging', 'aws_s3_bucket_notification',
  'aws_s3_bucket_ownership_controls', 'aws_s3_bucket_policy', 'aws_s3_bucket_public_access_block',
  'aws_s3_bucket_server_side_encryption_configuration', 'aws_s3_bucket_versioning', 'aws_secretsmanager_secret_rotation',
  'aws_secretsmanager_secret_version', 'aws_security_group_rule', 'aws_sns_topic_policy', 'aws_sns_topic_subscription',
]);

/** Location stacks carry the location they belong to; region-wide stacks serve several. */
const LOCATION_TAG = 'location';

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The tags a resource ends up with, `undefined` when it is not taggable, or `'unknown'` when a plan
 * computes them at apply.
 */
export function effectiveTags(input: PolicyInput, resource: PolicyResource): Record<string, unknown> | 'unknown' | undefined {
  if (!resource.type.startsWith('aws_')) return undefined;
  const values = resource.values;
  if (input.source === 'plan') {
    if (isPlainObject(values.tags_all)) return values.tags_all;
    return resource.unknown.has('tags_all') ? 'unknown' : undefined;
  }
  if (!TAGGABLE_AWS_TYPES.has(resource.type) && !('tags' in values)) return undefined;
  const provider = typeof values.provider === 'string' ? values.provider : 'aws';
  return { ...(input.providerDefaultTags?.[provider] ?? {}), ...(isPlainObject(values.tags) ? values.tags : {}) };
}

const tagsWord = (input: PolicyInput) => (input.source === 'plan' ? 'tags_all' : 'tags (with provider default_tags)');

/** The location a location stack (`<location>-data`) belongs to. */
const locationOfStack = (stack: string): string | undefined => /^(.+)-data$/.exec(stack)?.[1];

export const TAGGING_RULES: readonly PolicyRule[] = [
  {
    id: 'TAG-001',
    title: `Taggable AWS resources carry the cost-allocation tags ${REQUIRED_TAG_KEYS.join(' and ')}`,
    appliesTo: AWS_STACKS,
    // Tag values must be non-empty; an interpolated value counts as set.
    evaluate: (input) =>
      input.resources.flatMap((resource) => {
        const tags = effectiveTags(input, resource);
        if (tags === undefined || tags === 'unknown') return [];
        const missing = REQUIRED_TAG_KEYS.filter((key) => !isSet(tags[key]));
        return missing.length === 0
          ? []
          : [violation(resource, `${tagsWord(input)} lack ${listed(missing)}; every taggable resource needs ${listed(REQUIRED_TAG_KEYS)} for cost allocation`)];
      }),
  },
  {
    id: 'TAG-002',
    title: 'Taggable AWS resources of a location stack carry its location tag',
    appliesTo: ['data'],
    // The value must be the stack's location id (the stack id without `-data`).
    evaluate: (input) => {
      const expected = locationOfStack(input.stack);
      return input.resources.flatMap((resource) => {
        const tags = effectiveTags(input, resource);
        if (tags === undefined || tags === 'unknown') return [];
        const value = tags[LOCATION_TAG];
        if (isSet(value) && (expected === undefined || value === expected)) return [];
        return [
          violation(
            resource,
            `${tagsWord(input)} ${isSet(value) ? `have ${LOCATION_TAG} ${shown(value)}` : `lack ${LOCATION_TAG}`}; it must be ${expected === undefined ? 'the location id' : shown(expected)} so costs add up per location`,
          ),
        ];
      });
    },
  },
];
