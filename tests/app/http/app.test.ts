import { z } from 'zod';
import { AppError, unprocessable } from '../../../app/src/errors';
import { createTokenMint, getJson, startApp, type RunningApp, type TokenMint } from './support';

let mint: TokenMint;
let running: RunningApp;

beforeAll(async () => {
  mint = await createTokenMint();
  running = await startApp({
    jwks: mint.jwks,
    routes: (v1) => {
      v1.get('/test/unprocessable', () => {
        throw unprocessable('order is already completed', { field: 'status' });
      });
      v1.get('/test/crash', () => {
        throw new Error('password=hunter2 at db.internal:5432');
      });
      v1.get('/test/unavailable', () => {
        throw new AppError('unavailable', 'menu is being rebuilt', 503);
      });
      v1.post('/test/echo', (req, res) => {
        const body = z.object({ name: z.string().min(1), quantity: z.number().int().positive() }).parse(req.body);
        res.status(201).json(body);
      });
      v1.get('/test/items/:itemId', (req, res) => {
        res.json({ id: req.params.itemId });
      });
    },
  });
});
afterAll(() => running.close());

describe('request ids', () => {
  test('a well-formed incoming X-Request-Id is echoed and logged', async () => {
    const { headers } = await getJson(`${running.url}/v1/whoami`, { headers: { 'X-Request-Id': 'abc-123-def-456' } });
    expect(headers.get('x-request-id')).toBe('abc-123-def-456');
    expect(running.lines.some((l) => l.requestId === 'abc-123-def-456' && l.route === '/v1/whoami' && l.status === 401)).toBe(true);
  });

  test.each([['too short', 'abc'], ['log injection', 'abc-123\nfake line'.replace('\n', '%0A')], ['too long', 'a'.repeat(200)]])(
    'a malformed incoming id (%s) is replaced by a generated one',
    async (_case, incoming) => {
      const { headers } = await getJson(`${running.url}/v1/whoami`, { headers: { 'X-Request-Id': incoming } });
      expect(headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    },
  );

  test('without an incoming id one is generated', async () => {
    const { headers } = await getJson(`${running.url}/v1/whoami`);
    expect(headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('errors', () => {
  test('an unknown route is a 404 JSON error with the request id', async () => {
    const { status, body, headers } = await getJson(`${running.url}/v1/nope`);
    expect(status).toBe(404);
    expect(body).toEqual({ error: { code: 'not_found', message: 'route not found', requestId: headers.get('x-request-id') } });
  });

  test('a malformed JSON body is a 400 invalid_json', async () => {
    const { status, body } = await getJson(`${running.url}/v1/test/echo`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"name": ' });
    expect(status).toBe(400);
    expect(body.error.code).toBe('invalid_json');
  });

  test('a body over the limit is a 413', async () => {
    const { status, body } = await getJson(`${running.url}/v1/test/echo`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'x'.repeat(200_000), quantity: 1 }),
    });
    expect(status).toBe(413);
    expect(body.error.code).toBe('payload_too_large');
  });

  test('a zod failure is a 400 naming every bad field', async () => {
    const { status, body } = await getJson(`${running.url}/v1/test/echo`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: '', quantity: -1 }),
    });
    expect(status).toBe(400);
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.details.fields.map((f: { field: string }) => f.field).sort()).toEqual(['name', 'quantity']);
  });

  test('a valid body passes the same route', async () => {
    const { status, body } = await getJson(`${running.url}/v1/test/echo`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'pad thai', quantity: 2 }),
    });
    expect(status).toBe(201);
    expect(body).toEqual({ name: 'pad thai', quantity: 2 });
  });

  test('an AppError keeps its status, code, message and details', async () => {
    const { status, body, headers } = await getJson(`${running.url}/v1/test/unprocessable`);
    expect(status).toBe(422);
    expect(body).toEqual({
      error: { code: 'unprocessable', message: 'order is already completed', details: { field: 'status' }, requestId: headers.get('x-request-id') },
    });
  });

  test('a plain Error is a 500 that leaks neither message nor stack, and is logged', async () => {
    const { status, body, headers } = await getJson(`${running.url}/v1/test/crash`);
    expect(status).toBe(500);
    expect(body).toEqual({ error: { code: 'internal', message: 'internal error', requestId: headers.get('x-request-id') } });
    expect(JSON.stringify(body)).not.toMatch(/hunter2|at |stack/);
    const logged = running.lines.find((l) => l.msg === 'request failed' && l.requestId === headers.get('x-request-id'));
    expect(logged).toBeDefined();
    expect(JSON.stringify(logged)).toContain('hunter2');
  });

  test('a 5xx AppError is logged too', async () => {
    const { status, headers } = await getJson(`${running.url}/v1/test/unavailable`);
    expect(status).toBe(503);
    expect(running.lines.some((l) => l.msg === 'request failed' && l.requestId === headers.get('x-request-id'))).toBe(true);
  });

  test('AppError refuses a non-error status', () => {
    expect(() => new AppError('x', 'y', 200)).toThrow('httpStatus must be an integer in 400..599, got 200');
  });
});

describe('health and metrics', () => {
  test('/healthz is 200 on the internal port', async () => {
    const { status, body } = await getJson(`${running.internalUrl}/healthz`);
    expect(status).toBe(200);
    expect(body).toEqual({ status: 'ok' });
  });

  test('/readyz is 200 on the internal port', async () => {
    const { status, body } = await getJson(`${running.internalUrl}/readyz`);
    expect(status).toBe(200);
    expect(body).toEqual({ status: 'ready', draining: false });
  });

  test.each(['/healthz', '/readyz', '/metrics', '/HEALTHZ', '/Metrics', '/readyz/', '/metrics/', '/METRICS/'])(
    'the public port answers 404 JSON for %s',
    async (path) => {
      const { status, body, headers } = await getJson(`${running.url}${path}`);
      expect(status).toBe(404);
      expect(body).toEqual({ error: { code: 'not_found', message: 'route not found', requestId: headers.get('x-request-id') } });
    },
  );

  test('the internal port serves nothing of the API', async () => {
    const { status, body } = await getJson(`${running.internalUrl}/v1/test/items/1`);
    expect(status).toBe(404);
    expect(body.error.code).toBe('not_found');
  });

  test('/metrics labels requests by route pattern, never by raw URL', async () => {
    await getJson(`${running.url}/v1/test/items/12345`);
    await getJson(`${running.url}/v1/test/items/67890`);
    await getJson(`${running.url}/v1/unknown/98765`);
    const { status, body, headers } = await getJson(`${running.internalUrl}/metrics`);
    expect(status).toBe(200);
    expect(headers.get('content-type')).toContain('text/plain');
    expect(body).toContain('http_request_duration_seconds_count{route="/v1/test/items/:itemId",method="GET",status="200"} 2');
    expect(body).toContain('route="unmatched",method="GET",status="404"');
    expect(body).not.toMatch(/12345|67890|98765/);
  });
});
