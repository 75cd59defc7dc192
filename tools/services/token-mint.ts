/**
 * Signs JWTs with a key pair generated at start, and serves its public half as a key set: the
 * identity service as the tests, the benches and `npm run local` (tools/local/dev-identity.ts) see it.
 */
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import type { KeySource } from '../../app/src/auth/verify-token';

export const ISSUER = 'https://identity.test';
export const AUDIENCE = 'order-api';

export interface TokenMint {
  readonly jwks: KeySource;
  /** The public key set as JSON (for a JWKS server). */
  readonly publicJwks: { keys: Record<string, unknown>[] };
  sign(claims: JWTPayload, options?: { expiresIn?: string | number; audience?: string; issuer?: string }): Promise<string>;
}

export async function createTokenMint(): Promise<TokenMint> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'ES256', use: 'sig' };
  const publicJwks = { keys: [jwk as Record<string, unknown>] };
  return {
    jwks: createLocalJWKSet(publicJwks as unknown as Parameters<typeof createLocalJWKSet>[0]),
    publicJwks,
    sign: (claims, options = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: 'test-key' })
        .setIssuer(options.issuer ?? ISSUER)
        .setAudience(options.audience ?? AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? '5m')
        .sign(privateKey),
  };
}
