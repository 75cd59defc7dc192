/**
 * What an unauthenticated client can send the public port: every malformed request is a 4xx in the
 * API's error format that names what was wrong, never a 500 (a 5xx counts toward ApiErrorRatioHigh
 * and pages the on-call). Also the default response headers.
 */
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { z } from 'zod';
import { parseInput } from '../../../app/src/http/input';
import { createTokenMint, getJson, startApp, type RunningApp } from './support';

let running: RunningApp;
const written: unknown[] = [];

beforeAll(async () => {
  const mint = await createTokenMint();
  running = await startApp({
    jwks: mint.jwks,
    routes: (v1) => {
      const body = z.strictObject({ name: z.string().min(1), items: z.array(z.strictObject({ notes: z.string().optional() })).optional() });
      v1.post('/test/things', (req, res) => {
        const parsed = parseInput(body, req.body ?? {}, 'body');
        written.push(parsed);
        res.status(201).json(parsed);
      });
      v1.get('/test/search', (req, res) => {
        res.json({ q: parseInput(z.strictObject({ q: z.string().optional() }), req.query, 'query').q ?? null });
      });
      v1.get('/test/cacheable', (_req, res) => {
        res.set('Cache-Control', 'private, max-age=30').json({ ok: true });
      });
      v1.get('/test/items/:itemId', (req, res) => {
        res.json({ id: req.params.itemId });
      });
    },
  });
});
afterAll(() => running.close());

const json = (body: string | Buffer, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/json', ...headers },
  body,
});

function expectApiError(answer: { status: number; body: any; headers: Headers }, status: number, code: string): void {
  expect(answer.status).toBe(status);
  expect(answer.body).toEqual({ error: expect.objectContaining({ code, message: expect.any(String), requestId: answer.headers.get('x-request-id') }) });
}

describe('Content-Encoding', () => {
  test.each(['gzip', 'deflate', 'br'])('a body labelled %s that is not compressed is a 400 naming the encoding, on any path', async (encoding) => {
    for (const path of ['/v1/test/things', '/v1/nope', '/healthz']) {
      const answer = await getJson(`${running.url}${path}`, json('{"name":"x"}', { 'Content-Encoding': encoding }));
      expectApiError(answer, 400, 'invalid_content_encoding');
      expect(answer.body.error.message).toBe(`request body is not valid ${encoding} (Content-Encoding)`);
    }
  });

  test.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ] as const)('a real %s body is read', async (encoding, compress) => {
    const answer = await getJson(`${running.url}/v1/test/things`, json(compress(Buffer.from('{"name":"soup"}')), { 'Content-Encoding': encoding }));
    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({ name: 'soup' });
  });

  test('an unknown encoding is a 415', async () => {
    expectApiError(await getJson(`${running.url}/v1/test/things`, json('{"name":"x"}', { 'Content-Encoding': 'compress' })), 415, 'unsupported_content_encoding');
  });
});

describe('bodies', () => {
  test('a charset other than utf-8 is a 415', async () => {
    expectApiError(await getJson(`${running.url}/v1/test/things`, json('{"name":"x"}', { 'Content-Type': 'application/json; charset=klingon' })), 415, 'unsupported_charset');
  });

  test.each(['text/plain', 'application/x-www-form-urlencoded'])('a body sent as %s is a 415 saying to send JSON', async (type) => {
    const answer = await getJson(`${running.url}/v1/test/things`, json('{"name":"x"}', { 'Content-Type': type }));
    expectApiError(answer, 415, 'unsupported_media_type');
    expect(answer.body.error.message).toContain('application/json');
  });

  test('no body at all is still a 400 naming the missing fields', async () => {
    const answer = await getJson(`${running.url}/v1/test/things`, { method: 'POST' });
    expectApiError(answer, 400, 'validation_failed');
    expect(answer.body.error.details.fields).toEqual([{ field: 'body.name', message: expect.any(String) }]);
  });

  test.each([
    ['a string value', { name: 'soup\u0000' }, 'body.name'],
    ['a nested value', { name: 'soup', items: [{ notes: 'no\u0000onions' }] }, 'body.items.0.notes'],
    ['a key', { name: 'soup', 'col\u0000or': 'red' }, 'body.col\\u0000or'],
  ])('NUL in %s is a 400 naming the field, and nothing reaches the route', async (_case, body, field) => {
    const before = written.length;
    const answer = await getJson(`${running.url}/v1/test/things`, json(JSON.stringify(body)));
    expectApiError(answer, 400, 'validation_failed');
    expect(answer.body.error.details.fields).toEqual([{ field, message: expect.stringContaining('NUL') }]);
    expect(written.length).toBe(before);
  });

  test('NUL in a query string is a 400 naming it', async () => {
    const answer = await getJson(`${running.url}/v1/test/search?q=a%00b`);
    expectApiError(answer, 400, 'validation_failed');
    expect(answer.body.error.details.fields).toEqual([{ field: 'query.q', message: expect.stringContaining('NUL') }]);
  });

  test('nesting deeper than 32 levels is a 400', async () => {
    const deep = `${'{"a":'.repeat(40)}1${'}'.repeat(40)}`;
    expectApiError(await getJson(`${running.url}/v1/test/things`, json(deep)), 400, 'validation_failed');
  });

  test('a clean body passes', async () => {
    expect((await getJson(`${running.url}/v1/test/things`, json('{"name":"soup","items":[{"notes":"no onions"}]}'))).status).toBe(201);
  });
});

describe('paths', () => {
  test.each(['/v1/test/items/%E0%A4%A', '/v1/test/items/%', '/v1/%zz'])('a malformed %%-escape (%s) is a 4xx, never a 500', async (path) => {
    const answer = await getJson(`${running.url}${path}`);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    expect(answer.body.error.requestId).toBe(answer.headers.get('x-request-id'));
  });
});

describe('response headers', () => {
  test('every response says no-store and nosniff', async () => {
    for (const path of ['/v1/test/items/1', '/v1/nope']) {
      const { headers } = await getJson(`${running.url}${path}`);
      expect(headers.get('cache-control')).toBe('no-store');
      expect(headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  test('a route that chooses its caching keeps it', async () => {
    expect((await getJson(`${running.url}/v1/test/cacheable`)).headers.get('cache-control')).toBe('private, max-age=30');
  });
});
