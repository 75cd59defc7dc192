/**
 * S3 buckets. Since AWS provider v4 a bucket's settings are separate companion resources
 * (`aws_s3_bucket_versioning`, `..._public_access_block`, ...). A companion belongs to a bucket
 * when its `bucket` refers to it (`${aws_s3_bucket.assets.id}` or `.bucket`: in synthesized JSON,
 * and in a plan through its configuration, since a plan leaves `.id` unknown) or equals the
 * bucket's literal name. The deprecated inline blocks of `aws_s3_bucket` are not read.
 *
 * Log buckets, the targets of S3 server access logging or of CloudFront standard logging, have
 * exemptions written in the rules that need them: they do not log to themselves, need no
 * versioning (append-only, expired by lifecycle), can only use SSE-S3 (S3 server access logging
 * does not deliver to SSE-KMS buckets), and CloudFront standard logging writes with ACLs, which
 * BucketOwnerEnforced would disable.
 */
import type { PolicyInput, PolicyResource, PolicyRule, Violation } from '../policy-types';
import {
  AWS_STACKS,
  asString,
  block,
  blocks,
  companionsOf,
  designates,
  effectiveValues,
  first,
  isExpression,
  isSet,
  isTrue,
  listed,
  ofType,
  plannedWithoutConfiguration,
  refersTo,
  shown,
  unknownWithoutConfiguration,
  violation,
  withoutInterpolations,
} from './helpers';

const BUCKET = 'aws_s3_bucket';

const companions = (input: PolicyInput, type: string, bucket: PolicyResource) => companionsOf(input, type, 'bucket', bucket, 'bucket');

/** Buckets that receive S3 server access logs. */
function accessLogTargets(input: PolicyInput): Set<string> {
  const targets = ofType(input, 'aws_s3_bucket_logging').map((l) => effectiveValues(l).target_bucket);
  return new Set(ofType(input, BUCKET).filter((b) => targets.some((t) => designates(t, b, 'bucket'))).map((b) => b.address));
}

/**
 * Buckets that receive CloudFront standard logs: `logging_config.bucket` refers to the bucket
 * (its `bucket_domain_name`) or names `<bucket>.s3.amazonaws.com`.
 */
function cloudFrontLogTargets(input: PolicyInput): Set<string> {
  const targets = ofType(input, 'aws_cloudfront_distribution').map((d) => first(effectiveValues(d).logging_config).bucket);
  const designatesBucket = (target: unknown, bucket: PolicyResource) => {
    if (refersTo(target, bucket.address)) return true;
    const name = asString(effectiveValues(bucket).bucket);
    const literal = asString(target);
    return name !== undefined && literal !== undefined && !isExpression(literal) && literal.replace(/\.s3(\.[a-z0-9-]+)?\.amazonaws\.com$/, '') === name;
  };
  return new Set(ofType(input, BUCKET).filter((b) => targets.some((t) => designatesBucket(t, b))).map((b) => b.address));
}

function logTargets(input: PolicyInput): Set<string> {
  return new Set([...accessLogTargets(input), ...cloudFrontLogTargets(input)]);
}

/** An `evaluate` over buckets, with the stack's log buckets at hand. */
const eachBucket =
  (check: (bucket: PolicyResource, input: PolicyInput, logBuckets: ReadonlySet<string>) => Violation[]) =>
  (input: PolicyInput): Violation[] => {
    const logBuckets = logTargets(input);
    return ofType(input, BUCKET).flatMap((bucket) => check(bucket, input, logBuckets));
  };

const PUBLIC_ACCESS_FLAGS = ['block_public_acls', 'block_public_policy', 'ignore_public_acls', 'restrict_public_buckets'] as const;

interface PolicyStatement {
  Effect?: unknown;
  Principal?: unknown;
  Action?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** A statement that denies every S3 action to everyone over plain HTTP. */
function deniesInsecureTransport(statement: PolicyStatement): boolean {
  const actions = ([] as unknown[]).concat(statement.Action ?? []);
  const principal = statement.Principal;
  const awsPrincipals = typeof principal === 'object' && principal !== null ? ([] as unknown[]).concat((principal as Record<string, unknown>).AWS ?? []) : [];
  const everyone = principal === '*' || awsPrincipals.includes('*');
  const secureTransport = statement.Condition?.Bool?.['aws:SecureTransport'];
  return (
    statement.Effect === 'Deny' &&
    everyone &&
    actions.some((a) => a === 's3:*' || a === '*') &&
    (secureTransport === false || secureTransport === 'false' || (Array.isArray(secureTransport) && secureTransport.map(String).includes('false')))
  );
}

export const S3_RULES: readonly PolicyRule[] = [
  {
    id: 'S3-001',
    title: 'S3 buckets block all public access',
    checkov: 'CKV2_AWS_6',
    trivy: 'AVD-AWS-0094',
    appliesTo: AWS_STACKS,
    // Each flag absent means false (provider default). Covers checkov CKV_AWS_53..56 and trivy
    // AVD-AWS-0086, -0087, -0091, -0093 (one flag each).
    evaluate: eachBucket((bucket, input) => {
      const blocksOfBucket = companions(input, 'aws_s3_bucket_public_access_block', bucket);
      if (blocksOfBucket.length === 0) {
        return [violation(bucket, 'has no aws_s3_bucket_public_access_block; add one with all four settings true')];
      }
      return blocksOfBucket.flatMap((pab) => {
        const values = effectiveValues(pab);
        const off = PUBLIC_ACCESS_FLAGS.filter((flag) => !isTrue(values[flag]));
        return off.length === 0 ? [] : [violation(pab, `${listed(off)} ${off.length === 1 ? 'is' : 'are'} not true; all four public-access settings must be true`)];
      });
    }),
  },
  {
    id: 'S3-002',
    title: 'S3 buckets are versioned (log buckets exempt)',
    checkov: 'CKV_AWS_21',
    trivy: 'AVD-AWS-0090',
    appliesTo: AWS_STACKS,
    // Needs an aws_s3_bucket_versioning with status "Enabled". Log buckets are exempt: their
    // objects are written once and expired by lifecycle, so versions only add cost.
    evaluate: eachBucket((bucket, input, logBuckets) => {
      if (logBuckets.has(bucket.address)) return [];
      const versionings = companions(input, 'aws_s3_bucket_versioning', bucket);
      if (versionings.length === 0) return [violation(bucket, 'has no aws_s3_bucket_versioning; enable versioning so overwritten and deleted objects can be restored')];
      return versionings.flatMap((v) => {
        const status = block(effectiveValues(v), 'versioning_configuration')?.status;
        return status === 'Enabled' ? [] : [violation(v, `versioning_configuration.status is ${shown(status)}; it must be "Enabled"`)];
      });
    }),
  },
  {
    id: 'S3-003',
    title: 'S3 buckets are encrypted with a customer-managed KMS key (log buckets: SSE-S3)',
    checkov: 'CKV_AWS_145',
    trivy: 'AVD-AWS-0132',
    appliesTo: AWS_STACKS,
    // Needs an aws_s3_bucket_server_side_encryption_configuration whose default is aws:kms (or
    // aws:kms:dsse) with kms_master_key_id set; the key is a reference, unknown at plan time, so
    // its configured expression counts. Log buckets may use AES256: S3 server access logging
    // cannot deliver to SSE-KMS buckets.
    evaluate: eachBucket((bucket, input, logBuckets) => {
      const configs = companions(input, 'aws_s3_bucket_server_side_encryption_configuration', bucket);
      if (configs.length === 0) {
        return [violation(bucket, 'has no aws_s3_bucket_server_side_encryption_configuration; encrypt by default with SSE-KMS and a customer-managed key')];
      }
      const isLogBucket = logBuckets.has(bucket.address);
      return configs.flatMap((config) => {
        const defaults = blocks(effectiveValues(config).rule).map((rule) => block(rule, 'apply_server_side_encryption_by_default') ?? {});
        const withKey = defaults.some(
          (d) => (d.sse_algorithm === 'aws:kms' || d.sse_algorithm === 'aws:kms:dsse') && (isSet(d.kms_master_key_id) || plannedWithoutConfiguration(input, config)),
        );
        if (withKey || (isLogBucket && defaults.some((d) => d.sse_algorithm === 'AES256'))) return [];
        const algorithms = defaults.map((d) => d.sse_algorithm);
        return [
          violation(
            config,
            isLogBucket
              ? `sse_algorithm is ${shown(algorithms[0])}; a log bucket must encrypt by default (AES256, or aws:kms with a key)`
              : `default encryption is ${algorithms.length === 0 ? 'not set' : listed(algorithms.map((a) => shown(a)))} without a customer-managed key; use sse_algorithm = "aws:kms" with kms_master_key_id`,
          ),
        ];
      });
    }),
  },
  {
    id: 'S3-004',
    title: 'S3 bucket policies deny requests without TLS',
    checkov: 'CKV_AWS_379',
    appliesTo: AWS_STACKS,
    // Needs an aws_s3_bucket_policy with a statement that denies s3:* to everyone when
    // aws:SecureTransport is false. The policy JSON refers to the bucket's ARN, so a plan leaves it
    // unknown: the configured document is read instead. A policy that is not a literal JSON
    // document (e.g. a data source's output) cannot be verified and fails. (checkov's CKV_AWS_379
    // judges only public buckets; this rule judges every bucket.)
    evaluate: eachBucket((bucket, input) => {
      const policies = companions(input, 'aws_s3_bucket_policy', bucket);
      if (policies.length === 0) {
        return [violation(bucket, 'has no aws_s3_bucket_policy; add one that denies s3:* when aws:SecureTransport is false')];
      }
      const statementsOf = (policy: PolicyResource): PolicyStatement[] | undefined => {
        try {
          const document = JSON.parse(withoutInterpolations(String(effectiveValues(policy).policy), 'interpolated')) as { Statement?: PolicyStatement | PolicyStatement[] };
          return ([] as PolicyStatement[]).concat(document.Statement ?? []);
        } catch {
          return undefined;
        }
      };
      if (policies.some((p) => statementsOf(p)?.some(deniesInsecureTransport))) return [];
      return policies.map((p) =>
        violation(
          p,
          statementsOf(p) === undefined
            ? 'policy is not a literal JSON document, so TLS-only access cannot be verified; write the document in the stack'
            : 'policy has no statement that denies s3:* to "*" when aws:SecureTransport is false; add one',
        ),
      );
    }),
  },
  {
    id: 'S3-005',
    title: 'S3 buckets disable ACLs (BucketOwnerEnforced; CloudFront log buckets exempt)',
    checkov: 'CKV2_AWS_65',
    appliesTo: AWS_STACKS,
    // Needs an aws_s3_bucket_ownership_controls with object_ownership "BucketOwnerEnforced".
    // Buckets that receive CloudFront standard logs may use "BucketOwnerPreferred": CloudFront
    // writes those logs with an ACL, which BucketOwnerEnforced would reject.
    evaluate: eachBucket((bucket, input) => {
      const controls = companions(input, 'aws_s3_bucket_ownership_controls', bucket);
      if (controls.length === 0) {
        return [violation(bucket, 'has no aws_s3_bucket_ownership_controls; set object_ownership = "BucketOwnerEnforced" so ACLs are disabled')];
      }
      const cloudFrontLogs = cloudFrontLogTargets(input).has(bucket.address);
      const allowed = cloudFrontLogs ? ['BucketOwnerEnforced', 'BucketOwnerPreferred'] : ['BucketOwnerEnforced'];
      return controls.flatMap((c) => {
        const ownership = block(effectiveValues(c), 'rule')?.object_ownership;
        return typeof ownership === 'string' && allowed.includes(ownership)
          ? []
          : [violation(c, `object_ownership is ${shown(ownership)}; it must be ${allowed.map((a) => `"${a}"`).join(' or ')}`)];
      });
    }),
  },
  {
    id: 'S3-006',
    title: 'S3 buckets log access (log buckets exempt)',
    checkov: 'CKV_AWS_18',
    trivy: 'AVD-AWS-0089',
    appliesTo: AWS_STACKS,
    // Needs an aws_s3_bucket_logging with target_bucket set (a reference counts). A log bucket
    // need not log its own access: that would log the logging.
    evaluate: eachBucket((bucket, input, logBuckets) => {
      if (logBuckets.has(bucket.address)) return [];
      const logging = companions(input, 'aws_s3_bucket_logging', bucket).filter((l) => isSet(effectiveValues(l).target_bucket) || l.unknown.has('target_bucket'));
      return logging.length > 0 ? [] : [violation(bucket, 'has no aws_s3_bucket_logging; send server access logs to the location\'s log bucket')];
    }),
  },
  {
    id: 'S3-007',
    title: 'S3 buckets have a lifecycle configuration',
    checkov: 'CKV2_AWS_61',
    appliesTo: AWS_STACKS,
    // Needs an aws_s3_bucket_lifecycle_configuration with at least one rule whose status is
    // "Enabled" (old versions, logs and aborted uploads must expire).
    evaluate: eachBucket((bucket, input) => {
      const lifecycles = companions(input, 'aws_s3_bucket_lifecycle_configuration', bucket);
      const enabled = lifecycles.some((l) => blocks(effectiveValues(l).rule).some((r) => r.status === 'Enabled'));
      if (enabled) return [];
      return lifecycles.length === 0
        ? [violation(bucket, 'has no aws_s3_bucket_lifecycle_configuration; expire noncurrent versions, logs and incomplete uploads')]
        : lifecycles.map((l) => violation(l, 'has no rule with status "Enabled"; enable at least one lifecycle rule'));
    }),
  },
  {
    id: 'S3-008',
    title: 'S3 objects written by Terraform set their content type and cache control',
    appliesTo: AWS_STACKS,
    // Absent content_type: S3 stores binary/octet-stream, which browsers refuse for scripts and
    // styles under `X-Content-Type-Options: nosniff` (the CDN sends it). Absent cache_control:
    // caches guess a lifetime (heuristic freshness), so a replaced object may be served stale.
    // Both are Optional+Computed: a plan without configuration leaves an unwritten one unknown,
    // which is not judged; a `${...}` value (a `for_each` object's `each.value...`) counts as set.
    evaluate: (input) =>
      ofType(input, 'aws_s3_object').flatMap((object) => {
        const values = effectiveValues(object);
        const missing = (['content_type', 'cache_control'] as const).filter((name) => !isSet(values[name]) && !unknownWithoutConfiguration(object, name));
        return missing.length === 0
          ? []
          : [violation(object, `sets no ${missing.join(' and ')}; give every object its content type and cache control (contract/web-delivery.ts webObjectHeaders)`)];
      }),
  },
];
