/**
 * Responsive variants of a validated upload with sharp: each width in AVIF, WebP and a JPEG
 * fallback, for `<picture>`/`srcset`.
 *
 * - Widths: the configured ones below the source width, plus the source width itself when it is
 *   below the largest configured one (never upscaled: a 1000 px photo gives 320, 640 and 1000).
 * - EXIF orientation is applied while decoding (`autoOrient`); output carries no metadata (sharp
 *   strips EXIF, XMP and GPS unless asked to keep them) and is converted to sRGB.
 * - The source is decoded once, oriented and shrunk to the largest variant, and kept as raw pixels;
 *   every variant is encoded from that, so a large photo is decoded once, not nine times.
 * - JPEG has no alpha: transparent PNG/WebP areas become white in the JPEG fallback.
 * - Any decoder failure is the upload's fault (corrupt, truncated, or a header that lied about its
 *   size): 422, never 500.
 */
import { createHash } from 'node:crypto';
import sharp, { type OutputInfo, type Sharp } from 'sharp';
import { CONTENT_HASH_HEX_DIGITS, VARIANT_FORMATS, VARIANT_PIPELINE_VERSION, type VariantFormat } from './image-keys';
import { imageCorrupt, imageTooManyPixels } from './upload-validation';

export const DEFAULT_VARIANT_WIDTHS: readonly number[] = [320, 640, 1280];

export interface ImageVariant {
  readonly format: VariantFormat;
  readonly width: number;
  readonly height: number;
  readonly body: Buffer;
}

export interface VariantSet {
  /** Hex prefix of sha256(VARIANT_PIPELINE_VERSION + upload): names all variants of this upload. */
  readonly hash: string;
  readonly variants: readonly ImageVariant[];
}

export interface VariantOptions {
  /** @default DEFAULT_VARIANT_WIDTHS */
  readonly widths?: readonly number[];
  /** The decoder's `limitInputPixels`. */
  readonly maxPixels: number;
}

/** The widths made for a source this wide (displayed width, orientation applied). */
export function variantWidths(sourceWidth: number, widths: readonly number[] = DEFAULT_VARIANT_WIDTHS): number[] {
  const sorted = [...new Set(widths)].sort((a, b) => a - b);
  const largest = sorted[sorted.length - 1] ?? sourceWidth;
  const chosen = sorted.filter((w) => w < sourceWidth);
  chosen.push(Math.min(sourceWidth, largest));
  return [...new Set(chosen)].sort((a, b) => a - b);
}

export function contentHash(upload: Buffer): string {
  return createHash('sha256').update(VARIANT_PIPELINE_VERSION).update(upload).digest('hex').slice(0, CONTENT_HASH_HEX_DIGITS);
}

function encode(pipeline: Sharp, format: VariantFormat): Sharp {
  switch (format) {
    case 'avif':
      // effort 4 (sharp's default) costs about twice the time of 2 for a few percent smaller files.
      return pipeline.avif({ quality: 50, effort: 2 });
    case 'webp':
      return pipeline.webp({ quality: 78 });
    case 'jpeg':
      return pipeline.flatten({ background: '#ffffff' }).jpeg({ quality: 80, mozjpeg: true, progressive: true });
  }
}

function isPixelLimitError(error: unknown): boolean {
  return error instanceof Error && /pixel limit/i.test(error.message);
}

export async function generateVariants(upload: Buffer, sourceWidth: number, options: VariantOptions): Promise<VariantSet> {
  const widths = variantWidths(sourceWidth, options.widths);
  const largest = widths[widths.length - 1]!;
  let base: { data: Buffer; info: OutputInfo };
  try {
    base = await sharp(upload, { limitInputPixels: options.maxPixels, failOn: 'error', autoOrient: true })
      .resize({ width: largest, withoutEnlargement: true })
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw isPixelLimitError(error) ? imageTooManyPixels(options.maxPixels) : imageCorrupt();
  }
  const raw = { width: base.info.width, height: base.info.height, channels: base.info.channels };

  const variants = await Promise.all(
    widths.flatMap((width) =>
      VARIANT_FORMATS.map(async (format): Promise<ImageVariant> => {
        const resized = sharp(base.data, { raw }).resize({ width, withoutEnlargement: true });
        const { data, info } = await encode(resized, format).toBuffer({ resolveWithObject: true });
        return { format, width: info.width, height: info.height, body: data };
      }),
    ),
  );
  return { hash: contentHash(upload), variants };
}
