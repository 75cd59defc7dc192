/**
 * Where menu image variants live and how they are cached: the object key layout, the
 * `Cache-Control` every stored object carries, and the CDN paths of an image.
 *
 * Key layout: `menu-images/<restaurant>/<item>/<hash>-<width>.<ext>`, where `<hash>` is the first
 * 16 hex digits of sha256(VARIANT_PIPELINE_VERSION + the uploaded bytes). One hash names all the
 * variants of one upload, so the CDN paths of a replaced image are one wildcard path.
 *
 * Why `menu-images/` and not the immutable `/assets/*` behaviour, although the keys are content
 * hashed: the app role may write only under `menu-images/` (`CdnBucket.grantWrite(role,
 * MENU_IMAGES_PREFIX)` in the data stack), and a replaced image is deleted, so its edge copies
 * must go; the menu-images policy caps an edge copy at a day even when an invalidation is lost.
 *
 * These constants mirror `MENU_IMAGES_PREFIX` and `CACHE_TTL_SECONDS.menuImages` of
 * stacks/infra/constructs/cdn-bucket.ts (the app bundle must not import the stacks); a test holds them equal.
 */

/** The key prefix the CDN serves with its menu-images cache policy (path pattern `/menu-images/*`). */
export const MENU_IMAGES_PREFIX = 'menu-images/';

/** The max TTL of the CDN's menu-images cache policy (a day). */
export const MENU_IMAGE_MAX_AGE_SECONDS = 86_400;

/**
 * On every stored variant. `public`: the CDN and browsers may keep it; `max-age` equals the CDN
 * policy's TTL; `immutable`: a key never changes content (it is content hashed), so browsers need
 * not revalidate on reload.
 */
export const MENU_IMAGE_CACHE_CONTROL = `public, max-age=${MENU_IMAGE_MAX_AGE_SECONDS}, immutable`;

/**
 * Part of the content hash: bump it when the variants made from the same upload change (widths,
 * quality, encoder settings), so new variants get new keys instead of hiding behind cached old ones.
 */
export const VARIANT_PIPELINE_VERSION = 'v1';

export const VARIANT_FORMATS = ['avif', 'webp', 'jpeg'] as const;
export type VariantFormat = (typeof VARIANT_FORMATS)[number];

export const CONTENT_TYPES: Readonly<Record<VariantFormat, string>> = { avif: 'image/avif', webp: 'image/webp', jpeg: 'image/jpeg' };
const EXTENSIONS: Readonly<Record<VariantFormat, string>> = { avif: 'avif', webp: 'webp', jpeg: 'jpg' };
const FORMAT_OF_EXTENSION: Readonly<Record<string, VariantFormat>> = { avif: 'avif', webp: 'webp', jpg: 'jpeg' };

/** Hex digits of sha256 in a key: 64 bits, no collision among one item's uploads in practice. */
export const CONTENT_HASH_HEX_DIGITS = 16;
const KEY_PATTERN = /^menu-images\/([1-9][0-9]*)\/([1-9][0-9]*)\/([0-9a-f]{16})-([1-9][0-9]*)\.(avif|webp|jpg)$/;

export interface VariantKeyParts {
  readonly restaurantId: string;
  readonly itemId: string;
  readonly hash: string;
  readonly width: number;
  readonly format: VariantFormat;
}

/** The keys of one item's images all start with this. */
export function itemImagePrefix(restaurantId: string, itemId: string): string {
  return `${MENU_IMAGES_PREFIX}${restaurantId}/${itemId}/`;
}

export function variantKey(parts: VariantKeyParts): string {
  return `${itemImagePrefix(parts.restaurantId, parts.itemId)}${parts.hash}-${parts.width}.${EXTENSIONS[parts.format]}`;
}

/** The parts of a key this module made; undefined for anything else. */
export function parseVariantKey(key: string): VariantKeyParts | undefined {
  const match = KEY_PATTERN.exec(key);
  if (!match) return undefined;
  const [, restaurantId, itemId, hash, width, extension] = match;
  return { restaurantId: restaurantId!, itemId: itemId!, hash: hash!, width: Number(width), format: FORMAT_OF_EXTENSION[extension!]! };
}

/** The name of a variant in `menu_items.image_keys` (`webp-640`). */
export function variantName(format: VariantFormat, width: number): string {
  return `${format}-${width}`;
}

/**
 * CloudFront paths that cover these keys: one `/<dir>/<hash>-*` per image (a wildcard counts as
 * one path in CloudFront's invalidation pricing), the exact path for a key of another layout.
 */
export function cdnPathsOf(keys: readonly string[]): string[] {
  const paths = new Set<string>();
  for (const key of keys) {
    const parts = parseVariantKey(key);
    paths.add(parts ? `/${itemImagePrefix(parts.restaurantId, parts.itemId)}${parts.hash}-*` : `/${key}`);
  }
  return [...paths].sort();
}
