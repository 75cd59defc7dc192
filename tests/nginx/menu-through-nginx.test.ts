/**
 * The cached menu through the local platform's nginx (nginx/nginx-config.ts, rendered as the app
 * stack renders it but for the upstream lines): nginx passes on the coding the api prepared once
 * per menu version (app/src/menu/menu-representation.ts) without compressing anything itself,
 * keeps the api's strong ETag so a revalidation is a 304, and keeps no copy: the menu needs a
 * bearer token of its restaurant, so every answer, refusals included, is the api's
 * (nginx/README.md, "The menu is not cached in nginx", says why).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { startLocalPlatform, type LocalPlatform } from '../../tools/local/platform';

jest.setTimeout(180_000);

let platform: LocalPlatform;
let port: number;
let restaurantId: string;
let guest: string;

beforeAll(async () => {
  platform = await startLocalPlatform({ apiProcesses: 1, wsProcesses: 1, logLevel: 'warn' });
  port = Number(new URL(platform.baseUrl).port);
  const restaurant = platform.restaurants[0]!;
  restaurantId = restaurant.id;
  guest = await platform.identity.token({ role: 'guest', restaurant_id: restaurantId, table_id: restaurant.tableIds[0]! });
});
afterAll(async () => {
  await platform?.stop();
});

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** The bytes as they crossed the wire (not decoded). */
  readonly body: Buffer;
}

/** A GET through nginx that leaves the body as sent (fetch would decode it). */
function get(urlPath: string, headers: http.OutgoingHttpHeaders): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: urlPath, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
    });
    request.on('error', reject);
  });
}

const menuPath = () => `/v1/restaurants/${restaurantId}/menu`;
const decoded = (answer: Answer): unknown => {
  const coding = answer.headers['content-encoding'];
  const raw = coding === 'br' ? brotliDecompressSync(answer.body) : coding === 'gzip' ? gunzipSync(answer.body) : answer.body;
  return JSON.parse(raw.toString('utf8'));
};

describe('the menu through nginx', () => {
  test.each([
    ['a browser (gzip, deflate, br)', 'gzip, deflate, br', 'br'],
    ['a gzip-only client', 'gzip', 'gzip'],
    ['a client that asks for no coding', undefined, undefined],
  ])('%s gets the coding the api prepared, once, with its length and the same strong ETag', async (_client, acceptEncoding, coding) => {
    const plain = await get(menuPath(), { authorization: `Bearer ${guest}` });
    const answer = await get(menuPath(), { authorization: `Bearer ${guest}`, ...(acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding }) });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-encoding']).toBe(coding);
    // Not chunked by a filter of nginx's: the length is the api's prepared body.
    expect(Number(answer.headers['content-length'])).toBe(answer.body.length);
    expect(answer.headers.etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    expect(answer.headers.etag).toBe(plain.headers.etag);
    // Tokens, not the exact header: CORS adds Origin, and nginx's gzip_vary names Accept-Encoding a
    // second time on the identity body.
    expect(answer.headers.vary!.split(',').map((token) => token.trim())).toEqual(expect.arrayContaining(['Accept-Encoding', 'Authorization']));
    expect(decoded(answer)).toEqual(JSON.parse(plain.body.toString('utf8')));
    if (coding !== undefined) expect(answer.body.length).toBeLessThan(plain.body.length / 3);
  });

  test('If-None-Match with that ETag is a 304 without a body', async () => {
    const first = await get(menuPath(), { authorization: `Bearer ${guest}`, 'accept-encoding': 'gzip, deflate, br' });
    const again = await get(menuPath(), { authorization: `Bearer ${guest}`, 'accept-encoding': 'gzip', 'if-none-match': first.headers.etag! });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect(again.headers.etag).toBe(first.headers.etag);
  });

  test('nginx keeps no copy: after a served menu, no token is 401 and another restaurant\'s token 403, and every answer came from the api', async () => {
    const accessLog = path.join(path.dirname(platform.nginxConfigFile), 'access.log');
    const linesBefore = fs.readFileSync(accessLog, 'utf8').split('\n').filter(Boolean).length;
    const other = await platform.identity.token({ role: 'guest', restaurant_id: `${restaurantId}0`, table_id: '1' });
    const statuses = [
      (await get(menuPath(), { authorization: `Bearer ${guest}`, 'accept-encoding': 'gzip' })).status,
      (await get(menuPath(), { 'accept-encoding': 'gzip' })).status,
      (await get(menuPath(), { authorization: `Bearer ${other}`, 'accept-encoding': 'gzip' })).status,
      (await get(menuPath(), { authorization: `Bearer ${guest}`, 'accept-encoding': 'gzip' })).status,
    ];
    expect(statuses).toEqual([200, 401, 403, 200]);
    const lines = fs
      .readFileSync(accessLog, 'utf8')
      .split('\n')
      .filter(Boolean)
      .slice(linesBefore)
      .map((line) => JSON.parse(line) as { uri: string; status: number; upstream_status: string });
    const menuLines = lines.filter((line) => line.uri === menuPath());
    expect(menuLines.map((line) => [line.status, line.upstream_status])).toEqual([
      [200, '200'],
      [401, '401'],
      [403, '403'],
      [200, '200'],
    ]);
  });
});
