/**
 * Bundles every process entry (`app/src/*-main.ts`) with esbuild into `app/dist/<entry>.js`, one
 * self-contained CommonJS file per entry that runs with plain `node` (no TypeScript loader, no
 * node_modules), and copies the SQL migrations next to them (`app/dist/migrations/`, where
 * app/src/db/migrate.ts looks: beside the running module).
 *
 * - Entries are discovered, not listed: a new `*-main.ts` is bundled without touching this file.
 * - Not minified (identifiers and whitespace kept, `keepNames`) and with linked source maps, so a
 *   stack trace read with `node --enable-source-maps` points at the TypeScript line.
 * - node-pg-migrate 9 is ESM-only; esbuild converts it into the CommonJS bundle. It has no
 *   top-level await; its one `import.meta` use (`import.meta.dirname`, for the template of the
 *   `create` CLI command) is never reached by the runner, so that warning is silenced. Its loader
 *   for JavaScript/TypeScript migrations (jiti with babel) loads lazily and is not in the bundle:
 *   migrations stay .sql files.
 * - `pg-native` stays external: pg requires it only when asked for the native client, inside a
 *   try/catch; the image does not ship it.
 * - The build writes into a fresh sibling folder and swaps it in by rename: a failed build leaves
 *   the previous dist as it was, never half of a new one.
 *
 * `npm run build:app` runs this file; jest's global setup calls `buildApp()` in-process.
 */
import * as esbuild from 'esbuild';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';

export const APP_ROOT = __dirname;
export const SOURCE_DIR = path.join(APP_ROOT, 'src');
export const DIST_DIR = path.join(APP_ROOT, 'dist');
/** Process entries end with this; the bundle keeps the name (`api-main.ts` -> `dist/api-main.js`). */
export const ENTRY_SUFFIX = '-main.ts';
/** Dependencies left out of the bundles, with the reason each may be missing at run time. */
export const EXTERNAL_MODULES: Readonly<Record<string, string>> = {
  'pg-native': "pg's optional native client, required only by `new pg.native.Client` inside a try/catch; never used here",
  bufferutil: "ws' optional native speed-up, required inside a try/catch; without it ws uses its JavaScript code",
  'utf-8-validate': "ws' optional native UTF-8 check, required inside a try/catch; without it ws uses Node's buffer.isUtf8",
  sharp: 'native module (libvips binaries under @img/*) that cannot be bundled: the api loads it from node_modules, which the Dockerfile ships next to dist/',
};

/**
 * What of node_modules the image ships next to dist/ for the native externals: sharp, its one
 * dependency outside its folder, and its platform binaries. app/Dockerfile copies exactly these.
 */
export const RUNTIME_NODE_MODULES: readonly string[] = ['sharp', 'detect-libc', '@img'];

/**
 * Second names of bundles, as symbolic links in the dist folder (so in the image too): the app
 * stack's migration Job and CronJobs run `node dist/migrate.js up` and `node dist/maintenance.js
 * <task>` (MIGRATION_COMMAND and MAINTENANCE_COMMAND in stacks/infra/constructs/database-maintenance-jobs.ts),
 * while the entries are `*-main`. Drop these once the stack names the entries themselves.
 */
export const ENTRY_ALIASES: Readonly<Record<string, string>> = {
  'migrate.js': 'migrate-main.js',
  'maintenance.js': 'maintenance-main.js',
};

export interface BundledEntry {
  /** `api-main`, `migrate-main`, ... */
  readonly name: string;
  /** Path of the bundle, `app/dist/<name>.js`. */
  readonly file: string;
  readonly bytes: number;
  /** Modules the bundle requires at run time besides Node's built-ins (all in EXTERNAL_MODULES). */
  readonly externals: readonly string[];
}

export interface BuildResult {
  readonly outDir: string;
  readonly entries: readonly BundledEntry[];
  /** File names of the migrations copied to `<outDir>/migrations/`. */
  readonly migrations: readonly string[];
  /** `alias -> target` of each ENTRY_ALIASES link written. */
  readonly aliases: readonly string[];
  /** esbuild's warnings, formatted (a warning does not fail the build, but is printed). */
  readonly warnings: readonly string[];
  readonly elapsedMs: number;
}

export interface BuildOptions {
  /** @default DIST_DIR */
  readonly outDir?: string;
  /** @default SOURCE_DIR */
  readonly sourceDir?: string;
}

/** Every `*-main.ts` of the source folder, sorted. */
export function discoverEntries(sourceDir: string = SOURCE_DIR): string[] {
  return fs
    .readdirSync(sourceDir)
    .filter((file) => file.endsWith(ENTRY_SUFFIX))
    .sort()
    .map((file) => path.join(sourceDir, file));
}

/** Thrown with esbuild's formatted messages (file, line, column and the problem). */
export class BuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuildError';
  }
}

const BUILTIN_MODULES = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

/**
 * Bundles the entries into `outDir`; resolves with esbuild's warnings, formatted, and the external
 * modules each bundle requires at run time (by output file name). esbuild leaves a `require` it
 * cannot resolve inside a try/catch in the bundle as an external: such a module must be declared
 * in EXTERNAL_MODULES, or the build fails, so nothing the image lacks is required unnoticed.
 */
async function bundle(entryPoints: string[], outDir: string): Promise<{ warnings: string[]; externals: Map<string, string[]> }> {
  let result: esbuild.BuildResult<{ metafile: true }>;
  try {
    result = await esbuild.build({
      entryPoints,
      outdir: outDir,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      sourcemap: 'linked',
      minify: false,
      keepNames: true,
      external: Object.keys(EXTERNAL_MODULES),
      logLevel: 'silent',
      logOverride: { 'empty-import-meta': 'silent' },
      metafile: true,
    });
  } catch (error) {
    const failure = error as esbuild.BuildFailure;
    if (Array.isArray(failure.errors) && failure.errors.length > 0) {
      const formatted = await esbuild.formatMessages(failure.errors, { kind: 'error', color: false });
      throw new BuildError(`esbuild failed with ${failure.errors.length} error(s):\n${formatted.join('')}`);
    }
    throw error;
  }
  const externals = new Map<string, string[]>();
  const undeclared: string[] = [];
  for (const [output, meta] of Object.entries(result.metafile.outputs)) {
    if (!output.endsWith('.js')) continue;
    const names = [...new Set(meta.imports.filter((i) => i.external && !BUILTIN_MODULES.has(i.path)).map((i) => i.path))].sort();
    externals.set(path.basename(output), names);
    for (const name of names) {
      if (!Object.hasOwn(EXTERNAL_MODULES, name)) undeclared.push(`${path.basename(output)} requires "${name}"`);
    }
  }
  if (undeclared.length > 0) {
    throw new BuildError(
      `modules left out of the bundles (esbuild could not resolve them; a require inside try/catch?): ${undeclared.join(', ')}. ` +
        'Install them so they bundle, or declare them in EXTERNAL_MODULES (app/build.ts) with the reason they may be missing at run time.',
    );
  }
  return { warnings: await esbuild.formatMessages(result.warnings, { kind: 'warning', color: false }), externals };
}

/**
 * Replaces `target` by `staged` with two renames, so a reader finds the old folder or the new one
 * (or, for the instant between the renames, none), never a mix. Two builds racing (two jest runs)
 * retry: the last one to rename wins.
 */
function swapIn(staged: string, target: string): void {
  const retiredPrefix = path.join(path.dirname(target), `.${path.basename(target)}-old-${process.pid}-${randomBytes(4).toString('hex')}`);
  const retired: string[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      retired.push(`${retiredPrefix}-${attempt}`);
      fs.renameSync(target, retired[retired.length - 1]!);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    try {
      fs.renameSync(staged, target);
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (attempt >= 5 || (code !== 'ENOTEMPTY' && code !== 'EEXIST')) throw error;
    }
  }
  for (const folder of retired) fs.rmSync(folder, { recursive: true, force: true });
}

/** Builds every entry into `outDir` (atomically, see the file comment) and reports what it wrote. */
export async function buildApp(options: BuildOptions = {}): Promise<BuildResult> {
  const started = process.hrtime.bigint();
  const outDir = options.outDir ?? DIST_DIR;
  const sourceDir = options.sourceDir ?? SOURCE_DIR;
  const entryPoints = discoverEntries(sourceDir);
  if (entryPoints.length === 0) throw new BuildError(`no entries (*${ENTRY_SUFFIX}) in ${sourceDir}`);

  // A sibling of the target, so the final rename stays on one filesystem.
  const staged = path.join(path.dirname(outDir), `.${path.basename(outDir)}-build-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const { warnings, externals } = await bundle(entryPoints, staged);
    const migrationsDir = path.join(sourceDir, 'db', 'migrations');
    fs.cpSync(migrationsDir, path.join(staged, 'migrations'), { recursive: true, filter: (src) => fs.statSync(src).isDirectory() || src.endsWith('.sql') });
    const migrations = fs.readdirSync(path.join(staged, 'migrations')).sort();
    if (migrations.length === 0) throw new BuildError(`no .sql migrations in ${migrationsDir}`);
    const aliases: string[] = [];
    for (const [alias, target] of Object.entries(ENTRY_ALIASES)) {
      if (!fs.existsSync(path.join(staged, target))) continue;
      fs.symlinkSync(target, path.join(staged, alias));
      aliases.push(`${alias} -> ${target}`);
    }
    const entries = entryPoints.map((entry) => {
      const name = path.basename(entry, '.ts');
      const file = path.join(outDir, `${name}.js`);
      return { name, file, bytes: fs.statSync(path.join(staged, `${name}.js`)).size, externals: externals.get(`${name}.js`) ?? [] };
    });
    swapIn(staged, outDir);
    return { outDir, entries, migrations, aliases, warnings, elapsedMs: Number(process.hrtime.bigint() - started) / 1e6 };
  } finally {
    fs.rmSync(staged, { recursive: true, force: true });
  }
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

/** The summary `npm run build:app` prints. */
export function describeBuild(result: BuildResult): string {
  const root = path.dirname(APP_ROOT);
  const width = Math.max(...result.entries.map((e) => path.relative(root, e.file).length));
  const lines = result.entries.map((e) => `  ${path.relative(root, e.file).padEnd(width)}  ${formatBytes(e.bytes).padStart(10)}`);
  return [
    `bundled ${result.entries.length} entries into ${path.relative(root, result.outDir)}/ in ${(result.elapsedMs / 1000).toFixed(2)} s`,
    ...lines,
    `  + ${result.migrations.length} migrations in ${path.relative(root, path.join(result.outDir, 'migrations'))}/`,
    ...(result.aliases.length > 0 ? [`  + links for the app stack's commands: ${result.aliases.join(', ')}`] : []),
    ...result.warnings.map((w) => `warning: ${w.trimEnd()}`),
  ].join('\n');
}

if (require.main === module) {
  buildApp().then(
    (result) => process.stdout.write(`${describeBuild(result)}\n`),
    (error: Error) => {
      process.stderr.write(`build:app failed: ${error.message}\n`);
      process.exitCode = 1;
    },
  );
}
