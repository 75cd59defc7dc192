/**
 * Tokens that passed verification, by their exact compact string, so a client that sends the same
 * bearer token on every request pays the signature check (ES256: the largest single cost of a
 * cached menu GET) once per entry lifetime instead of once per request.
 *
 * Why serving from it is safe:
 * - The key is the whole token, signature included: a token differing in any byte (a tampered
 *   payload, another signature) is another key, and a miss goes through full verification.
 * - Only verified tokens enter; failures are never cached.
 * - An entry lives until the token's `exp`, and never longer than `maxAgeMs`, so a key the identity
 *   service revokes from its JWKS (rotation) stops being honoured within that bound. Past `exp` the
 *   token is verified again, where the clock tolerance decides as it always did.
 * - Bounded by `maxEntries` (least recently used dropped first), so memory stays bounded whatever
 *   the number of distinct tokens.
 * - The claims handed out are frozen: one request cannot change what the next one sees.
 */
import { LRUCache } from 'lru-cache';
import type { AuthClaims } from './claims';

export interface VerifiedTokenCacheOptions {
  /** @default DEFAULT_VERIFIED_TOKEN_CACHE.maxEntries */
  readonly maxEntries?: number;
  /** Upper bound of an entry's life, whatever the token's `exp`. @default DEFAULT_VERIFIED_TOKEN_CACHE.maxAgeMs */
  readonly maxAgeMs?: number;
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
}

/** About 10,000 tokens of ~600 bytes: a few MB per process. One minute bounds a key rotation. */
export const DEFAULT_VERIFIED_TOKEN_CACHE = { maxEntries: 10_000, maxAgeMs: 60_000 } as const;

interface Entry {
  readonly claims: Readonly<AuthClaims>;
  readonly expiresAtMs: number;
}

export class VerifiedTokenCache {
  private readonly entries: LRUCache<string, Entry>;
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(options: VerifiedTokenCacheOptions = {}) {
    const maxEntries = options.maxEntries ?? DEFAULT_VERIFIED_TOKEN_CACHE.maxEntries;
    const maxAgeMs = options.maxAgeMs ?? DEFAULT_VERIFIED_TOKEN_CACHE.maxAgeMs;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new Error(`verified token cache maxEntries must be a positive integer, got ${maxEntries}`);
    if (!Number.isFinite(maxAgeMs) || maxAgeMs <= 0) throw new Error(`verified token cache maxAgeMs must be a positive number, got ${maxAgeMs}`);
    this.entries = new LRUCache({ max: maxEntries });
    this.maxAgeMs = maxAgeMs;
    this.now = options.now ?? Date.now;
  }

  /** The claims of a token verified earlier, while its entry is live. */
  get(token: string): Readonly<AuthClaims> | undefined {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    if (this.now() >= entry.expiresAtMs) {
      this.entries.delete(token);
      return undefined;
    }
    return entry.claims;
  }

  /** Remembers a token that just passed verification; `expSeconds` is its `exp` claim. */
  set(token: string, claims: AuthClaims, expSeconds: number): Readonly<AuthClaims> {
    const frozen = Object.freeze(claims);
    const expiresAtMs = Math.min(expSeconds * 1000, this.now() + this.maxAgeMs);
    if (expiresAtMs > this.now()) this.entries.set(token, { claims: frozen, expiresAtMs });
    return frozen;
  }

  get size(): number {
    return this.entries.size;
  }
}
