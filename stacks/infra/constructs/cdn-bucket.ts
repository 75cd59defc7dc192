/**
 * A location's static assets and menu images: a private, versioned S3 bucket served only through
 * a CloudFront distribution with Origin Access Control, under the location's CDN host name.
 *
 * - Encryption: SSE-KMS with a key of its own and an S3 bucket key (S3 reuses a bucket-level
 *   data key instead of calling KMS for every object). OAC can read SSE-KMS objects only if the key policy admits
 *   `cloudfront.amazonaws.com` for this distribution (`AWS:SourceArn`); the key is separate from
 *   the database key so that grant reaches nothing else.
 * - Bucket name `<location>-assets-<account id>`: bucket names are global, the account id is
 *   unique to us and the location id unique within the account (region is implied by the location).
 * - Logs: one log bucket per location, SSE-S3 (S3 server access logs cannot target an SSE-KMS
 *   bucket). CloudFront standard logging writes with an ACL grant, so only the log bucket has ACLs
 *   enabled (`BucketOwnerPreferred`); the asset bucket stays `BucketOwnerEnforced`. CloudFront's
 *   v2 logging avoids ACLs but needs a delivery source, destination and delivery in us-east-1 for
 *   one log stream; standard logging is one block. Standard logs are not delivered to buckets in
 *   some opt-in regions (AWS lists af-south-1, ap-east-1, me-south-1 and others): a location
 *   there needs v2 logging.
 * - Cache policies by kind of object: `/assets/*` are content-hashed (immutable, a year);
 *   `/menu-images/*` change rarely and are invalidated by the api (a day); everything else,
 *   index documents included, follows the origin's `Cache-Control` and is not cached without one.
 * - The guest and kitchen web client (published by WebClientObjects under WEB_CLIENT_PREFIX) is
 *   what the site root serves: the default and `/assets/*` behaviours run a viewer-request
 *   CloudFront Function that maps a viewer path to its object (`/sw.js` to `web/sw.js`) and the
 *   client's routes (`/`, WEB_SPA_ROUTE_PATTERNS) to `web/index.html`, and send the security
 *   headers plus the client's Content-Security-Policy (webClientContentSecurityPolicy). No
 *   invalidation is needed on deploy: index.html, the service worker and config.json are
 *   `no-cache` and served through the revalidate policy (minimum TTL 0), so CloudFront asks S3 on
 *   every request and a replaced object is served at once; everything under `assets/` is new
 *   names. `/menu-images/*` keeps its own behaviour and headers.
 * - No WAF: the distribution serves public, read-only objects; a web ACL ($5/month plus $1 per
 *   rule and request charges, per location) buys little until the API moves behind CloudFront.
 */
import { Construct } from 'constructs';
import { AcmCertificate } from '@cdktf/provider-aws/lib/acm-certificate';
import { AcmCertificateValidation } from '@cdktf/provider-aws/lib/acm-certificate-validation';
import { CloudfrontCachePolicy } from '@cdktf/provider-aws/lib/cloudfront-cache-policy';
import { CloudfrontDistribution } from '@cdktf/provider-aws/lib/cloudfront-distribution';
import { CloudfrontFunction } from '@cdktf/provider-aws/lib/cloudfront-function';
import { CloudfrontOriginAccessControl } from '@cdktf/provider-aws/lib/cloudfront-origin-access-control';
import { CloudfrontResponseHeadersPolicy } from '@cdktf/provider-aws/lib/cloudfront-response-headers-policy';
import type { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { Route53Record } from '@cdktf/provider-aws/lib/route53-record';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketLoggingA } from '@cdktf/provider-aws/lib/s3-bucket-logging';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
import type { TerraformProvider } from '../cdktf';
import { Token } from '../cdktf';
import type { Location } from '../config/location';
import type { HostedZone } from '../config/platform-settings';
import { policyDocument, type PolicyStatement } from './app-service-role';
import { CertificateValidationRecords } from './certificate-validation-records';
import { LocationKmsKey } from './location-kms-key';
import { webClientContentSecurityPolicy, webClientViewerRequestCode } from './web-client-delivery';

/** Where the api uploads menu images; served under `/menu-images/*` with the one-day policy. */
export const MENU_IMAGES_PREFIX = 'menu-images/';

export const CACHE_TTL_SECONDS = {
  /** Content-hashed build output: a new file name for every change. */
  immutable: 31_536_000,
  menuImages: 86_400,
} as const;

/** HSTS for two years: the minimum the browsers' preload lists accept is one. */
const HSTS_MAX_AGE_SECONDS = 63_072_000;
const PREFIX_PATTERN = /^[a-z0-9][a-z0-9/_-]*\/$/;
const PRICE_CLASSES = ['PriceClass_100', 'PriceClass_200', 'PriceClass_All'] as const;
export type PriceClass = (typeof PRICE_CLASSES)[number];

/**
 * The cheapest price class whose edge locations cover the region's guests: North America and
 * Europe (100) for us-/eu- regions, plus Asia, the Middle East and Africa (200) for those regions;
 * all edges elsewhere (South America, Oceania).
 */
export function priceClassForRegion(region: string): PriceClass {
  if (/^(us|ca|eu)-/.test(region)) return 'PriceClass_100';
  if (/^(ap-southeast-[1357]|ap-south-\d|ap-northeast-\d|ap-east-\d|me-|af-|il-)/.test(region)) return 'PriceClass_200';
  return 'PriceClass_All';
}

export interface CdnBucketProps {
  /** The CDN host name (`domains.cdn`), CORS origin (`domains.api`) and naming. */
  readonly location: Location;
  /** The account id, for bucket and key names and policy conditions. */
  readonly accountId: string;
  /** The aws provider for us-east-1, where CloudFront requires its ACM certificate. */
  readonly usEast1Provider: TerraformProvider;
  /**
   * The Route 53 zone that holds `domains.cdn`: the certificate's validation records and the
   * alias records (A and AAAA) of the host name are created in it.
   * @default - no records: whoever runs the zone creates them (the stack outputs say which)
   */
  readonly hostedZone?: HostedZone;
  /**
   * CloudFront price class.
   * @default - priceClassForRegion(location.region)
   */
  readonly priceClass?: PriceClass;
  /**
   * Days a replaced or deleted object version stays recoverable.
   * @default 30
   */
  readonly noncurrentVersionRetentionDays?: number;
  /**
   * Days access logs are kept.
   * @default 90
   */
  readonly logRetentionDays?: number;
}

export class CdnBucket extends Construct {
  readonly bucket: S3Bucket;
  readonly logBucket: S3Bucket;
  readonly encryptionKey: LocationKmsKey;
  readonly distribution: CloudfrontDistribution;
  readonly certificate: AcmCertificate;
  readonly bucketName: string;
  /** The public host name (the alias), not the `*.cloudfront.net` name. */
  readonly cdnDomainName: string;
  readonly distributionId: string;
  readonly cachePolicies: {
    readonly immutable: CloudfrontCachePolicy;
    readonly menuImages: CloudfrontCachePolicy;
    readonly revalidate: CloudfrontCachePolicy;
  };
  /** Security headers of the menu images (and CORS for the api's pages). */
  readonly responseHeadersPolicy: CloudfrontResponseHeadersPolicy;
  /** Security headers plus the web client's Content-Security-Policy, on the behaviours that serve it. */
  readonly webClientHeadersPolicy: CloudfrontResponseHeadersPolicy;
  /** Viewer-request function of the web client's behaviours: viewer path to object under WEB_CLIENT_PREFIX. */
  readonly webClientRouter: CloudfrontFunction;
  /** The asset bucket's default encryption: objects written by Terraform wait for it. */
  readonly bucketEncryption: S3BucketServerSideEncryptionConfigurationA;
  /** Alias records of `domains.cdn` (A and AAAA), when the construct was given the hosted zone. */
  readonly aliasRecords: readonly Route53Record[];
  private readonly location: Location;

  constructor(scope: Construct, id: string, props: CdnBucketProps) {
    super(scope, id);
    const { location, accountId } = props;
    const priceClass = props.priceClass ?? priceClassForRegion(location.region);
    const noncurrentVersionRetentionDays = props.noncurrentVersionRetentionDays ?? 30;
    const logRetentionDays = props.logRetentionDays ?? 90;
    const fail = (field: string, allowed: string, got: unknown): never => {
      throw new Error(`${field} must be ${allowed}, got ${String(got)} (location "${location.id}")`);
    };
    if (!PRICE_CLASSES.includes(priceClass)) fail('priceClass', PRICE_CLASSES.join(', '), `"${priceClass}"`);
    for (const [field, value] of [
      ['noncurrentVersionRetentionDays', noncurrentVersionRetentionDays],
      ['logRetentionDays', logRetentionDays],
    ] as const) {
      if (!Token.isUnresolved(value) && (!Number.isInteger(value) || value < 1 || value > 3650)) fail(field, '1..3650', value);
    }
    this.location = location;

    // ---- log bucket ----------------------------------------------------------------------
    this.logBucket = new S3Bucket(this, 'log-bucket', { bucket: `${location.id}-logs-${accountId}` });
    new S3BucketPublicAccessBlock(this, 'log-bucket-public-access', blockAll(this.logBucket.id));
    // CloudFront standard logging adds an ACL grant for its delivery account: ACLs stay enabled here only.
    const logOwnership = new S3BucketOwnershipControls(this, 'log-bucket-ownership', {
      bucket: this.logBucket.id,
      rule: { objectOwnership: 'BucketOwnerPreferred' },
    });
    new S3BucketServerSideEncryptionConfigurationA(this, 'log-bucket-encryption', {
      bucket: this.logBucket.id,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }],
    });
    new S3BucketLifecycleConfiguration(this, 'log-bucket-lifecycle', {
      bucket: this.logBucket.id,
      rule: [
        {
          id: 'expire-logs',
          status: 'Enabled',
          filter: [{}],
          expiration: [{ days: logRetentionDays }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 1 }],
        },
      ],
    });

    // ---- asset bucket --------------------------------------------------------------------
    this.bucket = new S3Bucket(this, 'bucket', { bucket: `${location.id}-assets-${accountId}` });
    this.bucketName = this.bucket.bucket;
    new S3BucketPublicAccessBlock(this, 'bucket-public-access', blockAll(this.bucket.id));
    new S3BucketOwnershipControls(this, 'bucket-ownership', {
      bucket: this.bucket.id,
      rule: { objectOwnership: 'BucketOwnerEnforced' },
    });
    new S3BucketVersioningA(this, 'bucket-versioning', {
      bucket: this.bucket.id,
      versioningConfiguration: { status: 'Enabled' },
    });
    new S3BucketLifecycleConfiguration(this, 'bucket-lifecycle', {
      bucket: this.bucket.id,
      rule: [
        {
          id: 'expire-noncurrent-versions',
          status: 'Enabled',
          filter: [{}],
          noncurrentVersionExpiration: [{ noncurrentDays: noncurrentVersionRetentionDays }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
        },
      ],
    });
    new S3BucketLoggingA(this, 'bucket-logging', {
      bucket: this.bucket.id,
      targetBucket: this.logBucket.id,
      targetPrefix: 's3-access/',
    });

    // ---- CloudFront ----------------------------------------------------------------------
    const originAccessControl = new CloudfrontOriginAccessControl(this, 'origin-access-control', {
      name: `${location.id}-assets`,
      description: `CloudFront reads the ${location.id} asset bucket`,
      originAccessControlOriginType: 's3',
      signingBehavior: 'always',
      signingProtocol: 'sigv4',
    });

    // CloudFront takes certificates from us-east-1 only. DNS validation: with the hosted zone the
    // records are created here (Route 53 is global, so the default provider creates them);
    // without it they are a stack output, and the first deploy waits (up to 75 minutes) in the
    // validation resource until someone creates them in the zone of `domains.cdn`.
    this.certificate = new AcmCertificate(this, 'certificate', {
      provider: props.usEast1Provider,
      domainName: location.domains.cdn,
      validationMethod: 'DNS',
      keyAlgorithm: 'EC_prime256v1',
      lifecycle: { createBeforeDestroy: true },
    });
    const validationRecords = props.hostedZone
      ? new CertificateValidationRecords(this, 'certificate-validation-records', {
          certificate: this.certificate,
          hostedZone: props.hostedZone,
          domainName: location.domains.cdn,
        })
      : undefined;
    const validatedCertificate = new AcmCertificateValidation(this, 'certificate-validation', {
      provider: props.usEast1Provider,
      certificateArn: this.certificate.arn,
      ...(validationRecords ? { validationRecordFqdns: validationRecords.fqdns } : {}),
    });

    const cachePolicy = (key: string, name: string, comment: string, ttl: { min: number; default: number; max: number }) =>
      new CloudfrontCachePolicy(this, key, {
        name: `${location.id}-${name}`,
        comment,
        minTtl: ttl.min,
        defaultTtl: ttl.default,
        maxTtl: ttl.max,
        // Nothing but the path and the compression varies the response: no cookies, headers or
        // query strings in the key, so every guest shares one cached copy.
        parametersInCacheKeyAndForwardedToOrigin: {
          cookiesConfig: { cookieBehavior: 'none' },
          headersConfig: { headerBehavior: 'none' },
          queryStringsConfig: { queryStringBehavior: 'none' },
          enableAcceptEncodingGzip: true,
          enableAcceptEncodingBrotli: true,
        },
      });
    const year = CACHE_TTL_SECONDS.immutable;
    this.cachePolicies = {
      immutable: cachePolicy('cache-policy-immutable', 'immutable', 'Content-hashed assets: cached for a year', { min: year, default: year, max: year }),
      menuImages: cachePolicy('cache-policy-menu-images', 'menu-images', 'Menu images: a day; the api invalidates on change', {
        min: 0,
        default: CACHE_TTL_SECONDS.menuImages,
        max: CACHE_TTL_SECONDS.menuImages,
      }),
      // Default TTL 0: uncached unless the origin says otherwise; `Cache-Control: no-cache`
      // makes CloudFront revalidate every request with the origin (cheap 304s).
      revalidate: cachePolicy('cache-policy-revalidate', 'revalidate', 'Index documents: follow origin Cache-Control', { min: 0, default: 0, max: year }),
    };

    const securityHeaders = (contentSecurityPolicy: string) => ({
      strictTransportSecurity: { accessControlMaxAgeSec: HSTS_MAX_AGE_SECONDS, includeSubdomains: true, preload: true, override: true },
      contentTypeOptions: { override: true },
      frameOptions: { frameOption: 'DENY', override: true },
      referrerPolicy: { referrerPolicy: 'strict-origin-when-cross-origin', override: true },
      xssProtection: { protection: true, modeBlock: true, override: true },
      contentSecurityPolicy: { contentSecurityPolicy, override: true },
    });
    this.responseHeadersPolicy = new CloudfrontResponseHeadersPolicy(this, 'response-headers-policy', {
      name: `${location.id}-assets-security-headers`,
      comment: `Security headers and CORS for ${location.domains.cdn}`,
      // Assets and images load from this host or inline data URIs; scripts talk only to the API.
      securityHeadersConfig: securityHeaders(
        [
          "default-src 'self'",
          "img-src 'self' data: blob:",
          "script-src 'self'",
          "style-src 'self'",
          `connect-src 'self' https://${location.domains.api} wss://${location.domains.api}`,
          "object-src 'none'",
          "base-uri 'self'",
          "frame-ancestors 'none'",
        ].join('; '),
      ),
      corsConfig: {
        accessControlAllowOrigins: { items: [`https://${location.domains.api}`] },
        accessControlAllowMethods: { items: ['GET', 'HEAD', 'OPTIONS'] },
        accessControlAllowHeaders: { items: ['*'] },
        accessControlAllowCredentials: false,
        accessControlMaxAgeSec: 600,
        originOverride: true,
      },
    });

    // The web client's pages are same-origin: no CORS. Its CSP names the location's own hosts.
    this.webClientHeadersPolicy = new CloudfrontResponseHeadersPolicy(this, 'web-client-headers-policy', {
      name: `${location.id}-web-client-headers`,
      comment: `Security headers and the web client's CSP of ${location.id}`,
      securityHeadersConfig: securityHeaders(webClientContentSecurityPolicy(location)),
    });
    this.webClientRouter = new CloudfrontFunction(this, 'web-client-router', {
      name: `${location.id}-web-client-router`,
      comment: `Web client of ${location.id}: viewer paths to its objects, its routes to index.html`,
      runtime: 'cloudfront-js-2.0',
      code: webClientViewerRequestCode(),
      // The distribution runs the LIVE stage only: publishing is what makes a change take effect.
      publish: true,
    });

    const originId = 'assets-bucket';
    const behaviour = (cachePolicyId: string, serves: 'web-client' | 'menu-images') => ({
      targetOriginId: originId,
      viewerProtocolPolicy: 'redirect-to-https',
      allowedMethods: ['GET', 'HEAD', 'OPTIONS'],
      cachedMethods: ['GET', 'HEAD'],
      compress: true,
      cachePolicyId,
      ...(serves === 'web-client'
        ? {
            responseHeadersPolicyId: this.webClientHeadersPolicy.id,
            functionAssociation: [{ eventType: 'viewer-request', functionArn: this.webClientRouter.arn }],
          }
        : { responseHeadersPolicyId: this.responseHeadersPolicy.id }),
    });
    this.distribution = new CloudfrontDistribution(this, 'distribution', {
      comment: `${location.id} assets`,
      enabled: true,
      isIpv6Enabled: true,
      httpVersion: 'http2and3',
      priceClass,
      aliases: [location.domains.cdn],
      defaultRootObject: 'index.html',
      origin: [
        {
          originId,
          domainName: this.bucket.bucketRegionalDomainName,
          originAccessControlId: originAccessControl.id,
        },
      ],
      defaultCacheBehavior: behaviour(this.cachePolicies.revalidate.id, 'web-client'),
      orderedCacheBehavior: [
        { pathPattern: '/assets/*', ...behaviour(this.cachePolicies.immutable.id, 'web-client') },
        { pathPattern: `/${MENU_IMAGES_PREFIX}*`, ...behaviour(this.cachePolicies.menuImages.id, 'menu-images') },
      ],
      restrictions: { geoRestriction: { restrictionType: 'none' } },
      viewerCertificate: {
        acmCertificateArn: validatedCertificate.certificateArn,
        sslSupportMethod: 'sni-only',
        minimumProtocolVersion: 'TLSv1.2_2021',
      },
      loggingConfig: {
        bucket: this.logBucket.bucketDomainName,
        prefix: 'cloudfront/',
        includeCookies: false,
      },
      dependsOn: [logOwnership],
    });
    this.distributionId = this.distribution.id;
    this.cdnDomainName = location.domains.cdn;

    // The distribution serves IPv4 and IPv6 (`is_ipv6_enabled`), so the name gets both aliases.
    const hostedZone = props.hostedZone;
    this.aliasRecords = hostedZone
      ? (['A', 'AAAA'] as const).map(
          (type) =>
            new Route53Record(this, `alias-${type.toLowerCase()}`, {
              zoneId: hostedZone.zoneId,
              name: location.domains.cdn,
              type,
              alias: { name: this.distribution.domainName, zoneId: this.distribution.hostedZoneId, evaluateTargetHealth: false },
            }),
        )
      : [];

    // Created after the distribution: the key policy names it, and the distribution needs only
    // the bucket's domain name, so there is no cycle.
    this.encryptionKey = new LocationKmsKey(this, 'key', {
      location,
      purpose: 'assets',
      accountId,
      cloudFrontDistributionArn: this.distribution.arn,
    });
    this.bucketEncryption = new S3BucketServerSideEncryptionConfigurationA(this, 'bucket-encryption', {
      bucket: this.bucket.id,
      rule: [
        {
          applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: this.encryptionKey.keyArn },
          bucketKeyEnabled: true,
        },
      ],
    });

    new S3BucketPolicy(this, 'bucket-policy', {
      bucket: this.bucket.id,
      policy: policyDocument([
        denyInsecureTransport(this.bucket.arn),
        {
          Sid: 'CloudFrontReadsThroughOriginAccessControl',
          Effect: 'Allow',
          Principal: { Service: 'cloudfront.amazonaws.com' },
          Action: 's3:GetObject',
          Resource: `${this.bucket.arn}/*`,
          Condition: { StringEquals: { 'AWS:SourceArn': this.distribution.arn } },
        },
      ]),
    });
    new S3BucketPolicy(this, 'log-bucket-policy', {
      bucket: this.logBucket.id,
      policy: policyDocument([
        denyInsecureTransport(this.logBucket.arn),
        {
          Sid: 'S3ServerAccessLogsFromAssetBucket',
          Effect: 'Allow',
          Principal: { Service: 'logging.s3.amazonaws.com' },
          Action: 's3:PutObject',
          Resource: `${this.logBucket.arn}/s3-access/*`,
          Condition: {
            ArnLike: { 'aws:SourceArn': this.bucket.arn },
            StringEquals: { 'aws:SourceAccount': accountId },
          },
        },
      ]),
    });
  }

  /**
   * Lets a role read, write and delete objects under one key prefix (e.g. MENU_IMAGES_PREFIX),
   * and use the bucket's key for them through S3 only.
   */
  grantWrite(role: IamRole, prefix: string): IamRolePolicy {
    if (!PREFIX_PATTERN.test(prefix)) {
      throw new Error(`prefix must be a key prefix of lowercase letters, digits, _-/ ending in "/", got "${prefix}" (location "${this.location.id}")`);
    }
    const slug = prefix.replace(/\/$/, '').replace(/\//g, '-');
    return new IamRolePolicy(this, `grant-write-${role.node.id}-${slug}`, {
      role: role.name,
      name: `assets-write-${slug}`,
      policy: policyDocument([
        {
          Sid: 'ObjectsUnderPrefix',
          Effect: 'Allow',
          Action: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject'],
          Resource: `${this.bucket.arn}/${prefix}*`,
        },
        {
          Sid: 'BucketKeyThroughS3',
          Effect: 'Allow',
          Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
          Resource: this.encryptionKey.keyArn,
          Condition: { StringEquals: { 'kms:ViaService': `s3.${this.location.region}.amazonaws.com` } },
        },
      ]),
    });
  }

  /** Lets a role invalidate cached paths of this distribution and follow the invalidation. */
  grantInvalidate(role: IamRole): IamRolePolicy {
    return new IamRolePolicy(this, `grant-invalidate-${role.node.id}`, {
      role: role.name,
      name: 'cdn-invalidate',
      policy: policyDocument([
        {
          Sid: 'InvalidateDistribution',
          Effect: 'Allow',
          Action: ['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation'],
          Resource: this.distribution.arn,
        },
      ]),
    });
  }
}

function blockAll(bucket: string) {
  return { bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true };
}

function denyInsecureTransport(bucketArn: string): PolicyStatement {
  return {
    Sid: 'DenyInsecureTransport',
    Effect: 'Deny',
    Principal: '*',
    Action: 's3:*',
    Resource: [bucketArn, `${bucketArn}/*`],
    Condition: { Bool: { 'aws:SecureTransport': 'false' } },
  };
}
