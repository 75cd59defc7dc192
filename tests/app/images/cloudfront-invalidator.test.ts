/**
 * The production CDN invalidator sends a real CloudFront CreateInvalidation request through the
 * AWS SDK; here the SDK's endpoint is a loopback server that records it and answers like CloudFront.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCloudFrontInvalidator } from '../../../app/src/images/cloudfront-invalidator';
import { S3RVER_CREDENTIALS } from './image-fixtures';

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly authorization: string;
  readonly body: string;
}

describe('createCloudFrontInvalidator', () => {
  let server: http.Server;
  let endpoint: string;
  const requests: Recorded[] = [];
  let status = 201;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        requests.push({ method: req.method!, url: req.url!, authorization: String(req.headers.authorization), body });
        if (status !== 201) {
          res.writeHead(status, { 'content-type': 'text/xml' }).end(
            '<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>denied</Message></Error></ErrorResponse>',
          );
          return;
        }
        res
          .writeHead(201, { 'content-type': 'text/xml', location: `${endpoint}/2020-05-31/distribution/E123/invalidation/I1` })
          .end(
            '<?xml version="1.0"?><Invalidation xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Id>I1</Id><Status>InProgress</Status>' +
              '<CreateTime>2026-01-01T00:00:00Z</CreateTime><InvalidationBatch><Paths><Quantity>0</Quantity></Paths><CallerReference>x</CallerReference></InvalidationBatch></Invalidation>',
          );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(() => {
    requests.length = 0;
    status = 201;
  });

  test('one signed CreateInvalidation for the distribution with the paths and a fresh caller reference', async () => {
    const cdn = createCloudFrontInvalidator({ distributionId: 'E123', region: 'us-east-1', endpoint, credentials: S3RVER_CREDENTIALS });
    await cdn.invalidate(['/menu-images/1/2/aaaaaaaaaaaaaaaa-*', '/menu-images/1/2/legacy.png']);
    await cdn.invalidate(['/menu-images/1/2/bbbbbbbbbbbbbbbb-*']);
    await cdn.close();
    expect(requests).toHaveLength(2);
    const [first, second] = requests as [Recorded, Recorded];
    expect([first.method, first.url]).toEqual(['POST', '/2020-05-31/distribution/E123/invalidation']);
    expect(first.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=S3RVER\//);
    expect(first.body).toContain('<Quantity>2</Quantity>');
    expect(first.body).toContain('<Path>/menu-images/1/2/aaaaaaaaaaaaaaaa-*</Path>');
    expect(first.body).toContain('<Path>/menu-images/1/2/legacy.png</Path>');
    const reference = (body: string) => /<CallerReference>([^<]+)<\/CallerReference>/.exec(body)?.[1];
    expect(reference(first.body)).toBeDefined();
    expect(reference(first.body)).not.toBe(reference(second.body));
  });

  test('no paths, no request', async () => {
    const cdn = createCloudFrontInvalidator({ distributionId: 'E123', region: 'us-east-1', endpoint, credentials: S3RVER_CREDENTIALS });
    await cdn.invalidate([]);
    await cdn.close();
    expect(requests).toHaveLength(0);
  });

  test('fails when CloudFront refuses (the service logs it; the caller sees the error)', async () => {
    status = 403;
    const cdn = createCloudFrontInvalidator({ distributionId: 'E123', region: 'us-east-1', endpoint, credentials: S3RVER_CREDENTIALS });
    await expect(cdn.invalidate(['/menu-images/1/2/x-*'])).rejects.toThrow(/denied/);
    await cdn.close();
  });
});
