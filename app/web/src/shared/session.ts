/**
 * The bearer token of this tab's session.
 *
 * The identity service hands the token over in the URL fragment (`/t/4/17#token=<jwt>`): a
 * fragment never leaves the browser (not in the request line, not in `Referer`, not in an access
 * log). `captureSessionToken` runs first thing at start: it reads the token once and removes it
 * from the address bar and the history entry (`history.replaceState`), so it cannot be bookmarked,
 * shared or restored from history. The token is then kept in memory and in sessionStorage only:
 * sessionStorage survives a reload (a queued order must still be sendable after a reload during
 * an outage) and dies with the tab. Never localStorage, IndexedDB or a service worker cache, never
 * a log line, never a URL the app requests, with one exception: the websocket upgrade
 * (shared/live-updates.ts says why).
 *
 * The claims are decoded here without verifying the signature: the API verifies every request.
 * The page uses them only to explain itself (a link for another table, an expired session).
 */

const STORAGE_KEY = 'restaurant.session-token';
const FRAGMENT_PARAMETER = 'token';

let memoryToken: string | undefined;

/** Moves a token from the URL fragment into the session; a no-op without one. */
export function captureSessionToken(): void {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const token = fragment.get(FRAGMENT_PARAMETER);
  if (token === null) return;
  fragment.delete(FRAGMENT_PARAMETER);
  const rest = fragment.toString();
  history.replaceState(history.state, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
  memoryToken = token;
  try {
    sessionStorage.setItem(STORAGE_KEY, token);
  } catch {
    // Storage disabled (a private mode): the token lives in memory for this page only.
  }
}

export function sessionToken(): string | undefined {
  if (memoryToken !== undefined) return memoryToken;
  try {
    memoryToken = sessionStorage.getItem(STORAGE_KEY) ?? undefined;
  } catch {
    memoryToken = undefined;
  }
  return memoryToken;
}

/** Forgets the token (it expired or was refused): the guest scans the table's code again. */
export function endSession(): void {
  memoryToken = undefined;
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // nothing stored
  }
}

/** The claims the page reads (the API's contract: app/src/auth/claims.ts). */
export interface SessionClaims {
  readonly role: string;
  readonly restaurantId: string;
  readonly tableId: string | undefined;
  /** Seconds since the epoch; undefined when the token has no expiry. */
  readonly expiresAt: number | undefined;
}

/** The token's payload, or undefined when it is not a JWT the page can read. */
export function sessionClaims(token: string): SessionClaims | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const claims = JSON.parse(json) as Record<string, unknown>;
    if (typeof claims.role !== 'string' || (typeof claims.restaurant_id !== 'string' && typeof claims.restaurant_id !== 'number')) return undefined;
    const tableId = claims.table_id;
    return {
      role: claims.role,
      restaurantId: String(claims.restaurant_id),
      tableId: typeof tableId === 'string' || typeof tableId === 'number' ? String(tableId) : undefined,
      expiresAt: typeof claims.exp === 'number' ? claims.exp : undefined,
    };
  } catch {
    return undefined;
  }
}

export function isExpired(claims: SessionClaims, nowMs = Date.now()): boolean {
  return claims.expiresAt !== undefined && claims.expiresAt * 1000 <= nowMs;
}
