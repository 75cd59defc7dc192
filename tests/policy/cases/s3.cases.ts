import { adding, compliantDataStack, edit, input, planned, resource, without } from '../support/fixtures';
import type { FailingCase, PassingCase } from './failing-case';

const stack = compliantDataStack;
const ASSETS = 'aws_s3_bucket.assets';
const LOGS = 'aws_s3_bucket.logs';
const OBJECT_TAGS = { 'cost-center': 'cc-9-test', owner: 'platform-team', location: 'testville', stack: 'testville-data' };

export const S3_CASES: FailingCase[] = [
  {
    rule: 'S3-001',
    when: 'a bucket has no public access block',
    input: without(stack(), 'aws_s3_bucket_public_access_block.logs'),
    messages: [`${LOGS}: has no aws_s3_bucket_public_access_block; add one with all four settings true`],
  },
  {
    rule: 'S3-001',
    when: 'a public access block leaves two settings off',
    input: edit(stack(), 'aws_s3_bucket_public_access_block.assets', ({ block_public_policy: _, ...v }) => ({ ...v, restrict_public_buckets: false })),
    messages: ['aws_s3_bucket_public_access_block.assets: block_public_policy, restrict_public_buckets are not true; all four public-access settings must be true'],
  },
  {
    rule: 'S3-002',
    when: 'the asset bucket has no versioning',
    input: without(stack(), 'aws_s3_bucket_versioning.assets'),
    messages: [`${ASSETS}: has no aws_s3_bucket_versioning; enable versioning so overwritten and deleted objects can be restored`],
  },
  {
    rule: 'S3-002',
    when: 'versioning is suspended',
    input: edit(stack(), 'aws_s3_bucket_versioning.assets', (v) => ({ ...v, versioning_configuration: { status: 'Suspended' } })),
    messages: ['aws_s3_bucket_versioning.assets: versioning_configuration.status is "Suspended"; it must be "Enabled"'],
  },
  {
    rule: 'S3-003',
    when: 'the asset bucket uses SSE-S3',
    input: edit(stack(), 'aws_s3_bucket_server_side_encryption_configuration.assets', (v) => ({
      ...v,
      rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: 'AES256' } }],
    })),
    messages: [
      'aws_s3_bucket_server_side_encryption_configuration.assets: default encryption is "AES256" without a customer-managed key; use sse_algorithm = "aws:kms" with kms_master_key_id',
    ],
  },
  {
    rule: 'S3-003',
    when: 'a bucket has no encryption configuration',
    input: without(stack(), 'aws_s3_bucket_server_side_encryption_configuration.logs'),
    messages: [`${LOGS}: has no aws_s3_bucket_server_side_encryption_configuration; encrypt by default with SSE-KMS and a customer-managed key`],
  },
  {
    rule: 'S3-004',
    when: 'the bucket policy has no TLS-only statement',
    input: edit(stack(), 'aws_s3_bucket_policy.assets', (v) => ({
      ...v,
      policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'cloudfront.amazonaws.com' }, Action: 's3:GetObject', Resource: '*' }] }),
    })),
    messages: ['aws_s3_bucket_policy.assets: policy has no statement that denies s3:* to "*" when aws:SecureTransport is false; add one'],
  },
  {
    rule: 'S3-004',
    when: 'a bucket has no policy',
    input: without(stack(), 'aws_s3_bucket_policy.logs'),
    messages: [`${LOGS}: has no aws_s3_bucket_policy; add one that denies s3:* when aws:SecureTransport is false`],
  },
  {
    rule: 'S3-004',
    when: 'the policy comes from a data source and cannot be read',
    input: edit(stack(), 'aws_s3_bucket_policy.logs', (v) => ({ ...v, policy: '${data.aws_iam_policy_document.logs.json}' })),
    messages: ['aws_s3_bucket_policy.logs: policy is not a literal JSON document, so TLS-only access cannot be verified; write the document in the stack'],
  },
  {
    rule: 'S3-005',
    when: 'the asset bucket keeps ACLs',
    input: edit(stack(), 'aws_s3_bucket_ownership_controls.assets', (v) => ({ ...v, rule: { object_ownership: 'ObjectWriter' } })),
    messages: ['aws_s3_bucket_ownership_controls.assets: object_ownership is "ObjectWriter"; it must be "BucketOwnerEnforced"'],
  },
  {
    rule: 'S3-005',
    when: 'the log bucket keeps ACLs although CloudFront no longer logs to it',
    input: edit(stack(), 'aws_cloudfront_distribution.cdn', (v) => ({ ...v, logging_config: { bucket: 'audit-logs.s3.amazonaws.com' } })),
    messages: ['aws_s3_bucket_ownership_controls.logs: object_ownership is "BucketOwnerPreferred"; it must be "BucketOwnerEnforced"'],
  },
  {
    rule: 'S3-005',
    when: 'a bucket has no ownership controls',
    input: without(stack(), 'aws_s3_bucket_ownership_controls.assets'),
    messages: [`${ASSETS}: has no aws_s3_bucket_ownership_controls; set object_ownership = "BucketOwnerEnforced" so ACLs are disabled`],
  },
  {
    rule: 'S3-006',
    when: 'the asset bucket does not log access',
    input: without(stack(), 'aws_s3_bucket_logging.assets'),
    messages: [`${ASSETS}: has no aws_s3_bucket_logging; send server access logs to the location's log bucket`],
  },
  {
    rule: 'S3-007',
    when: 'a bucket has no lifecycle configuration',
    input: without(stack(), 'aws_s3_bucket_lifecycle_configuration.assets'),
    messages: [`${ASSETS}: has no aws_s3_bucket_lifecycle_configuration; expire noncurrent versions, logs and incomplete uploads`],
  },
  {
    rule: 'S3-007',
    when: 'every lifecycle rule is disabled',
    input: edit(stack(), 'aws_s3_bucket_lifecycle_configuration.logs', (v) => ({ ...v, rule: [{ id: 'expire', status: 'Disabled' }] })),
    messages: ['aws_s3_bucket_lifecycle_configuration.logs: has no rule with status "Enabled"; enable at least one lifecycle rule'],
  },
  {
    rule: 'S3-008',
    when: 'an object sets neither content type nor cache control',
    input: edit(stack(), 'aws_s3_object.index', ({ content_type: _type, cache_control: _cache, ...v }) => v),
    messages: [
      'aws_s3_object.index: sets no content_type and cache_control; give every object its content type and cache control (contract/web-delivery.ts webObjectHeaders)',
    ],
  },
  {
    rule: 'S3-008',
    when: 'a planned object leaves cache control unwritten (the plan shows it unknown, the configuration lacks it)',
    input: input('testville-data', 'data', [
      planned('aws_s3_object.web["sw.js"]', { key: 'web/sw.js', content_type: 'text/javascript; charset=utf-8' }, ['cache_control'], {
        key: 'web/${each.key}',
        content_type: '${each.value.content_type}',
      }),
    ], { source: 'plan' }),
    messages: [
      'aws_s3_object.web["sw.js"]: sets no cache_control; give every object its content type and cache control (contract/web-delivery.ts webObjectHeaders)',
    ],
  },
];

export const S3_PASSING: PassingCase[] = [
  {
    when: 'planned objects of a for_each resource whose headers come from each.value, and an object of a plan without configuration whose headers are unknown',
    input: input(
      'testville-data',
      'data',
      [
        planned(
          'aws_s3_object.web["assets/index-Fx7aB2cD.js"]',
          { key: 'web/assets/index-Fx7aB2cD.js', content_type: 'text/javascript; charset=utf-8', cache_control: 'public, max-age=31536000, immutable', tags_all: OBJECT_TAGS },
          [],
          { key: 'web/${each.key}', content_type: '${each.value.content_type}', cache_control: '${each.value.cache_control}' },
        ),
        planned('aws_s3_object.other', { key: 'other.bin', tags_all: OBJECT_TAGS }, ['content_type', 'cache_control']),
      ],
      { source: 'plan' },
    ),
  },
  {
    when: 'companions that name their bucket literally instead of by reference',
    input: [
      'aws_s3_bucket_public_access_block.assets',
      'aws_s3_bucket_ownership_controls.assets',
      'aws_s3_bucket_lifecycle_configuration.assets',
      'aws_s3_bucket_policy.assets',
      'aws_s3_bucket_versioning.assets',
      'aws_s3_bucket_server_side_encryption_configuration.assets',
      'aws_s3_bucket_logging.assets',
    ].reduce((s, address) => edit(s, address, (v) => ({ ...v, bucket: 'testville-assets' })), stack()),
  },
  {
    when: 'a second access-log bucket named literally as a logging target (exempt from versioning and logging)',
    input: adding(
      edit(stack(), 'aws_s3_bucket_logging.assets', (v) => ({ ...v, target_bucket: 'testville-audit' })),
      resource('aws_s3_bucket.audit', { bucket: 'testville-audit' }),
      resource('aws_s3_bucket_public_access_block.audit', {
        block_public_acls: true,
        block_public_policy: true,
        bucket: '${aws_s3_bucket.audit.bucket}',
        ignore_public_acls: true,
        restrict_public_buckets: true,
      }),
      resource('aws_s3_bucket_ownership_controls.audit', { bucket: '${aws_s3_bucket.audit.bucket}', rule: { object_ownership: 'BucketOwnerEnforced' } }),
      resource('aws_s3_bucket_lifecycle_configuration.audit', { bucket: '${aws_s3_bucket.audit.bucket}', rule: { id: 'expire', status: 'Enabled' } }),
      resource('aws_s3_bucket_server_side_encryption_configuration.audit', {
        bucket: '${aws_s3_bucket.audit.bucket}',
        rule: { apply_server_side_encryption_by_default: { sse_algorithm: 'AES256' } },
      }),
      resource('aws_s3_bucket_policy.audit', {
        bucket: '${aws_s3_bucket.audit.bucket}',
        policy: JSON.stringify({
          Statement: {
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: ['s3:*'],
            Resource: '${aws_s3_bucket.audit.arn}/*',
            Condition: { Bool: { 'aws:SecureTransport': false } },
          },
        }),
      }),
    ),
  },
  {
    when: 'a bucket policy that interpolates an expression with quotes (the account id from remote state)',
    input: edit(stack(), 'aws_s3_bucket_policy.logs', (v) => ({
      ...v,
      policy: (v.policy as string).replace('"Version":"2012-10-17"', '"Version":"2012-10-17","Id":"${element(split(":", data.terraform_remote_state.platform.outputs.arn), 4)}"'),
    })),
  },
];
