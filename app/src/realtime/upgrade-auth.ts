/**
 * Authentication at the websocket upgrade, before any socket is accepted: the same bearer JWTs as
 * the API, from the `Authorization: Bearer` header (native clients), the `bearer` subprotocol
 * (browsers, which cannot set headers on a WebSocket: protocol.ts, TOKEN_SUBPROTOCOL), or the
 * `access_token` query parameter (older browser clients). A missing or invalid token is answered
 * `401` on the raw socket, which is then destroyed: no websocket ever exists without claims.
 *
 * The query form puts the token in the URL: nginx's access log records `$uri` without the query
 * string, but its error log records the request line when an upstream fails, and browsers print
 * the URL of a failed handshake in their console. Prefer the subprotocol; tokens are short-lived.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { decodeJwt } from 'jose';
import type { AuthClaims } from '../auth/claims';
import type { TokenVerifier } from '../auth/verify-token';
import { subprotocolToken } from './protocol';

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/;
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export interface UpgradeCredentials {
  readonly claims: AuthClaims;
  /** When the token expires (ms since the epoch); the connection is closed with 4001 then. */
  readonly expiresAtMs: number | undefined;
}

/** The token of an upgrade request, or undefined when there is none in an accepted form. */
export function upgradeToken(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers.authorization;
  if (header !== undefined) return BEARER.exec(header.trim())?.[1];
  const offered = subprotocolToken(req.headers['sec-websocket-protocol']);
  if (offered !== undefined) return offered !== null && JWT.test(offered) ? offered : undefined;
  const query = url.searchParams.get('access_token');
  return query !== null && JWT.test(query) ? query : undefined;
}

/** Verified claims and expiry, or undefined for a missing or invalid token. */
export async function authenticateUpgrade(verify: TokenVerifier, req: IncomingMessage, url: URL): Promise<UpgradeCredentials | undefined> {
  const token = upgradeToken(req, url);
  if (token === undefined) return undefined;
  try {
    const claims = await verify(token);
    const { exp } = decodeJwt(token);
    return { claims, expiresAtMs: typeof exp === 'number' ? exp * 1000 : undefined };
  } catch {
    return undefined;
  }
}

/** Answers an upgrade request with a plain HTTP status and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: 400 | 401 | 404 | 503, extraHeaders: Record<string, string> = {}): void {
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 503: 'Service Unavailable' }[status];
  const headers = { Connection: 'close', 'Content-Type': 'text/plain', 'Content-Length': String(reason.length), ...extraHeaders };
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.end(`HTTP/1.1 ${status} ${reason}\r\n${head}\r\n${reason}`, () => socket.destroy());
}
