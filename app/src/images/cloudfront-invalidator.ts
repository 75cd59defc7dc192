/**
 * CloudFront CreateInvalidation through the AWS SDK v3. The app role may call it on its own
 * location's distribution only (`CdnBucket.grantInvalidate`). CloudFront is a global service; the
 * client still needs a region for signing, and any region works.
 *
 * The caller reference must be unique per request (CloudFront treats a repeated one as the same
 * invalidation): a random UUID.
 */
import { randomUUID } from 'node:crypto';
import { CloudFrontClient, CreateInvalidationCommand, type CloudFrontClientConfig } from '@aws-sdk/client-cloudfront';
import type { CdnInvalidator } from './cdn-invalidator';

export interface CloudFrontInvalidatorOptions {
  readonly distributionId: string;
  readonly region: string;
  /** @default - the default credential provider chain */
  readonly credentials?: CloudFrontClientConfig['credentials'];
  /** @default - CloudFront's endpoint */
  readonly endpoint?: string;
}

export function createCloudFrontInvalidator(options: CloudFrontInvalidatorOptions): CdnInvalidator {
  const client = new CloudFrontClient({
    region: options.region,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  });
  return {
    async invalidate(paths) {
      if (paths.length === 0) return;
      await client.send(
        new CreateInvalidationCommand({
          DistributionId: options.distributionId,
          InvalidationBatch: { CallerReference: randomUUID(), Paths: { Quantity: paths.length, Items: [...paths] } },
        }),
      );
    },
    async close() {
      client.destroy();
    },
  };
}
