/**
 * POST /v1/restaurants/:restaurantId/menu-items/:itemId/image on real PostgreSQL (primary +
 * replica), Redis (menu cache and invalidation bus), and both storages: S3 against s3rver on
 * loopback with the CDN stand-in, and the filesystem served by the api itself.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Client } from 'pg';
import sharp from 'sharp';
import { createDatabaseManager, type DatabaseManager } from '../../../app/src/db/database-manager';
import { noCdnInvalidator, type CdnInvalidator } from '../../../app/src/images/cdn-invalidator';
import { createFilesystemImageStorage } from '../../../app/src/images/filesystem-image-storage';
import { CONTENT_TYPES, MENU_IMAGE_CACHE_CONTROL, type VariantFormat } from '../../../app/src/images/image-keys';
import type { ImageStorage } from '../../../app/src/images/image-storage';
import { registerMenuImageRoutes } from '../../../app/src/images/menu-image-routes';
import { createS3ImageStorage } from '../../../app/src/images/s3-image-storage';
import { registerMenuRoutes } from '../../../app/src/menu/menu-routes';
import { startPostgresCluster, type PostgresCluster } from '../../../tools/services/postgres-cluster';
import { startRedis, type RedisServer } from '../../../tools/services/redis-server';
import { startCacheProcess, type CacheProcess } from '../cache/cache-fixtures';
import { clusterConfig, recordingLogger } from '../db/database-manager-fixtures';
import { applySchema, connect } from '../db/migrate-support';
import { createTokenMint, getJson, httpTestConfig, memoryLogger, startApp, type RunningApp, type TokenMint } from '../http/support';
import { decompressionBomb, filesBelow, gif, photo, recordingCdn, startLocalS3, S3RVER_CREDENTIALS, truncatedJpeg, type LocalS3, type RecordingCdn } from './image-fixtures';

const CDN_BASE_URL = 'https://cdn.cafe.test';
const MAX_BYTES = 10 * 1024 * 1024;
const limits = { maxBytes: MAX_BYTES, maxPixels: 50_000_000 };

type Role = 'guest' | 'staff' | 'kitchen' | 'manager';

interface Instance {
  readonly app: RunningApp;
  readonly storage: ImageStorage;
  close(): Promise<void>;
}

/** What a format is called by sharp's metadata (AVIF is a HEIF container with AV1). */
async function decodedFormat(body: Buffer): Promise<{ format: string; width?: number; height?: number }> {
  const m = await sharp(body).metadata();
  const format = m.format === 'heif' && m.compression === 'av1' ? 'avif' : String(m.format);
  return { format, width: m.width, height: m.height };
}

describe('menu image API', () => {
  let cluster: PostgresCluster;
  let redis: RedisServer;
  let sql: Client;
  let mint: TokenMint;
  let db: DatabaseManager;
  let cacheProcess: CacheProcess;
  let s3: LocalS3;
  let cdn: RecordingCdn;
  let imageDir: string;
  let onS3: Instance;
  let onDisk: Instance;
  let riverside: string;
  let harbour: string;
  let curry: string;
  let noodles: string;
  let soup: string;
  let fish: string;

  async function startInstance(storage: ImageStorage, invalidator: CdnInvalidator): Promise<Instance> {
    const { logger } = memoryLogger(httpTestConfig());
    const deps = { db, cache: cacheProcess.cache, bus: cacheProcess.bus, logger };
    const app = await startApp({
      jwks: mint.jwks,
      db,
      routes: (v1, kit) => {
        registerMenuRoutes(v1, kit, deps);
        registerMenuImageRoutes(v1, kit, { ...deps, storage, cdn: invalidator, limits });
      },
    });
    return { app, storage, close: async () => (await app.close(), await storage.close()) };
  }

  const token = (role: Role, restaurantId: string) =>
    mint.sign({ sub: `${role}-${restaurantId}`, role, restaurant_id: restaurantId, ...(role === 'guest' ? { table_id: '1' } : {}) });

  async function upload(instance: Instance, restaurantId: string, itemId: string, body: Buffer | undefined, options: { role?: Role; tokenRestaurant?: string; contentType?: string } = {}) {
    const auth = await token(options.role ?? 'staff', options.tokenRestaurant ?? restaurantId);
    const headers: Record<string, string> = { authorization: `Bearer ${auth}` };
    if (options.contentType ?? body) headers['content-type'] = options.contentType ?? 'image/jpeg';
    return getJson(`${instance.app.url}/v1/restaurants/${restaurantId}/menu-items/${itemId}/image`, { method: 'POST', headers, body });
  }

  const imageKeysOf = async (itemId: string) =>
    (await sql.query<{ image_keys: Record<string, string> | null }>('SELECT image_keys FROM menu_items WHERE id = $1', [itemId])).rows[0]!.image_keys;

  async function menuItem(instance: Instance, restaurantId: string, itemId: string) {
    const menu = await getJson(`${instance.app.url}/v1/restaurants/${restaurantId}/menu`, { headers: { authorization: `Bearer ${await token('guest', restaurantId)}` } });
    expect(menu.status).toBe(200);
    return (menu.body.categories as { items: { id: string; image_keys: Record<string, string> | null }[] }[]).flatMap((c) => c.items).find((i) => i.id === itemId)!;
  }

  beforeAll(async () => {
    [cluster, redis, mint, s3] = await Promise.all([startPostgresCluster(), startRedis(), createTokenMint(), startLocalS3()]);
    await applySchema(cluster);
    sql = await connect(cluster);
    const r = await sql.query<{ id: string; slug: string }>(
      `INSERT INTO restaurants (slug, name, timezone, currency) VALUES ('riverside', 'Riverside', 'Asia/Bangkok', 'THB'), ('harbour', 'Harbour', 'Europe/London', 'GBP') RETURNING id::text, slug`,
    );
    riverside = r.rows.find((x) => x.slug === 'riverside')!.id;
    harbour = r.rows.find((x) => x.slug === 'harbour')!.id;
    const c = await sql.query<{ id: string; restaurant_id: string }>(
      `INSERT INTO menu_categories (restaurant_id, name) VALUES ($1, 'Mains'), ($2, 'Harbour mains') RETURNING id::text, restaurant_id::text`,
      [riverside, harbour],
    );
    const mains = c.rows.find((x) => x.restaurant_id === riverside)!.id;
    const harbourMains = c.rows.find((x) => x.restaurant_id === harbour)!.id;
    const i = await sql.query<{ id: string; name: string }>(
      `INSERT INTO menu_items (restaurant_id, category_id, name, price_cents) VALUES ($1, $2, 'Green curry', 18000), ($1, $2, 'Noodles', 12000), ($1, $2, 'Soup', 9000), ($3, $4, 'Fish and chips', 1450)
       RETURNING id::text, name`,
      [riverside, mains, harbour, harbourMains],
    );
    const id = (name: string) => i.rows.find((x) => x.name === name)!.id;
    [curry, noodles, soup, fish] = [id('Green curry'), id('Noodles'), id('Soup'), id('Fish and chips')];
    await cluster.waitForReplica();

    db = createDatabaseManager(clusterConfig(cluster), { logger: recordingLogger() });
    cacheProcess = await startCacheProcess(redis.port);
    cdn = recordingCdn();
    imageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'menu-images-'));
    onS3 = await startInstance(
      createS3ImageStorage({ bucket: s3.bucket, region: 'us-east-1', cdnBaseUrl: CDN_BASE_URL, endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS }),
      cdn,
    );
    onDisk = await startInstance(createFilesystemImageStorage(imageDir), noCdnInvalidator);
  }, 120_000);

  afterAll(async () => {
    await onS3?.close();
    await onDisk?.close();
    await cacheProcess?.close();
    await db?.close();
    await sql?.end();
    await s3?.stop();
    await redis?.stop();
    await cluster?.stop();
    if (imageDir) fs.rmSync(imageDir, { recursive: true, force: true });
  });

  describe('S3 storage behind the CDN', () => {
    let firstKeys: Record<string, string>;

    test('stores every variant with the CDN Cache-Control, points the item at them, and answers srcset URLs on the CDN', async () => {
      // Warm the menu cache first: the read after the upload must not be served from it.
      expect((await menuItem(onS3, riverside, curry)).image_keys).toBeNull();

      const response = await upload(onS3, riverside, curry, await photo(2000, 1500), { contentType: 'application/octet-stream' });
      expect(response.status).toBe(200);
      const { image, image_keys } = response.body as { image: any; image_keys: Record<string, string> };
      const prefix = `menu-images/${riverside}/${curry}/${image.hash}-`;
      expect(Object.keys(image_keys).sort()).toEqual(['avif-1280', 'avif-320', 'avif-640', 'jpeg-1280', 'jpeg-320', 'jpeg-640', 'webp-1280', 'webp-320', 'webp-640']);
      expect(image.srcset).toEqual({
        avif: `${CDN_BASE_URL}/${prefix}320.avif 320w, ${CDN_BASE_URL}/${prefix}640.avif 640w, ${CDN_BASE_URL}/${prefix}1280.avif 1280w`,
        webp: `${CDN_BASE_URL}/${prefix}320.webp 320w, ${CDN_BASE_URL}/${prefix}640.webp 640w, ${CDN_BASE_URL}/${prefix}1280.webp 1280w`,
        jpeg: `${CDN_BASE_URL}/${prefix}320.jpg 320w, ${CDN_BASE_URL}/${prefix}640.jpg 640w, ${CDN_BASE_URL}/${prefix}1280.jpg 1280w`,
      });
      expect(image).toMatchObject({ width: 1280, height: 960, src: `${CDN_BASE_URL}/${prefix}1280.jpg` });

      expect(await s3.keys()).toEqual(Object.values(image_keys).sort());
      for (const variant of image.variants as { key: string; format: VariantFormat; width: number; height: number; bytes: number }[]) {
        const object = await s3.get(variant.key);
        expect(object.cacheControl).toBe(MENU_IMAGE_CACHE_CONTROL);
        expect(object.contentType).toBe(CONTENT_TYPES[variant.format]);
        expect(object.body.length).toBe(variant.bytes);
        expect(await decodedFormat(object.body)).toEqual({ format: variant.format, width: variant.width, height: variant.height });
      }

      expect(await imageKeysOf(curry)).toEqual(image_keys);
      expect((await menuItem(onS3, riverside, curry)).image_keys).toEqual(image_keys);
      expect(cdn.calls).toEqual([]);
      firstKeys = image_keys;
    });

    test('replacing the image deletes the old variants, invalidates their CDN paths, and the menu shows the new ones at once', async () => {
      expect((await menuItem(onS3, riverside, curry)).image_keys).toEqual(firstKeys);
      const oldHash = /-([0-9a-f]{16})-/.exec(`-${firstKeys['jpeg-320']!.split('/').pop()}`)![1];

      const response = await upload(onS3, riverside, curry, await photo(900, 600, { format: 'png', colour: '#008000' }), { role: 'manager' });
      expect(response.status).toBe(200);
      const newKeys = response.body.image_keys as Record<string, string>;
      expect(Object.keys(newKeys).sort()).toEqual(['avif-320', 'avif-640', 'avif-900', 'jpeg-320', 'jpeg-640', 'jpeg-900', 'webp-320', 'webp-640', 'webp-900']);
      expect(response.body.image.hash).not.toBe(oldHash);

      expect(await s3.keys()).toEqual(Object.values(newKeys).sort());
      expect(cdn.calls).toEqual([[`/menu-images/${riverside}/${curry}/${oldHash}-*`]]);
      expect((await menuItem(onS3, riverside, curry)).image_keys).toEqual(newKeys);
      expect(await imageKeysOf(curry)).toEqual(newKeys);
      firstKeys = newKeys;
    });

    test('uploading the same image again keeps its objects and invalidates nothing', async () => {
      cdn.calls.length = 0;
      const same = await photo(900, 600, { format: 'png', colour: '#008000' });
      const response = await upload(onS3, riverside, curry, same);
      expect(response.status).toBe(200);
      expect(response.body.image_keys).toEqual(firstKeys);
      expect(await s3.keys()).toEqual(Object.values(firstKeys).sort());
      expect(cdn.calls).toEqual([]);
    });

    test('a small WebP is not upscaled; a rotated JPEG is stored upright', async () => {
      const small = await upload(onS3, riverside, noodles, await photo(200, 150, { format: 'webp' }));
      expect(small.status).toBe(200);
      expect(Object.keys(small.body.image_keys).sort()).toEqual(['avif-200', 'jpeg-200', 'webp-200']);

      const rotated = await upload(onS3, riverside, noodles, await photo(600, 400, { orientation: 6 }));
      expect(rotated.status).toBe(200);
      const jpeg = await s3.get(rotated.body.image_keys['jpeg-400']);
      const metadata = await sharp(jpeg.body).metadata();
      expect([metadata.width, metadata.height, metadata.orientation, metadata.exif]).toEqual([400, 600, undefined, undefined]);
    });

    test('when storing fails part way, the variants already written are deleted and the item is unchanged (500)', async () => {
      const real = createS3ImageStorage({ bucket: s3.bucket, region: 'us-east-1', cdnBaseUrl: CDN_BASE_URL, endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS });
      const failing: ImageStorage = {
        ...real,
        put: async (objects) => {
          await real.put(objects.slice(0, 4));
          throw new Error('S3 went away after four objects');
        },
      };
      const instance = await startInstance(failing, cdn);
      try {
        cdn.calls.length = 0;
        const keysBefore = await s3.keys();
        const rowBefore = await imageKeysOf(curry);
        const response = await upload(instance, riverside, curry, await photo(800, 600, { colour: '#ff00ff' }));
        expect([response.status, response.body.error.code]).toEqual([500, 'internal']);
        expect(await s3.keys()).toEqual(keysBefore);
        expect(await imageKeysOf(curry)).toEqual(rowBefore);
        expect(cdn.calls).toEqual([]);
      } finally {
        await instance.close();
      }
    });

    describe('bad input: a clear 4xx and nothing stored', () => {
      let keysBefore: string[];
      let rowsBefore: { id: string; image_keys: unknown; updated_at: string }[];
      const rows = async () =>
        (await sql.query<{ id: string; image_keys: unknown; updated_at: string }>(`SELECT id::text, image_keys, updated_at::text FROM menu_items ORDER BY id`)).rows;

      beforeEach(async () => {
        cdn.calls.length = 0;
        keysBefore = await s3.keys();
        rowsBefore = await rows();
      });

      afterEach(async () => {
        expect(await s3.keys()).toEqual(keysBefore);
        expect(await rows()).toEqual(rowsBefore);
        expect(cdn.calls).toEqual([]);
      });

      test('a GIF: 415 naming it', async () => {
        const response = await upload(onS3, riverside, soup, await gif(), { contentType: 'image/jpeg' });
        expect([response.status, response.body.error.code, response.body.error.message]).toEqual([415, 'unsupported_media_type', 'GIF images are not accepted; send JPEG, PNG or WebP']);
      });

      test('a text file sent as image/jpeg: 415', async () => {
        const response = await upload(onS3, riverside, soup, Buffer.from('menu.jpg: not actually an image\n'), { contentType: 'image/jpeg' });
        expect([response.status, response.body.error.message]).toEqual([415, 'request body is not a JPEG, PNG or WebP image']);
      });

      test('over the size limit: 413 naming the limit', async () => {
        const oversize = Buffer.concat([await photo(64, 64), Buffer.alloc(MAX_BYTES)]);
        const response = await upload(onS3, riverside, soup, oversize);
        expect([response.status, response.body.error.code]).toEqual([413, 'payload_too_large']);
        expect(response.body.error.message).toBe('image is larger than the limit of 10485760 bytes (10 MiB)');
      });

      test('a truncated JPEG: 422', async () => {
        const response = await upload(onS3, riverside, soup, await truncatedJpeg());
        expect([response.status, response.body.error.code]).toEqual([422, 'image_corrupt']);
      });

      test('a decompression bomb (a small PNG declaring 30000x30000): 422 naming the dimensions', async () => {
        const response = await upload(onS3, riverside, soup, decompressionBomb(30000, 30000), { contentType: 'image/png' });
        expect([response.status, response.body.error.code]).toEqual([422, 'image_dimensions_too_large']);
        expect(response.body.error.message).toBe('image is 30000x30000 pixels (900000000); the limit is 50000000 pixels');
      });

      test("another restaurant's item: 404 through our restaurant, 403 through theirs", async () => {
        const image = await photo(400, 300);
        const viaOurs = await upload(onS3, riverside, fish, image);
        expect([viaOurs.status, viaOurs.body.error.message]).toEqual([404, 'menu item not found']);
        const viaTheirs = await upload(onS3, harbour, fish, image, { tokenRestaurant: riverside });
        expect([viaTheirs.status, viaTheirs.body.error.message]).toEqual([403, 'this token belongs to another restaurant']);
      });

      test('guest and kitchen roles: 403; no token: 401; bad item id: 400', async () => {
        const image = await photo(400, 300);
        for (const role of ['guest', 'kitchen'] as const) {
          const response = await upload(onS3, riverside, soup, image, { role });
          expect([response.status, response.body.error.message]).toEqual([403, `role ${role} may not do this (allowed: staff, manager)`]);
        }
        const anonymous = await getJson(`${onS3.app.url}/v1/restaurants/${riverside}/menu-items/${soup}/image`, { method: 'POST', body: image });
        expect(anonymous.status).toBe(401);
        const badId = await upload(onS3, riverside, 'abc', image);
        expect([badId.status, badId.body.error.message]).toEqual([400, 'params.itemId: must be a positive integer id']);
      });

      test('no body: 400 image_required', async () => {
        const response = await upload(onS3, riverside, soup, undefined);
        expect([response.status, response.body.error.code]).toEqual([400, 'image_required']);
      });

      test('an image labelled application/json: 4xx, not stored', async () => {
        const response = await upload(onS3, riverside, soup, await photo(40, 40), { contentType: 'application/json' });
        expect(response.status).toBe(400);
      });
    });
  });

  describe('filesystem storage served by the api', () => {
    test('variants are files under IMAGE_DIR, served with the CDN Cache-Control and decodable at the claimed size', async () => {
      const response = await upload(onDisk, riverside, soup, await photo(1000, 500));
      expect(response.status).toBe(200);
      const variants = response.body.image.variants as { key: string; url: string; format: VariantFormat; width: number; height: number }[];
      expect(variants.map((v) => `${v.format}-${v.width}x${v.height}`).sort()).toEqual(
        ['avif-1000x500', 'avif-320x160', 'avif-640x320', 'jpeg-1000x500', 'jpeg-320x160', 'jpeg-640x320', 'webp-1000x500', 'webp-320x160', 'webp-640x320'].sort(),
      );
      expect(filesBelow(imageDir)).toEqual(variants.map((v) => v.key).sort());
      for (const variant of variants) {
        expect(variant.url).toBe(`${onDisk.app.url}/v1/${variant.key}`);
        const served = await fetch(variant.url);
        expect(served.status).toBe(200);
        expect(served.headers.get('cache-control')).toBe(MENU_IMAGE_CACHE_CONTROL);
        expect(served.headers.get('content-type')).toBe(CONTENT_TYPES[variant.format]);
        expect(await decodedFormat(Buffer.from(await served.arrayBuffer()))).toEqual({ format: variant.format, width: variant.width, height: variant.height });
      }
      expect(response.body.image.srcset.webp).toBe(
        variants
          .filter((v) => v.format === 'webp')
          .sort((a, b) => a.width - b.width)
          .map((v) => `${v.url} ${v.width}w`)
          .join(', '),
      );
      expect((await menuItem(onDisk, riverside, soup)).image_keys).toEqual(response.body.image_keys);
    });

    test('a replaced image is deleted from the directory and no longer served', async () => {
      const first = await upload(onDisk, riverside, soup, await photo(700, 500, { colour: '#800080' }));
      expect(first.status).toBe(200);
      const oldKeys = Object.values(first.body.image_keys as Record<string, string>).sort();
      expect(filesBelow(imageDir)).toEqual(oldKeys);
      const oldUrl = first.body.image.src as string;
      expect((await fetch(oldUrl)).status).toBe(200);

      const second = await upload(onDisk, riverside, soup, await photo(700, 500, { colour: '#008080' }));
      expect(second.status).toBe(200);
      const newKeys = Object.values(second.body.image_keys as Record<string, string>).sort();
      expect(newKeys).not.toEqual(oldKeys);
      expect(filesBelow(imageDir)).toEqual(newKeys);
      expect((await fetch(oldUrl)).status).toBe(404);
    });

    test('bad input writes no file; the static route serves nothing but variant keys', async () => {
      const before = filesBelow(imageDir);
      const bomb = await upload(onDisk, riverside, soup, decompressionBomb());
      expect(bomb.status).toBe(422);
      const corrupt = await upload(onDisk, riverside, soup, await truncatedJpeg());
      expect(corrupt.status).toBe(422);
      expect(filesBelow(imageDir)).toEqual(before);
      fs.writeFileSync(path.join(imageDir, 'menu-images', 'notes.txt'), 'private');
      expect((await fetch(`${onDisk.app.url}/v1/menu-images/notes.txt`)).status).toBe(404);
      expect((await fetch(`${onDisk.app.url}/v1/menu-images/${riverside}/`)).status).toBe(404);
    });
  });
});
