/**
 * The web client on the local platform, served by its nginx the way CloudFront serves it in a
 * location (stacks/infra/constructs/web-client-delivery.ts, contract/web-delivery.ts), on the
 * same origin as the api:
 * - `/assets/*` from the build, `Cache-Control` immutable for a year; every file at the build's root
 *   (`/index.html`, `/sw.js`) `no-cache`; content types as the data stack sets them on the objects
 *   (WEB_CONTENT_TYPES); a missing file is a 404, never the app shell;
 * - the client's routes (WEB_SPA_ROUTE_PATTERNS: `/t/*`, `/kitchen/*`) and `/` answer with
 *   `index.html`, as the viewer-request function maps them;
 * - `/config.json`: this run's runtime config (its nginx address), written next to nginx's files,
 *   never into the build (the build is what the data stack publishes);
 * - `/menu-images/*`: the api's filesystem image store (`/v1/menu-images/*`), where CloudFront
 *   serves the bucket's images, so the client's root-relative image URLs work unchanged;
 * - the HTML carries the production Content-Security-Policy with this origin's schemes (http, ws),
 *   so a browser test fails on anything the CSP would block in a location.
 *
 * The blocks go into the public server of the config nginx/nginx-config.ts renders; the server's
 * edge headers (`add_header`) are repeated in each block, because nginx drops inherited
 * `add_header`s in a location that sets its own.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CACHE_CONTROL_IMMUTABLE,
  isPublishedWebFile,
  WEB_CONTENT_TYPES,
  WEB_RUNTIME_CONFIG_FILE,
  WEB_SPA_ROUTE_PATTERNS,
  webObjectHeaders,
  type WebRuntimeConfig,
} from '../../contract/web-delivery';
import { MENU_IMAGES_PREFIX } from '../../app/src/images/image-keys';
import { routePrefix, webClientContentSecurityPolicy, WEB_CLIENT_SHELL } from '../../stacks/infra/constructs/web-client-delivery';

/** The first and last line of the web client's blocks in the local nginx.conf. */
export const LOCAL_WEB_BEGIN = '# web client (tools/local/local-web.ts): begin';
export const LOCAL_WEB_END = '# web client (tools/local/local-web.ts): end';

export interface LocalWebInput {
  /** The build folder (app/web/dist). */
  readonly distDir: string;
  /** This run's runtime config file, served as `/config.json` (writeLocalRuntimeConfig). */
  readonly runtimeConfigFile: string;
  /** `127.0.0.1:<nginx port>`: the origin the CSP names for the api and its websocket. */
  readonly host: string;
}

/** The production CSP for this host, with loopback's schemes: `http:` for `https:`, `ws:` for `wss:`. */
export function localContentSecurityPolicy(host: string): string {
  return webClientContentSecurityPolicy({ domains: { api: host, cdn: host } })
    .replace(/https:\/\//g, 'http://')
    .replace(/wss:\/\//g, 'ws://');
}

/** nginx's `types` and `charset_types` for the contract's content types (charset added by nginx). */
function typeDirectives(): string[] {
  const byType = new Map<string, string[]>();
  const withCharset = new Set<string>();
  for (const [extension, contentType] of Object.entries(WEB_CONTENT_TYPES)) {
    const [mime, parameter] = contentType.split(/;\s*/);
    if (parameter !== undefined && parameter.toLowerCase() !== 'charset=utf-8') throw new Error(`WEB_CONTENT_TYPES.${extension}: nginx can add only charset=utf-8, got "${contentType}"`);
    if (parameter !== undefined) withCharset.add(mime!);
    byType.set(mime!, [...(byType.get(mime!) ?? []), extension]);
  }
  return [
    `types { ${[...byType].map(([mime, extensions]) => `${mime} ${extensions.join(' ')};`).join(' ')} }`,
    'charset utf-8;',
    `charset_types ${[...withCharset].join(' ')};`,
  ];
}

/** The server-level `add_header` lines of a rendered config's public server (the edge headers). */
export function edgeHeaderLines(config: string): string[] {
  const server = config.indexOf('\n    server {\n');
  const firstLocation = config.indexOf('\n        location ', server);
  if (server < 0 || firstLocation < 0) throw new Error('local nginx: no public server block with locations in the rendered config');
  return config
    .slice(server, firstLocation)
    .split('\n')
    .filter((line) => /^ {8}add_header /.test(line))
    .map((line) => line.trim());
}

function block(selector: string, lines: readonly string[]): string[] {
  return [`location ${selector} {`, ...lines.map((line) => `    ${line}`), '}'];
}

/** The files at the build's root that are published (index.html, sw.js, ...). */
export function rootWebFiles(distDir: string): string[] {
  return fs
    .readdirSync(distDir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && isPublishedWebFile(entry.name))
    .map((entry) => entry.name)
    .sort();
}

/** The location blocks, indented for the server block. */
export function renderLocalWebLocations(input: LocalWebInput, edgeHeaders: readonly string[]): string {
  const csp = localContentSecurityPolicy(input.host);
  const headers = (cacheControl: string, html: boolean) => [
    ...edgeHeaders,
    `add_header Cache-Control "${cacheControl}" always;`,
    ...(html ? [`add_header Content-Security-Policy "${csp}" always;`] : []),
  ];
  const fromBuild = [`root ${input.distDir};`, ...typeDirectives()];
  const shell = (selector: string) => block(selector, [...fromBuild, ...headers(webObjectHeaders(WEB_CLIENT_SHELL).cacheControl, true), `try_files /${WEB_CLIENT_SHELL} =404;`]);
  const lines: string[] = [
    LOCAL_WEB_BEGIN,
    ...block('/assets/', [...fromBuild, ...headers(CACHE_CONTROL_IMMUTABLE, false), 'try_files $uri =404;']),
    ...rootWebFiles(input.distDir)
      .filter((file) => file !== WEB_CLIENT_SHELL)
      .flatMap((file) => block(`= /${file}`, [...fromBuild, ...headers(webObjectHeaders(file).cacheControl, false), 'try_files $uri =404;'])),
    ...shell(`= /${WEB_CLIENT_SHELL}`),
    ...shell('= /'),
    ...WEB_SPA_ROUTE_PATTERNS.flatMap((pattern) => shell(routePrefix(pattern))),
    ...block(`= /${WEB_RUNTIME_CONFIG_FILE}`, [
      `alias ${input.runtimeConfigFile};`,
      ...typeDirectives(),
      ...headers(webObjectHeaders(WEB_RUNTIME_CONFIG_FILE).cacheControl, false),
    ]),
    ...block(`/${MENU_IMAGES_PREFIX}`, [
      `proxy_pass http://api/v1/${MENU_IMAGES_PREFIX};`,
      'proxy_http_version 1.1;',
      'proxy_set_header Connection "";',
      'proxy_set_header Host $host;',
      'proxy_set_header X-Request-Id $request_id;',
    ]),
    LOCAL_WEB_END,
  ];
  return lines.map((line) => `        ${line}`).join('\n');
}

/**
 * The config with the web client's blocks at the top of its public server's locations (before
 * `location / {`, the api): nginx picks a prefix location by length and exact ones first, so the
 * position only keeps the file readable.
 */
export function withLocalWebLocations(config: string, input: LocalWebInput): string {
  const server = config.indexOf('\n    server {\n');
  const nextServer = config.indexOf('\n    server {\n', server + 1);
  const at = server < 0 ? -1 : config.indexOf('\n        location / {\n', server);
  if (at < 0 || (nextServer >= 0 && at > nextServer)) throw new Error('local nginx: the rendered config has no `location / {` in its public server');
  return `${config.slice(0, at)}\n${renderLocalWebLocations(input, edgeHeaderLines(config))}${config.slice(at)}`;
}

/** The config without the web client's blocks (what the shipped gateway config is compared with). */
export function withoutLocalWebLocations(config: string): string {
  const begin = config.indexOf(`        ${LOCAL_WEB_BEGIN}`);
  const end = config.indexOf(LOCAL_WEB_END);
  if (begin < 0 || end < 0) return config;
  return `${config.slice(0, begin - 1)}${config.slice(end + LOCAL_WEB_END.length)}`;
}

export function writeLocalRuntimeConfig(file: string, config: WebRuntimeConfig): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
}

/** The guest page of a table, with its token in the fragment (as the QR code's link carries it). */
export function guestPageUrl(baseUrl: string, restaurantId: string, tableId: string, token: string): string {
  return `${baseUrl}/t/${encodeURIComponent(restaurantId)}/${encodeURIComponent(tableId)}#token=${token}`;
}

/** The kitchen screen of a restaurant, with a kitchen token in the fragment. */
export function kitchenPageUrl(baseUrl: string, restaurantId: string, token: string): string {
  return `${baseUrl}/kitchen/${encodeURIComponent(restaurantId)}#token=${token}`;
}
