/**
 * Runs Lighthouse (npm `lighthouse` 12.2.3: newer releases need Node 22) against a page with
 * Debian's chromium, as its own process (Lighthouse is ESM and drives the browser through
 * chrome-launcher, which reads CHROME_PATH), and reads the figures `npm run bench:web` reports
 * from its JSON. The mobile preset is Lighthouse's default: a mid-range phone with simulated slow
 * 4G (150 ms RTT, 1.6 Mbit/s) and 4x CPU slowdown, so the figures mean the same on any machine
 * up to the host's own speed (its `benchmarkIndex` is reported beside them).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CHROMIUM_FLAGS, findChromium } from '../browser/chromium';

const LIGHTHOUSE_CLI = path.resolve(__dirname, '../../node_modules/lighthouse/cli/index.js');

export interface LighthouseFigures {
  /** 0..100 */
  readonly performanceScore: number;
  readonly lcpMs: number;
  readonly tbtMs: number;
  readonly cls: number;
  readonly fcpMs: number;
  /** Bytes on the wire of every script the page loaded. */
  readonly totalScriptBytes: number;
  /** Bytes on the wire of the scripts requested before the page's first contentful paint. */
  readonly initialScriptBytes: number;
  readonly benchmarkIndex: number;
  readonly reportJson: string;
  readonly reportHtml: string;
}

interface NetworkRequest {
  readonly url: string;
  readonly resourceType?: string;
  readonly transferSize?: number;
  readonly networkRequestTime?: number;
}

interface LighthouseResult {
  readonly runtimeError?: { code: string; message: string };
  readonly categories: { performance: { score: number | null } };
  readonly audits: Record<string, { numericValue?: number; details?: { items?: NetworkRequest[] } }>;
  readonly environment: { benchmarkIndex: number };
}

function audit(result: LighthouseResult, id: string): number {
  const value = result.audits[id]?.numericValue;
  if (value === undefined) throw new Error(`lighthouse report has no figure for ${id}`);
  return value;
}

/** One Lighthouse run; the JSON and HTML reports are written as `<outputBase>.report.{json,html}`. */
export function runLighthouse(url: string, outputBase: string): LighthouseFigures {
  const chromium = findChromium();
  fs.mkdirSync(path.dirname(outputBase), { recursive: true });
  const run = spawnSync(
    process.execPath,
    [
      LIGHTHOUSE_CLI,
      url,
      `--chrome-flags=${CHROMIUM_FLAGS.join(' ')}`,
      '--only-categories=performance',
      '--output=json',
      '--output=html',
      `--output-path=${outputBase}`,
      '--quiet',
    ],
    { encoding: 'utf8', env: { ...process.env, CHROME_PATH: chromium }, timeout: 180_000 },
  );
  const reportJson = `${outputBase}.report.json`;
  if (run.status !== 0 || !fs.existsSync(reportJson)) {
    throw new Error(`lighthouse failed on ${url} (exit ${run.status ?? run.signal}): ${(run.stderr || run.stdout || run.error?.message || '').trim().slice(-2000)}`);
  }
  const result = JSON.parse(fs.readFileSync(reportJson, 'utf8')) as LighthouseResult;
  if (result.runtimeError) throw new Error(`lighthouse on ${url}: ${result.runtimeError.code}: ${result.runtimeError.message}`);
  const fcpMs = audit(result, 'first-contentful-paint');
  const requests = result.audits['network-requests']?.details?.items ?? [];
  const scripts = requests.filter((r) => r.resourceType === 'Script');
  // Observed (unthrottled) request times, in ms from navigation start: scripts asked for before
  // the observed first paint are what the page needed to show anything.
  const observed = result.audits.metrics?.details?.items?.[0] as { observedFirstContentfulPaint?: number } | undefined;
  const observedFcp = observed?.observedFirstContentfulPaint;
  const initial = scripts.filter((r) => observedFcp === undefined || (r.networkRequestTime ?? 0) <= observedFcp);
  const bytes = (list: readonly NetworkRequest[]) => list.reduce((sum, r) => sum + (r.transferSize ?? 0), 0);
  return {
    performanceScore: Math.round((result.categories.performance.score ?? 0) * 100),
    lcpMs: audit(result, 'largest-contentful-paint'),
    tbtMs: audit(result, 'total-blocking-time'),
    cls: audit(result, 'cumulative-layout-shift'),
    fcpMs,
    totalScriptBytes: bytes(scripts),
    initialScriptBytes: bytes(initial),
    benchmarkIndex: result.environment.benchmarkIndex,
    reportJson,
    reportHtml: `${outputBase}.report.html`,
  };
}
