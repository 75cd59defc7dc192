/**
 * `npm run bench:web`: Lighthouse (mobile preset, performance only) against the guest page of the
 * local platform (tools/local/platform.ts: the build from app/web/dist served through nginx the way
 * CloudFront serves it, the api and ws bundles behind it), with Debian's chromium.
 *
 * Before measuring, every menu item of the restaurant gets a photo through the api (the variants
 * the api makes: AVIF, WebP and JPEG at 320, 640 and 960 px), so the page measured is the menu a
 * guest sees, photos and all, not a text list. Each run starts a fresh browser profile: no HTTP
 * cache and no service worker, the first visit from a table's QR code.
 *
 * Three runs; each figure is the median of its three values. Reports go to
 * bench-results/web/run-<n>.report.{json,html}, the figures to bench-results/web/summary.json.
 * Goals (printed, never asserted): performance score >= 95, LCP < 2.0 s, CLS < 0.05.
 * Settings: BENCH_WEB_RUNS (3).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { renderTable } from '../../stacks/cli/table';
import { guestPageUrl } from '../local/local-web';
import { startLocalPlatform } from '../local/platform';
import { runLighthouse, type LighthouseFigures } from './lighthouse-runner';

const REPO = path.resolve(__dirname, '../..');
const OUT_DIR = path.join(REPO, 'bench-results', 'web');
const RUNS = Number(process.env.BENCH_WEB_RUNS ?? 3);
const GOALS = { performanceScore: 95, lcpMs: 2000, cls: 0.05 };

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** A photo-like JPEG: a gradient with noise, so the encoders work as hard as on a real dish. */
async function photo(index: number): Promise<Buffer> {
  const width = 1200;
  const height = 800;
  const base = sharp({ create: { width, height, channels: 3 as const, background: '#000', noise: { type: 'gaussian', mean: 110 + (index % 5) * 20, sigma: 40 } } });
  return base.blur(2).jpeg({ quality: 85 }).toBuffer();
}

async function main(): Promise<void> {
  if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`BENCH_WEB_RUNS must be a positive integer, got ${process.env.BENCH_WEB_RUNS}`);
  const platform = await startLocalPlatform({ apiProcesses: 1, wsProcesses: 1, logLevel: 'warn', log: (line) => console.log(line) });
  try {
    const restaurant = platform.restaurants[0]!;
    const staff = await platform.identity.token({ role: 'staff', restaurant_id: restaurant.id });
    console.log(`uploading a photo for each of the ${restaurant.menuItemIds.length} menu items...`);
    for (const [index, itemId] of restaurant.menuItemIds.entries()) {
      const response = await fetch(`${platform.baseUrl}/v1/restaurants/${restaurant.id}/menu-items/${itemId}/image`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${staff}`, 'Content-Type': 'image/jpeg' },
        body: await photo(index),
      });
      if (!response.ok) throw new Error(`photo upload for menu item ${itemId}: HTTP ${response.status} ${await response.text()}`);
    }
    const token = await platform.identity.token({ role: 'guest', restaurant_id: restaurant.id, table_id: restaurant.tableIds[0]! });
    const url = guestPageUrl(platform.baseUrl, restaurant.id, restaurant.tableIds[0]!, token);
    fs.rmSync(OUT_DIR, { recursive: true, force: true });
    const runs: LighthouseFigures[] = [];
    for (let run = 1; run <= RUNS; run += 1) {
      console.log(`lighthouse run ${run} of ${RUNS}...`);
      runs.push(runLighthouse(url, path.join(OUT_DIR, `run-${run}`)));
    }
    const figures = {
      performanceScore: median(runs.map((r) => r.performanceScore)),
      lcpMs: median(runs.map((r) => r.lcpMs)),
      tbtMs: median(runs.map((r) => r.tbtMs)),
      cls: median(runs.map((r) => r.cls)),
      fcpMs: median(runs.map((r) => r.fcpMs)),
      totalScriptBytes: median(runs.map((r) => r.totalScriptBytes)),
      initialScriptBytes: median(runs.map((r) => r.initialScriptBytes)),
      benchmarkIndex: median(runs.map((r) => r.benchmarkIndex)),
    };
    const verdict = (met: boolean) => (met ? 'MET' : 'MISSED');
    const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
    console.log(
      `\n${renderTable(
        ['figure', ...runs.map((_r, i) => `run ${i + 1}`), 'median', 'goal', ''],
        [
          ['performance score', ...runs.map((r) => String(r.performanceScore)), String(figures.performanceScore), `>= ${GOALS.performanceScore}`, verdict(figures.performanceScore >= GOALS.performanceScore)],
          ['LCP ms', ...runs.map((r) => r.lcpMs.toFixed(0)), figures.lcpMs.toFixed(0), `< ${GOALS.lcpMs}`, verdict(figures.lcpMs < GOALS.lcpMs)],
          ['TBT ms', ...runs.map((r) => r.tbtMs.toFixed(0)), figures.tbtMs.toFixed(0), '', ''],
          ['CLS', ...runs.map((r) => r.cls.toFixed(3)), figures.cls.toFixed(3), `< ${GOALS.cls}`, verdict(figures.cls < GOALS.cls)],
          ['FCP ms', ...runs.map((r) => r.fcpMs.toFixed(0)), figures.fcpMs.toFixed(0), '', ''],
          ['JS total (wire)', ...runs.map((r) => kb(r.totalScriptBytes)), kb(figures.totalScriptBytes), '', ''],
          ['JS before first paint (wire)', ...runs.map((r) => kb(r.initialScriptBytes)), kb(figures.initialScriptBytes), '', ''],
        ],
      )}`,
    );
    console.log(`\nLighthouse 12.2.3, mobile preset (simulated slow 4G, 4x CPU slowdown); host benchmarkIndex ${figures.benchmarkIndex}`);
    console.log(`reports: ${path.relative(REPO, OUT_DIR)}/run-<n>.report.html`);
    fs.writeFileSync(path.join(OUT_DIR, 'summary.json'), `${JSON.stringify({ url: url.replace(/#.*$/, '#token=<redacted>'), goals: GOALS, median: figures, runs: runs.map(({ reportJson: _j, reportHtml: _h, ...r }) => r) }, null, 2)}\n`);
  } finally {
    await platform.stop();
  }
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exitCode = 1;
});
