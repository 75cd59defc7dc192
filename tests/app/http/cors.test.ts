/**
 * CORS (app/src/http/cors.ts) as mounted by createApp: exactly the configured origins, preflights
 * answered before authentication, the headers the web client sends and reads, Vary: Origin, and
 * nothing at all when no origin is configured.
 */
import { CORS_EXPOSED_HEADERS } from '../../../app/src/http/cors';
import { createTokenMint, httpTestConfig, startApp, type RunningApp, type TokenMint } from './support';

const CDN = 'https://cdn.downtown.example.com';
const OTHER_CDN = 'https://cdn.uptown.example.com';

let mint: TokenMint;
let withOrigins: RunningApp;
let sameOriginOnly: RunningApp;

beforeAll(async () => {
  mint = await createTokenMint();
  const routes = (v1: import('express').Router) => {
    v1.post('/test/orders', (_req, res) => {
      res.status(201).location('/v1/test/orders/1').json({ id: '1' });
    });
  };
  [withOrigins, sameOriginOnly] = await Promise.all([
    startApp({ jwks: mint.jwks, config: httpTestConfig({ CORS_ALLOWED_ORIGINS: `${CDN}, ${OTHER_CDN}` }), routes }),
    startApp({ jwks: mint.jwks, routes }),
  ]);
});
afterAll(async () => {
  await Promise.all([withOrigins?.close(), sameOriginOnly?.close()]);
});

function preflight(url: string, origin: string, method = 'POST', headers = 'authorization, content-type, idempotency-key, x-consistency-token'): Promise<Response> {
  return fetch(url, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': headers } });
}

const varyOf = (response: Response) => (response.headers.get('vary') ?? '').split(',').map((v) => v.trim().toLowerCase());

describe('with CORS_ALLOWED_ORIGINS', () => {
  test('a preflight from an allowed origin is answered 204 without a token: the methods and every header the client sends', async () => {
    const response = await preflight(`${withOrigins.url}/v1/restaurants/1/orders/2/status`, CDN, 'PATCH');
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(CDN);
    expect(response.headers.get('access-control-allow-methods')?.split(', ')).toEqual(expect.arrayContaining(['GET', 'POST', 'PATCH', 'PUT']));
    expect(response.headers.get('access-control-allow-headers')?.split(', ')).toEqual(['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Consistency-Token']);
    expect(Number(response.headers.get('access-control-max-age'))).toBeGreaterThan(0);
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    expect(varyOf(response)).toContain('origin');
  });

  test('each configured origin is answered with itself, never `*`', async () => {
    const response = await preflight(`${withOrigins.url}/v1/whoami`, OTHER_CDN, 'GET');
    expect(response.headers.get('access-control-allow-origin')).toBe(OTHER_CDN);
  });

  test.each([
    ['another host', 'https://evil.example.com'],
    ['a longer host ending like the allowed one', `${CDN}.evil.example.com`],
    ['another scheme', CDN.replace('https:', 'http:')],
    ['another port', `${CDN}:8443`],
    ['the opaque origin of a sandboxed page', 'null'],
  ])('a preflight from %s gets no CORS headers (the browser refuses the request)', async (_case, origin) => {
    const response = await preflight(`${withOrigins.url}/v1/restaurants/1/orders`, origin);
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(response.headers.get('access-control-allow-headers')).toBeNull();
    expect(varyOf(response)).toContain('origin');
  });

  test('an answer to an allowed origin names it and exposes the headers the client reads', async () => {
    const response = await fetch(`${withOrigins.url}/v1/test/orders`, { method: 'POST', headers: { Origin: CDN } });
    expect(response.status).toBe(201);
    expect(response.headers.get('access-control-allow-origin')).toBe(CDN);
    const exposed = response.headers.get('access-control-expose-headers')?.split(', ');
    expect(exposed).toEqual(CORS_EXPOSED_HEADERS);
    expect(exposed).toEqual(expect.arrayContaining(['X-Consistency-Token', 'X-Request-Id', 'Location', 'Retry-After']));
    expect(varyOf(response)).toContain('origin');
  });

  test('errors carry the headers too, so the page can read why (401 without a token, 404)', async () => {
    const unauthorized = await fetch(`${withOrigins.url}/v1/whoami`, { headers: { Origin: CDN } });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get('access-control-allow-origin')).toBe(CDN);
    const missing = await fetch(`${withOrigins.url}/v1/nope`, { headers: { Origin: CDN } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('access-control-allow-origin')).toBe(CDN);
  });

  test('an authenticated request from an allowed origin works as without CORS', async () => {
    const token = await mint.sign({ sub: 'guest-1', role: 'guest', restaurant_id: '1', table_id: '2' });
    const response = await fetch(`${withOrigins.url}/v1/whoami`, { headers: { Origin: CDN, Authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(CDN);
  });

  test('an answer to another origin has no CORS headers but still varies on Origin', async () => {
    const response = await fetch(`${withOrigins.url}/v1/test/orders`, { method: 'POST', headers: { Origin: 'https://evil.example.com' } });
    expect(response.status).toBe(201);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(response.headers.get('access-control-expose-headers')).toBeNull();
    expect(varyOf(response)).toContain('origin');
  });
});

describe('without CORS_ALLOWED_ORIGINS (the default: same origin only)', () => {
  test('a preflight is not answered (404 like any unknown route) and no answer has CORS headers', async () => {
    const response = await preflight(`${sameOriginOnly.url}/v1/restaurants/1/orders`, CDN);
    expect(response.status).toBe(404);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const post = await fetch(`${sameOriginOnly.url}/v1/test/orders`, { method: 'POST', headers: { Origin: CDN } });
    expect(post.status).toBe(201);
    expect(post.headers.get('access-control-allow-origin')).toBeNull();
    expect(varyOf(post)).not.toContain('origin');
  });
});
