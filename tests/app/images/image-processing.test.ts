/**
 * Upload validation and variant generation (app/src/images) on real images made with sharp:
 * type sniffing from bytes, size and pixel limits, corrupt data, widths without upscaling, EXIF
 * orientation applied, metadata stripped, alpha flattened for the JPEG fallback.
 */
import sharp from 'sharp';
import { AppError } from '../../../app/src/errors';
import { contentHash, generateVariants, variantWidths } from '../../../app/src/images/image-variants';
import { sniffImageType, validateUpload } from '../../../app/src/images/upload-validation';
import { decompressionBomb, gif, photo, transparentPng, truncatedJpeg } from './image-fixtures';

const limits = { maxBytes: 10 * 1024 * 1024, maxPixels: 50_000_000 };

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`);
  return error;
}

describe('sniffImageType', () => {
  test.each([
    ['jpeg', () => photo(20, 10)],
    ['png', () => photo(20, 10, { format: 'png' })],
    ['webp', () => photo(20, 10, { format: 'webp' })],
  ] as const)('%s is recognised from its bytes', async (type, make) => {
    expect(sniffImageType(await make())).toBe(type);
  });

  test('a GIF is named, text is nothing', async () => {
    expect(sniffImageType(await gif())).toEqual({ other: 'GIF' });
    expect(sniffImageType(Buffer.from('just some text, saved as menu.jpg'))).toBeUndefined();
    expect(sniffImageType(Buffer.from('<?xml version="1.0"?><svg/>'))).toEqual({ other: 'SVG' });
  });
});

describe('validateUpload', () => {
  test('accepts a JPEG and reports its displayed size', async () => {
    await expect(validateUpload(await photo(300, 200), limits)).resolves.toMatchObject({ type: 'jpeg', width: 300, height: 200 });
  });

  test('orientation 6 swaps the displayed width and height', async () => {
    await expect(validateUpload(await photo(300, 200, { orientation: 6 }), limits)).resolves.toMatchObject({ width: 200, height: 300 });
  });

  test('fails when the body is empty or missing (400)', async () => {
    for (const body of [undefined, Buffer.alloc(0)]) {
      const error = await rejection(validateUpload(body, limits));
      expect([error.httpStatus, error.code]).toEqual([400, 'image_required']);
    }
  });

  test('fails when the body is over the byte limit (413 naming it)', async () => {
    const error = await rejection(validateUpload(await photo(300, 200), { ...limits, maxBytes: 1000 }));
    expect([error.httpStatus, error.code]).toEqual([413, 'payload_too_large']);
    expect(error.message).toContain('1000 bytes');
  });

  test('fails when the bytes are a GIF or text (415), whatever a client calls them', async () => {
    const fromGif = await rejection(validateUpload(await gif(), limits));
    expect([fromGif.httpStatus, fromGif.message]).toEqual([415, 'GIF images are not accepted; send JPEG, PNG or WebP']);
    const fromText = await rejection(validateUpload(Buffer.from('hello, I am menu.jpg'), limits));
    expect([fromText.httpStatus, fromText.message]).toEqual([415, 'request body is not a JPEG, PNG or WebP image']);
  });

  test('fails when the header declares more pixels than allowed, before decoding (422)', async () => {
    const bomb = decompressionBomb(30000, 30000);
    expect(bomb.length).toBeLessThan(200_000);
    const error = await rejection(validateUpload(bomb, limits));
    expect([error.httpStatus, error.code]).toEqual([422, 'image_dimensions_too_large']);
    expect(error.message).toBe('image is 30000x30000 pixels (900000000); the limit is 50000000 pixels');
  });

  test('a header within the limit passes the same check', async () => {
    await expect(validateUpload(decompressionBomb(100, 100), limits)).resolves.toMatchObject({ type: 'png', width: 100, height: 100 });
  });

  test('fails when the magic bytes are right but the header is garbage (422)', async () => {
    const garbage = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('not really a png at all')]);
    const error = await rejection(validateUpload(garbage, limits));
    expect([error.httpStatus, error.code]).toEqual([422, 'image_corrupt']);
  });
});

describe('variantWidths', () => {
  test.each([
    [5000, [320, 640, 1280]],
    [1280, [320, 640, 1280]],
    [1000, [320, 640, 1000]],
    [640, [320, 640]],
    [200, [200]],
  ])('a source %i px wide gives %j (never upscaled)', (source, expected) => {
    expect(variantWidths(source)).toEqual(expected);
  });
});

describe('generateVariants', () => {
  test('every width in AVIF, WebP and JPEG, decoding to the claimed size and format', async () => {
    const upload = await photo(1600, 1200);
    const { hash, variants } = await generateVariants(upload, 1600, { maxPixels: limits.maxPixels });
    expect(hash).toBe(contentHash(upload));
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    expect(variants.map((v) => `${v.format}-${v.width}x${v.height}`).sort()).toEqual(
      ['avif-320x240', 'avif-640x480', 'avif-1280x960', 'webp-320x240', 'webp-640x480', 'webp-1280x960', 'jpeg-320x240', 'jpeg-640x480', 'jpeg-1280x960'].sort(),
    );
    for (const variant of variants) {
      const decoded = await sharp(variant.body).metadata();
      expect({ format: decoded.format === 'heif' ? (decoded.compression === 'av1' ? 'avif' : 'heif') : decoded.format, width: decoded.width, height: decoded.height }).toEqual({
        format: variant.format,
        width: variant.width,
        height: variant.height,
      });
    }
  });

  test('EXIF orientation is applied and no metadata survives', async () => {
    const upload = await photo(400, 200, { orientation: 6 });
    expect((await sharp(upload).metadata()).orientation).toBe(6);
    const { variants } = await generateVariants(upload, 200, { maxPixels: limits.maxPixels });
    expect(variants.map((v) => [v.width, v.height])).toEqual(Array(3).fill([200, 400]));
    for (const variant of variants) {
      const decoded = await sharp(variant.body).metadata();
      expect([decoded.width, decoded.height]).toEqual([200, 400]);
      expect(decoded.orientation).toBeUndefined();
      expect(decoded.exif).toBeUndefined();
      expect(decoded.xmp).toBeUndefined();
    }
  });

  test('transparent areas become white in the JPEG fallback and stay transparent in WebP', async () => {
    const { variants } = await generateVariants(await transparentPng(400, 100), 400, { maxPixels: limits.maxPixels });
    const jpeg = variants.find((v) => v.format === 'jpeg' && v.width === 320)!;
    const webp = variants.find((v) => v.format === 'webp' && v.width === 320)!;
    const pixel = async (body: Buffer) => {
      const { data, info } = await sharp(body).raw().toBuffer({ resolveWithObject: true });
      const offset = (info.width * 40 + 300) * info.channels;
      return [...data.subarray(offset, offset + info.channels)];
    };
    const jpegPixel = await pixel(jpeg.body);
    expect(jpegPixel.every((c) => c > 245)).toBe(true);
    expect((await pixel(webp.body))[3]).toBe(0);
  });

  test('fails when the pixel data is truncated (422, not 500)', async () => {
    const upload = await truncatedJpeg();
    await expect(validateUpload(upload, limits)).resolves.toMatchObject({ type: 'jpeg' });
    const error = await rejection(generateVariants(upload, 800, { maxPixels: limits.maxPixels }));
    expect([error.httpStatus, error.code]).toEqual([422, 'image_corrupt']);
  });

  test("the decoder's own pixel limit holds even when the header check is skipped", async () => {
    const error = await rejection(generateVariants(await photo(400, 300), 400, { maxPixels: 400 * 300 - 1 }));
    expect([error.httpStatus, error.code]).toEqual([422, 'image_dimensions_too_large']);
  });

  test('the same upload gives the same hash; another gives another', async () => {
    const a = await photo(50, 50);
    const b = await photo(50, 50, { colour: '#000000' });
    expect(contentHash(a)).toBe(contentHash(Buffer.from(a)));
    expect(contentHash(a)).not.toBe(contentHash(b));
  });
});
