/**
 * Checks an uploaded image before anything decodes it:
 *
 * 1. Not empty, and at most the size limit (the body parser refuses larger bodies on the wire).
 * 2. The type from the first bytes (magic numbers), never from the client's Content-Type or a file
 *    name: JPEG, PNG or WebP; anything else is a 415 that names what it is when we recognise it.
 * 3. The header's dimensions (sharp's `metadata()` reads the header only, nothing is decoded)
 *    against the pixel limit, so a small file declaring 30000x30000 pixels (a decompression bomb)
 *    is refused before it costs gigabytes of memory. The decoder enforces the same limit again
 *    with `limitInputPixels` (image-variants.ts), in case a header lies.
 */
import sharp, { type Metadata } from 'sharp';
import { AppError } from '../errors';

export type AcceptedImageType = 'jpeg' | 'png' | 'webp';

export interface UploadLimits {
  /** Largest body in bytes. */
  readonly maxBytes: number;
  /** Largest width x height. */
  readonly maxPixels: number;
}

export interface ValidatedUpload {
  readonly type: AcceptedImageType;
  /** Width and height as displayed (EXIF orientation applied). */
  readonly width: number;
  readonly height: number;
  readonly bytes: number;
}

const ACCEPTED_NAMES = 'JPEG, PNG or WebP';

function startsWith(body: Buffer, bytes: readonly number[], offset = 0): boolean {
  return body.length >= offset + bytes.length && bytes.every((b, i) => body[offset + i] === b);
}

const ascii = (text: string): number[] => [...text].map((c) => c.charCodeAt(0));

/** The image type named by the first bytes: an accepted type, the name of another one, or undefined. */
export function sniffImageType(body: Buffer): AcceptedImageType | { readonly other: string } | undefined {
  if (startsWith(body, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(body, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(body, ascii('RIFF')) && startsWith(body, ascii('WEBP'), 8)) return 'webp';
  if (startsWith(body, ascii('GIF87a')) || startsWith(body, ascii('GIF89a'))) return { other: 'GIF' };
  if (startsWith(body, ascii('BM'))) return { other: 'BMP' };
  if (startsWith(body, [0x49, 0x49, 0x2a, 0x00]) || startsWith(body, [0x4d, 0x4d, 0x00, 0x2a])) return { other: 'TIFF' };
  if (startsWith(body, ascii('ftyp'), 4)) return { other: 'HEIF/AVIF' };
  if (/^\s*(<\?xml|<svg)/i.test(body.subarray(0, 256).toString('latin1'))) return { other: 'SVG' };
  return undefined;
}

export function imageRequired(): AppError {
  return new AppError('image_required', `request body must be the image bytes (${ACCEPTED_NAMES}); the body is empty`, 400);
}

export function imageTooLarge(maxBytes: number): AppError {
  return new AppError('payload_too_large', `image is larger than the limit of ${maxBytes} bytes (${formatMiB(maxBytes)})`, 413, {
    details: { maxBytes },
  });
}

export function imageCorrupt(): AppError {
  return new AppError('image_corrupt', 'image data is corrupt or truncated and cannot be decoded', 422);
}

export function imageTooManyPixels(maxPixels: number, width?: number, height?: number): AppError {
  const size = width !== undefined && height !== undefined ? `${width}x${height} pixels (${width * height})` : 'larger than allowed';
  return new AppError('image_dimensions_too_large', `image is ${size}; the limit is ${maxPixels} pixels`, 422, {
    details: { maxPixels, ...(width !== undefined && height !== undefined ? { width, height } : {}) },
  });
}

function formatMiB(bytes: number): string {
  return `${Math.round((bytes / 1048576) * 100) / 100} MiB`;
}

/** Throws the AppError that names the first problem; never decodes pixel data. */
export async function validateUpload(body: Buffer | undefined, limits: UploadLimits): Promise<ValidatedUpload> {
  if (body === undefined || body.length === 0) throw imageRequired();
  if (body.length > limits.maxBytes) throw imageTooLarge(limits.maxBytes);
  const sniffed = sniffImageType(body);
  if (sniffed === undefined) {
    throw new AppError('unsupported_media_type', `request body is not a ${ACCEPTED_NAMES} image`, 415, { details: { accepted: ['image/jpeg', 'image/png', 'image/webp'] } });
  }
  if (typeof sniffed !== 'string') {
    throw new AppError('unsupported_media_type', `${sniffed.other} images are not accepted; send ${ACCEPTED_NAMES}`, 415, {
      details: { accepted: ['image/jpeg', 'image/png', 'image/webp'], received: sniffed.other },
    });
  }

  let metadata: Metadata;
  try {
    // Header only; the pixel limit is checked below with the dimensions in the message.
    metadata = await sharp(body, { limitInputPixels: false, failOn: 'error' }).metadata();
  } catch {
    throw imageCorrupt();
  }
  if (metadata.format !== sniffed || !metadata.width || !metadata.height) throw imageCorrupt();
  const width = metadata.autoOrient?.width ?? metadata.width;
  const height = metadata.autoOrient?.height ?? metadata.height;
  if (width * height > limits.maxPixels) throw imageTooManyPixels(limits.maxPixels, width, height);
  return { type: sniffed, width, height, bytes: body.length };
}
