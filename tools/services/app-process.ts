/**
 * How the tests and the tools start an app process entry (api-main, ws-main, migrate-main,
 * maintenance-main).
 * Everything that runs an entry as a process goes through `appEntryCommand`: it starts the esbuild
 * bundle (`app/dist/<entry>.js`) with plain node, as the image does, so the tests cover what ships.
 * jest's global setup (tests/support/global-setup.ts) builds the bundles once per run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export type AppEntry = 'api-main' | 'ws-main' | 'migrate-main' | 'maintenance-main';

const REPO = path.resolve(__dirname, '../..');
export const APP_DIST_DIR = path.join(REPO, 'app/dist');

export function appBundlePath(entry: AppEntry, distDir: string = APP_DIST_DIR): string {
  return path.join(distDir, `${entry}.js`);
}

/**
 * The executable and arguments that start `entry`; spawn them with `cwd` anywhere.
 * Throws, saying how to build it, when the bundle is missing (a test run outside jest's global setup).
 */
export function appEntryCommand(entry: AppEntry, distDir: string = APP_DIST_DIR): { command: string; args: string[] } {
  const bundle = appBundlePath(entry, distDir);
  if (!fs.existsSync(bundle)) {
    throw new Error(`${bundle} does not exist: run \`npm run build:app\` (jest builds it in its global setup; is app/src/${entry}.ts there?)`);
  }
  return { command: process.execPath, args: ['--enable-source-maps', bundle] };
}
