/**
 * How tests start an app process entry (api-main, ws-main, migrate-main, maintenance-main).
 * Every test that runs an entry as a process goes through `appEntryCommand`, so switching what is
 * started (sources through tsx today, the esbuild bundle once it exists) happens in one place.
 */
import * as path from 'node:path';

export type AppEntry = 'api-main' | 'ws-main' | 'migrate-main' | 'maintenance-main';

const REPO = path.resolve(__dirname, '../../..');

/** The executable and arguments that start `entry`; spawn them with `cwd` anywhere. */
export function appEntryCommand(entry: AppEntry): { command: string; args: string[] } {
  return { command: process.execPath, args: [path.join(REPO, 'node_modules/tsx/dist/cli.mjs'), path.join(REPO, 'app/src', `${entry}.ts`)] };
}
