/**
 * Where variants are kept. Two implementations: S3 behind the CDN (production,
 * s3-image-storage.ts) and a directory the api serves itself (local runs, filesystem-image-storage.ts).
 * Every object is written with `MENU_IMAGE_CACHE_CONTROL` and its content type, whichever backs it.
 */

export interface ImageObject {
  readonly key: string;
  readonly body: Buffer;
  readonly contentType: string;
}

export interface ImageStorage {
  readonly kind: 's3' | 'filesystem';
  /** Writes every object; rejects when any write failed (some may have been written). */
  put(objects: readonly ImageObject[]): Promise<void>;
  /** Deletes these keys; a key that does not exist is not an error. */
  delete(keys: readonly string[]): Promise<void>;
  /**
   * The public URL of a key. `apiOrigin` is the API's configured public origin
   * (`https://api.example.com`, PUBLIC_BASE_URL; never a request's Host header); the filesystem
   * storage serves from there, S3 from the CDN.
   */
  urlFor(key: string, apiOrigin: string): string;
  close(): Promise<void>;
}
