/**
 * CloudFront distributions (`aws_cloudfront_distribution`) and their response headers policies.
 * A plan leaves every in-stack reference unknown (policy ids, origin domain names, the log bucket);
 * rules read their configured `${...}` expressions through `effectiveValues`.
 */
import type { PolicyInput, PolicyResource, PolicyRule } from '../policy-types';
import {
  AWS_STACKS,
  asString,
  blocks,
  designatedResource,
  eachResource,
  effectiveValues,
  first,
  isExpression,
  isSet,
  isTrue,
  listed,
  refersTo,
  shown,
  toNumber,
} from './helpers';

const DISTRIBUTION = ['aws_cloudfront_distribution'];
const HTTPS_ONLY_POLICIES = ['redirect-to-https', 'https-only'];
/** TLSv1.2_2021 and anything newer (TLSv1.2_2025, TLSv1.3_2025); older policies allow weak ciphers. */
const MODERN_TLS_POLICY = /^TLSv1\.(2_20(2[1-9]|[3-9]\d)|3_\d{4})$/;
export const MIN_HSTS_MAX_AGE_S = 31_536_000;
/** Script sources that let injected markup run code: a CSP allowing them protects nothing. */
const UNSAFE_SCRIPT_SOURCES = ["'unsafe-inline'", "'unsafe-eval'"];

/** A CSP's directives by name (lowercase), each with its source list. */
function cspDirectives(policy: string): Map<string, string[]> {
  const directives = new Map<string, string[]>();
  for (const part of policy.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name && !directives.has(name.toLowerCase())) directives.set(name.toLowerCase(), sources);
  }
  return directives;
}

/** What is wrong with a response headers policy's Content-Security-Policy, if anything. */
function contentSecurityPolicyProblems(values: Readonly<Record<string, unknown>>): string[] {
  const csp = first(first(values.security_headers_config).content_security_policy);
  const policy = asString(csp.content_security_policy);
  if (policy === undefined || policy.trim() === '') return ['sends no content_security_policy'];
  const directives = cspDirectives(policy);
  const scriptSources = directives.get('script-src') ?? directives.get('default-src');
  return [
    ...(!isTrue(csp.override) ? [`content_security_policy.override is ${shown(csp.override)} (the origin's header would win)`] : []),
    ...(scriptSources === undefined ? ['its CSP has neither script-src nor default-src (scripts from anywhere)'] : []),
    ...(scriptSources ?? []).filter((s) => UNSAFE_SCRIPT_SOURCES.includes(s.toLowerCase())).map((s) => `its CSP allows scripts from ${s}`),
    ...(!directives.has('frame-ancestors') ? ['its CSP has no frame-ancestors (the page may be framed)'] : []),
  ];
}

/** The default cache behavior and every ordered one, named for messages. */
function cacheBehaviors(values: Readonly<Record<string, unknown>>): { name: string; behavior: Record<string, unknown> }[] {
  return [
    ...blocks(values.default_cache_behavior).map((behavior) => ({ name: 'default_cache_behavior', behavior })),
    ...blocks(values.ordered_cache_behavior).map((behavior, i) => ({
      name: `ordered_cache_behavior[${i}] (${String(behavior.path_pattern ?? '?')})`,
      behavior,
    })),
  ];
}

/** An origin served from an S3 bucket: it refers to a bucket of the stack or names an S3 endpoint. */
function isS3Origin(input: PolicyInput, origin: Record<string, unknown>): boolean {
  const domain = origin.domain_name;
  if (input.resources.some((r) => r.type === 'aws_s3_bucket' && refersTo(domain, r.address))) return true;
  const literal = asString(domain);
  return literal !== undefined && !isExpression(literal) && /\.s3[.-]([a-z0-9-]+\.)?amazonaws\.com$/.test(literal) && !literal.includes('s3-website');
}

function originAccessProblem(input: PolicyInput, origin: Record<string, unknown>): string | undefined {
  const id = origin.origin_id;
  if (!isSet(origin.origin_access_control_id)) {
    return `origin ${shown(id)} reads an S3 bucket without origin_access_control_id; use an origin access control so only this distribution can read the bucket`;
  }
  const control: PolicyResource | undefined = designatedResource(input, origin.origin_access_control_id, ['aws_cloudfront_origin_access_control'], 'id');
  if (!control) return undefined;
  const values = effectiveValues(control);
  if (values.signing_behavior !== 'always' || values.signing_protocol !== 'sigv4') {
    return `origin ${shown(id)} uses ${control.address}, which signs ${shown(values.signing_behavior)} with ${shown(values.signing_protocol)}; set signing_behavior = "always" and signing_protocol = "sigv4"`;
  }
  return undefined;
}

export const CLOUDFRONT_RULES: readonly PolicyRule[] = [
  {
    id: 'CF-001',
    title: 'CloudFront serves viewers over HTTPS only',
    checkov: 'CKV_AWS_34',
    trivy: 'AVD-AWS-0012',
    appliesTo: AWS_STACKS,
    // viewer_protocol_policy is required in every cache behavior; "allow-all" serves plain HTTP.
    evaluate: eachResource(DISTRIBUTION, (_r, values) =>
      cacheBehaviors(values)
        .filter(({ behavior }) => !HTTPS_ONLY_POLICIES.includes(String(behavior.viewer_protocol_policy)))
        .map(({ name, behavior }) => `${name} has viewer_protocol_policy ${shown(behavior.viewer_protocol_policy)}; use "redirect-to-https" or "https-only"`),
    ),
  },
  {
    id: 'CF-002',
    title: 'CloudFront uses its own certificate with TLS 1.2 (TLSv1.2_2021) or newer',
    checkov: 'CKV_AWS_174',
    trivy: 'AVD-AWS-0013',
    appliesTo: AWS_STACKS,
    // The default *.cloudfront.net certificate pins the minimum protocol to TLSv1, so it fails too.
    // minimum_protocol_version absent means "TLSv1" (provider default).
    evaluate: eachResource(DISTRIBUTION, (_r, values) => {
      const certificate = first(values.viewer_certificate);
      if (isTrue(certificate.cloudfront_default_certificate)) {
        return 'viewer_certificate uses the default CloudFront certificate, which allows TLSv1; serve the location\'s domain with an ACM certificate';
      }
      const minimum = certificate.minimum_protocol_version;
      return typeof minimum === 'string' && MODERN_TLS_POLICY.test(minimum)
        ? undefined
        : `viewer_certificate.minimum_protocol_version is ${shown(minimum, '"TLSv1"')}; set it to "TLSv1.2_2021" or newer`;
    }),
  },
  {
    id: 'CF-003',
    title: 'CloudFront reads S3 origins through an origin access control',
    checkov: 'CKV2_AWS_46',
    appliesTo: AWS_STACKS,
    // Every origin whose domain is an S3 bucket must set origin_access_control_id (a legacy origin
    // access identity does not count); when the control is in the stack it must sign every request
    // with SigV4.
    evaluate: eachResource(DISTRIBUTION, (_r, values, input) =>
      blocks(values.origin)
        .filter((origin) => isS3Origin(input, origin))
        .map((origin) => originAccessProblem(input, origin))
        .filter((m): m is string => m !== undefined),
    ),
  },
  {
    id: 'CF-004',
    title: 'CloudFront distributions log requests',
    checkov: 'CKV_AWS_86',
    trivy: 'AVD-AWS-0010',
    appliesTo: AWS_STACKS,
    // logging_config.bucket absent means no logging; a reference to the log bucket counts.
    evaluate: eachResource(DISTRIBUTION, (_r, values) =>
      isSet(first(values.logging_config).bucket) ? undefined : 'logging_config.bucket is not set; send standard logs to the location\'s log bucket',
    ),
  },
  {
    id: 'CF-005',
    title: 'CloudFront cache behaviors attach a response headers policy',
    checkov: 'CKV2_AWS_32',
    appliesTo: AWS_STACKS,
    evaluate: eachResource(DISTRIBUTION, (_r, values) => {
      const without = cacheBehaviors(values).filter(({ behavior }) => !isSet(behavior.response_headers_policy_id));
      return without.length === 0
        ? undefined
        : `${listed(without.map((b) => b.name))} set${without.length === 1 ? 's' : ''} no response_headers_policy_id; attach the security headers policy`;
    }),
  },
  {
    id: 'CF-006',
    title: 'CloudFront response headers policies send HSTS for at least a year',
    checkov: 'CKV_AWS_259',
    appliesTo: AWS_STACKS,
    // strict_transport_security needs access_control_max_age_sec >= 1 year, include_subdomains and
    // override. (checkov also demands preload; a preload-list submission is a deliberate,
    // hard-to-undo step, so it is not required here.)
    evaluate: eachResource(['aws_cloudfront_response_headers_policy'], (_r, values) => {
      const hsts = first(first(values.security_headers_config).strict_transport_security);
      const maxAge = toNumber(hsts.access_control_max_age_sec);
      const problems = [
        ...(maxAge === undefined || maxAge < MIN_HSTS_MAX_AGE_S ? [`access_control_max_age_sec is ${shown(hsts.access_control_max_age_sec)}`] : []),
        ...(!isTrue(hsts.include_subdomains) ? [`include_subdomains is ${shown(hsts.include_subdomains, 'false')}`] : []),
        ...(!isTrue(hsts.override) ? [`override is ${shown(hsts.override)}`] : []),
      ];
      return problems.length === 0
        ? undefined
        : `security_headers_config.strict_transport_security: ${problems.join(', ')}; send HSTS with max-age >= ${MIN_HSTS_MAX_AGE_S} s, includeSubDomains, overriding the origin`;
    }),
  },
  {
    id: 'CF-007',
    title: 'CloudFront cache behaviors send a Content-Security-Policy without unsafe script sources',
    appliesTo: AWS_STACKS,
    // Every behavior whose response headers policy is in the stack: the policy's
    // security_headers_config.content_security_policy is set, overrides the origin, limits scripts
    // (script-src, else default-src) without 'unsafe-inline' or 'unsafe-eval', and says
    // frame-ancestors. A behavior without a policy is CF-005's; a policy from outside the stack
    // (a managed one, by its id) cannot be read and is not judged.
    evaluate: eachResource(DISTRIBUTION, (_r, values, input) =>
      cacheBehaviors(values).flatMap(({ name, behavior }) => {
        const policy = designatedResource(input, behavior.response_headers_policy_id, ['aws_cloudfront_response_headers_policy'], 'id');
        if (!policy) return [];
        const problems = contentSecurityPolicyProblems(effectiveValues(policy));
        return problems.length === 0
          ? []
          : [`${name} uses ${policy.address}, which ${problems.join('; ')}; send a Content-Security-Policy naming the hosts the pages may use, overriding the origin`];
      }),
    ),
  },
];
