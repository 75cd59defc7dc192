/**
 * What an outsider can do to the public entry: the local platform (the api and ws bundles as they
 * ship, behind a real nginx rendered by nginx/nginx-config.ts exactly as the app stack renders it
 * but for the upstream lines) receives malformed requests, NUL characters in every text field,
 * unknown routes, the internal endpoints' paths and a flood, and must answer each with a 4xx in
 * the API's JSON error format: never a 5xx, which would count toward ApiErrorRatioHigh and page
 * the on-call. Counts only, no timings: the machine is shared.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { brotliCompressSync } from 'node:zlib';
import { photo } from '../app/images/image-fixtures';
import { startLocalPlatform, type LocalPlatform } from '../../tools/local/platform';

jest.setTimeout(180_000);

let platform: LocalPlatform;
let port: number;
let restaurantId: string;
let tableId: string;
let menuItemId: string;
let categoryId: string;
let staff: string;
let guest: string;
/** Every status this file saw from nginx, to assert that none was a 5xx. */
const seen: { what: string; status: number }[] = [];

beforeAll(async () => {
  platform = await startLocalPlatform({ apiProcesses: 2, wsProcesses: 1, logLevel: 'warn' });
  port = Number(new URL(platform.baseUrl).port);
  const restaurant = platform.restaurants[0]!;
  restaurantId = restaurant.id;
  tableId = restaurant.tableIds[0]!;
  menuItemId = restaurant.menuItemIds[0]!;
  const [category] = await platform.cluster.admin<{ id: string }>(`SELECT id::text FROM menu_categories WHERE restaurant_id = ${restaurantId} ORDER BY id LIMIT 1`);
  categoryId = category!.id;
  staff = await platform.identity.token({ role: 'staff', restaurant_id: restaurantId });
  guest = await platform.identity.token({ role: 'guest', restaurant_id: restaurantId, table_id: tableId });
});
afterAll(async () => {
  await platform?.stop();
});

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** Header name (lower case) to every value sent, so a header sent twice shows twice. */
  readonly raw: Map<string, string[]>;
  readonly text: string;
  readonly json: any;
}

function answerOf(response: http.IncomingMessage, text: string): Answer {
  const raw = new Map<string, string[]>();
  for (let i = 0; i < response.rawHeaders.length; i += 2) {
    const name = response.rawHeaders[i]!.toLowerCase();
    raw.set(name, [...(raw.get(name) ?? []), response.rawHeaders[i + 1]!]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.statusCode ?? 0, headers: response.headers, raw, text, json };
}

function send(
  method: string,
  path: string,
  options: { headers?: http.OutgoingHttpHeaders; body?: string | Buffer; agent?: http.Agent; localAddress?: string; what?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port, method, path, headers: options.headers, agent: options.agent ?? false, localAddress: options.localAddress },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const answer = answerOf(response, Buffer.concat(chunks).toString());
          seen.push({ what: options.what ?? `${method} ${path.slice(0, 80)}`, status: answer.status });
          resolve(answer);
        });
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

/** Writes `raw` on a fresh connection and parses the one response nginx sends (then hangs up). */
function sendRaw(raw: string | Buffer, what: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let done = false;
    const finish = (): void => {
      if (done) return;
      const text = received.toString('latin1');
      const headEnd = text.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const [statusLine, ...headerLines] = text.slice(0, headEnd).split('\r\n');
      const rawHeaders = new Map<string, string[]>();
      for (const line of headerLines) {
        const at = line.indexOf(':');
        const name = line.slice(0, at).trim().toLowerCase();
        rawHeaders.set(name, [...(rawHeaders.get(name) ?? []), line.slice(at + 1).trim()]);
      }
      const body = text.slice(headEnd + 4);
      if (body.length < Number(rawHeaders.get('content-length')?.[0] ?? 0)) return;
      done = true;
      socket.destroy();
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0);
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      seen.push({ what, status });
      resolve({ status, headers: Object.fromEntries([...rawHeaders].map(([k, v]) => [k, v.join(', ')])), raw: rawHeaders, text: body, json });
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      finish();
    });
    socket.on('error', (error) => (done ? undefined : reject(error)));
    socket.on('close', () => {
      if (!done) reject(new Error(`nginx closed without a complete answer to ${what}: ${JSON.stringify(received.toString('latin1'))}`));
    });
    socket.write(raw);
  });
}

/** A 4xx (or `status`) in the API's error format, with the request id sent exactly once and matching the body. */
function expectApiError(answer: Answer, status: number, code?: string): void {
  expect({ status: answer.status, contentType: answer.headers['content-type'] }).toEqual({ status, contentType: expect.stringMatching(/^application\/json/) });
  expect(answer.json).toEqual({ error: expect.objectContaining({ code: code ?? expect.any(String), message: expect.any(String), requestId: expect.any(String) }) });
  expect(answer.raw.get('x-request-id')).toEqual([answer.json.error.requestId]);
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const jsonHeaders = (token: string, extra: Record<string, string> = {}) => ({ ...bearer(token), 'Content-Type': 'application/json', ...extra });
let idempotency = 0;
const orderHeaders = () => jsonHeaders(guest, { 'Idempotency-Key': `public-entry-${++idempotency}` });

describe('malformed bodies: 4xx naming what was wrong, never a 5xx', () => {
  const orders = () => `/v1/restaurants/${restaurantId}/orders`;
  const order = () => JSON.stringify({ table_id: tableId, items: [{ menu_item_id: menuItemId, quantity: 1 }] });

  test('bad JSON is a 400 invalid_json', async () => {
    expectApiError(await send('POST', orders(), { headers: orderHeaders(), body: '{"table_id": ' }), 400, 'invalid_json');
  });

  test('a body that is not JSON is a 415', async () => {
    expectApiError(await send('POST', orders(), { headers: { ...orderHeaders(), 'Content-Type': 'text/plain' }, body: order() }), 415, 'unsupported_media_type');
  });

  test.each(['gzip', 'deflate', 'br'])('a body labelled %s that is not compressed is a 400 before authentication, on any path', async (encoding) => {
    for (const path of [orders(), '/v1/nope', '/v1/whoami']) {
      const answer = await send('POST', path, { headers: { 'Content-Type': 'application/json', 'Content-Encoding': encoding }, body: order() });
      expectApiError(answer, 400, 'invalid_content_encoding');
    }
    // nginx itself refuses the internal paths, body or not.
    expectApiError(await send('POST', '/healthz', { headers: { 'Content-Type': 'application/json', 'Content-Encoding': encoding }, body: order() }), 404, 'not_found');
  });

  test('a real brotli body is accepted', async () => {
    const answer = await send('POST', orders(), { headers: { ...orderHeaders(), 'Content-Encoding': 'br' }, body: brotliCompressSync(Buffer.from(order())) });
    expect(answer.status).toBe(201);
  });

  test('a JSON body over the api limit is its 413', async () => {
    const body = JSON.stringify({ table_id: tableId, items: [{ menu_item_id: menuItemId, quantity: 1, notes: 'x'.repeat(200_000) }] });
    expectApiError(await send('POST', orders(), { headers: orderHeaders(), body }), 413, 'payload_too_large');
  });

  test("a body over nginx's client_max_body_size is nginx's 413, as JSON", async () => {
    const answer = await sendRaw(
      `POST ${orders()} HTTP/1.1\r\nHost: api.local\r\nContent-Type: application/json\r\nContent-Length: ${20 * 1024 * 1024}\r\nConnection: close\r\n\r\n{}`,
      'oversized body',
    );
    expectApiError(answer, 413, 'payload_too_large');
  });

  test('an over-long URI is a 414 as JSON', async () => {
    expectApiError(await send('GET', `/v1/restaurants/${restaurantId}/menu?pad=${'x'.repeat(20_000)}`, { headers: bearer(guest) }), 414, 'uri_too_long');
  });

  test('a method nginx refuses is a 405 as JSON', async () => {
    expectApiError(await send('TRACE', '/v1/whoami'), 405, 'method_not_allowed');
  });

  test.each([
    ['a method that is not a token', 'G@T /v1/whoami HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'],
    ['a header line without a colon', 'GET /v1/whoami HTTP/1.1\r\nHost: a\r\nBad Header\r\nConnection: close\r\n\r\n'],
    ['an incomplete %-escape', 'GET /v1/whoami/%E0%A4%A HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'],
    ['two Host headers', 'GET /v1/whoami HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n'],
    ['HTTP/1.1 without Host', 'GET /v1/whoami HTTP/1.1\r\nConnection: close\r\n\r\n'],
    ['a NUL in the path', 'GET /v1/who\u0000ami HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'],
  ])('a malformed request (%s) is a 400 as JSON', async (what, raw) => {
    expectApiError(await sendRaw(raw, what), 400);
  });

  test('headers over the buffers are a 400 as JSON', async () => {
    expectApiError(await send('GET', '/v1/whoami', { headers: { 'X-Pad': 'x'.repeat(20_000) } }), 400, 'header_too_large');
  });

  test('a %-escape of bytes that are not UTF-8 is a 4xx from the api', async () => {
    const answer = await send('GET', `/v1/restaurants/${restaurantId}/orders/%E0%A4`, { headers: bearer(staff) });
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    expect(answer.json.error.requestId).toEqual(expect.any(String));
  });

  test('an unsupported Transfer-Encoding is a 501 as JSON, an unknown HTTP version a 505', async () => {
    expectApiError(await sendRaw('POST /v1/whoami HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\n', 'transfer-encoding'), 501, 'not_implemented');
    expectApiError(await sendRaw('GET /v1/whoami HTTP/2.5\r\nHost: a\r\nConnection: close\r\n\r\n', 'http version'), 505, 'http_version_not_supported');
  });

  test("nginx's internal error locations are not reachable", async () => {
    expectApiError(await send('GET', '/_nginx-errors/500'), 404, 'not_found');
  });
});

describe('NUL in a text field is a 400 naming the field, for every text column', () => {
  test.each([
    ['order line notes', () => ['POST', `/v1/restaurants/${restaurantId}/orders`, orderHeaders(), { table_id: tableId, items: [{ menu_item_id: menuItemId, quantity: 1, notes: 'no\u0000onions' }] }], 'body.items.0.notes'],
    ['reservation notes', () => ['POST', `/v1/restaurants/${restaurantId}/reservations`, jsonHeaders(staff), { guest_name: 'Ann', reservation_date: '2030-01-02', reservation_time: '19:00', party_size: 2, notes: 'window\u0000' }], 'body.notes'],
    ['reservation guest name', () => ['POST', `/v1/restaurants/${restaurantId}/reservations`, jsonHeaders(staff), { guest_name: 'A\u0000nn', reservation_date: '2030-01-02', reservation_time: '19:00', party_size: 2 }], 'body.guest_name'],
    ['menu item name', () => ['POST', `/v1/restaurants/${restaurantId}/menu-items`, jsonHeaders(staff), { category_id: categoryId, name: 'Soup\u0000', price_cents: 100 }], 'body.name'],
    ['menu item description', () => ['POST', `/v1/restaurants/${restaurantId}/menu-items`, jsonHeaders(staff), { category_id: categoryId, name: 'Soup', description: 'hot\u0000', price_cents: 100 }], 'body.description'],
    ['menu item name, on update', () => ['PATCH', `/v1/restaurants/${restaurantId}/menu-items/${menuItemId}`, jsonHeaders(staff), { name: 'Soup\u0000' }], 'body.name'],
    ['menu item description, on update', () => ['PATCH', `/v1/restaurants/${restaurantId}/menu-items/${menuItemId}`, jsonHeaders(staff), { description: '\u0000' }], 'body.description'],
  ] as const)('%s', async (_what, request, field) => {
    const [method, path, headers, body] = request() as [string, string, Record<string, string>, unknown];
    const answer = await send(method, path, { headers, body: JSON.stringify(body) });
    expectApiError(answer, 400, 'validation_failed');
    expect(answer.json.error.details.fields).toEqual([{ field, message: expect.stringContaining('NUL') }]);
  });

  test('NUL in a query string is a 400 naming it', async () => {
    const answer = await send('GET', `/v1/restaurants/${restaurantId}/orders?status=new%00`, { headers: bearer(staff) });
    expectApiError(answer, 400, 'validation_failed');
    expect(answer.json.error.details.fields).toEqual([{ field: 'query.status', message: expect.stringContaining('NUL') }]);
  });
});

describe('routes that are not public', () => {
  test.each(['/v1/nope', '/nope', '/v1/restaurants', '/ws/nope'])('an unknown route (%s) is a 404 as JSON', async (path) => {
    const answer = await send('GET', path);
    expect(answer.status).toBe(404);
    if (!path.startsWith('/ws')) expectApiError(answer, 404, 'not_found');
  });

  test.each(['/metrics', '/readyz', '/healthz', '/METRICS', '/Readyz', '/HEALTHZ', '/metrics/', '/readyz/', '/healthz/', '/METRICS/', '//metrics', '/%6detrics', '/metrics?x=1'])(
    '%s is a 404 through nginx',
    async (path) => {
      const answer = await send('GET', path);
      expectApiError(answer, 404, 'not_found');
      expect(answer.text).not.toMatch(/process_|nodejs_|status/);
    },
  );

  test('the api process itself answers 404 for them on its public port, 200 on its internal port', async () => {
    const api = platform.apis[0]!;
    for (const path of ['/metrics', '/readyz', '/healthz', '/Metrics/']) {
      expect((await fetch(`${api.url}${path}`)).status).toBe(404);
    }
    expect((await fetch(`${api.internalUrl}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${api.internalUrl}/metrics`)).text()).toContain('dependency_up{dependency="redis"} 1');
    const ws = platform.wss[0]!;
    expect((await fetch(`${ws.url}/metrics`)).status).toBe(404);
    expect((await fetch(`${ws.internalUrl}/readyz`)).status).toBe(200);
  });
});

describe('headers', () => {
  test.each([
    ['the orders list', () => `/v1/restaurants/${restaurantId}/orders`],
    ['the kitchen queue', () => `/v1/restaurants/${restaurantId}/kitchen/queue`],
    ['the floor', () => `/v1/restaurants/${restaurantId}/tables`],
    ['the settings', () => `/v1/restaurants/${restaurantId}/settings`],
  ])('%s (authenticated, not the menu): HSTS, nosniff, no-store, one request id', async (_what, path) => {
    const answer = await send('GET', path(), { headers: bearer(staff) });
    expect(answer.status).toBe(200);
    expect(answer.raw.get('strict-transport-security')).toEqual(['max-age=31536000; includeSubDomains']);
    expect(answer.raw.get('x-content-type-options')).toEqual(['nosniff']);
    expect(answer.raw.get('cache-control')).toEqual(['no-store']);
    expect(answer.raw.get('x-request-id')).toEqual([expect.stringMatching(/^[0-9a-f]{32}$/)]);
  });

  test("a guest's order status poll is no-store too (it changes with every status change)", async () => {
    const created = await send('POST', `/v1/restaurants/${restaurantId}/orders`, {
      headers: jsonHeaders(guest, { 'Idempotency-Key': `public-entry-status-${Date.now()}` }),
      body: JSON.stringify({ table_id: tableId, items: [{ menu_item_id: menuItemId, quantity: 1 }] }),
    });
    expect(created.status).toBe(201);
    const answer = await send('GET', `/v1/restaurants/${restaurantId}/orders/${created.json.id}/status`, { headers: bearer(guest) });
    expect(answer.status).toBe(200);
    expect(answer.raw.get('cache-control')).toEqual(['no-store']);
  });

  test('the menu keeps its private caching', async () => {
    const answer = await send('GET', `/v1/restaurants/${restaurantId}/menu`, { headers: bearer(guest) });
    expect(answer.status).toBe(200);
    expect(answer.raw.get('cache-control')).toEqual(['private, max-age=30, stale-while-revalidate=60']);
    expect(answer.raw.get('strict-transport-security')).toHaveLength(1);
  });

  test("nginx's own errors carry the same headers", async () => {
    const answer = await send('GET', '/metrics');
    expect(answer.raw.get('strict-transport-security')).toHaveLength(1);
    expect(answer.raw.get('x-content-type-options')).toEqual(['nosniff']);
    expect(answer.raw.get('x-request-id')).toHaveLength(1);
  });
});

describe('image URLs', () => {
  test("are built from the configured public origin, not the request's Host header", async () => {
    const image = await photo(64, 48);
    const answer = await send('POST', `/v1/restaurants/${restaurantId}/menu-items/${menuItemId}/image`, {
      headers: { ...bearer(staff), 'Content-Type': 'image/jpeg', Host: 'evil.example' },
      body: image,
    });
    expect(answer.status).toBe(200);
    const urls = (answer.json.image.variants as { url: string }[]).map((v) => v.url);
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) expect(url.startsWith(`${platform.baseUrl}/v1/menu-images/`)).toBe(true);
    expect(answer.text).not.toContain('evil.example');
  });
});

describe('a flood from one address meets 429s before authentication', () => {
  async function flood(localAddress: string, path: string, headers: Record<string, string>): Promise<Map<number, number>> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 32, localAddress } as http.AgentOptions);
    const counts = new Map<number, number>();
    const retryAfter = new Set<string | undefined>();
    const codes = new Set<string | undefined>();
    try {
      const all = Array.from({ length: 2000 }, () =>
        send('GET', path, { headers, agent, what: `flood ${path}` }).then((answer) => {
          counts.set(answer.status, (counts.get(answer.status) ?? 0) + 1);
          if (answer.status === 429) {
            retryAfter.add(answer.raw.get('retry-after')?.join(','));
            codes.add(answer.json?.error?.code);
          }
        }),
      );
      await Promise.all(all);
    } finally {
      agent.destroy();
    }
    console.log(`flood from ${localAddress} to ${path}: ${JSON.stringify(Object.fromEntries(counts))}`);
    expect(counts.get(429) ?? 0).toBeGreaterThan(0);
    expect([...counts.keys()].filter((status) => status >= 500)).toEqual([]);
    expect([...retryAfter]).toEqual([expect.stringMatching(/^\d+$/)]);
    expect([...codes]).toEqual(['rate_limited']);
    return counts;
  }

  test('without a token', async () => {
    const counts = await flood('127.0.77.1', `/v1/restaurants/${restaurantId}/menu`, {});
    expect([...counts.keys()].sort()).toEqual([401, 429]);
  });

  test('with a forged signature', async () => {
    const forged = `${staff.slice(0, staff.lastIndexOf('.') + 1)}${'A'.repeat(86)}`;
    const counts = await flood('127.0.78.1', `/v1/restaurants/${restaurantId}/orders`, bearer(forged));
    expect([...counts.keys()].sort()).toEqual([401, 429]);
  });

  test('to unknown routes', async () => {
    const counts = await flood('127.0.79.1', '/v1/wp-login.php', {});
    expect([...counts.keys()].sort()).toEqual([404, 429]);
  });

  test('another address is not affected', async () => {
    expect((await send('GET', `/v1/restaurants/${restaurantId}/menu`, { headers: bearer(guest), localAddress: '127.0.80.1' })).status).toBe(200);
  });
});

describe('nginx answers for an upstream that is down', () => {
  test('no api process: 502 as JSON', async () => {
    await Promise.all(platform.apis.map((api) => api.kill('SIGKILL')));
    const answer = await send('GET', '/v1/whoami', { what: 'api down' });
    expectApiError(answer, 502, 'unavailable');
    expect(answer.raw.get('strict-transport-security')).toHaveLength(1);
  });
});

/**
 * Deliberate 5xx, all nginx's own (the api's error ratio never sees them): the upstream down, and
 * the two protocol errors HTTP prescribes a 5xx for (an unknown transfer coding, an HTTP version).
 */
const DELIBERATE_5XX = new Set(['api down', 'transfer-encoding', 'http version']);

afterAll(() => {
  expect(seen.filter((s) => s.status >= 500 && !DELIBERATE_5XX.has(s.what))).toEqual([]);
});
