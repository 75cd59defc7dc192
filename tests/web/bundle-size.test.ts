/**
 * The guest route's initial JavaScript on the real build (jest's global setup builds app/web/dist):
 * at most 100 KB gzip, without the kitchen route's chunk (app/web/bundle-budget.ts).
 */
import { WEB_DIST_DIR } from '../../app/web/build';
import {
  budgetViolations,
  ENTRY_SOURCE,
  GUEST_INITIAL_JS_BUDGET_BYTES,
  GUEST_ROUTE_SOURCE,
  guestInitialScripts,
  KITCHEN_ROUTE_SOURCE,
  measureScripts,
  readBuildManifest,
  type BuildManifest,
} from '../../app/web/bundle-budget';

const manifest = readBuildManifest(WEB_DIST_DIR);
const scripts = guestInitialScripts(manifest);
const measured = measureScripts(WEB_DIST_DIR, scripts);
const totalGzip = measured.reduce((sum, s) => sum + s.gzipBytes, 0);

describe('the guest route of the build', () => {
  test('loads the entry, its route chunk and what they import statically; not the kitchen route', () => {
    expect(scripts[0]).toBe(manifest[ENTRY_SOURCE]!.file);
    expect(scripts).toContain(manifest[GUEST_ROUTE_SOURCE]!.file);
    expect(scripts).not.toContain(manifest[KITCHEN_ROUTE_SOURCE]!.file);
    expect(manifest[ENTRY_SOURCE]!.dynamicImports).toEqual(expect.arrayContaining([GUEST_ROUTE_SOURCE, KITCHEN_ROUTE_SOURCE]));
  });

  test(`initial JavaScript is at most ${GUEST_INITIAL_JS_BUDGET_BYTES / 1024} KB gzip`, () => {
    process.stdout.write(`guest route initial JavaScript: ${totalGzip} bytes gzip (${measured.map((s) => `${s.file} ${s.gzipBytes}`).join(', ')})\n`);
    expect(totalGzip).toBeGreaterThan(0);
    expect(totalGzip).toBeLessThanOrEqual(GUEST_INITIAL_JS_BUDGET_BYTES);
    expect(budgetViolations(manifest, measured)).toEqual([]);
  });
});

describe('the budget check', () => {
  test('fails when the scripts are over the budget', () => {
    expect(budgetViolations(manifest, measured, totalGzip - 1)).toEqual([expect.stringMatching(new RegExp(`^guest route initial JavaScript is ${totalGzip} bytes gzip, over the budget of ${totalGzip - 1} `))]);
  });

  test('fails when the guest route imports the kitchen route statically', () => {
    const entangled: BuildManifest = {
      ...manifest,
      [GUEST_ROUTE_SOURCE]: { ...manifest[GUEST_ROUTE_SOURCE]!, imports: [...(manifest[GUEST_ROUTE_SOURCE]!.imports ?? []), KITCHEN_ROUTE_SOURCE] },
    };
    const withKitchen = measureScripts(WEB_DIST_DIR, guestInitialScripts(entangled));
    expect(budgetViolations(entangled, withKitchen)).toEqual([`guest route loads the kitchen route's chunk ${manifest[KITCHEN_ROUTE_SOURCE]!.file}: import the kitchen page only lazily`]);
  });
});
