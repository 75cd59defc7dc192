/**
 * Menu images in a local directory, served by the api itself under `/v1/menu-images/*` (see
 * menu-image-routes.ts) with the same `Cache-Control` the CDN would use, so a client cannot tell
 * the two apart but for the host. For one process on one machine: pods do not share a disk.
 *
 * Writes go to a temporary file in the target directory and are renamed into place, so a reader
 * never sees half an image.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { MENU_IMAGES_PREFIX } from './image-keys';
import type { ImageObject, ImageStorage } from './image-storage';

/** The mount path of the static route under the api, relative to `/v1`. */
export const FILESYSTEM_IMAGE_ROUTE = `/${MENU_IMAGES_PREFIX.replace(/\/$/, '')}`;

export interface FilesystemImageStorage extends ImageStorage {
  readonly kind: 'filesystem';
  /** The directory keys resolve in (`<directory>/menu-images/...`). */
  readonly directory: string;
  /** The absolute path of a key; throws for a key that would leave the directory. */
  pathOf(key: string): string;
}

export function createFilesystemImageStorage(directory: string): FilesystemImageStorage {
  const root = path.resolve(directory);
  const pathOf = (key: string): string => {
    const file = path.resolve(root, key);
    if (!key.startsWith(MENU_IMAGES_PREFIX) || !file.startsWith(`${root}${path.sep}`)) throw new Error(`image key outside the image directory: ${key}`);
    return file;
  };
  return {
    kind: 'filesystem',
    directory: root,
    pathOf,
    async put(objects: readonly ImageObject[]) {
      await Promise.all(
        objects.map(async (o) => {
          const file = pathOf(o.key);
          await fs.mkdir(path.dirname(file), { recursive: true });
          const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
          try {
            await fs.writeFile(temporary, o.body);
            await fs.rename(temporary, file);
          } finally {
            await fs.rm(temporary, { force: true });
          }
        }),
      );
    },
    async delete(keys: readonly string[]) {
      await Promise.all(keys.map((key) => fs.rm(pathOf(key), { force: true })));
    },
    // `/v1` + the mount path + the rest of the key: the path below `/v1/` is the key itself.
    urlFor: (key, apiOrigin) => `${apiOrigin.replace(/\/+$/, '')}/v1/${key}`,
    close: async () => undefined,
  };
}
