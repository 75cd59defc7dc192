/**
 * Builds the guest and kitchen web client (app/web/src) into WEB_BUILD_DIR (contract/web-delivery.ts):
 * Vite bundles the app, one chunk per route; the service worker is generated into the same
 * folder. The build writes into a fresh sibling folder and swaps it in by rename, so a failed
 * build leaves the previous one as it was, and a reader never sees half of a new one.
 *
 * `ensureWebBuild()` builds only when the sources changed: it stamps the output with a hash of
 * everything the build reads (app/web without its output, the lock file, the delivery contract),
 * so the many callers that need a build (synth, plan, jest's global setup) pay about 50 ms when
 * nothing changed. Vite's output is deterministic: the same sources give the same bytes, which
 * is what keeps an unchanged client out of a plan.
 *
 * `npm run build:web` runs this file (`--force` rebuilds even when up to date).
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WEB_BUILD_DIR } from '../../contract/web-delivery';

const REPO = path.resolve(__dirname, '../..');
export const WEB_ROOT = __dirname;
export const WEB_DIST_DIR = path.join(REPO, WEB_BUILD_DIR);
/** Inside the output, in a dot-file: build metadata, never published. */
const STAMP_FILE = '.source-hash';
const HASHED_INPUTS = [path.join(REPO, 'package-lock.json'), path.join(REPO, 'contract/web-delivery.ts')];

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return full === WEB_DIST_DIR || path.basename(full).startsWith('.dist-') ? [] : filesUnder(full);
    return [full];
  });
}

/** Hash of every input of the build, in a stable order. */
export function webSourceHash(): string {
  const hash = createHash('sha256');
  for (const file of [...filesUnder(WEB_ROOT), ...HASHED_INPUTS].sort()) {
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

/** Builds the web client, whether or not it is up to date. */
export async function buildWeb(): Promise<WebBuildResult> {
  const sourceHash = webSourceHash();
  const staging = path.join(WEB_ROOT, `.dist-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    viteBuild(staging);
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
