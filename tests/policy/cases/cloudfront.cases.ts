import { adding, at, compliantDataStack, edit, resource } from '../support/fixtures';
import type { FailingCase, PassingCase } from './failing-case';

const stack = compliantDataStack;
const CDN = 'aws_cloudfront_distribution.cdn';
const HEADERS = 'aws_cloudfront_response_headers_policy.security';
const CSP_FIX = 'send a Content-Security-Policy naming the hosts the pages may use, overriding the origin';

/** The fixture with a second response headers policy, `web`, that the default behavior uses instead. */
function withWebPolicy(contentSecurityPolicy: Record<string, unknown> | undefined) {
  const webPolicy = resource('aws_cloudfront_response_headers_policy.web', {
    name: 'testville-web-client-headers',
    security_headers_config: {
      strict_transport_security: { access_control_max_age_sec: 63072000, include_subdomains: true, override: true },
      ...(contentSecurityPolicy ? { content_security_policy: contentSecurityPolicy } : {}),
    },
  });
  return edit(adding(stack(), webPolicy), CDN, (v) => {
    at(v, 'default_cache_behavior').response_headers_policy_id = '${aws_cloudfront_response_headers_policy.web.id}';
  });
}

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
  {
    rule: 'CF-001',
    when: 'the web client behavior (with its viewer-request function) allows plain HTTP',
    input: edit(stack(), CDN, (v) => {
      Object.assign(at(v, 'default_cache_behavior'), {
        viewer_protocol_policy: 'allow-all',
        function_association: [{ event_type: 'viewer-request', function_arn: '${aws_cloudfront_function.web.arn}' }],
      });
    }),
    messages: [`${CDN}: default_cache_behavior has viewer_protocol_policy "allow-all"; use "redirect-to-https" or "https-only"`],
  },
  {
    rule: 'CF-007',
    when: "the web client behavior's response headers policy sends no Content-Security-Policy",
    input: withWebPolicy(undefined),
    messages: [`${CDN}: default_cache_behavior uses aws_cloudfront_response_headers_policy.web, which sends no content_security_policy; ${CSP_FIX}`],
  },
  {
    rule: 'CF-007',
    when: "a behavior's CSP allows inline scripts, does not override the origin and leaves out frame-ancestors",
    input: withWebPolicy({ content_security_policy: "default-src 'self'; script-src 'self' 'unsafe-inline'", override: false }),
    messages: [
      `${CDN}: default_cache_behavior uses aws_cloudfront_response_headers_policy.web, which content_security_policy.override is false (the origin's header would win); ` +
        `its CSP allows scripts from 'unsafe-inline'; its CSP has no frame-ancestors (the page may be framed); ${CSP_FIX}`,
    ],
  },
  {
    rule: 'CF-007',
    when: 'a CSP names no script-src or default-src, on both behaviors sharing the policy',
    input: edit(stack(), HEADERS, (v) => {
      at(v, 'security_headers_config').content_security_policy = { content_security_policy: "img-src 'self'; frame-ancestors 'none'", override: true };
    }),
    messages: [
      `${CDN}: default_cache_behavior uses ${HEADERS}, which its CSP has neither script-src nor default-src (scripts from anywhere); ${CSP_FIX}`,
      `${CDN}: ordered_cache_behavior[0] (/assets/*) uses ${HEADERS}, which its CSP has neither script-src nor default-src (scripts from anywhere); ${CSP_FIX}`,
    ],
  },
];

export const CLOUDFRONT_PASSING: PassingCase[] = [
  {
    when: 'a behavior with a managed response headers policy (by id, not in the stack): CF-007 cannot read it',
    input: edit(stack(), CDN, (v) => {
      at(v, 'default_cache_behavior').response_headers_policy_id = '67f7725c-6f97-4210-82d7-5512b31e9d03';
    }),
  },
  {
    when: 'a custom (non-S3) origin without an origin access control',
    input: edit(stack(), CDN, (v) => ({
      ...v,
      origin: [...(v.origin as object[]), { domain_name: 'api.testville.example', origin_id: 'api', custom_origin_config: { origin_protocol_policy: 'https-only' } }],
    })),
  },
];
