/**
 * The image storage and CDN invalidator a process uses, chosen by its environment contract:
 * IMAGE_STORAGE=s3 writes to ASSET_BUCKET (S3_ENDPOINT for an S3-compatible server) and
 * invalidates CDN_DISTRIBUTION_ID when set; IMAGE_STORAGE=filesystem writes to IMAGE_DIR, served
 * by the api, with no CDN to invalidate.
 */
import type { AppConfig } from '../config';
import { noCdnInvalidator, type CdnInvalidator } from './cdn-invalidator';
import { createCloudFrontInvalidator } from './cloudfront-invalidator';
import { createFilesystemImageStorage } from './filesystem-image-storage';
import type { ImageStorage } from './image-storage';
import { createS3ImageStorage } from './s3-image-storage';
import type { UploadLimits } from './upload-validation';

export type ImageConfig = Pick<
  AppConfig,
  | 'IMAGE_STORAGE'
  | 'IMAGE_DIR'
  | 'IMAGE_MAX_BYTES'
  | 'IMAGE_MAX_PIXELS'
  | 'ASSET_BUCKET'
  | 'CDN_BASE_URL'
  | 'CDN_DISTRIBUTION_ID'
  | 'AWS_REGION'
  | 'S3_ENDPOINT'
  | 'PUBLIC_BASE_URL'
>;

export interface ImageBackends {
  readonly storage: ImageStorage;
  readonly cdn: CdnInvalidator;
  readonly limits: UploadLimits;
  /** PUBLIC_BASE_URL: the base of filesystem-storage image URLs (menu-image-routes.ts). */
  readonly publicBaseUrl: string | undefined;
  close(): Promise<void>;
}

export function createImageBackends(config: ImageConfig): ImageBackends {
  const limits: UploadLimits = { maxBytes: config.IMAGE_MAX_BYTES, maxPixels: config.IMAGE_MAX_PIXELS };
  let storage: ImageStorage;
  let cdn: CdnInvalidator = noCdnInvalidator;
  if (config.IMAGE_STORAGE === 's3') {
    // The contract requires these with IMAGE_STORAGE=s3; the checks keep the types honest.
    const { ASSET_BUCKET: bucket, CDN_BASE_URL: cdnBaseUrl, AWS_REGION: region } = config;
    if (!bucket || !cdnBaseUrl || !region) throw new Error('IMAGE_STORAGE=s3 needs ASSET_BUCKET, CDN_BASE_URL and AWS_REGION');
    storage = createS3ImageStorage({ bucket, region, cdnBaseUrl, endpoint: config.S3_ENDPOINT });
    if (config.CDN_DISTRIBUTION_ID) cdn = createCloudFrontInvalidator({ distributionId: config.CDN_DISTRIBUTION_ID, region });
  } else {
    storage = createFilesystemImageStorage(config.IMAGE_DIR);
  }
  return {
    storage,
    cdn,
    limits,
    publicBaseUrl: config.PUBLIC_BASE_URL,
    close: async () => {
      await Promise.all([storage.close(), cdn.close()]);
    },
  };
}
