/**
 * jest globalSetup: bundles the app entries once per run (app/build.ts, in-process, about a
 * second), so every test that starts an entry as a process runs the bundle that ships in the image.
 * The web client is built too, when its sources changed (app/web/build.ts).
 * A failed build stops the run with esbuild's messages instead of a hundred confusing test failures.
 */
import { buildApp, describeBuild } from '../../app/build';
import { ensureWebBuild } from '../../app/web/build';

export default async function globalSetup(): Promise<void> {
  try {
    const result = await buildApp();
    if (result.warnings.length > 0) process.stderr.write(`\n${describeBuild(result)}\n`);
  } catch (error) {
    throw new Error(`jest global setup: \`npm run build:app\` failed, no test ran.\n${(error as Error).message}`);
  }
  // The web client (app/web): the stacks publish its files and the browser tests load them.
  try {
    await ensureWebBuild();
  } catch (error) {
    throw new Error(`jest global setup: \`npm run build:web\` failed, no test ran.\n${(error as Error).message}`);
  }
}
