/**
 * The menu as it goes on the wire, prepared once per cached value instead of once per request: the
 * JSON as a Buffer (no UTF-8 encoding and length scan per response) and its gzip and brotli
 * codings, picked by the request's Accept-Encoding. nginx's gzip filter leaves a response that
 * already has a Content-Encoding alone, so a browser's menu is compressed once per menu version and
 * process rather than by nginx on every request.
 *
 * Prepared lazily and kept in a WeakMap keyed by the cached value itself (the L1 entry of the
 * layered cache): an invalidation or an L1 expiry replaces that object, so the next request
 * prepares the new menu and the old preparation goes with the old object. Nothing here can serve a
 * menu the cache no longer holds.
 *
 * One ETag for every coding: it names the JSON, whichever coding carried it, so a client that
 * revalidates with `If-None-Match` gets its 304 even if its Accept-Encoding changed meanwhile.
 * `Vary: Accept-Encoding` tells caches that the bodies differ.
 */
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import type { CachedMenu } from './menu-service';

export type MenuCoding = 'br' | 'gzip' | 'identity';

/**
 * `private` because the response is behind a bearer token: a shared cache (nginx, a CDN, a
 * corporate proxy) must not store it and hand it to a request without that token. The browser may
 * reuse it for 30 s and revalidate with `If-None-Match`, which costs one cache lookup and no body.
 */
export const MENU_CACHE_CONTROL = 'private, max-age=30, stale-while-revalidate=60';
/** The body depends on the coding, and whether it is served at all on the token. */
export const MENU_VARY = 'Accept-Encoding, Authorization';

type Headers = Readonly<Record<string, string | number>>;

export interface MenuRepresentation {
  readonly etag: string;
  /** The body per coding. */
  readonly bodies: Readonly<Record<MenuCoding, Buffer>>;
  /**
   * The headers of a 200 per coding, built once (`writeHead` reads them, never changes them).
   * Without Vary: the route adds MENU_VARY to what earlier middleware put there (CORS's Origin).
   */
  readonly headers: Readonly<Record<MenuCoding, Headers>>;
  /** The headers of a 304, Vary aside as well. */
  readonly notModifiedHeaders: Headers;
}

/**
 * Brotli quality 6: on a 40-item menu (6.1 KB) 487 bytes in about 0.1 ms; quality 11 saves 64 more
 * bytes for 20 ms of the event loop. gzip at zlib's default level 6.
 */
const BROTLI_QUALITY = 6;

const prepared = new WeakMap<CachedMenu, MenuRepresentation>();

export function menuRepresentation(menu: CachedMenu): MenuRepresentation {
  let representation = prepared.get(menu);
  if (representation === undefined) {
    const identity = Buffer.from(menu.json, 'utf8');
    const bodies: Record<MenuCoding, Buffer> = {
      identity,
      gzip: gzipSync(identity),
      br: brotliCompressSync(identity, {
        params: { [zlibConstants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: identity.length },
      }),
    };
    const notModifiedHeaders = { ETag: menu.etag, 'Cache-Control': MENU_CACHE_CONTROL };
    const headersFor = (coding: MenuCoding): Headers => ({
      ...notModifiedHeaders,
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': bodies[coding].length,
      ...(coding === 'identity' ? {} : { 'Content-Encoding': coding }),
    });
    representation = {
      etag: menu.etag,
      bodies,
      headers: { identity: headersFor('identity'), gzip: headersFor('gzip'), br: headersFor('br') },
      notModifiedHeaders,
    };
    prepared.set(menu, representation);
  }
  return representation;
}

/**
 * The coding to send for an Accept-Encoding header (RFC 9110 12.5.3): br, else gzip, when the
 * client accepts it with a non-zero weight (by name or by `*`), else identity. Identity is always
 * sent rather than refusing a request that rules it out.
 */
export function negotiateMenuCoding(acceptEncoding: string | undefined): MenuCoding {
  if (acceptEncoding === undefined || acceptEncoding === '') return 'identity';
  let br: boolean | undefined;
  let gzip: boolean | undefined;
  let any: boolean | undefined;
  for (const part of acceptEncoding.split(',')) {
    const semicolon = part.indexOf(';');
    const name = (semicolon < 0 ? part : part.slice(0, semicolon)).trim().toLowerCase();
    const accepted = semicolon < 0 || weightOf(part.slice(semicolon + 1)) > 0;
    if (name === 'br') br = accepted;
    else if (name === 'gzip' || name === 'x-gzip') gzip = accepted;
    else if (name === '*') any = accepted;
  }
  if (br ?? any) return 'br';
  if (gzip ?? any) return 'gzip';
  return 'identity';
}

/** The `q` of `;q=0.5` parameters; 1 when absent, 0 when malformed (not acceptable). */
function weightOf(parameters: string): number {
  const match = /(?:^|;)\s*q\s*=\s*([0-9.]+)\s*(?:;|$)/i.exec(parameters);
  if (!match) return /(?:^|;)\s*q\s*=/i.test(parameters) ? 0 : 1;
  const weight = Number(match[1]);
  return Number.isFinite(weight) ? weight : 0;
}
