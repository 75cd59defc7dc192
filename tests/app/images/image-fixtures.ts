/**
 * Shared by the image tests: images made on the spot (nothing binary in the repo), a real
 * S3-compatible server (s3rver) on loopback, a bucket lister, and the CDN stand-in that records
 * what production would send to CloudFront.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import sharp from 'sharp';
import type { CdnInvalidator } from '../../../app/src/images/cdn-invalidator';

/** s3rver's built-in account. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** A photo-like JPEG (a gradient with a shape, so encoders have something to do). */
export async function photo(width: number, height: number, options: { format?: 'jpeg' | 'png' | 'webp'; orientation?: number; colour?: string } = {}): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><linearGradient id="g"><stop offset="0" stop-color="${options.colour ?? '#204080'}"/><stop offset="1" stop-color="#f0c040"/></linearGradient></defs>
    <rect width="100%" height="100%" fill="url(#g)"/><circle cx="${width / 3}" cy="${height / 2}" r="${Math.min(width, height) / 4}" fill="#c03020"/></svg>`;
  let image = sharp(Buffer.from(svg));
  if (options.orientation !== undefined) image = image.withMetadata({ orientation: options.orientation });
  switch (options.format ?? 'jpeg') {
    case 'png':
      return image.png().toBuffer();
    case 'webp':
      return image.webp().toBuffer();
    default:
      return image.jpeg({ quality: 90 }).toBuffer();
  }
}

/** A PNG with a transparent half. */
export function transparentPng(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    .composite([{ input: { create: { width: Math.floor(width / 2), height, channels: 4, background: '#10a040' } }, left: 0, top: 0 }])
    .png()
    .toBuffer();
}

export function gif(): Promise<Buffer> {
  return sharp({ create: { width: 40, height: 30, channels: 3, background: '#ff0000' } }).gif().toBuffer();
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([length, body, crc]);
}

/**
 * A valid-looking PNG of a few hundred bytes that declares width x height pixels (8-bit grey):
 * its header is well-formed (CRCs right), its data holds a few rows only. A decoder that trusted
 * the header would allocate width x height bytes before noticing.
 */
export function decompressionBomb(width = 30000, height = 30000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8);
  const rows = deflateSync(Buffer.alloc((width + 1) * 4));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr), pngChunk('IDAT', rows), pngChunk('IEND', Buffer.alloc(0))]);
}

/** A real JPEG cut in half: the header parses, the pixel data ends early. */
export async function truncatedJpeg(): Promise<Buffer> {
  const whole = await photo(800, 600);
  return whole.subarray(0, Math.floor(whole.length / 2));
}

export interface RecordingCdn extends CdnInvalidator {
  /** Every `invalidate` call's paths, in order. */
  readonly calls: string[][];
}

/** The CDN stand-in: records instead of calling CloudFront. */
export function recordingCdn(): RecordingCdn {
  const calls: string[][] = [];
  return {
    calls,
    invalidate: async (paths) => void calls.push([...paths]),
    close: async () => undefined,
  };
}

export interface LocalS3 {
  readonly endpoint: string;
  readonly bucket: string;
  readonly client: S3Client;
  /** Every key in the bucket, sorted. */
  keys(prefix?: string): Promise<string[]>;
  get(key: string): Promise<{ body: Buffer; contentType?: string; cacheControl?: string }>;
  stop(): Promise<void>;
}

/** s3rver on a random loopback port with a fresh directory and one bucket. */
export async function startLocalS3(bucket = 'test-assets'): Promise<LocalS3> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 's3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
  const { port } = (await server.run()) as { port: number };
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    endpoint,
    bucket,
    client,
    keys: async (prefix = '') => {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        keys.push(...(page.Contents ?? []).map((c) => c.Key!));
        token = page.NextContinuationToken;
      } while (token);
      return keys.sort();
    },
    get: async (key) => {
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return { body: Buffer.from(await object.Body!.transformToByteArray()), contentType: object.ContentType, cacheControl: object.CacheControl };
    },
    stop: async () => {
      client.destroy();
      await server.close();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** Every file below a directory, as paths relative to it, sorted (empty when it does not exist). */
export function filesBelow(directory: string): string[] {
  if (!fs.existsSync(directory)) return [];
  return (fs.readdirSync(directory, { recursive: true }) as string[])
    .filter((f) => fs.statSync(path.join(directory, f)).isFile())
    .map((f) => f.split(path.sep).join('/'))
    .sort();
}
