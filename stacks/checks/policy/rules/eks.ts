/** EKS clusters (`aws_eks_cluster`) and the launch templates of their managed node groups. */
import type { PolicyRule } from '../policy-types';
import {
  AWS_STACKS,
  blocks,
  eachResource,
  effectiveValues,
  first,
  isFalse,
  isSet,
  isTrue,
  listed,
  ofType,
  plannedWithoutConfiguration,
  shown,
  stringList,
  toNumber,
  violation,
} from './helpers';

const CLUSTER = ['aws_eks_cluster'];
export const CONTROL_PLANE_LOG_TYPES = ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'];

export const EKS_RULES: readonly PolicyRule[] = [
  {
    id: 'EKS-001',
    title: 'EKS clusters send every control-plane log to CloudWatch',
    checkov: 'CKV_AWS_37',
    trivy: 'AVD-AWS-0038',
    appliesTo: AWS_STACKS,
    // Absent means no control-plane logs.
    evaluate: eachResource(CLUSTER, (_r, values) => {
      const enabled = stringList(values.enabled_cluster_log_types);
      const missing = CONTROL_PLANE_LOG_TYPES.filter((t) => !enabled.includes(t));
      return missing.length === 0 ? undefined : `enabled_cluster_log_types lacks ${listed(missing)}; enable all of ${listed(CONTROL_PLANE_LOG_TYPES)}`;
    }),
  },
  {
    id: 'EKS-002',
    title: 'EKS clusters encrypt Kubernetes secrets with a KMS key',
    checkov: 'CKV_AWS_58',
    trivy: 'AVD-AWS-0039',
    appliesTo: AWS_STACKS,
    // encryption_config absent means secrets are stored with only EBS-level encryption. The key
    // ARN is a reference, unknown at plan time: its configured expression counts as set (a plan
    // without configuration is not judged on it).
    evaluate: eachResource(CLUSTER, (resource, values, input) => {
      const config = blocks(values.encryption_config).find((c) => stringList(c.resources).includes('secrets'));
      if (!config) return 'encryption_config does not cover "secrets"; envelope-encrypt secrets with a customer-managed KMS key';
      const keyArn = first(config.provider).key_arn;
      if (isSet(keyArn) || plannedWithoutConfiguration(input, resource)) return undefined;
      return 'encryption_config.provider.key_arn is not set; name the KMS key that encrypts secrets';
    }),
  },
  {
    id: 'EKS-003',
    title: 'EKS API endpoints are private only',
    checkov: 'CKV_AWS_39',
    trivy: 'AVD-AWS-0040',
    appliesTo: AWS_STACKS,
    // endpoint_public_access absent means true and endpoint_private_access absent means false
    // (provider defaults); deploys reach the API from inside the VPC.
    evaluate: eachResource(CLUSTER, (_r, values) => {
      const vpc = first(values.vpc_config);
      const problems = [
        ...(!isFalse(vpc.endpoint_public_access) ? [`vpc_config.endpoint_public_access is ${shown(vpc.endpoint_public_access, 'true')}`] : []),
        ...(!isTrue(vpc.endpoint_private_access) ? [`vpc_config.endpoint_private_access is ${shown(vpc.endpoint_private_access, 'false')}`] : []),
      ];
      return problems.length === 0 ? undefined : `${problems.join(', ')}; the Kubernetes API must be reachable from inside the VPC only`;
    }),
  },
  {
    id: 'EKS-004',
    title: 'EKS nodes require IMDSv2 with a hop limit of 1',
    checkov: 'CKV_AWS_79',
    trivy: 'AVD-AWS-0130',
    appliesTo: AWS_STACKS,
    // Every managed node group must use a launch template (EKS's own template leaves IMDSv1 on),
    // and every launch template must require session tokens (`http_tokens` absent means
    // "optional") with http_put_response_hop_limit 1 (absent means 1), so pods cannot borrow the
    // node's role through the metadata service. A disabled metadata endpoint passes.
    evaluate: (input) => [
      ...ofType(input, 'aws_eks_node_group')
        .filter((group) => blocks(effectiveValues(group).launch_template).length === 0)
        .map((group) => violation(group, 'has no launch_template; use one that requires IMDSv2 (the EKS default template leaves IMDSv1 on)')),
      ...eachResource(['aws_launch_template'], (_r, values) => {
        const metadata = first(values.metadata_options);
        if (metadata.http_endpoint === 'disabled') return undefined;
        const hopLimit = toNumber(metadata.http_put_response_hop_limit) ?? 1;
        const problems = [
          ...(metadata.http_tokens !== 'required' ? [`metadata_options.http_tokens is ${shown(metadata.http_tokens, '"optional"')}`] : []),
          ...(hopLimit !== 1 ? [`metadata_options.http_put_response_hop_limit is ${hopLimit}`] : []),
        ];
        return problems.length === 0 ? undefined : `${problems.join(', ')}; require IMDSv2 tokens with a hop limit of 1`;
      })(input),
    ],
  },
  {
    id: 'EKS-005',
    title: 'EKS node launch templates encrypt their volumes',
    appliesTo: AWS_STACKS,
    // Every launch template (here: the node groups') must map its volumes with ebs.encrypted =
    // true (a string in this provider; absent means unencrypted unless the account says
    // otherwise). Without block_device_mappings the root volume's encryption depends on an account
    // setting this stack does not control.
    evaluate: eachResource(['aws_launch_template'], (_r, values) => {
      const mappings = blocks(values.block_device_mappings);
      if (mappings.length === 0) return 'has no block_device_mappings; map the root volume with ebs.encrypted = true';
      return mappings
        .filter((m) => !isTrue(first(m.ebs).encrypted))
        .map((m) => `volume ${shown(m.device_name)} has ebs.encrypted ${shown(first(m.ebs).encrypted, 'false')}; set it to true`);
    }),
  },
];
