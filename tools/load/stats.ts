/** Latency and throughput arithmetic shared by the peak-hour bench and the fault drills. */

export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function summarize(values: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  const round = (v: number) => Number(v.toFixed(2));
  return {
    count: sorted.length,
    p50Ms: round(percentile(sorted, 50)),
    p95Ms: round(percentile(sorted, 95)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted.length ? sorted[sorted.length - 1]! : NaN),
  };
}

/** Log-spaced histogram bucket upper bounds in ms, 0.5 ms .. ~16 s. */
export const HISTOGRAM_BOUNDS_MS: readonly number[] = Array.from({ length: 31 }, (_, i) => Number((0.5 * 2 ** (i / 2)).toFixed(3)));

export function histogram(values: readonly number[], bounds: readonly number[] = HISTOGRAM_BOUNDS_MS): number[] {
  const counts = new Array<number>(bounds.length + 1).fill(0);
  for (const v of values) {
    let i = 0;
    while (i < bounds.length && v > bounds[i]!) i++;
    counts[i]! += 1;
  }
  return counts;
}

/** Completions per whole second since `startMs` (index = second). */
export function perSecond(timesMs: readonly number[], startMs: number, seconds: number): number[] {
  const counts = new Array<number>(Math.max(1, Math.ceil(seconds))).fill(0);
  for (const t of timesMs) {
    const s = Math.floor((t - startMs) / 1000);
    if (s >= 0 && s < counts.length) counts[s]! += 1;
  }
  return counts;
}
