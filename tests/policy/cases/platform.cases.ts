import { at, compliantPlatformStack, edit, without } from '../support/fixtures';
import type { FailingCase } from './failing-case';

const stack = compliantPlatformStack;
const CLUSTER = 'aws_eks_cluster.cluster';
const TEMPLATE = 'aws_launch_template.nodes';
const REPO = 'aws_ecr_repository.api';
const VPC = 'aws_vpc.main';

export const PLATFORM_CASES: FailingCase[] = [
  {
    rule: 'EKS-001',
    when: 'audit and authenticator logs are off',
    input: edit(stack(), CLUSTER, (v) => ({ ...v, enabled_cluster_log_types: ['api', 'controllerManager', 'scheduler'] })),
    messages: [`${CLUSTER}: enabled_cluster_log_types lacks audit, authenticator; enable all of api, audit, authenticator, controllerManager, scheduler`],
  },
  {
    rule: 'EKS-002',
    when: 'secrets are not envelope-encrypted',
    input: edit(stack(), CLUSTER, ({ encryption_config: _, ...v }) => v),
    messages: [`${CLUSTER}: encryption_config does not cover "secrets"; envelope-encrypt secrets with a customer-managed KMS key`],
  },
  {
    rule: 'EKS-002',
    when: 'the encryption config names no key',
    input: edit(stack(), CLUSTER, (v) => ({ ...v, encryption_config: { provider: {}, resources: ['secrets'] } })),
    messages: [`${CLUSTER}: encryption_config.provider.key_arn is not set; name the KMS key that encrypts secrets`],
  },
  {
    rule: 'EKS-003',
    when: 'the API endpoint is left at its public default',
    input: edit(stack(), CLUSTER, (v) => ({ ...v, vpc_config: { subnet_ids: ['${aws_subnet.a.id}'] } })),
    messages: [
      `${CLUSTER}: vpc_config.endpoint_public_access is not set (defaults to true), vpc_config.endpoint_private_access is not set (defaults to false); the Kubernetes API must be reachable from inside the VPC only`,
    ],
  },
  {
    rule: 'EKS-004',
    when: 'nodes accept IMDSv1 and pods can reach IMDS',
    input: edit(stack(), TEMPLATE, (v) => ({ ...v, metadata_options: { http_endpoint: 'enabled', http_put_response_hop_limit: 2 } })),
    messages: [`${TEMPLATE}: metadata_options.http_tokens is not set (defaults to "optional"), metadata_options.http_put_response_hop_limit is 2; require IMDSv2 tokens with a hop limit of 1`],
  },
  {
    rule: 'EKS-004',
    when: 'a node group uses the EKS default launch template',
    input: edit(stack(), 'aws_eks_node_group.nodes', ({ launch_template: _, ...v }) => v),
    messages: ['aws_eks_node_group.nodes: has no launch_template; use one that requires IMDSv2 (the EKS default template leaves IMDSv1 on)'],
  },
  {
    rule: 'EKS-005',
    when: 'the root volume is not encrypted',
    input: edit(stack(), TEMPLATE, (v) => {
      at(v, 'block_device_mappings', 0, 'ebs').encrypted = 'false';
    }),
    messages: [`${TEMPLATE}: volume "/dev/xvda" has ebs.encrypted "false"; set it to true`],
  },
  {
    rule: 'EKS-005',
    when: 'the template maps no volumes',
    input: edit(stack(), TEMPLATE, ({ block_device_mappings: _, ...v }) => v),
    messages: [`${TEMPLATE}: has no block_device_mappings; map the root volume with ebs.encrypted = true`],
  },
  {
    rule: 'ECR-001',
    when: 'tags are mutable',
    input: edit(stack(), REPO, ({ image_tag_mutability: _, ...v }) => v),
    messages: [`${REPO}: image_tag_mutability is not set (defaults to "MUTABLE"); set it to "IMMUTABLE" so a tag always names the same image`],
  },
  {
    rule: 'ECR-002',
    when: 'pushed images are not scanned',
    input: edit(stack(), REPO, (v) => ({ ...v, image_scanning_configuration: { scan_on_push: false } })),
    messages: [`${REPO}: image_scanning_configuration.scan_on_push is false; scan every pushed image`],
  },
  {
    rule: 'ECR-003',
    when: 'the repository uses AES256',
    input: edit(stack(), REPO, ({ encryption_configuration: _, ...v }) => v),
    messages: [`${REPO}: encryption_configuration.encryption_type is not set (defaults to "AES256"); use "KMS" with a customer-managed key`],
  },
  {
    rule: 'ECR-003',
    when: 'KMS uses the AWS-managed key',
    input: edit(stack(), REPO, (v) => ({ ...v, encryption_configuration: { encryption_type: 'KMS' } })),
    messages: [`${REPO}: encryption_configuration.kms_key is not set (AWS-managed key); name the registry's customer-managed KMS key`],
  },
  {
    rule: 'VPC-001',
    when: 'the VPC has no flow log',
    input: without(stack(), 'aws_flow_log.main'),
    messages: [`${VPC}: has no aws_flow_log; record the VPC's traffic for incident response`],
  },
  {
    rule: 'VPC-001',
    when: 'the flow log records rejected traffic only',
    input: edit(stack(), 'aws_flow_log.main', (v) => ({ ...v, traffic_type: 'REJECT' })),
    messages: [`${VPC}: flow logs record traffic_type "REJECT"; record "ALL"`],
  },
  {
    rule: 'VPC-002',
    when: 'the default security group is not managed',
    input: without(stack(), 'aws_default_security_group.main'),
    messages: [`${VPC}: has no aws_default_security_group; manage the default security group with no rules so nothing can use it`],
  },
  {
    rule: 'VPC-002',
    when: 'the default security group keeps an ingress rule',
    input: edit(stack(), 'aws_default_security_group.main', (v) => ({ ...v, ingress: { from_port: 0, protocol: '-1', self: true, to_port: 0 } })),
    messages: [`${VPC}: default security group aws_default_security_group.main has rules; remove every ingress and egress rule`],
  },
];
