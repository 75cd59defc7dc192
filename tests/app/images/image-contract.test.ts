/**
 * The contracts of the image module with the rest of the platform:
 * - the keys it writes fall under the CDN behaviour with the menu-images cache policy of the data
 *   stack (checked on a synthesized CdnBucket, first-match like CloudFront), and the
 *   Cache-Control of stored objects matches that policy's TTLs;
 * - the CDN paths of a replaced image cover its variants and nothing of another image;
 * - the environment contract: IMAGE_* variables, and s3 storage only with its bucket and CDN.
 */
import { parseConfig } from '../../../app/src/config';
import { createImageBackends } from '../../../app/src/images/image-backends';
import { noCdnInvalidator } from '../../../app/src/images/cdn-invalidator';
import {
  cdnPathsOf,
  MENU_IMAGE_CACHE_CONTROL,
  MENU_IMAGE_MAX_AGE_SECONDS,
  MENU_IMAGES_PREFIX,
  parseVariantKey,
  variantKey,
} from '../../../app/src/images/image-keys';
import { Testing } from '../../../stacks/infra/cdktf';
import { CACHE_TTL_SECONDS, CdnBucket, MENU_IMAGES_PREFIX as STACK_MENU_IMAGES_PREFIX } from '../../../stacks/infra/constructs/cdn-bucket';
import { testEnvironment } from '../db/database-manager-fixtures';
import { ACCOUNT_ID, blockOf, hostStack, refOf } from '../../support/stacks/data-fixtures';
import { type Json, synthJson } from '../../support/stacks/synth-json';
import { sampleLocation } from '../../support/stacks/sample-locations';

const key = variantKey({ restaurantId: '12', itemId: '345', hash: '0123456789abcdef', width: 640, format: 'webp' });

/** CloudFront path patterns: `*` any characters, `?` one; case-sensitive; whole path. */
function matchesPathPattern(pattern: string, urlPath: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return regex.test(urlPath);
}

function maxAgeOf(cacheControl: string): number | undefined {
  const match = /(?:^|,)\s*max-age=(\d+)/.exec(cacheControl);
  return match ? Number(match[1]) : undefined;
}

describe('image keys and the CDN the data stack defines', () => {
  const app = Testing.app();
  const location = sampleLocation('sukhumvit-cafe');
  const { stack, usEast1 } = hostStack(app, 'images-cdn', location);
  const cdn = new CdnBucket(stack, 'cdn', { location, accountId: ACCOUNT_ID, usEast1Provider: usEast1 });
  const json = synthJson(stack);
  const distribution = blockOf(json, cdn.distribution);

  /** The behaviour CloudFront picks for a path: the first ordered one that matches, else the default. */
  const behaviourFor = (urlPath: string): Json =>
    (distribution.ordered_cache_behavior as Json[]).find((b) => matchesPathPattern(b.path_pattern as string, urlPath)) ?? (distribution.default_cache_behavior as Json);

  test('a variant key is served by the menu-images cache policy', () => {
    expect(key).toBe('menu-images/12/345/0123456789abcdef-640.webp');
    expect(behaviourFor(`/${key}`).cache_policy_id).toBe(refOf(cdn.cachePolicies.menuImages, 'id'));
  });

  test('the check can fail: a key outside the prefix falls to another policy', () => {
    expect(behaviourFor('/images/12/345/0123456789abcdef-640.webp').cache_policy_id).toBe(refOf(cdn.cachePolicies.revalidate, 'id'));
  });

  test("Cache-Control of stored objects: public, max-age equal to the policy's default and max TTL", () => {
    const policy = blockOf(json, cdn.cachePolicies.menuImages);
    expect(MENU_IMAGE_CACHE_CONTROL).toMatch(/^public,/);
    expect(MENU_IMAGE_CACHE_CONTROL).not.toMatch(/no-store|no-cache|private/);
    expect(maxAgeOf(MENU_IMAGE_CACHE_CONTROL)).toBe(policy.max_ttl);
    expect(maxAgeOf(MENU_IMAGE_CACHE_CONTROL)).toBe(policy.default_ttl);
    expect(MENU_IMAGE_MAX_AGE_SECONDS).toBe(CACHE_TTL_SECONDS.menuImages);
  });

  test("the prefix is the one the app role may write (grantWrite(role, MENU_IMAGES_PREFIX))", () => {
    expect(MENU_IMAGES_PREFIX).toBe(STACK_MENU_IMAGES_PREFIX);
  });
});

describe('image keys', () => {
  test('parse back what variantKey made, and nothing else', () => {
    expect(parseVariantKey(key)).toEqual({ restaurantId: '12', itemId: '345', hash: '0123456789abcdef', width: 640, format: 'webp' });
    expect(parseVariantKey('menu-images/12/345/0123456789abcdef-640.jpg')?.format).toBe('jpeg');
    for (const other of ['menu-images/12/345/../x-640.webp', 'menu-images/12/345/0123456789abcdef-640.gif', 'assets/app.js', `${key}.tmp`]) {
      expect(parseVariantKey(other)).toBeUndefined();
    }
  });

  test('CDN paths: one wildcard per replaced image, exact paths for foreign keys', () => {
    const old = ['avif', 'webp', 'jpeg'].flatMap((format) =>
      [320, 640].map((width) => variantKey({ restaurantId: '12', itemId: '345', hash: 'aaaaaaaaaaaaaaaa', width, format: format as 'avif' })),
    );
    expect(cdnPathsOf([...old, 'menu-images/12/345/legacy.png'])).toEqual(['/menu-images/12/345/aaaaaaaaaaaaaaaa-*', '/menu-images/12/345/legacy.png']);
    expect(cdnPathsOf([])).toEqual([]);
  });
});

describe('environment contract of images', () => {
  test('defaults: filesystem storage, 10 MiB, 50 million pixels', () => {
    const config = parseConfig(testEnvironment());
    expect(config).toMatchObject({ IMAGE_STORAGE: 'filesystem', IMAGE_DIR: 'data/menu-images', IMAGE_MAX_BYTES: 10485760, IMAGE_MAX_PIXELS: 50000000 });
  });

  test('fails when IMAGE_STORAGE=s3 lacks the bucket, CDN and region', () => {
    expect(() => parseConfig(testEnvironment({ IMAGE_STORAGE: 's3' }))).toThrow(
      'invalid environment: ASSET_BUCKET is required when IMAGE_STORAGE=s3; CDN_BASE_URL is required when IMAGE_STORAGE=s3; AWS_REGION is required when IMAGE_STORAGE=s3',
    );
  });

  test('fails when a limit is not a positive integer', () => {
    expect(() => parseConfig(testEnvironment({ IMAGE_MAX_BYTES: '0' }))).toThrow(/IMAGE_MAX_BYTES/);
  });

  test('s3 with a distribution wires S3 and CloudFront; without one, no CDN invalidation', async () => {
    const s3 = { IMAGE_STORAGE: 's3', ASSET_BUCKET: 'cafe-assets-1', CDN_BASE_URL: 'https://cdn.cafe.test', AWS_REGION: 'ap-southeast-1' };
    const withCdn = createImageBackends(parseConfig(testEnvironment({ ...s3, CDN_DISTRIBUTION_ID: 'E123ABC' })));
    expect(withCdn.storage.kind).toBe('s3');
    expect(withCdn.cdn).not.toBe(noCdnInvalidator);
    expect(withCdn.storage.urlFor(key, 'http://ignored')).toBe(`https://cdn.cafe.test/${key}`);
    const withoutCdn = createImageBackends(parseConfig(testEnvironment(s3)));
    expect(withoutCdn.cdn).toBe(noCdnInvalidator);
    const local = createImageBackends(parseConfig(testEnvironment()));
    expect(local.storage.kind).toBe('filesystem');
    expect(local.cdn).toBe(noCdnInvalidator);
    expect(local.storage.urlFor(key, 'http://127.0.0.1:8080')).toBe(`http://127.0.0.1:8080/v1/${key}`);
    await Promise.all([withCdn.close(), withoutCdn.close(), local.close()]);
  });
});
