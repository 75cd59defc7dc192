/**
 * The esbuild bundles (app/build.ts) that the image runs and the process tests start: one per
 * entry, self-contained (plain node, no node_modules, no TypeScript), with the migrations beside
 * them; and a build that fails leaves the previous dist untouched.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BuildError, buildApp, discoverEntries, ENTRY_ALIASES, EXTERNAL_MODULES, RUNTIME_NODE_MODULES } from '../../app/build';
import { APP_DIST_DIR, appEntryCommand } from '../../tools/services/app-process';

const REPO = path.resolve(__dirname, '../..');
const MIGRATIONS_SOURCE = path.join(REPO, 'app/src/db/migrations');
const REPO_NODE_MODULES = path.join(REPO, 'node_modules');
const entries = discoverEntries().map((file) => path.basename(file, '.ts'));

let scratch: string;
beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bundle-test-'));
});
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** Every module name a bundle passes to a literal `require("...")` (strings included: an over-approximation). */
function requiredModules(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...new Set([...text.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]!))].sort();
}

test('discovers the entries that exist, at least api, migrate and maintenance', () => {
  expect(entries).toEqual(expect.arrayContaining(['api-main', 'migrate-main', 'maintenance-main']));
  for (const entry of entries) expect(fs.existsSync(path.join(REPO, 'app/src', `${entry}.ts`))).toBe(true);
});

test.each(entries)('dist has %s.js with its linked source map', (entry) => {
  const bundle = path.join(APP_DIST_DIR, `${entry}.js`);
  expect(fs.statSync(bundle).size).toBeGreaterThan(0);
  expect(fs.readFileSync(bundle, 'utf8')).toContain(`//# sourceMappingURL=${entry}.js.map`);
  const map = JSON.parse(fs.readFileSync(`${bundle}.map`, 'utf8')) as { sources: string[] };
  expect(map.sources).toContain(`../src/${entry}.ts`);
});

test('the bundles of the real sources require only Node built-ins and the declared externals at run time', async () => {
  const result = await buildApp({ outDir: path.join(scratch, 'real', 'dist') });
  expect(result.entries.map((e) => e.name)).toEqual(entries);
  for (const entry of result.entries) {
    expect(entry.externals.filter((name) => !Object.hasOwn(EXTERNAL_MODULES, name))).toEqual([]);
  }
});

test.each(entries)('%s.js loads no TypeScript and nothing from app/src', (entry) => {
  const required = requiredModules(path.join(APP_DIST_DIR, `${entry}.js`));
  expect(required.length).toBeGreaterThan(0);
  expect(required.filter((name) => /\.tsx?$/.test(name) || name.includes('app/src') || name.includes('node_modules'))).toEqual([]);
});

test('the migrations ship next to the bundles, byte for byte', () => {
  const sources = fs.readdirSync(MIGRATIONS_SOURCE).filter((f) => f.endsWith('.sql')).sort();
  expect(sources.length).toBeGreaterThan(0);
  expect(fs.readdirSync(path.join(APP_DIST_DIR, 'migrations')).sort()).toEqual(sources);
  for (const file of sources) {
    expect(fs.readFileSync(path.join(APP_DIST_DIR, 'migrations', file), 'utf8')).toBe(fs.readFileSync(path.join(MIGRATIONS_SOURCE, file), 'utf8'));
  }
});

test("the stack's command names resolve to the entries they stand for", () => {
  for (const [alias, target] of Object.entries(ENTRY_ALIASES)) {
    expect(fs.realpathSync(path.join(APP_DIST_DIR, alias))).toBe(fs.realpathSync(path.join(APP_DIST_DIR, target)));
  }
});

describe('a copy of the dist folder outside the repo, run with only node', () => {
  let copy: string;
  beforeAll(() => {
    // Outside the repo: no node_modules up the tree and no app/src, exactly what the image has.
    copy = path.join(scratch, 'image', 'dist');
    fs.cpSync(APP_DIST_DIR, copy, { recursive: true, verbatimSymlinks: true });
    // ...plus the native modules the image ships next to dist/ (RUNTIME_NODE_MODULES).
    for (const module of RUNTIME_NODE_MODULES) {
      fs.cpSync(path.join(REPO_NODE_MODULES, module), path.join(scratch, 'image', 'node_modules', module), { recursive: true });
    }
  });

  test('migrate-main.js with a bad environment exits 1 with the config error naming the variable', () => {
    const result = spawnSync(process.execPath, ['--enable-source-maps', path.join(copy, 'migrate-main.js'), 'up'], {
      cwd: path.dirname(copy),
      env: { PATH: process.env.PATH ?? '', SERVICE_ROLE: 'migrate', LOCATION_ID: 'Not A Location' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('migration failed: invalid environment');
    expect(result.stderr).toMatch(/LOCATION_ID [^;]*/);
    expect(result.stderr).toContain('DATABASE_PRIMARY_HOST');
    expect(result.stderr).not.toMatch(/Cannot find module|MODULE_NOT_FOUND/);
  });

  test('dist/migrate.js, as the Job starts it, is the same entry', () => {
    const result = spawnSync(process.execPath, ['dist/migrate.js', 'sideways'], { cwd: path.dirname(copy), env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8', timeout: 30_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('usage: migrate up');
  });

  test.each(entries.filter((e) => e !== 'migrate-main'))('%s.js loads without the repo and refuses an empty environment', (entry) => {
    const result = spawnSync(process.execPath, [path.join(copy, `${entry}.js`), ...(entry === 'maintenance-main' ? ['create-order-partitions'] : [])], {
      cwd: path.dirname(copy),
      env: { PATH: process.env.PATH ?? '' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr + result.stdout).toContain('invalid environment');
    expect(result.stderr + result.stdout).toContain('SERVICE_ROLE');
  });
});

describe('buildApp', () => {
  /** A source tree with one entry and one migration; `entry` is its code. */
  function sourceTree(name: string, entry: string): string {
    const dir = path.join(scratch, name, 'src');
    fs.mkdirSync(path.join(dir, 'db', 'migrations'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'db', 'migrations', '20260101000000000_first.sql'), '-- Up Migration\nSELECT 1;\n');
    fs.writeFileSync(path.join(dir, 'ws-main.ts'), entry);
    fs.writeFileSync(path.join(dir, 'helper.ts'), 'export const answer: number = 42;\n');
    return dir;
  }

  test('bundles a new *-main.ts without being told about it', async () => {
    const sourceDir = sourceTree('new-entry', "import { answer } from './helper';\nprocess.stdout.write(String(answer));\n");
    const outDir = path.join(scratch, 'new-entry', 'dist');
    const result = await buildApp({ sourceDir, outDir });
    expect(result.entries.map((e) => e.name)).toEqual(['ws-main']);
    expect(result.migrations).toEqual(['20260101000000000_first.sql']);
    expect(spawnSync(process.execPath, [path.join(outDir, 'ws-main.js')], { encoding: 'utf8' }).stdout).toBe('42');
  });

  test('fails naming a module it would leave out of the bundle undeclared', async () => {
    const sourceDir = sourceTree('undeclared', "let x: unknown;\ntry { x = require('optional-speedup'); } catch { x = undefined; }\nconsole.log(x);\n");
    const outDir = path.join(scratch, 'undeclared', 'dist');
    await expect(buildApp({ sourceDir, outDir })).rejects.toThrow('ws-main.js requires "optional-speedup"');
    expect(fs.existsSync(outDir)).toBe(false);
  });

  test('fails with the esbuild error and leaves the previous dist as it was', async () => {
    const sourceDir = sourceTree('broken', "import { answer } from './helper';\nconst x = ;\n");
    const outDir = path.join(scratch, 'broken', 'dist');
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, 'previous.js'), 'previous build');

    const failure = buildApp({ sourceDir, outDir });
    await expect(failure).rejects.toThrow(BuildError);
    await expect(failure).rejects.toThrow(/ERROR\] Unexpected ";"\s+\S*broken\/src\/ws-main\.ts:2:10/);
    expect(fs.readdirSync(outDir)).toEqual(['previous.js']);
    // No staging folder is left beside it.
    expect(fs.readdirSync(path.dirname(outDir)).sort()).toEqual(['dist', 'src']);
  });
});

test('starting an entry whose bundle is missing says to run npm run build:app', () => {
  expect(() => appEntryCommand('ws-main', path.join(scratch, 'no-dist'))).toThrow(/no-dist\/ws-main\.js does not exist: run `npm run build:app`/);
});
