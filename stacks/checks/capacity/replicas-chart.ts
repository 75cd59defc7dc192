/**
 * The simulated peak hour of one location as a standalone SVG: replicas over time against the HPA
 * bounds (left axis), demand and the capacity of the ready pods in orders per minute (right axis).
 * Hand-written SVG: no charting dependency for a handful of polylines.
 */
import type { CapacityVerdict } from './capacity-check';

const WIDTH = 760;
const HEIGHT = 340;
const MARGIN = { top: 40, right: 70, bottom: 60, left: 50 };

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** A tick step of 1, 2 or 5 times a power of ten giving about `count` ticks. */
function niceStep(max: number, count: number): number {
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? raw;
}

export function renderReplicasChart(result: CapacityVerdict): string {
  const steps = result.api.simulation.steps;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const maxSecond = steps[steps.length - 1]!.second;
  const replicaTop = result.api.maxReplicas + 1;
  const orderTop = Math.max(...steps.map((s) => Math.max(s.demandOrdersPerMinute, Math.min(s.capacityOrdersPerMinute, s.demandOrdersPerMinute * 3)))) * 1.1;
  const x = (second: number) => MARGIN.left + (second / maxSecond) * plotW;
  const yReplicas = (n: number) => MARGIN.top + plotH - (n / replicaTop) * plotH;
  const yOrders = (n: number) => MARGIN.top + plotH - (Math.min(n, orderTop) / orderTop) * plotH;
  const fmt = (n: number) => n.toFixed(1);

  const stepLine = (pick: (s: (typeof steps)[number]) => number) => {
    const points: string[] = [];
    steps.forEach((s, i) => {
      if (i > 0) points.push(`${fmt(x(s.second))},${fmt(yReplicas(pick(steps[i - 1]!)))}`);
      points.push(`${fmt(x(s.second))},${fmt(yReplicas(pick(s)))}`);
    });
    return points.join(' ');
  };
  const line = (pick: (s: (typeof steps)[number]) => number) => steps.map((s) => `${fmt(x(s.second))},${fmt(yOrders(pick(s)))}`).join(' ');
  const demandArea = `${fmt(x(0))},${fmt(yOrders(0))} ${line((s) => s.demandOrdersPerMinute)} ${fmt(x(maxSecond))},${fmt(yOrders(0))}`;

  const parts: string[] = [];
  const replicaStep = niceStep(replicaTop, 5);
  for (let n = 0; n <= replicaTop; n += replicaStep) {
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${fmt(yReplicas(n))}" y2="${fmt(yReplicas(n))}" stroke="#e5e7eb"/>`);
    parts.push(`<text x="${MARGIN.left - 8}" y="${fmt(yReplicas(n) + 4)}" text-anchor="end">${n}</text>`);
  }
  const orderStep = niceStep(orderTop, 5);
  for (let n = 0; n <= orderTop; n += orderStep) {
    parts.push(`<text x="${MARGIN.left + plotW + 8}" y="${fmt(yOrders(n) + 4)}" fill="#b45309">${Math.round(n)}</text>`);
  }
  for (let minute = 0; minute <= maxSecond / 60; minute += 10) {
    parts.push(`<text x="${fmt(x(minute * 60))}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${minute}</text>`);
  }
  const title = `${result.location}: api replicas over the simulated peak hour (declared peak ${result.peakOrdersPerMinute} orders/min) - ${result.verdict}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="system-ui, sans-serif" font-size="12" role="img" aria-label="${escapeXml(title)}">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="22" font-size="14" font-weight="600">${escapeXml(title)}</text>`,
    ...parts,
    `<polygon points="${demandArea}" fill="#fde68a" fill-opacity="0.6"/>`,
    `<polyline points="${line((s) => s.capacityOrdersPerMinute)}" fill="none" stroke="#059669" stroke-width="1.5" stroke-dasharray="4 3"/>`,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${fmt(yReplicas(result.api.maxReplicas))}" y2="${fmt(yReplicas(result.api.maxReplicas))}" stroke="#dc2626" stroke-dasharray="6 4"/>`,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${fmt(yReplicas(result.api.minReplicas))}" y2="${fmt(yReplicas(result.api.minReplicas))}" stroke="#9ca3af" stroke-dasharray="6 4"/>`,
    `<polyline points="${stepLine((s) => s.readyReplicas)}" fill="none" stroke="#93c5fd" stroke-width="2"/>`,
    `<polyline points="${stepLine((s) => s.replicas)}" fill="none" stroke="#1d4ed8" stroke-width="2"/>`,
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#6b7280"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 30}" text-anchor="middle">minutes</text>`,
    `<text transform="translate(14 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">api replicas</text>`,
    `<text transform="translate(${WIDTH - 10} ${MARGIN.top + plotH / 2}) rotate(90)" text-anchor="middle" fill="#b45309">orders / min</text>`,
    legend([
      ['#1d4ed8', 'replicas (HPA)'],
      ['#93c5fd', 'ready replicas'],
      ['#dc2626', `max ${result.api.maxReplicas}`],
      ['#9ca3af', `min ${result.api.minReplicas}`],
      ['#f59e0b', 'demand'],
      ['#059669', 'capacity of ready pods'],
    ]),
    '</svg>',
  ].join('\n');
}

function legend(entries: [string, string][]): string {
  let offset = MARGIN.left;
  return entries
    .map(([colour, label]) => {
      const item = `<rect x="${offset}" y="${HEIGHT - 16}" width="12" height="4" fill="${colour}"/><text x="${offset + 16}" y="${HEIGHT - 11}">${escapeXml(label)}</text>`;
      offset += 24 + label.length * 6.5;
      return item;
    })
    .join('');
}
