/** The capacity verdict: sample locations against the committed measurements, and locations built to fail. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkCapacity, checkOnePod, REQUIRED_HEADROOM, wsConnectionsPerPod, WS_MEMORY_BUDGET } from '../../stacks/checks/capacity/capacity-check';
import { capacitySummary, writeCapacityReport } from '../../stacks/checks/capacity/capacity-report';
import { loadMeasuredCapacity, type MeasuredCapacity } from '../../stacks/checks/capacity/measured-capacity';
import { cpuSecondsPerOrder, ordersPerMinuteAt, REQUEST_MIX_PER_ORDER } from '../../stacks/checks/capacity/request-mix';
import { capacityTable, onePodCell } from '../../stacks/cli/capacity-table';
import type { Location } from '../../stacks/infra/config/location';
import { deriveSizing, PEAK_HEADROOM } from '../../stacks/infra/config/sizing';
import { sampleLocation, sampleLocations } from '../support/stacks/sample-locations';

const measured = loadMeasuredCapacity();

/** A sample location with business numbers or sizing changed. */
function variant(id: string, change: { peak?: number; seats?: number; apiMax?: number; wsMax?: number; wsMemoryLimitMiB?: number }): Location {
  const base = sampleLocation(id);
  return {
    ...base,
    business: { ...base.business, peakOrdersPerMinute: change.peak ?? base.business.peakOrdersPerMinute, seats: change.seats ?? base.business.seats },
    sizing: {
      ...base.sizing,
      api: { ...base.sizing.api, maxReplicas: change.apiMax ?? base.sizing.api.maxReplicas },
      ws: { ...base.sizing.ws, maxReplicas: change.wsMax ?? base.sizing.ws.maxReplicas, memoryLimitMiB: change.wsMemoryLimitMiB ?? base.sizing.ws.memoryLimitMiB },
    },
  };
}

test('the request mix prices an order from both measured rates', () => {
  const api = { orderCreatesPerCpuSecond: 600, cachedReadsPerCpuSecond: 6800 };
  expect(cpuSecondsPerOrder(api)).toBeCloseTo(REQUEST_MIX_PER_ORDER.writes / 600 + REQUEST_MIX_PER_ORDER.cachedReads / 6800, 12);
  expect(ordersPerMinuteAt(1000, api)).toBeCloseTo(60 / cpuSecondsPerOrder(api), 9);
});

test.each(sampleLocations().map((l) => [l.id]))('%s carries its declared peak with headroom', (id) => {
  const result = checkCapacity(sampleLocation(id), measured);
  expect(result.reasons).toEqual([]);
  expect(result.verdict).toBe('ok');
  expect(result.api.headroom).toBeGreaterThanOrEqual(REQUIRED_HEADROOM);
  expect(result.api.simulation.unservedOrders).toBeLessThan(1);
});

test('a peak the HPA cannot reach is insufficient, names the max replicas it needs, and loses orders in the simulation', () => {
  const perPod = checkCapacity(sampleLocation('sukhumvit-cafe'), measured).api.ordersPerMinutePerPodAtTarget;
  // Even at full CPU (1000 m against 175 m at target) four pods fall short of the 1.2x surge.
  const peak = Math.ceil(perPod * 30);
  const result = checkCapacity(variant('sukhumvit-cafe', { peak, apiMax: 4 }), measured);
  expect(result.verdict).toBe('insufficient');
  const required = Math.ceil((peak * REQUIRED_HEADROOM) / perPod);
  expect(result.reasons[0]).toBe(
    `api: 4 pods at the 70% CPU target serve ${Math.round(perPod * 4)} orders/min, below the declared peak of ${peak}; raise sizing.api.maxReplicas to ${required}`,
  );
  expect(result.api.simulation.peakReplicas).toBe(4);
  expect(result.api.simulation.secondsAtMax).toBeGreaterThan(0);
  expect(result.reasons.some((r) => /orders found no capacity/.test(r))).toBe(true);
});

test('headroom under the required margin is tight, not insufficient', () => {
  const perPod = checkCapacity(sampleLocation('london-shoreditch'), measured).api.ordersPerMinutePerPodAtTarget;
  const max = 8;
  // Capacity at max is 1.1x the peak.
  const result = checkCapacity(variant('london-shoreditch', { peak: Math.floor((perPod * max) / 1.1), apiMax: max }), measured);
  expect(result.api.headroom).toBeGreaterThanOrEqual(1);
  expect(result.api.headroom).toBeLessThan(REQUIRED_HEADROOM);
  expect(result.verdict).toBe('tight');
  expect(result.reasons[0]).toMatch(/^api: headroom 1\.1x at max replicas is under 1\.25x; raise sizing\.api\.maxReplicas to \d+$/);
});

test('websocket connections beyond what the ws pods hold are insufficient', () => {
  const result = checkCapacity(variant('sukhumvit-cafe', { seats: 1_000_000, wsMax: 2 }), measured);
  expect(result.verdict).toBe('insufficient');
  expect(result.reasons.some((r) => r.startsWith('ws: 2 pods hold '))).toBe(true);
});

describe('nginx ip_hash: every device of a venue behind its one public address, on one ws pod', () => {
  test.each([
    // [location, seats x 0.6 devices, ws memory limit MiB, connections one pod holds]
    ['kanchanaburi-resort', 252, 512, 15923],
    ['london-shoreditch', 84, 512, 15923],
    ['sukhumvit-cafe', 22, 384, 10680],
  ])('%s: %i devices on one pod of %i MiB, which holds %i: ok', (id, connections, memoryLimitMiB, perPod) => {
    const onePod = checkOnePod(sampleLocation(id), measured);
    expect(onePod).toMatchObject({ connections, memoryLimitMiB, connectionsPerPod: perPod, verdict: 'ok' });
    expect(onePod.headroom).toBeCloseTo(perPod / connections, 9);
    // The measured figures: 20 KiB per connection above a 98.6 MiB idle process, in 80 % of the limit.
    expect(perPod).toBe(Math.floor(((memoryLimitMiB * WS_MEMORY_BUDGET - measured.ws.baselineMemoryMiB) * 1024) / measured.ws.memoryPerConnectionKiB));
  });

  test('a big venue on small ws pods is insufficient even when its devices spread over the pods would fit', () => {
    // 2,000 seats: 1,200 devices. 128 MiB pods hold 194 each: ten of them hold 1,940 spread out, but
    // ip_hash sends the whole venue (one address) to one of them.
    const big = variant('london-shoreditch', { seats: 2000, wsMax: 10, wsMemoryLimitMiB: 128 });
    const result = checkCapacity(big, measured);
    expect(result.ws.headroom).toBeGreaterThanOrEqual(REQUIRED_HEADROOM);
    expect(result.ws.onePod).toEqual({
      connections: 1200,
      connectionsPerPod: 194,
      memoryLimitMiB: 128,
      headroom: 194 / 1200,
      verdict: 'insufficient',
      requiredMemoryLimitMiB: 160,
    });
    expect(result.verdict).toBe('insufficient');
    expect(result.reasons).toEqual([
      'ws: nginx ip_hash puts all 1200 devices of the venue (2000 seats x 0.6, one public address) on one pod, which holds 194 in its 128 MiB memory limit; raise sizing.ws.memoryLimitMiB to 160',
    ]);
    // The limit it names is enough: the same venue on 160 MiB pods passes.
    expect(checkCapacity(variant('london-shoreditch', { seats: 2000, wsMax: 10, wsMemoryLimitMiB: 160 }), measured).verdict).toBe('ok');
    expect(capacityTable([result])).toContain('1200 / 194 (0.2x) insufficient');
  });

  test('a venue that fits one pod with less than the required headroom is tight', () => {
    // 200 MiB pods hold 3,143 connections; 2,800 devices leave 1.12x.
    const perPod = wsConnectionsPerPod(200, measured);
    expect(perPod).toBe(3143);
    const result = checkCapacity(variant('london-shoreditch', { seats: Math.floor(2800 / 0.6), wsMax: 10, wsMemoryLimitMiB: 200 }), measured);
    expect(result.ws.onePod.verdict).toBe('tight');
    expect(result.verdict).toBe('tight');
    expect(result.reasons).toEqual([
      `ws: nginx ip_hash puts all 2800 devices of the venue (4666 seats x 0.6, one public address) on one pod, headroom 1.1x (3143 in its 200 MiB memory limit) is under 1.25x; raise sizing.ws.memoryLimitMiB to ${result.ws.onePod.requiredMemoryLimitMiB}`,
    ]);
    expect(onePodCell(result.ws.onePod)).toBe('2800 / 3143 (1.1x) tight');
  });
});

test('the measured capacity file is validated, naming the field', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-'));
  const file = path.join(dir, 'measured.json');
  const broken = JSON.parse(JSON.stringify(measured)) as MeasuredCapacity & { api: { orderCreatesPerCpuSecond: unknown } };
  broken.api.orderCreatesPerCpuSecond = -5;
  fs.writeFileSync(file, JSON.stringify(broken));
  expect(() => loadMeasuredCapacity(file)).toThrow(`${file}: api.orderCreatesPerCpuSecond Too small: expected number to be >0`);
});

test('the report has a table row and a chart per location, and JSON without the step series', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-report-'));
  const results = [checkCapacity(sampleLocation('sukhumvit-cafe'), measured), checkCapacity(variant('london-shoreditch', { peak: 1e6, apiMax: 3 }), measured)];
  const written = writeCapacityReport(dir, results, measured).map((f) => path.basename(f));
  expect(written.sort()).toEqual(['capacity.json', 'index.html', 'london-shoreditch.svg', 'sukhumvit-cafe.svg']);
  const html = fs.readFileSync(path.join(dir, 'index.html'), 'utf8');
  expect(html.match(/<tr class="(ok|tight|insufficient)">/g)).toEqual(['<tr class="ok">', '<tr class="insufficient">']);
  expect(html.match(/<svg /g)).toHaveLength(2);
  // The ip_hash worst case has its own column: the cafe's 22 devices on one 384 MiB pod.
  expect(html).toContain('<td class="ok">22 of 10680 (384 MiB): ok</td>');
  const svg = fs.readFileSync(path.join(dir, 'london-shoreditch.svg'), 'utf8');
  expect(svg).toContain('london-shoreditch: api replicas over the simulated peak hour');
  expect(svg).toContain('max 3');
  // The replicas line has a point per step (and a riser between steps).
  const steps = results[1]!.api.simulation.steps.length;
  const replicaLine = svg.match(/<polyline points="([^"]+)" fill="none" stroke="#1d4ed8"/)![1]!;
  expect(replicaLine.split(' ')).toHaveLength(steps * 2 - 1);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'capacity.json'), 'utf8'));
  expect(json).toEqual(JSON.parse(JSON.stringify(capacitySummary(results, measured))));
  expect(json.locations[1].api.simulation).not.toHaveProperty('steps');
  expect(json.locations[0].ws.onePod).toMatchObject({ connections: 22, connectionsPerPod: 10680, verdict: 'ok' });
});

describe('one capacity model: the sizing plans api pods with the figures the check judges them by', () => {
  const scaled = (factor: number): MeasuredCapacity => ({
    ...measured,
    api: { orderCreatesPerCpuSecond: measured.api.orderCreatesPerCpuSecond * factor, cachedReadsPerCpuSecond: measured.api.cachedReadsPerCpuSecond * factor },
  });
  /** High enough that the figures, not the large tier's floor of 12 pods, decide at every cost below. */
  const PEAK = 80_000;
  const sizedWith = (figures: MeasuredCapacity, peak: number): Location => {
    const base = sampleLocation('kanchanaburi-resort');
    const business = { ...base.business, peakOrdersPerMinute: peak };
    return { ...base, business, sizing: deriveSizing(business, figures) };
  };

  test.each([
    ['twice as dear', 0.5],
    ['as committed', 1],
    ['twice as cheap', 2],
  ])('an order %s: the derived bounds carry a peak of 80,000 orders/min with the required headroom, and move with the cost', (_what, factor) => {
    const location = sizedWith(scaled(factor), PEAK);
    const result = checkCapacity(location, scaled(factor));
    expect(result.api.headroom).toBeGreaterThanOrEqual(REQUIRED_HEADROOM);
    expect(result.api.simulation.unservedOrders).toBeLessThan(1);
    // Above the large tier's floor of 12 pods at every cost here, so the figures decide alone.
    expect(location.sizing.api.maxReplicas).toBe(Math.ceil((PEAK * PEAK_HEADROOM) / result.api.ordersPerMinutePerPodAtTarget));
    expect(location.sizing.api.maxReplicas).toBeGreaterThan(12);
  });

  test('bounds sized for a cheap order fail the check once orders cost four times as much', () => {
    const result = checkCapacity(sizedWith(scaled(2), PEAK), scaled(0.5));
    expect(result.verdict).toBe('insufficient');
    expect(result.reasons[0]).toMatch(/^api: \d+ pods at the 70% CPU target serve \d+ orders\/min, below the declared peak of 80000; raise sizing\.api\.maxReplicas to \d+$/);
  });
});
