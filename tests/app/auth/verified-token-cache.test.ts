/**
 * The verified-token cache in front of JWT verification (app/src/auth/verify-token.ts,
 * verified-token-cache.ts): what it saves (the key lookup and signature check of a repeated token)
 * and what it must never change (expiry at `exp`, tampered tokens refused, key rotation honoured
 * within the bound, memory bounded). The clock is injected: no sleeps.
 */
import type { JWTVerifyGetKey } from 'jose';
import { DEFAULT_CLOCK_TOLERANCE_SECONDS, createTokenVerifier, type TokenVerifierOptions } from '../../../app/src/auth/verify-token';
import { VerifiedTokenCache } from '../../../app/src/auth/verified-token-cache';
import { AUDIENCE, ISSUER, createTokenMint, type TokenMint } from '../http/support';

let mint: TokenMint;
beforeAll(async () => {
  mint = await createTokenMint();
});

const staff = { sub: 'staff-1', role: 'staff', restaurant_id: '7' };

/** A verifier over the mint's keys with a settable clock, counting full verifications (key lookups). */
function verifierWithClock(startMs: number, options: Partial<TokenVerifierOptions> = {}, keys: () => JWTVerifyGetKey = () => mint.jwks) {
  const clock = { nowMs: startMs };
  const counter = { lookups: 0 };
  const counting: JWTVerifyGetKey = (header, token) => {
    counter.lookups += 1;
    return keys()(header, token);
  };
  const verify = createTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: counting, now: () => clock.nowMs, ...options });
  return { verify, clock, counter };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

test('a repeated token is verified once and served from the cache afterwards', async () => {
  const { verify, counter } = verifierWithClock(Date.now());
  const token = await mint.sign(staff);
  const first = await verify(token);
  const second = await verify(token);
  expect(second).toEqual({ sub: 'staff-1', role: 'staff', restaurant_id: '7' });
  expect(second).toBe(first);
  expect(counter.lookups).toBe(1);
});

test('cached claims are frozen: a request cannot change what the next one sees', async () => {
  const { verify } = verifierWithClock(Date.now());
  const claims = await verify(await mint.sign(staff));
  expect(Object.isFrozen(claims)).toBe(true);
});

test('a cached token still expires at exp: past exp it is verified again, and refused beyond the clock tolerance', async () => {
  const start = Date.now();
  const exp = nowSeconds() + 20; // shorter than the cache's one-minute bound, so exp decides
  const { verify, clock, counter } = verifierWithClock(start);
  const token = await mint.sign(staff, { expiresIn: exp });
  await verify(token);
  clock.nowMs = exp * 1000 - 1;
  await verify(token);
  expect(counter.lookups).toBe(1);
  // At exp the entry is gone; the full check still accepts it within the clock tolerance.
  clock.nowMs = exp * 1000;
  await verify(token);
  expect(counter.lookups).toBe(2);
  clock.nowMs = (exp + DEFAULT_CLOCK_TOLERANCE_SECONDS + 1) * 1000;
  await expect(verify(token)).rejects.toMatchObject({ httpStatus: 401, message: 'token expired' });
});

test('an entry lives at most maxAgeMs: a key removed from the key set is refused after that', async () => {
  const start = Date.now();
  const other = await createTokenMint();
  let keySet = mint.jwks;
  const { verify, clock } = verifierWithClock(start, { cache: { maxAgeMs: 60_000 } }, () => keySet);
  const token = await mint.sign(staff, { expiresIn: '1h' });
  await verify(token);
  keySet = other.jwks; // the identity service rotated its key (same kid, new key)
  clock.nowMs = start + 59_999;
  await expect(verify(token)).resolves.toMatchObject({ sub: 'staff-1' });
  clock.nowMs = start + 60_000;
  await expect(verify(token)).rejects.toMatchObject({ httpStatus: 401, message: 'token signature is invalid' });
});

test('a tampered token is never served from the cache, even when the genuine one is cached', async () => {
  const { verify } = verifierWithClock(Date.now());
  const token = await mint.sign(staff);
  await verify(token);
  const [header, , signature] = token.split('.');
  const payload = Buffer.from(JSON.stringify({ ...staff, role: 'manager', iss: ISSUER, aud: AUDIENCE, exp: nowSeconds() + 300 })).toString('base64url');
  await expect(verify(`${header}.${payload}.${signature}`)).rejects.toMatchObject({ httpStatus: 401, message: 'token signature is invalid' });
  // One character of the signature changed: another string, so another (failing) verification.
  const flipped = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
  await expect(verify(flipped)).rejects.toMatchObject({ httpStatus: 401 });
  // And the genuine token is still served as it was.
  await expect(verify(token)).resolves.toMatchObject({ role: 'staff' });
});

test('failures are not cached: a refused token is checked in full every time', async () => {
  const { verify, counter } = verifierWithClock(Date.now());
  const foreign = await (await createTokenMint()).sign(staff);
  await expect(verify(foreign)).rejects.toMatchObject({ httpStatus: 401 });
  await expect(verify(foreign)).rejects.toMatchObject({ httpStatus: 401 });
  expect(counter.lookups).toBe(2);
});

test('the cache holds at most maxEntries tokens, dropping the least recently used', async () => {
  const { verify, counter } = verifierWithClock(Date.now(), { cache: { maxEntries: 2 } });
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((s) => mint.sign({ ...staff, sub: s })));
  await verify(a!);
  await verify(b!);
  await verify(a!); // a is now the most recently used
  await verify(c!); // evicts b
  expect(counter.lookups).toBe(3);
  await verify(a!);
  expect(counter.lookups).toBe(3);
  await verify(b!);
  expect(counter.lookups).toBe(4);
});

test('cache: false verifies every request', async () => {
  const { verify, counter } = verifierWithClock(Date.now(), { cache: false });
  const token = await mint.sign(staff);
  await verify(token);
  await verify(token);
  expect(counter.lookups).toBe(2);
});

describe('VerifiedTokenCache', () => {
  const claims = { sub: 's', role: 'staff' as const, restaurant_id: '1' };

  test('an entry expires at exp when that comes before maxAgeMs', () => {
    const clock = { nowMs: 1_000_000 };
    const cache = new VerifiedTokenCache({ maxAgeMs: 60_000, now: () => clock.nowMs });
    cache.set('t', { ...claims }, 1_010); // exp 1,010 s = 1,010,000 ms
    clock.nowMs = 1_009_999;
    expect(cache.get('t')).toEqual(claims);
    clock.nowMs = 1_010_000;
    expect(cache.get('t')).toBeUndefined();
  });

  test('a token already expired is not stored', () => {
    const cache = new VerifiedTokenCache({ now: () => 2_000_000 });
    cache.set('t', { ...claims }, 1_999);
    expect(cache.size).toBe(0);
  });

  test.each([
    [{ maxEntries: 0 }, 'verified token cache maxEntries must be a positive integer, got 0'],
    [{ maxEntries: 1.5 }, 'verified token cache maxEntries must be a positive integer, got 1.5'],
    [{ maxAgeMs: 0 }, 'verified token cache maxAgeMs must be a positive number, got 0'],
  ])('fails when the options are %j', (options, message) => {
    expect(() => new VerifiedTokenCache(options)).toThrow(message);
  });
});
