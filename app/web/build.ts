/**
 * Builds the guest and kitchen web client (app/web/src) into WEB_BUILD_DIR (contract/web-delivery.ts):
 * Vite bundles the app, one chunk per route; the service worker is generated into the same
 * folder (`serviceWorkerOptions`, below). The build writes into a fresh sibling folder and swaps it
 * in by rename, so a failed build leaves the previous one as it was, and a reader never sees half
 * of a new one.
 *
 * `ensureWebBuild()` builds only when the sources changed: it stamps the output with a hash of
 * everything the build reads (app/web without its output, the lock file, and every file outside
 * app/web its sources import, followed transitively: the realtime client in app/src, the delivery
 * contract), so the many callers that need a build (synth, plan, jest's global setup) pay about
 * 50 ms when nothing changed. Vite's output is deterministic: the same sources give the same bytes, which
 * is what keeps an unchanged client out of a plan.
 *
 * `npm run build:web` runs this file (`--force` rebuilds even when up to date).
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { GenerateSWOptions } from 'workbox-build';
import { WEB_BUILD_DIR, WEB_RUNTIME_CONFIG_FILE, WEB_SERVICE_WORKER_FILE, WEB_SPA_ROUTE_PATTERNS } from '../../contract/web-delivery';

const REPO = path.resolve(__dirname, '../..');
export const WEB_ROOT = __dirname;
export const WEB_DIST_DIR = path.join(REPO, WEB_BUILD_DIR);
/** Inside the output, in a dot-file: build metadata, never published. */
const STAMP_FILE = '.source-hash';
const LOCK_FILE = path.join(REPO, 'package-lock.json');
/**
 * Relative module specifiers of `import ... from`, `export ... from`, `import '...'` and
 * `import('...')`; group 1 is `type ` for a type-only statement, which the bundle never reads.
 */
const RELATIVE_IMPORT = /\b(?:import|export)\s+(type\s+)?(?:[^'";]*?\bfrom\s*)?['"](\.{1,2}\/[^'"]+)['"]|\bimport\s*\(\s*['"](\.{1,2}\/[^'"]+)['"]/g;

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return full === WEB_DIST_DIR || path.basename(full).startsWith('.dist-') ? [] : filesUnder(full);
    return [full];
  });
}

function resolveModule(fromFile: string, specifier: string): string | undefined {
  const base = path.resolve(path.dirname(fromFile), specifier);
  return [base, `${base}.ts`, `${base}.tsx`, path.join(base, 'index.ts')].find((candidate) => fs.existsSync(candidate) && fs.statSync(candidate).isFile());
}

/**
 * The files outside app/web that the client's bundle reads: what its sources import, directly or
 * through each other. Type-only imports are left out: their modules never reach the bundle (the
 * client's type-only imports of the API's types would otherwise rebuild it on every change to the
 * API's database code).
 */
export function importedOutsideWebRoot(): string[] {
  const seen = new Set<string>();
  const queue = filesUnder(path.join(WEB_ROOT, 'src')).filter((file) => /\.tsx?$/.test(file));
  for (const file of queue) seen.add(file);
  while (queue.length > 0) {
    const file = queue.pop()!;
    for (const match of fs.readFileSync(file, 'utf8').matchAll(RELATIVE_IMPORT)) {
      if (match[1] !== undefined) continue;
      const imported = resolveModule(file, (match[2] ?? match[3])!);
      if (imported === undefined || seen.has(imported)) continue;
      seen.add(imported);
      if (/\.tsx?$/.test(imported)) queue.push(imported);
    }
  }
  return [...seen].filter((file) => !file.startsWith(`${WEB_ROOT}${path.sep}`));
}

/** Hash of every input of the build, in a stable order. */
export function webSourceHash(): string {
  const hash = createHash('sha256');
  for (const file of [...new Set([...filesUnder(WEB_ROOT), LOCK_FILE, ...importedOutsideWebRoot()])].sort()) {
    hash.update(path.relative(REPO, file)).update('\0').update(fs.readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

function readStamp(): string | undefined {
  try {
    return fs.readFileSync(path.join(WEB_DIST_DIR, STAMP_FILE), 'utf8').trim();
  } catch {
    return undefined;
  }
}

export interface WebBuildResult {
  readonly dir: string;
  /** False when the existing build was up to date. */
  readonly built: boolean;
}

/** Vite runs as its own process: it is ESM-only, and this module is also loaded by jest's CommonJS. */
function viteBuild(outDir: string): void {
  const vite = path.join(REPO, 'node_modules/vite/bin/vite.js');
  const run = spawnSync(process.execPath, [vite, 'build', '--config', path.join(WEB_ROOT, 'vite.config.mts'), '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {
    cwd: WEB_ROOT,
    encoding: 'utf8',
    env: { ...process.env, NODE_ENV: 'production' },
  });
  if (run.status !== 0) {
    throw new Error(`vite build of the web client failed (exit ${run.status ?? run.signal}):\n${run.stderr || run.stdout || run.error?.message}`);
  }
}

/**
 * The service worker (workbox `generateSW`, at the site root so its scope is the whole site):
 * - precaches the app shell: index.html, the entry, the stylesheet and the guest route's chunks
 *   (every script but the kitchen route's: a guest's phone never needs it), so the guest page opens
 *   offline; SPA navigations (/t/*, /kitchen/*) are answered with the precached index.html;
 * - keeps the last runtime config and the last menu (NetworkFirst: the network when it answers
 *   within a few seconds, else the copy), so an offline reload still shows the menu. The menu
 *   answer varies on `Authorization` for shared caches; this cache belongs to one browser and the
 *   menu is the same for every token of a restaurant, so it matches ignoring Vary (a reload with a
 *   new token still finds it);
 * - keeps menu photos it has shown (CacheFirst: their keys are content hashed), bounded;
 * - routes nothing else: orders, statuses and the kitchen queue go to the network and are never
 *   stored (their answers carry tokens' data and `Cache-Control: no-store` anyway).
 * Hashed `assets/` are precached under their name (no cache-busting query: the name is the version);
 * index.html carries a content revision. A new build activates at once (skipWaiting, clientsClaim)
 * and drops the previous precache.
 */
export function serviceWorkerOptions(dir: string): GenerateSWOptions {
  const spaRoutes = WEB_SPA_ROUTE_PATTERNS.map((pattern) => new RegExp(`^${pattern.replace(/\*$/, '').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
  return {
    globDirectory: dir,
    globPatterns: ['index.html', 'assets/**/*.{js,css}'],
    globIgnores: ['assets/KitchenPage-*.js'],
    swDest: path.join(dir, WEB_SERVICE_WORKER_FILE),
    dontCacheBustURLsMatching: /^assets\//,
    navigateFallback: '/index.html',
    navigateFallbackAllowlist: spaRoutes,
    inlineWorkboxRuntime: true,
    mode: 'production',
    sourcemap: false,
    skipWaiting: true,
    clientsClaim: true,
    cleanupOutdatedCaches: true,
    runtimeCaching: [
      {
        // Matched on the full URL; not at its start, so only on the site's own origin (workbox's rule).
        urlPattern: new RegExp(`://[^/]+/${WEB_RUNTIME_CONFIG_FILE.replace('.', '\\.')}$`),
        handler: 'NetworkFirst',
        options: { cacheName: 'runtime-config', networkTimeoutSeconds: 4, cacheableResponse: { statuses: [200] } },
      },
      {
        // Function patterns are copied into the worker's source: they may use only their arguments.
        urlPattern: ({ url, request }) => request.method === 'GET' && /^\/v1\/restaurants\/[^/]+\/menu$/.test(url.pathname),
        handler: 'NetworkFirst',
        options: {
          cacheName: 'menu',
          networkTimeoutSeconds: 4,
          cacheableResponse: { statuses: [200] },
          expiration: { maxEntries: 4 },
          matchOptions: { ignoreVary: true },
        },
      },
      {
        urlPattern: ({ url, request }) => request.destination === 'image' && url.pathname.startsWith('/menu-images/'),
        handler: 'CacheFirst',
        options: { cacheName: 'menu-images', cacheableResponse: { statuses: [200] }, expiration: { maxEntries: 120, maxAgeSeconds: 86_400 } },
      },
    ],
  };
}

/** workbox-build loads rollup and babel: only when a build runs. */
async function generateServiceWorker(dir: string): Promise<void> {
  const { generateSW } = await import('workbox-build');
  const result = await generateSW(serviceWorkerOptions(dir));
  if (result.warnings.length > 0) throw new Error(`workbox generateSW warned:\n${result.warnings.join('\n')}`);
}

/** Builds the web client, whether or not it is up to date. */
export async function buildWeb(): Promise<WebBuildResult> {
  const sourceHash = webSourceHash();
  const staging = path.join(WEB_ROOT, `.dist-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    viteBuild(staging);
    await generateServiceWorker(staging);
    fs.writeFileSync(path.join(staging, STAMP_FILE), `${sourceHash}\n`);
    const old = `${staging}.old`;
    if (fs.existsSync(WEB_DIST_DIR)) fs.renameSync(WEB_DIST_DIR, old);
    fs.renameSync(staging, WEB_DIST_DIR);
    fs.rmSync(old, { recursive: true, force: true });
    return { dir: WEB_DIST_DIR, built: true };
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** Builds the web client when its sources changed since the last build; otherwise does nothing. */
export async function ensureWebBuild(): Promise<WebBuildResult> {
  if (readStamp() === webSourceHash()) return { dir: WEB_DIST_DIR, built: false };
  return buildWeb();
}

if (require.main === module) {
  const force = process.argv.includes('--force');
  (force ? buildWeb() : ensureWebBuild()).then(
    (result) => process.stdout.write(`web client ${result.built ? 'built' : 'up to date'}: ${path.relative(REPO, result.dir)}\n`),
    (error: Error) => {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 1;
    },
  );
}
