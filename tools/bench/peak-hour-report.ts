/**
 * The peak-hour bench as a page: bench-results/peak-hour.html, self-contained, with hand-written
 * inline SVG (latency histograms, throughput over time, websocket delivery latency) and the
 * capacity charts of `npm run capacity` (bench-results/capacity/*.svg) when they exist.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HISTOGRAM_BOUNDS_MS, type LatencySummary } from '../load/stats';

export interface OperationResult {
  readonly name: string;
  readonly latency: LatencySummary;
  readonly okPerSecond: number;
  readonly attempts: number;
  readonly errors: number;
  readonly errorRate: number;
  readonly statusCounts: Record<string, number>;
  readonly histogram: number[];
  readonly perSecond: number[];
}

export interface RegressionLine {
  readonly metric: string;
  readonly baseline: number;
  readonly current: number;
  readonly limit: string;
  readonly regressed: boolean;
}

export interface PeakHourResult {
  readonly date: string;
  readonly host: Record<string, unknown>;
  readonly settings: Record<string, number>;
  readonly calibration: { readonly probe: LatencySummary; readonly probesPerSecond: number; readonly cpuLoopStartMs: number; readonly cpuLoopEndMs: number; readonly what: string };
  readonly operations: OperationResult[];
  readonly websocket: { readonly clients: number; readonly latency: LatencySummary; readonly histogram: number[]; readonly perSecond: number[]; readonly missing: number; readonly disorderedClients: number; readonly reconnects: number };
  readonly cache: { readonly hits: number; readonly misses: number; readonly hitRatio: number };
  readonly replica: { readonly readsOnReplica: number; readonly readsOnPrimary: number; readonly share: number };
  readonly orders: { readonly acknowledged: number; readonly inDatabase: number; readonly lost: number; readonly duplicates: number; readonly exact: boolean; readonly eventsMissingFromStreams: number };
  readonly ratios: Record<string, number>;
  readonly regression: { readonly baselineFile: string; readonly baselineDate?: string; readonly tolerance: number; readonly lines: RegressionLine[]; readonly regressed: string[] };
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '-');

/** Bars over log-spaced buckets; the p50/p95/p99 marked. */
export function histogramSvg(title: string, counts: readonly number[], summary: LatencySummary, color: string): string {
  const w = 520;
  const h = 200;
  const left = 40;
  const bottom = 30;
  const top = 24;
  const max = Math.max(1, ...counts);
  const n = counts.length;
  const bw = (w - left - 10) / n;
  const bars = counts
    .map((c, i) => {
      const bh = ((h - top - bottom) * c) / max;
      return `<rect x="${(left + i * bw).toFixed(1)}" y="${(h - bottom - bh).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${bh.toFixed(1)}" fill="${color}"><title>${i === 0 ? '<=' : '>'} ${HISTOGRAM_BOUNDS_MS[i === 0 ? 0 : i - 1]} ms: ${c}</title></rect>`;
    })
    .join('');
  const xFor = (ms: number) => {
    let i = 0;
    while (i < HISTOGRAM_BOUNDS_MS.length && ms > HISTOGRAM_BOUNDS_MS[i]!) i++;
    return left + (i + 0.5) * bw;
  };
  const marks = (['p50Ms', 'p95Ms', 'p99Ms'] as const)
    .filter((k) => Number.isFinite(summary[k]))
    .map((k, j) => `<line x1="${xFor(summary[k]).toFixed(1)}" x2="${xFor(summary[k]).toFixed(1)}" y1="${top}" y2="${h - bottom}" stroke="#333" stroke-dasharray="3,3"/><text x="${(xFor(summary[k]) + 3).toFixed(1)}" y="${top + 10 + j * 12}" font-size="10">${k.slice(0, 3)} ${fmt(summary[k])} ms</text>`)
    .join('');
  const ticks = [1, 4, 16, 64, 256, 1024, 4096]
    .map((ms) => `<text x="${xFor(ms).toFixed(1)}" y="${h - bottom + 14}" font-size="10" text-anchor="middle">${ms >= 1000 ? `${ms / 1000}s` : `${ms}ms`}</text>`)
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(title)}"><text x="${left}" y="14" font-size="12" font-weight="bold">${esc(title)}</text><text x="4" y="${top + 8}" font-size="10">${max}</text>${bars}${marks}<line x1="${left}" x2="${w - 10}" y1="${h - bottom}" y2="${h - bottom}" stroke="#999"/>${ticks}<text x="${w - 10}" y="${h - 2}" font-size="10" text-anchor="end">latency (log scale)</text></svg>`;
}

/** One line per series: completions per second over the run. */
export function throughputSvg(title: string, series: readonly { name: string; perSecond: readonly number[] }[]): string {
  const w = 1060;
  const h = 260;
  const left = 50;
  const bottom = 30;
  const top = 30;
  const seconds = Math.max(1, ...series.map((s) => s.perSecond.length));
  const max = Math.max(1, ...series.flatMap((s) => s.perSecond));
  const x = (i: number) => left + ((w - left - 150) * i) / Math.max(1, seconds - 1);
  const y = (v: number) => h - bottom - ((h - top - bottom) * v) / max;
  const lines = series
    .map((s, k) => `<polyline fill="none" stroke="${COLORS[k % COLORS.length]}" stroke-width="1.5" points="${s.perSecond.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/><text x="${w - 140}" y="${top + 14 * k}" font-size="11" fill="${COLORS[k % COLORS.length]}">${esc(s.name)}</text>`)
    .join('');
  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => `<line x1="${left}" x2="${w - 150}" y1="${y(max * f).toFixed(1)}" y2="${y(max * f).toFixed(1)}" stroke="#eee"/><text x="${left - 4}" y="${(y(max * f) + 3).toFixed(1)}" font-size="10" text-anchor="end">${fmt(max * f, 0)}</text>`).join('');
  const xticks = Array.from({ length: 7 }, (_, i) => Math.round(((seconds - 1) * i) / 6)).map((s) => `<text x="${x(s).toFixed(1)}" y="${h - bottom + 14}" font-size="10" text-anchor="middle">${s}s</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(title)}"><text x="${left}" y="16" font-size="12" font-weight="bold">${esc(title)}</text>${grid}${lines}${xticks}</svg>`;
}

function ratioBar(label: string, value: number, good: string): string {
  const pct = Number.isFinite(value) ? Math.max(0, Math.min(1, value)) * 100 : 0;
  return `<div class="bar"><span>${esc(label)}</span><svg width="300" height="18"><rect width="300" height="18" fill="#eee"/><rect width="${(3 * pct).toFixed(1)}" height="18" fill="${good}"/></svg><b>${fmt(pct)}%</b></div>`;
}

export function renderPeakHourHtml(result: PeakHourResult, capacityDir: string): string {
  const rows = result.operations
    .map((o) => `<tr><td>${esc(o.name)}</td><td>${fmt(o.okPerSecond)}</td><td>${fmt(o.latency.p50Ms)}</td><td>${fmt(o.latency.p95Ms)}</td><td>${fmt(o.latency.p99Ms)}</td><td>${fmt(o.latency.maxMs)}</td><td>${o.errors} / ${o.attempts}</td><td>${esc(JSON.stringify(o.statusCounts))}</td></tr>`)
    .join('');
  const regressed = result.regression.regressed;
  const verdict = regressed.length
    ? `<div class="verdict bad"><b>Regressed</b> against ${esc(result.regression.baselineFile)}:<ul>${regressed.map((r) => `<li>${esc(r)}</li>`).join('')}</ul></div>`
    : `<div class="verdict good"><b>No regression</b> against ${esc(result.regression.baselineFile)} (tolerance ${result.regression.tolerance}x on latency ratios).</div>`;
  const regressionRows = result.regression.lines
    .map((l) => `<tr class="${l.regressed ? 'bad' : ''}"><td>${esc(l.metric)}</td><td>${fmt(l.baseline, 3)}</td><td>${fmt(l.current, 3)}</td><td>${esc(l.limit)}</td><td>${l.regressed ? 'REGRESSED' : 'ok'}</td></tr>`)
    .join('');
  const histograms = result.operations.map((o, i) => histogramSvg(`${o.name}: latency`, o.histogram, o.latency, COLORS[i % COLORS.length]!)).join('');
  const capacity = fs.existsSync(capacityDir)
    ? fs
        .readdirSync(capacityDir)
        .filter((f) => f.endsWith('.svg'))
        .sort()
        .map((f) => `<figure><figcaption>${esc(f.replace(/\.svg$/, ''))}</figcaption>${fs.readFileSync(path.join(capacityDir, f), 'utf8').replace(/<\?xml[^>]*>\s*/, '')}</figure>`)
        .join('')
    : '';
  const ws = result.websocket;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Peak dining hour: ${esc(result.date)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:right}td:first-child,th:first-child{text-align:left}
.verdict{padding:10px 14px;border-radius:6px;margin:1em 0}.good{background:#e8f5e9}.bad{background:#ffebee}
.grid{display:flex;flex-wrap:wrap;gap:12px}.bar{display:flex;align-items:center;gap:10px;margin:6px 0}.bar span{width:260px}
.kpi{display:flex;gap:24px;flex-wrap:wrap}.kpi div{background:#f5f5f5;padding:10px 16px;border-radius:6px}.kpi b{display:block;font-size:1.6em}
figure{margin:0}figcaption{font-weight:bold}
</style></head><body>
<h1>Peak dining hour</h1>
<p>${esc(result.date)}. Through nginx to ${result.settings.apiProcesses} api and ${result.settings.wsProcesses} ws processes, PostgreSQL primary + streaming replica, Redis, all on one ${esc(String(result.host.cpus))}-core machine shared with the load generator. ${result.settings.restaurants} restaurants, target ${result.settings.ordersPerSecond} orders/s, ${result.settings.menuReadsPerSecond} menu reads/s, every order moved through 5 statuses, ${ws.clients} websocket clients; ${result.settings.durationSeconds} s measured after ${result.settings.warmupSeconds} s warm-up. Absolute figures depend on what else runs here; the regression check divides each latency percentile by the same percentile of an express hello-world probed ${result.calibration.probesPerSecond} times a second during the same window (p50 ${fmt(result.calibration.probe.p50Ms, 2)} ms, p95 ${fmt(result.calibration.probe.p95Ms, 2)} ms, p99 ${fmt(result.calibration.probe.p99Ms, 2)} ms; CPU loop ${fmt(result.calibration.cpuLoopStartMs, 1)} ms at start, ${fmt(result.calibration.cpuLoopEndMs, 1)} ms at the end).</p>
<div class="kpi">
<div>orders/s<b>${fmt(result.operations.find((o) => o.name === 'order create')?.okPerSecond ?? NaN)}</b></div>
<div>order p99<b>${fmt(result.operations.find((o) => o.name === 'order create')?.latency.p99Ms ?? NaN)} ms</b></div>
<div>websocket p99<b>${fmt(ws.latency.p99Ms)} ms</b></div>
<div>orders exact<b>${result.orders.exact ? 'yes' : 'NO'}</b></div>
<div>errors<b>${result.operations.reduce((s, o) => s + o.errors, 0)}</b></div>
</div>
${verdict}
<h2>Operations</h2>
<table><tr><th>operation</th><th>ok/s</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th><th>errors / attempts</th><th>status codes</th></tr>${rows}
<tr><td>websocket delivery (append to client)</td><td>${fmt(ws.perSecond.reduce((a, b) => a + b, 0) / Math.max(1, ws.perSecond.length))}</td><td>${fmt(ws.latency.p50Ms)}</td><td>${fmt(ws.latency.p95Ms)}</td><td>${fmt(ws.latency.p99Ms)}</td><td>${fmt(ws.latency.maxMs)}</td><td>${ws.missing} missing, ${ws.disorderedClients} disordered</td><td>${ws.reconnects} reconnects</td></tr></table>
${throughputSvg('Throughput over time (successful completions per second)', [...result.operations.map((o) => ({ name: o.name, perSecond: o.perSecond })), { name: 'ws events delivered', perSecond: ws.perSecond }])}
<h2>Latency</h2>
<div class="grid">${histograms}${histogramSvg('websocket delivery: stream append to client', ws.histogram, ws.latency, '#8c564b')}</div>
<h2>Cache and replicas</h2>
${ratioBar(`cache hit ratio (${result.cache.hits} hits, ${result.cache.misses} misses)`, result.cache.hitRatio, '#2ca02c')}
${ratioBar(`reads on the replica (${result.replica.readsOnReplica} of ${result.replica.readsOnReplica + result.replica.readsOnPrimary})`, result.replica.share, '#1f77b4')}
<p>Reads after a restaurant's write go to the primary until the replica has replayed it (read-your-writes per restaurant), so a busy kitchen's queue reads often land on the primary.</p>
<h2>Orders</h2>
<p>${result.orders.acknowledged} acknowledged, ${result.orders.inDatabase} in the database, ${result.orders.lost} lost, ${result.orders.duplicates} duplicates; ${result.orders.eventsMissingFromStreams} order events not in a stream.</p>
<h2>Regression check</h2>
<table><tr><th>metric</th><th>baseline</th><th>now</th><th>limit</th><th></th></tr>${regressionRows}</table>
${capacity ? `<h2>Capacity and autoscaling (npm run capacity)</h2><div class="grid">${capacity}</div>` : '<p>No capacity charts: run <code>npm run capacity</code> to add them.</p>'}
</body></html>
`;
}
