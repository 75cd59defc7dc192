/**
 * Tells the CDN to drop its copies of paths (the variants of a replaced image). Production wires
 * CloudFront (cloudfront-invalidator.ts); with no distribution configured (filesystem storage,
 * local runs) nothing caches the images in front of us and `noCdnInvalidator` does nothing.
 */

export interface CdnInvalidator {
  /**
   * Requests the invalidation of these paths (leading `/`, CloudFront wildcards allowed at the
   * end). Resolves once the CDN accepted the request, not when the edges are done.
   */
  invalidate(paths: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export const noCdnInvalidator: CdnInvalidator = {
  invalidate: async () => undefined,
  close: async () => undefined,
};
