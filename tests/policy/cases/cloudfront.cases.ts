import { at, compliantDataStack, edit } from '../support/fixtures';
import type { FailingCase, PassingCase } from './failing-case';

const stack = compliantDataStack;
const CDN = 'aws_cloudfront_distribution.cdn';

export const CLOUDFRONT_CASES: FailingCase[] = [
  {
    rule: 'CF-001',
    when: 'an ordered behavior allows plain HTTP',
    input: edit(stack(), CDN, (v) => {
      at(v, 'ordered_cache_behavior', 0).viewer_protocol_policy = 'allow-all';
    }),
    messages: [`${CDN}: ordered_cache_behavior[0] (/assets/*) has viewer_protocol_policy "allow-all"; use "redirect-to-https" or "https-only"`],
  },
  {
    rule: 'CF-002',
    when: 'the minimum protocol is TLSv1.1',
    input: edit(stack(), CDN, (v) => {
      at(v, 'viewer_certificate').minimum_protocol_version = 'TLSv1.1_2016';
    }),
    messages: [`${CDN}: viewer_certificate.minimum_protocol_version is "TLSv1.1_2016"; set it to "TLSv1.2_2021" or newer`],
  },
  {
    rule: 'CF-002',
    when: 'the distribution uses the default CloudFront certificate',
    input: edit(stack(), CDN, (v) => ({ ...v, viewer_certificate: { cloudfront_default_certificate: true } })),
    messages: [`${CDN}: viewer_certificate uses the default CloudFront certificate, which allows TLSv1; serve the location's domain with an ACM certificate`],
  },
  {
    rule: 'CF-003',
    when: 'an S3 origin has no origin access control',
    input: edit(stack(), CDN, (v) => {
      delete at(v, 'origin', 0).origin_access_control_id;
    }),
    messages: [`${CDN}: origin "assets" reads an S3 bucket without origin_access_control_id; use an origin access control so only this distribution can read the bucket`],
  },
  {
    rule: 'CF-003',
    when: 'an S3 origin named by its endpoint has no origin access control',
    input: edit(stack(), CDN, (v) => ({ ...v, origin: [{ domain_name: 'other-bucket.s3.eu-west-2.amazonaws.com', origin_id: 'other' }] })),
    messages: [`${CDN}: origin "other" reads an S3 bucket without origin_access_control_id; use an origin access control so only this distribution can read the bucket`],
  },
  {
    rule: 'CF-003',
    when: 'the origin access control does not always sign',
    input: edit(stack(), 'aws_cloudfront_origin_access_control.assets', (v) => ({ ...v, signing_behavior: 'no-override' })),
    messages: [
      `${CDN}: origin "assets" uses aws_cloudfront_origin_access_control.assets, which signs "no-override" with "sigv4"; set signing_behavior = "always" and signing_protocol = "sigv4"`,
    ],
  },
  {
    rule: 'CF-004',
    when: 'the distribution does not log',
    input: edit(stack(), CDN, ({ logging_config: _, ...v }) => v),
    messages: [`${CDN}: logging_config.bucket is not set; send standard logs to the location's log bucket`],
  },
  {
    rule: 'CF-005',
    when: 'the default behavior has no response headers policy',
    input: edit(stack(), CDN, (v) => {
      delete at(v, 'default_cache_behavior').response_headers_policy_id;
    }),
    messages: [`${CDN}: default_cache_behavior sets no response_headers_policy_id; attach the security headers policy`],
  },
  {
    rule: 'CF-006',
    when: 'HSTS lasts a day and leaves out subdomains',
    input: edit(stack(), 'aws_cloudfront_response_headers_policy.security', (v) => {
      at(v, 'security_headers_config').strict_transport_security = { access_control_max_age_sec: 86400, override: true };
    }),
    messages: [
      'aws_cloudfront_response_headers_policy.security: security_headers_config.strict_transport_security: access_control_max_age_sec is 86400, include_subdomains is not set (defaults to false); send HSTS with max-age >= 31536000 s, includeSubDomains, overriding the origin',
    ],
  },
];

export const CLOUDFRONT_PASSING: PassingCase[] = [
  {
    when: 'a custom (non-S3) origin without an origin access control',
    input: edit(stack(), CDN, (v) => ({
      ...v,
      origin: [...(v.origin as object[]), { domain_name: 'api.testville.example', origin_id: 'api', custom_origin_config: { origin_protocol_policy: 'https-only' } }],
    })),
  },
];
