/**
 * How the guest and kitchen web client (app/web/) is delivered: the facts the build, the data
 * stack that publishes it to the location's CDN bucket, CloudFront, and the local platform's nginx
 * (which serves it the way CloudFront will) must agree on, each written once.
 *
 * - The build (`npm run build:web`) writes WEB_BUILD_DIR. Files under `assets/` carry a content
 *   hash in their name (Vite's), so they are immutable for a year; every other file (index.html,
 *   the service worker, the runtime config) is revalidated on every use, so a deploy is seen at the
 *   next load. Files in dot-folders (Vite's `.vite/manifest.json`) are build metadata, never
 *   published.
 * - Objects live in the bucket under WEB_CLIENT_PREFIX; viewers see them at the site root
 *   (`/assets/...`, `/sw.js`), and the SPA routes serve `index.html`.
 * - The app reads WEB_RUNTIME_CONFIG_FILE at start: the location's api and websocket addresses
 *   (WebRuntimeConfig), written by the data stack per location and by the local platform.
 *
 * A leaf module (tests/architecture/imports.test.ts): it imports nothing.
 */

/** The build's output folder, relative to the repository root. */
export const WEB_BUILD_DIR = 'app/web/dist';

/** Key prefix of the web client's objects in the location's CDN bucket. */
export const WEB_CLIENT_PREFIX = 'web/';

/** The client's runtime configuration, at the site root next to index.html. */
export const WEB_RUNTIME_CONFIG_FILE = 'config.json';

/**
 * The service worker the build generates (app/web/build.ts, workbox), at the site root so its scope
 * is the whole site. Revalidated on every use like every file outside `assets/`: browsers check it
 * for updates at each navigation anyway, and a cached stale copy would keep an old app shell alive.
 */
export const WEB_SERVICE_WORKER_FILE = 'sw.js';

/** Path patterns (CloudFront syntax) whose responses are the app shell, `index.html`. */
export const WEB_SPA_ROUTE_PATTERNS: readonly string[] = ['/t/*', '/kitchen/*'];

/** Hashed build assets: the name changes with the content, so caches may keep them for a year. */
export const CACHE_CONTROL_IMMUTABLE = 'public, max-age=31536000, immutable';
/** Everything else: caches must revalidate before each use (ETag makes that a 304). */
export const CACHE_CONTROL_REVALIDATE = 'no-cache';

/** What the client fetches from WEB_RUNTIME_CONFIG_FILE. */
export interface WebRuntimeConfig {
  /** Base of the order API, e.g. `https://api.downtown.example.com` (no trailing slash). */
  readonly apiBaseUrl: string;
  /** The realtime service, e.g. `wss://api.downtown.example.com/ws`. */
  readonly websocketUrl: string;
}

/**
 * Content type per file extension of a published build file (what webObjectHeaders answers). The
 * local platform's nginx maps the same extensions (tools/local/local-web.ts).
 */
export const WEB_CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  json: 'application/json',
  webmanifest: 'application/manifest+json',
  map: 'application/json',
  txt: 'text/plain; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  avif: 'image/avif',
  ico: 'image/x-icon',
  woff2: 'font/woff2',
};

/** Whether a build file (path relative to WEB_BUILD_DIR, `/`-separated) is published. */
export function isPublishedWebFile(relativePath: string): boolean {
  return relativePath.split('/').every((segment) => segment !== '' && !segment.startsWith('.'));
}

/**
 * Content type and cache control of a published build file. An extension without a known type is
 * an error rather than a guess: a script served as `application/octet-stream` is refused by
 * browsers under `X-Content-Type-Options: nosniff`.
 */
export function webObjectHeaders(relativePath: string): { readonly contentType: string; readonly cacheControl: string } {
  const extension = /\.([a-z0-9]+)$/i.exec(relativePath)?.[1]?.toLowerCase();
  const contentType = extension === undefined ? undefined : WEB_CONTENT_TYPES[extension];
  if (contentType === undefined) {
    throw new Error(`web client file ${relativePath}: no content type known for its extension; add it to contract/web-delivery.ts`);
  }
  return { contentType, cacheControl: relativePath.startsWith('assets/') ? CACHE_CONTROL_IMMUTABLE : CACHE_CONTROL_REVALIDATE };
}
