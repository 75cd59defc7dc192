/**
 * Bearer JWT verification (jose) against a JSON Web Key Set: signature, `iss`, `aud`, `exp`/`nbf`
 * with a clock tolerance, then the claims schema. The key source is injected: production passes
 * `remoteKeySet(config)` (jose caches the JWKS and refetches on an unknown `kid`); tests pass
 * `createLocalJWKSet` over a generated key pair.
 *
 * A token that verified is remembered by its exact string until its `exp` (at most a minute, see
 * verified-token-cache.ts): clients send the same token on every request, and the ES256 check was
 * the costliest step of a cheap cached read.
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { AppConfig } from '../config';
import { unauthorized, type AppError } from '../errors';
import { authClaimsSchema, type AuthClaims } from './claims';
import { VerifiedTokenCache, type VerifiedTokenCacheOptions } from './verified-token-cache';

export type KeySource = JWTVerifyGetKey;

/** Asymmetric algorithms only: an HMAC or `none` token can never verify against a public key set. */
export const ACCEPTED_ALGORITHMS = ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'];
/** @default 30 s: clocks of pods and the identity service drift a little. */
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;

export interface TokenVerifierOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly keys: KeySource;
  /** @default DEFAULT_CLOCK_TOLERANCE_SECONDS */
  readonly clockToleranceSeconds?: number;
  /** Verified tokens kept in memory; `false` verifies every request. @default - DEFAULT_VERIFIED_TOKEN_CACHE */
  readonly cache?: VerifiedTokenCacheOptions | false;
  /** The clock of the cache and of `exp`/`nbf` checks, in ms since the epoch. @default Date.now */
  readonly now?: () => number;
}

export interface TokenVerifier {
  (token: string): Promise<AuthClaims>;
  /**
   * The claims of a token that passed verification earlier and is still cached
   * (verified-token-cache.ts), without a promise; undefined means "verify it" (never "invalid").
   */
  cached(token: string): Readonly<AuthClaims> | undefined;
}

export function remoteKeySet(config: Pick<AppConfig, 'JWT_JWKS_URL'>): KeySource {
  return createRemoteJWKSet(new URL(config.JWT_JWKS_URL), { timeoutDuration: 2000, cooldownDuration: 30_000 });
}

/** Resolves to the verified claims, or rejects with a 401 AppError saying why (never the token). */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const clockTolerance = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  const now = options.now;
  const cache = options.cache === false ? undefined : new VerifiedTokenCache({ ...options.cache, now: options.cache?.now ?? now });
  const verify = async (token: string): Promise<AuthClaims> => {
    const cached = cache?.get(token);
    if (cached !== undefined) return cached;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, options.keys, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: ACCEPTED_ALGORITHMS,
        clockTolerance,
        requiredClaims: ['exp', 'sub'],
        currentDate: now === undefined ? undefined : new Date(now()),
      }));
    } catch (error) {
      throw reasonFor(error);
    }
    const parsed = authClaimsSchema.safeParse(payload);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw unauthorized(`token claim ${issue.path.join('.') || '(root)'} ${issue.message}`, true);
    }
    // requiredClaims made jose check that `exp` is a number.
    return cache ? cache.set(token, parsed.data, payload.exp!) : parsed.data;
  };
  return Object.assign(verify, { cached: (token: string) => cache?.get(token) });
}

function reasonFor(error: unknown): AppError {
  if (error instanceof errors.JWTExpired) return unauthorized('token expired', true);
  if (error instanceof errors.JWTClaimValidationFailed) return unauthorized(`token claim ${error.claim} is not accepted`, true);
  if (error instanceof errors.JWSSignatureVerificationFailed) return unauthorized('token signature is invalid', true);
  if (error instanceof errors.JWKSNoMatchingKey) return unauthorized('token signing key is unknown', true);
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JOSEError) {
    // Includes an unreachable JWKS endpoint: the request cannot be authenticated; a 401 lets the
    // client retry, and the verifier caches keys, so this only bites on a cold or rotated key set.
    return unauthorized('token could not be verified', true);
  }
  return unauthorized('token could not be verified', true);
}
