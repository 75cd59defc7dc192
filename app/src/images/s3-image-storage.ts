/**
 * Menu images in the location's asset bucket (AWS SDK v3), read by guests through CloudFront.
 *
 * - Each PutObject sets `Cache-Control` (the CDN's menu-images policy honours the origin's
 *   max-age up to its own maximum; browsers get the same) and `Content-Type`. The bucket's default
 *   encryption (SSE-KMS, cdn-bucket.ts) applies without a header here.
 * - `endpoint` points the client at an S3-compatible server (tests, local runs); such servers
 *   address buckets by path (`http://host/bucket/key`), not by virtual host.
 * - Credentials: the default Node chain (IRSA web identity in the cluster) unless given.
 */
import { DeleteObjectsCommand, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { MENU_IMAGE_CACHE_CONTROL } from './image-keys';
import type { ImageObject, ImageStorage } from './image-storage';

/** DeleteObjects takes at most this many keys per request. */
const DELETE_BATCH = 1000;

export interface S3ImageStorageOptions {
  readonly bucket: string;
  readonly region: string;
  /** The CDN origin the bucket is served from (`https://cdn.example.com`). */
  readonly cdnBaseUrl: string;
  /** @default - AWS's regional endpoint */
  readonly endpoint?: string;
  /** @default - the default credential provider chain */
  readonly credentials?: S3ClientConfig['credentials'];
}

export function createS3ImageStorage(options: S3ImageStorageOptions): ImageStorage {
  const client = new S3Client({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
  const base = options.cdnBaseUrl.replace(/\/+$/, '');
  return {
    kind: 's3',
    async put(objects: readonly ImageObject[]) {
      await Promise.all(
        objects.map((o) =>
          client.send(
            new PutObjectCommand({ Bucket: options.bucket, Key: o.key, Body: o.body, ContentType: o.contentType, CacheControl: MENU_IMAGE_CACHE_CONTROL }),
          ),
        ),
      );
    },
    async delete(keys: readonly string[]) {
      for (let i = 0; i < keys.length; i += DELETE_BATCH) {
        const batch = keys.slice(i, i + DELETE_BATCH);
        const result = await client.send(
          new DeleteObjectsCommand({ Bucket: options.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
        );
        if (result.Errors && result.Errors.length > 0) {
          throw new Error(`S3 DeleteObjects failed for ${result.Errors.length} key(s): ${result.Errors.map((e) => `${e.Key} (${e.Code})`).join(', ')}`);
        }
      }
    },
    urlFor: (key) => `${base}/${key}`,
    async close() {
      client.destroy();
    },
  };
}
