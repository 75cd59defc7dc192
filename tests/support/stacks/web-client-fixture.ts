/**
 * A small web client build of fixed content for stack tests: snapshots and plans stay the same
 * while the real client (app/web) changes. It has what a build has: the shell, hashed chunks, a
 * service worker, a manifest, build metadata in a dot-folder and a local `config.json` (the last
 * two are never published).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadWebClientBuild, type WebClientBuild } from '../../../stacks/infra/config/web-client-build';

export const FIXTURE_WEB_FILES: Readonly<Record<string, string>> = {
  'index.html': '<!doctype html>\n<html lang="en"><head><script type="module" crossorigin src="/assets/index-Fx7aB2cD.js"></script></head><body><div id="root"></div></body></html>\n',
  'assets/index-Fx7aB2cD.js': 'import("./GuestPage-Qw3rTy12.js");\n',
  'assets/GuestPage-Qw3rTy12.js': 'export default function GuestPage() { return null; }\n',
  'assets/index-Zx9cV8bN.css': 'body { margin: 0; }\n',
  'sw.js': 'self.addEventListener("install", () => self.skipWaiting());\n',
  'manifest.webmanifest': '{"name":"Order","start_url":"/"}\n',
  '.vite/manifest.json': '{}\n',
  'config.json': '{"apiBaseUrl":"http://127.0.0.1:8080","websocketUrl":"ws://127.0.0.1:8080/ws"}\n',
};

/** Writes `files` (path -> content) into `dir` and returns `dir`. */
export function writeWebClientFiles(dir: string, files: Readonly<Record<string, string>>): string {
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

/** A fresh folder under the temp dir holding `files`. */
export function webClientFixtureDir(files: Readonly<Record<string, string>> = FIXTURE_WEB_FILES): string {
  return writeWebClientFiles(fs.mkdtempSync(path.join(os.tmpdir(), 'web-client-fixture-')), files);
}

/** The fixture build, loaded as synth loads a build. */
export function webClientFixture(files: Readonly<Record<string, string>> = FIXTURE_WEB_FILES): WebClientBuild {
  return loadWebClientBuild(webClientFixtureDir(files));
}
