/**
 * The guest route's JavaScript budget, measured on the build as a phone downloads it: the scripts
 * the guest page needs before it can show the menu are the entry chunk, the guest route's chunk,
 * and every chunk either imports statically (Vite's `.vite/manifest.json` lists them; dynamic
 * imports, like the kitchen route, load only when used). Each is counted gzip-compressed, as the
 * CDN serves it. tests/web/bundle-size.test.ts holds the build to it in `npm test`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';

/** At most this much JavaScript, gzip, before the guest page works (the requirements' frontend budget). */
export const GUEST_INITIAL_JS_BUDGET_BYTES = 100 * 1024;

export const ENTRY_SOURCE = 'index.html';
export const GUEST_ROUTE_SOURCE = 'src/guest/GuestPage.tsx';
export const KITCHEN_ROUTE_SOURCE = 'src/kitchen/KitchenPage.tsx';

/** One chunk of Vite's build manifest (the fields read here). */
export interface ManifestChunk {
  readonly file: string;
  readonly imports?: readonly string[];
  readonly dynamicImports?: readonly string[];
}
export type BuildManifest = Readonly<Record<string, ManifestChunk>>;

export function readBuildManifest(distDir: string): BuildManifest {
  return JSON.parse(fs.readFileSync(path.join(distDir, '.vite', 'manifest.json'), 'utf8')) as BuildManifest;
}

/** The files of these chunks and of every chunk they import statically, each once, in load order. */
export function staticClosure(manifest: BuildManifest, roots: readonly string[]): string[] {
  const seen = new Set<string>();
  const files: string[] = [];
  const visit = (key: string) => {
    if (seen.has(key)) return;
    seen.add(key);
    const chunk = manifest[key];
    if (!chunk) throw new Error(`build manifest: no chunk "${key}"`);
    files.push(chunk.file);
    for (const imported of chunk.imports ?? []) visit(imported);
  };
  for (const root of roots) visit(root);
  return files;
}

/** The scripts a guest's phone loads before the guest page works. */
export function guestInitialScripts(manifest: BuildManifest): string[] {
  return staticClosure(manifest, [ENTRY_SOURCE, GUEST_ROUTE_SOURCE]).filter((file) => file.endsWith('.js'));
}

export interface MeasuredScript {
  readonly file: string;
  readonly bytes: number;
  readonly gzipBytes: number;
}

export function measureScripts(distDir: string, files: readonly string[]): MeasuredScript[] {
  return files.map((file) => {
    const body = fs.readFileSync(path.join(distDir, file));
    return { file, bytes: body.length, gzipBytes: gzipSync(body, { level: 9 }).length };
  });
}

/** What breaks the budget: empty when the guest route is within it and never loads the kitchen's chunk. */
export function budgetViolations(manifest: BuildManifest, measured: readonly MeasuredScript[], budgetBytes = GUEST_INITIAL_JS_BUDGET_BYTES): string[] {
  const violations: string[] = [];
  const total = measured.reduce((sum, script) => sum + script.gzipBytes, 0);
  if (total > budgetBytes) {
    violations.push(`guest route initial JavaScript is ${total} bytes gzip, over the budget of ${budgetBytes} (${measured.map((s) => `${s.file} ${s.gzipBytes}`).join(', ')})`);
  }
  const kitchen = manifest[KITCHEN_ROUTE_SOURCE]?.file;
  if (kitchen !== undefined && measured.some((script) => script.file === kitchen)) {
    violations.push(`guest route loads the kitchen route's chunk ${kitchen}: import the kitchen page only lazily`);
  }
  return violations;
}
