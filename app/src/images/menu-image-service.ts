/**
 * Replacing a menu item's image: validate, make the variants, store them, point the item at them,
 * then clean up after the image it replaced.
 *
 * Order, and why:
 * 1. The item must exist in this restaurant (a read on the primary), before any work on the body.
 * 2. Validation and variants (upload-validation.ts, image-variants.ts): any failure here is a 4xx
 *    and nothing has been stored.
 * 3. Every variant is stored before the database changes: a menu never names an object that is
 *    not there yet. If storing or the transaction fails, the new objects are deleted again (unless
 *    the item references them: re-uploading the same image yields the same keys).
 * 4. One transaction locks the row, reads the old keys and writes the new ones.
 * 5. After commit: the menu cache is invalidated through the bus (every process drops its copy);
 *    the replaced variants are deleted, then their CDN paths invalidated. Deleting first means an
 *    edge that refetches after the invalidation finds nothing rather than the old image again.
 *
 * Old objects are deleted, not kept: a replaced image is usually replaced because it was wrong, and
 * it should stop being served. The bucket is versioned (noncurrent versions are kept 30 days,
 * cdn-bucket.ts), so a deletion can be undone. The cost: a client still holding a menu from before
 * the change (it may reuse one for up to 90 s, MENU_CACHE_CONTROL) gets a 403/404 for that image
 * until it refetches the menu. Cleanup failures after the commit are logged, never the request's
 * failure: the image has been replaced.
 */
import type { InvalidationBus } from '../cache/invalidation-bus';
import type { DatabaseManager } from '../db/database-manager';
import { notFound } from '../errors';
import type { Logger } from '../logger';
import { consistencyKey } from '../menu/menu-service';
import type { CdnInvalidator } from './cdn-invalidator';
import { cdnPathsOf, CONTENT_TYPES, itemImagePrefix, variantKey, variantName, VARIANT_FORMATS, type VariantFormat } from './image-keys';
import type { ImageObject, ImageStorage } from './image-storage';
import { generateVariants } from './image-variants';
import { findItemImageKeys, setItemImageKeys } from './menu-image-repository';
import { validateUpload, type UploadLimits } from './upload-validation';

export interface MenuImageServiceDependencies {
  readonly db: DatabaseManager;
  readonly bus: InvalidationBus;
  readonly logger: Logger;
  readonly storage: ImageStorage;
  readonly cdn: CdnInvalidator;
  readonly limits: UploadLimits;
  /** @default DEFAULT_VARIANT_WIDTHS */
  readonly widths?: readonly number[];
}

export interface StoredVariant {
  readonly format: VariantFormat;
  readonly width: number;
  readonly height: number;
  readonly bytes: number;
  readonly key: string;
  readonly url: string;
}

export interface MenuItemImage {
  readonly item_id: string;
  /** What `menu_items.image_keys` now holds (`webp-640` -> object key); the menu shows the same. */
  readonly image_keys: Record<string, string>;
  readonly image: {
    readonly hash: string;
    /** Of the largest variant. */
    readonly width: number;
    readonly height: number;
    /** The largest JPEG: the `<img src>` fallback. */
    readonly src: string;
    /** Per format, ready for `<source type srcset>`: `"<url> 320w, <url> 640w"`. */
    readonly srcset: Record<VariantFormat, string>;
    readonly types: Record<VariantFormat, string>;
    readonly variants: readonly StoredVariant[];
  };
}

export interface MenuImageService {
  /** @param apiOrigin the API's public origin (filesystem storage URLs; see menu-image-routes.ts) */
  replaceImage(restaurantId: string, itemId: string, body: Buffer | undefined, apiOrigin: string): Promise<MenuItemImage>;
}

export function createMenuImageService(deps: MenuImageServiceDependencies): MenuImageService {
  const { db, bus, logger, storage, cdn } = deps;

  const currentKeys = (restaurantId: string, itemId: string) =>
    db.read((client) => findItemImageKeys(client, restaurantId, itemId, false), { name: 'menu_images.item_keys', consistency: 'primary' });

  /** Deletes objects this request wrote that the item does not reference; logs, never throws. */
  const discard = async (restaurantId: string, itemId: string, keys: readonly string[]) => {
    try {
      const referenced = new Set(Object.values((await currentKeys(restaurantId, itemId)) ?? {}));
      await storage.delete(keys.filter((k) => !referenced.has(k)));
    } catch (error) {
      logger.warn({ err: error, restaurantId, itemId, keys: keys.length }, 'could not delete the variants of a failed image upload');
    }
  };

  const cleanUpReplaced = async (restaurantId: string, itemId: string, replaced: readonly string[]) => {
    if (replaced.length === 0) return;
    try {
      await storage.delete(replaced);
    } catch (error) {
      logger.warn({ err: error, restaurantId, itemId, keys: replaced }, 'could not delete the variants of a replaced image; they stay until deleted by hand');
    }
    const paths = cdnPathsOf(replaced);
    try {
      await cdn.invalidate(paths);
    } catch (error) {
      logger.warn({ err: error, restaurantId, itemId, paths }, 'CDN invalidation of a replaced image failed; edges may serve it until their copies expire (a day)');
    }
  };

  return {
    async replaceImage(restaurantId, itemId, body, apiOrigin) {
      if ((await currentKeys(restaurantId, itemId)) === undefined) throw notFound('menu item');
      const upload = await validateUpload(body, deps.limits);
      const { hash, variants } = await generateVariants(body!, upload.width, { maxPixels: deps.limits.maxPixels, widths: deps.widths });

      const objects: ImageObject[] = variants.map((v) => ({
        key: variantKey({ restaurantId, itemId, hash, width: v.width, format: v.format }),
        body: v.body,
        contentType: CONTENT_TYPES[v.format],
      }));
      const newKeys = objects.map((o) => o.key);
      const imageKeys = Object.fromEntries(variants.map((v, i) => [variantName(v.format, v.width), newKeys[i]!]));

      let oldKeys: Record<string, string>;
      try {
        await storage.put(objects);
        oldKeys = await db.transaction(
          async (client) => {
            const previous = await findItemImageKeys(client, restaurantId, itemId, true);
            if (previous === undefined) throw notFound('menu item');
            await setItemImageKeys(client, restaurantId, itemId, imageKeys);
            return previous;
          },
          { name: 'menu_images.replace', consistencyKey: consistencyKey(restaurantId) },
        );
      } catch (error) {
        await discard(restaurantId, itemId, newKeys);
        throw error;
      }

      const invalidation = await bus.invalidateMenu(restaurantId);
      if (!invalidation.published) logger.warn({ restaurantId }, 'menu invalidation not published yet (will be retried)');
      // Only objects of this item's own prefix: image_keys written by other tools are not ours to delete.
      const prefix = itemImagePrefix(restaurantId, itemId);
      const kept = new Set(newKeys);
      const replaced = [...new Set(Object.values(oldKeys))].filter((k) => typeof k === 'string' && k.startsWith(prefix) && !kept.has(k));
      await cleanUpReplaced(restaurantId, itemId, replaced);

      const stored: StoredVariant[] = variants.map((v, i) => ({
        format: v.format,
        width: v.width,
        height: v.height,
        bytes: v.body.length,
        key: newKeys[i]!,
        url: storage.urlFor(newKeys[i]!, apiOrigin),
      }));
      const byFormat = (format: VariantFormat) => stored.filter((s) => s.format === format).sort((a, b) => a.width - b.width);
      const srcset = Object.fromEntries(VARIANT_FORMATS.map((f) => [f, byFormat(f).map((s) => `${s.url} ${s.width}w`).join(', ')])) as Record<VariantFormat, string>;
      const largestJpeg = byFormat('jpeg').at(-1)!;
      return {
        item_id: itemId,
        image_keys: imageKeys,
        image: {
          hash,
          width: largestJpeg.width,
          height: largestJpeg.height,
          src: largestJpeg.url,
          srcset,
          types: CONTENT_TYPES as Record<VariantFormat, string>,
          variants: stored,
        },
      };
    },
  };
}
