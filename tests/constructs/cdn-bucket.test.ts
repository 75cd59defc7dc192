import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { CACHE_CONTROL_IMMUTABLE, CACHE_CONTROL_REVALIDATE, webObjectHeaders } from '../../contract/web-delivery';
import { Testing } from '../../stacks/infra/cdktf';
import type { Location } from '../../stacks/infra/config/location';
import {
  CACHE_TTL_SECONDS,
  CdnBucket,
  type CdnBucketProps,
  MENU_IMAGES_PREFIX,
  priceClassForRegion,
} from '../../stacks/infra/constructs/cdn-bucket';
import { webClientContentSecurityPolicy, webClientViewerRequestCode } from '../../stacks/infra/constructs/web-client-delivery';
import { ACCOUNT_ID, asList, blockOf, find, hostStack, policy, refOf, resources } from '../support/stacks/data-fixtures';
import { type Json, synthJson } from '../support/stacks/synth-json';
import { SAMPLE_LOCATION_IDS, sampleLocation } from '../support/stacks/sample-locations';

describe('CdnBucket', () => {
  const app = Testing.app();
  let stackCount = 0;

  function build(location: Location, props: Partial<CdnBucketProps> = {}) {
    const { stack, usEast1 } = hostStack(app, `cdn-${++stackCount}`, location);
    const cdn = new CdnBucket(stack, 'cdn', { location, accountId: ACCOUNT_ID, usEast1Provider: usEast1, ...props });
    const role = new IamRole(stack, 'role', { name: 'test-role', assumeRolePolicy: '{}' });
    return { stack, cdn, role };
  }

  function synthWithGrants(location: Location) {
    const { stack, cdn, role } = build(location);
    const write = cdn.grantWrite(role, MENU_IMAGES_PREFIX);
    const invalidate = cdn.grantInvalidate(role);
    return { cdn, write, invalidate, json: synthJson(stack) };
  }

  const synthesized = new Map(SAMPLE_LOCATION_IDS.map((id) => [id, synthWithGrants(sampleLocation(id))]));
  const { json: cafe, cdn: cafeCdn } = synthesized.get('sukhumvit-cafe')!;

  describe('defaults', () => {
    test('bucket names: location, purpose and account id, which makes them globally unique', () => {
      expect(blockOf(cafe, cafeCdn.bucket).bucket).toBe(`sukhumvit-cafe-assets-${ACCOUNT_ID}`);
      expect(blockOf(cafe, cafeCdn.logBucket).bucket).toBe(`sukhumvit-cafe-logs-${ACCOUNT_ID}`);
    });

    test('old versions are kept 30 days and logs 90', () => {
      const lifecycle = blockOf(cafe, find(cafeCdn, 'bucket-lifecycle')).rule as Json[];
      expect(lifecycle[0]).toMatchObject({ status: 'Enabled', noncurrent_version_expiration: [{ noncurrent_days: 30 }] });
      const logLifecycle = blockOf(cafe, find(cafeCdn, 'log-bucket-lifecycle')).rule as Json[];
      expect(logLifecycle[0]).toMatchObject({ status: 'Enabled', expiration: [{ days: 90 }] });
    });

    test.each([
      ['ap-southeast-1', 'PriceClass_200'],
      ['ap-southeast-7', 'PriceClass_200'],
      ['ap-northeast-1', 'PriceClass_200'],
      ['eu-west-2', 'PriceClass_100'],
      ['us-east-1', 'PriceClass_100'],
      ['ap-southeast-2', 'PriceClass_All'],
      ['sa-east-1', 'PriceClass_All'],
    ])('the price class of %s is %s', (region, priceClass) => {
      expect(priceClassForRegion(region)).toBe(priceClass);
    });
  });

  describe('errors', () => {
    const cafeLocation = sampleLocation('sukhumvit-cafe');
    test('fails when grantWrite gets a prefix with a wildcard', () => {
      const { cdn, role } = build(cafeLocation);
      expect(() => cdn.grantWrite(role, 'menu-images/*')).toThrow(
        'prefix must be a key prefix of lowercase letters, digits, _-/ ending in "/", got "menu-images/*" (location "sukhumvit-cafe")',
      );
    });
    test('fails when grantWrite gets the whole bucket', () => {
      const { cdn, role } = build(cafeLocation);
      expect(() => cdn.grantWrite(role, '')).toThrow('prefix must be a key prefix of lowercase letters, digits, _-/ ending in "/", got "" (location "sukhumvit-cafe")');
    });
    test('fails when noncurrentVersionRetentionDays is 0', () => {
      expect(() => build(cafeLocation, { noncurrentVersionRetentionDays: 0 })).toThrow(
        'noncurrentVersionRetentionDays must be 1..3650, got 0 (location "sukhumvit-cafe")',
      );
    });
    test('fails when priceClass is not a CloudFront price class', () => {
      expect(() => build(cafeLocation, { priceClass: 'PriceClass_50' as never })).toThrow(
        'priceClass must be PriceClass_100, PriceClass_200, PriceClass_All, got "PriceClass_50" (location "sukhumvit-cafe")',
      );
    });
  });

  describe.each(SAMPLE_LOCATION_IDS)('behaviour for %s', (id) => {
    const location = sampleLocation(id);
    const { json, cdn } = synthesized.get(id)!;
    const distribution = blockOf(json, cdn.distribution);
    const keyArn = refOf(cdn.encryptionKey.key, 'arn');

    test('both buckets block every kind of public access', () => {
      const blocks = resources(json, 'aws_s3_bucket_public_access_block');
      expect(blocks).toHaveLength(2);
      for (const block of blocks) {
        expect(block).toMatchObject({ block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true });
      }
    });

    test('the asset bucket: no ACLs, versioned, SSE-KMS with a bucket key', () => {
      expect(blockOf(json, find(cdn, 'bucket-ownership')).rule).toEqual({ object_ownership: 'BucketOwnerEnforced' });
      expect(blockOf(json, find(cdn, 'bucket-versioning')).versioning_configuration).toEqual({ status: 'Enabled' });
      expect(blockOf(json, find(cdn, 'bucket-encryption')).rule).toEqual([
        { apply_server_side_encryption_by_default: { sse_algorithm: 'aws:kms', kms_master_key_id: keyArn }, bucket_key_enabled: true },
      ]);
    });

    test('the log bucket: ACLs only for CloudFront log delivery, SSE-S3, logs expire', () => {
      expect(blockOf(json, find(cdn, 'log-bucket-ownership')).rule).toEqual({ object_ownership: 'BucketOwnerPreferred' });
      expect(blockOf(json, find(cdn, 'log-bucket-encryption')).rule).toEqual([{ apply_server_side_encryption_by_default: { sse_algorithm: 'AES256' } }]);
      expect(blockOf(json, find(cdn, 'bucket-logging'))).toMatchObject({ target_bucket: refOf(cdn.logBucket, 'id'), target_prefix: 's3-access/' });
      expect(distribution.logging_config).toEqual({ bucket: refOf(cdn.logBucket, 'bucket_domain_name'), prefix: 'cloudfront/', include_cookies: false });
    });

    test('bucket policies deny plain HTTP; only this distribution reads through OAC', () => {
      for (const bucketPolicy of resources(json, 'aws_s3_bucket_policy')) {
        expect(policy(bucketPolicy.policy).Statement[0]).toMatchObject({
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        });
      }
      const statements = policy(blockOf(json, find(cdn, 'bucket-policy')).policy).Statement;
      expect(statements[1]).toEqual({
        Sid: 'CloudFrontReadsThroughOriginAccessControl',
        Effect: 'Allow',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Action: 's3:GetObject',
        Resource: `${refOf(cdn.bucket, 'arn')}/*`,
        Condition: { StringEquals: { 'AWS:SourceArn': refOf(cdn.distribution, 'arn') } },
      });
    });

    test('the asset key lets only this distribution decrypt, and rotates', () => {
      const key = blockOf(json, cdn.encryptionKey.key);
      expect(key.enable_key_rotation).toBe(true);
      const cloudFront = policy(key.policy).Statement.find((s) => s.Sid === 'CloudFrontOriginAccessControlDecrypts');
      expect(cloudFront).toMatchObject({
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Action: 'kms:Decrypt',
        Condition: { StringEquals: { 'AWS:SourceArn': refOf(cdn.distribution, 'arn') } },
      });
    });

    test('CloudFront signs every origin request with SigV4 (Origin Access Control)', () => {
      expect(blockOf(json, find(cdn, 'origin-access-control'))).toMatchObject({
        origin_access_control_origin_type: 's3',
        signing_behavior: 'always',
        signing_protocol: 'sigv4',
      });
      expect(distribution.origin).toEqual([
        {
          origin_id: 'assets-bucket',
          domain_name: refOf(cdn.bucket, 'bucket_regional_domain_name'),
          origin_access_control_id: refOf(find(cdn, 'origin-access-control'), 'id'),
        },
      ]);
    });

    test('the CDN host name with a us-east-1 certificate, TLS 1.2 (2021 policy), HTTP/2 and HTTP/3', () => {
      expect(distribution).toMatchObject({
        aliases: [location.domains.cdn],
        http_version: 'http2and3',
        is_ipv6_enabled: true,
        price_class: priceClassForRegion(location.region),
        viewer_certificate: {
          acm_certificate_arn: refOf(find(cdn, 'certificate-validation'), 'certificate_arn'),
          ssl_support_method: 'sni-only',
          minimum_protocol_version: 'TLSv1.2_2021',
        },
      });
      expect(blockOf(json, cdn.certificate)).toMatchObject({ domain_name: location.domains.cdn, validation_method: 'DNS', provider: 'aws.us_east_1' });
      expect(blockOf(json, find(cdn, 'certificate-validation')).provider).toBe('aws.us_east_1');
      expect(cdn.cdnDomainName).toBe(location.domains.cdn);
    });

    test('every behaviour redirects to HTTPS, compresses, and sends security headers', () => {
      const behaviours = [distribution.default_cache_behavior as Json, ...(distribution.ordered_cache_behavior as Json[])];
      expect(behaviours).toHaveLength(3);
      for (const behaviour of behaviours) {
        expect(behaviour).toMatchObject({ viewer_protocol_policy: 'redirect-to-https', compress: true, allowed_methods: ['GET', 'HEAD', 'OPTIONS'] });
        expect([refOf(cdn.responseHeadersPolicy, 'id'), refOf(cdn.webClientHeadersPolicy, 'id')]).toContain(behaviour.response_headers_policy_id);
      }
    });

    test('the web client: the default and /assets/* behaviours run the router and send its CSP; menu images keep theirs', () => {
      const byPattern = new Map<string, Json>([
        ['(default)', distribution.default_cache_behavior as Json],
        ...(distribution.ordered_cache_behavior as Json[]).map((b) => [b.path_pattern as string, b] as const),
      ]);
      for (const pattern of ['(default)', '/assets/*']) {
        expect(byPattern.get(pattern)).toMatchObject({
          response_headers_policy_id: refOf(cdn.webClientHeadersPolicy, 'id'),
          function_association: [{ event_type: 'viewer-request', function_arn: refOf(cdn.webClientRouter, 'arn') }],
        });
      }
      const menuImages = byPattern.get(`/${MENU_IMAGES_PREFIX}*`)!;
      expect(menuImages.response_headers_policy_id).toBe(refOf(cdn.responseHeadersPolicy, 'id'));
      expect(menuImages).not.toHaveProperty('function_association');
      expect(blockOf(json, cdn.webClientRouter)).toEqual({
        name: `${id}-web-client-router`,
        comment: `Web client of ${id}: viewer paths to its objects, its routes to index.html`,
        runtime: 'cloudfront-js-2.0',
        code: webClientViewerRequestCode(),
        publish: true,
      });
    });

    test("the web client's headers: the same security headers, its own CSP, no CORS (its pages are same-origin)", () => {
      const web = blockOf(json, cdn.webClientHeadersPolicy);
      const assets = blockOf(json, cdn.responseHeadersPolicy);
      expect(web.name).toBe(`${id}-web-client-headers`);
      const { content_security_policy: webCsp, ...webHeaders } = web.security_headers_config;
      const { content_security_policy: _assetsCsp, ...assetsHeaders } = assets.security_headers_config;
      expect(webHeaders).toEqual(assetsHeaders);
      expect(webCsp).toEqual({ content_security_policy: webClientContentSecurityPolicy(location), override: true });
      expect(web).not.toHaveProperty('cors_config');
    });

    test('no invalidation needed: what is not under /assets/ is revalidated at the origin on every request (minimum TTL 0)', () => {
      // index.html, sw.js and config.json are `no-cache` (contract/web-delivery.ts); with a minimum
      // TTL of 0 CloudFront honours that and asks S3 each time, so a replaced object is served at once.
      expect(distribution.default_cache_behavior.cache_policy_id).toBe(refOf(cdn.cachePolicies.revalidate, 'id'));
      expect(blockOf(json, cdn.cachePolicies.revalidate)).toMatchObject({ min_ttl: 0, default_ttl: 0 });
      for (const file of ['index.html', 'sw.js', 'config.json', 'manifest.webmanifest']) {
        expect(webObjectHeaders(file).cacheControl).toBe(CACHE_CONTROL_REVALIDATE);
      }
      expect(webObjectHeaders('assets/index-Fx7aB2cD.js').cacheControl).toBe(CACHE_CONTROL_IMMUTABLE);
    });

    test.each([
      ['/assets/*', 'immutable', CACHE_TTL_SECONDS.immutable, CACHE_TTL_SECONDS.immutable, CACHE_TTL_SECONDS.immutable],
      [`/${MENU_IMAGES_PREFIX}*`, 'menuImages', 0, 86_400, 86_400],
      ['(default)', 'revalidate', 0, 0, CACHE_TTL_SECONDS.immutable],
    ] as const)('%s uses the %s cache policy (min %d, default %d, max %d) with gzip and brotli', (pathPattern, key, min, def, max) => {
      const cachePolicy = cdn.cachePolicies[key];
      const behaviour =
        pathPattern === '(default)'
          ? (distribution.default_cache_behavior as Json)
          : (distribution.ordered_cache_behavior as Json[]).find((b) => b.path_pattern === pathPattern)!;
      expect(behaviour.cache_policy_id).toBe(refOf(cachePolicy, 'id'));
      expect(blockOf(json, cachePolicy)).toMatchObject({
        min_ttl: min,
        default_ttl: def,
        max_ttl: max,
        parameters_in_cache_key_and_forwarded_to_origin: {
          enable_accept_encoding_gzip: true,
          enable_accept_encoding_brotli: true,
          cookies_config: { cookie_behavior: 'none' },
          query_strings_config: { query_string_behavior: 'none' },
        },
      });
    });

    test('security headers: two-year HSTS with preload, nosniff, DENY framing, a CSP; CORS for the API host', () => {
      const headers = blockOf(json, cdn.responseHeadersPolicy);
      expect(headers.security_headers_config).toMatchObject({
        strict_transport_security: { access_control_max_age_sec: 63_072_000, include_subdomains: true, preload: true, override: true },
        content_type_options: { override: true },
        frame_options: { frame_option: 'DENY', override: true },
        referrer_policy: { referrer_policy: 'strict-origin-when-cross-origin' },
        xss_protection: { protection: true, mode_block: true },
      });
      expect(headers.security_headers_config.content_security_policy.content_security_policy).toContain("img-src 'self' data: blob:");
      expect(headers.cors_config).toMatchObject({
        access_control_allow_origins: { items: [`https://${location.domains.api}`] },
        access_control_allow_credentials: false,
      });
    });

    test('grantWrite covers objects under the prefix and the bucket key through S3, nothing else', () => {
      const statements = policy(blockOf(json, find(cdn, 'grant-write-role-menu-images')).policy).Statement;
      expect(statements).toEqual([
        {
          Sid: 'ObjectsUnderPrefix',
          Effect: 'Allow',
          Action: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject'],
          Resource: `${refOf(cdn.bucket, 'arn')}/menu-images/*`,
        },
        {
          Sid: 'BucketKeyThroughS3',
          Effect: 'Allow',
          Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
          Resource: keyArn,
          Condition: { StringEquals: { 'kms:ViaService': `s3.${location.region}.amazonaws.com` } },
        },
      ]);
    });

    test('grantInvalidate covers this distribution only', () => {
      const statements = policy(blockOf(json, find(cdn, 'grant-invalidate-role')).policy).Statement;
      expect(statements).toHaveLength(1);
      expect(asList(statements[0]!.Resource)).toEqual([refOf(cdn.distribution, 'arn')]);
      expect(asList(statements[0]!.Action)).toContain('cloudfront:CreateInvalidation');
    });
  });
});
