import { createTokenMint, getJson, startApp, type RunningApp, type TokenMint } from './support';

let mint: TokenMint;
let running: RunningApp;

beforeAll(async () => {
  mint = await createTokenMint();
  running = await startApp({
    jwks: mint.jwks,
    routes: (v1, kit) => {
      v1.get('/restaurants/:restaurantId/staff-only', kit.authenticate, kit.requireRole('staff', 'manager'), kit.requireSameRestaurant('restaurantId'), (_req, res) => {
        res.json({ ok: true });
      });
    },
  });
});
afterAll(() => running.close());

const whoami = (token?: string) => getJson(`${running.url}/v1/whoami`, token === undefined ? {} : { headers: { Authorization: `Bearer ${token}` } });
const staff = { sub: 'staff-1', role: 'staff', restaurant_id: '7' };

test('a missing token is 401 with a Bearer challenge', async () => {
  const { status, headers, body } = await whoami();
  expect(status).toBe(401);
  expect(headers.get('www-authenticate')).toBe('Bearer');
  expect(body.error.code).toBe('unauthorized');
});

test('a non-bearer authorization header is 401 invalid_token', async () => {
  const { status, headers } = await getJson(`${running.url}/v1/whoami`, { headers: { Authorization: 'Basic dXNlcjpwYXNz' } });
  expect(status).toBe(401);
  expect(headers.get('www-authenticate')).toContain('error="invalid_token"');
});

test('a token signed by another key is 401', async () => {
  const other = await createTokenMint();
  const { status, headers, body } = await whoami(await other.sign(staff));
  expect(status).toBe(401);
  expect(headers.get('www-authenticate')).toContain('error="invalid_token"');
  expect(body.error.code).toBe('invalid_token');
});

test('a tampered payload fails the signature', async () => {
  const [h, , s] = (await mint.sign(staff)).split('.');
  const forged = Buffer.from(JSON.stringify({ ...staff, role: 'manager', iss: 'https://identity.test', aud: 'order-api', exp: 9999999999 })).toString('base64url');
  const { status, body } = await whoami(`${h}.${forged}.${s}`);
  expect(status).toBe(401);
  expect(body.error.message).toBe('token signature is invalid');
});

test('an expired token (beyond the clock tolerance) is 401', async () => {
  const { status, body } = await whoami(await mint.sign(staff, { expiresIn: Math.floor(Date.now() / 1000) - 120 }));
  expect(status).toBe(401);
  expect(body.error.message).toBe('token expired');
});

test('a token expired within the clock tolerance still passes', async () => {
  const { status } = await whoami(await mint.sign(staff, { expiresIn: Math.floor(Date.now() / 1000) - 5 }));
  expect(status).toBe(200);
});

test('a wrong audience is 401', async () => {
  const { status, body } = await whoami(await mint.sign(staff, { audience: 'another-api' }));
  expect(status).toBe(401);
  expect(body.error.message).toBe('token claim aud is not accepted');
});

test('a wrong issuer is 401', async () => {
  const { status } = await whoami(await mint.sign(staff, { issuer: 'https://evil.test' }));
  expect(status).toBe(401);
});

test('a guest token without table_id is 401: it is not a valid credential', async () => {
  const { status, body } = await whoami(await mint.sign({ sub: 'guest-1', role: 'guest', restaurant_id: '7' }));
  expect(status).toBe(401);
  expect(body.error.message).toBe('token claim table_id is required for guests');
});

test('an unknown role is 401', async () => {
  const { status } = await whoami(await mint.sign({ ...staff, role: 'admin' }));
  expect(status).toBe(401);
});

test('a valid guest token: whoami returns the verified claims', async () => {
  const { status, body } = await whoami(await mint.sign({ sub: 'guest-1', role: 'guest', restaurant_id: 7, table_id: '12' }));
  expect(status).toBe(200);
  expect(body).toEqual({ claims: { sub: 'guest-1', role: 'guest', restaurant_id: '7', table_id: '12' } });
});

describe('authorization', () => {
  const staffOnly = (restaurantId: string, token: string) =>
    getJson(`${running.url}/v1/restaurants/${restaurantId}/staff-only`, { headers: { Authorization: `Bearer ${token}` } });

  test('staff of the restaurant pass', async () => {
    expect((await staffOnly('7', await mint.sign(staff))).status).toBe(200);
  });

  test('staff of another restaurant are refused with 403', async () => {
    const { status, body } = await staffOnly('8', await mint.sign(staff));
    expect(status).toBe(403);
    expect(body.error).toMatchObject({ code: 'forbidden', message: 'this token belongs to another restaurant' });
  });

  test('a guest is refused by requireRole with 403', async () => {
    const { status, body } = await staffOnly('7', await mint.sign({ sub: 'g', role: 'guest', restaurant_id: '7', table_id: '1' }));
    expect(status).toBe(403);
    expect(body.error.message).toBe('role guest may not do this (allowed: staff, manager)');
  });
});
