/**
 * The capacity report: one HTML page with the verdict table and each location's simulated peak
 * hour as an inline SVG, the SVGs on their own, and the figures as JSON (without the per-step
 * series, which the SVGs show).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CapacityVerdict } from './capacity-check';
import type { MeasuredCapacity } from './measured-capacity';
import { renderReplicasChart } from './replicas-chart';

function escapeHtml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

export function capacitySummary(results: readonly CapacityVerdict[], measured: MeasuredCapacity) {
  return {
    measured,
    locations: results.map(({ api: { simulation, ...api }, ...rest }) => ({
      ...rest,
      api: { ...api, simulation: { peakReplicas: simulation.peakReplicas, secondsAtMax: simulation.secondsAtMax, unservedOrders: simulation.unservedOrders } },
    })),
  };
}

/** Writes index.html, capacity.json and <location>.svg into `dir`; returns the written paths. */
export function writeCapacityReport(dir: string, results: readonly CapacityVerdict[], measured: MeasuredCapacity): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(`${file}.tmp`, text);
    fs.renameSync(`${file}.tmp`, file);
    written.push(file);
  };
  const rows = results
    .map(
      (r) => `<tr class="${r.verdict}"><td>${escapeHtml(r.location)}</td><td>${r.peakOrdersPerMinute}</td><td>${r.api.minReplicas}-${r.api.maxReplicas}</td>` +
        `<td>${Math.round(r.api.ordersPerMinutePerPodAtTarget)}</td><td>${r.api.headroom.toFixed(2)}x</td><td>${r.api.simulation.peakReplicas}</td>` +
        `<td>${Math.round(r.api.simulation.unservedOrders)}</td><td>${r.ws.headroom === Infinity ? 'n/a' : `${r.ws.headroom.toFixed(1)}x`}</td>` +
        `<td class="${r.ws.onePod.verdict}">${r.ws.onePod.connections} of ${r.ws.onePod.connectionsPerPod} (${r.ws.onePod.memoryLimitMiB} MiB): ${r.ws.onePod.verdict}</td>` +
        `<td><strong>${r.verdict}</strong>${r.reasons.map((reason) => `<br>${escapeHtml(reason)}`).join('')}</td></tr>`,
    )
    .join('\n');
  for (const r of results) write(`${r.location}.svg`, renderReplicasChart(r));
  write('capacity.json', `${JSON.stringify(capacitySummary(results, measured), null, 2)}\n`);
  write(
    'index.html',
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Capacity and autoscaling check</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}table{border-collapse:collapse}td,th{border:1px solid #d1d5db;padding:.3rem .6rem;text-align:left;vertical-align:top}
tr.ok td:last-child{background:#dcfce7}tr.tight td:last-child{background:#fef9c3}tr.insufficient td:last-child{background:#fee2e2}td.tight{background:#fef9c3}td.insufficient{background:#fee2e2}figure{margin:1.5rem 0}</style></head>
<body><h1>Capacity and autoscaling check</h1>
<p>Per-process capacity measured by <code>${escapeHtml(measured.source.command)}</code> on ${escapeHtml(measured.source.measuredOn)} (${escapeHtml(measured.source.machine)}):
${measured.api.orderCreatesPerCpuSecond} order creates and ${measured.api.cachedReadsPerCpuSecond} cached reads per CPU-second of an api process;
${measured.ws.memoryPerConnectionKiB} KiB per websocket connection. The HPA is simulated with the behaviour the app stack ships over a 100-minute peak hour that surges to 1.2x the declared peak.
nginx's ip_hash pins a client address to one ws pod, and a venue's devices mostly share its one public address: the last ws column puts every device of the location on one pod.</p>
<table><tr><th>location</th><th>peak orders/min</th><th>api HPA</th><th>orders/min per pod at target</th><th>api headroom at max</th><th>peak replicas (simulated)</th><th>unserved orders</th><th>ws headroom</th><th>venue on one ws pod (ip_hash): devices of connections</th><th>verdict</th></tr>
${rows}
</table>
${results.map((r) => `<figure>${renderReplicasChart(r)}</figure>`).join('\n')}
</body></html>
`,
  );
  return written;
}
