/**
 * An open-loop load generator at a constant rate, for the question "what latency does a client see
 * when the service is not saturated" (phase (d) of `npm run bench:api`).
 *
 * autocannon's rate mode (`overallRate`) does not answer it. Each of its connections sends its
 * quota for the second back to back when the second starts, then pauses (`_doRequest` and
 * `rateInterval` in autocannon/lib/httpClient.js): with 100 connections the whole second's quota
 * arrives as one burst and queues in the api, and the latency printed is the burst's. The last idle
 * run at half the order rate gave p50 47 ms, p99 123 ms at 589/s while the processes used half of
 * the CPU. It also measures each request from when it was written, so a request that waited for its
 * connection is not charged for the wait (coordinated omission).
 *
 * Here request n is due at t0 + n / rate, whatever happened to the ones before it (open loop): a
 * timer loop sends what is due, and sends late ones at once when the timer or the event loop was
 * late, so the only bursts are those a late timer forces. Latency is measured from the scheduled
 * time, so a request that waited for a free socket (at most `connections` at once, keep-alive), or
 * for a late generator, counts its wait; it is also measured from when the request went out on its
 * socket, and the generator's own lateness is reported, so a late generator can be told from a slow
 * server. Timers fire at 1 ms granularity: expect a lag of about 1 ms, not more.
 *
 * Warm-up requests ride on the same schedule (no gap, no new connections when the recorded part
 * starts) and are not recorded. At the end the answers still due are waited for a little
 * (`drainSeconds`), then cut off: their responses are never reported, so a caller that must account
 * for every request (the bench counts one order per 201) sends those again itself.
 */
import * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import { build as buildHistogram, type Histogram } from 'hdr-histogram-js';

export interface PacedRequest {
  readonly method: string;
  /** Path and query, resolved against the base url's host and port. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
}

export interface PacedLoadOptions {
  /** `http://host:port` */
  readonly url: string;
  /** Requests per second, > 0. */
  readonly rate: number;
  /** The recorded part, in seconds. */
  readonly durationSeconds: number;
  /** Sent on the same schedule before the recorded part, not recorded. @default 0 */
  readonly warmupSeconds?: number;
  /** Keep-alive sockets at most; a request due while all are busy waits for one. @default 100 */
  readonly connections?: number;
  /** A request unanswered this long after it was sent is abandoned and counted as a timeout. @default 10000 */
  readonly timeoutMs?: number;
  /** After the last request was sent, how long answers still due are waited for before they are cut off. @default 2 */
  readonly drainSeconds?: number;
  /** Request n (0, 1, 2, ...: warm-up first); called when it is due. */
  readonly request: (n: number) => PacedRequest;
  /** Every answered request, warm-up included, once its body was read. Not called for errors, timeouts and cut-off requests. */
  readonly onResponse?: (n: number, status: number) => void;
  /** Called once, between the last warm-up request and the first recorded one (before any request when there is no warm-up). */
  readonly onMeasuredStart?: () => void;
}

/** Milliseconds; NaN when nothing was recorded. */
export interface LatencySummary {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Everything below counts the recorded requests only (warm-up excluded). */
export interface PacedLoadResult {
  readonly rate: number;
  readonly connections: number;
  readonly durationSeconds: number;
  readonly sent: number;
  /** Answered, any status. sent = completed + errors + timeouts + inFlightAtEnd. */
  readonly completed: number;
  /** Answers per status code. */
  readonly statusCodes: Record<string, number>;
  readonly non2xx: number;
  /** Socket errors (refused, reset, ...); their codes in `errorCodes`. */
  readonly errors: number;
  readonly errorCodes: Record<string, number>;
  readonly timeouts: number;
  /** Neither answered, failed nor timed out when the run ended: cut off, their outcome unknown. */
  readonly inFlightAtEnd: number;
  /** Requests sent per second, from the first one's scheduled time to the last one's sending (below `rate` when the generator fell behind). */
  readonly achievedRate: number;
  /** Answers per second of the recorded duration. */
  readonly completedPerSecond: number;
  /** From each request's scheduled time to the end of its response: what a client arriving then waits. */
  readonly latencyMs: LatencySummary;
  /** From when the request went out on its socket to the end of its response. */
  readonly fromWriteLatencyMs: LatencySummary;
  /** How late the generator sent requests (its timer or event loop), not the server. */
  readonly scheduleLagMs: { readonly p99: number; readonly max: number };
}

interface InFlight {
  readonly n: number;
  readonly recorded: boolean;
  readonly scheduledAt: number;
  writtenAt?: number;
  readonly request: http.ClientRequest;
  readonly timer: NodeJS.Timeout;
}

function positive(name: string, value: number, allowZero = false): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new Error(`pacedLoad: ${name} must be a finite number ${allowZero ? '>= 0' : '> 0'}, got ${String(value)}`);
  }
}

function newHistogram(): Histogram {
  // Microseconds, 3 significant digits; grows as needed.
  return buildHistogram({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
}

function record(histogram: Histogram, ms: number): void {
  histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
}

function summary(histogram: Histogram): LatencySummary {
  if (histogram.totalCount === 0) return { p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  // A percentile is its bucket's highest value, which can pass the largest value recorded.
  const at = (percentile: number) => Math.min(histogram.getValueAtPercentile(percentile), histogram.maxValue) / 1000;
  return {
    p50: at(50),
    p90: at(90),
    p99: at(99),
    max: histogram.maxValue / 1000,
    mean: histogram.mean / 1000,
  };
}

/** Sends `rate` requests per second, evenly spaced, for warm-up plus duration seconds; resolves when the last answer came or the drain ran out. */
export function pacedLoad(options: PacedLoadOptions): Promise<PacedLoadResult> {
  const warmupSeconds = options.warmupSeconds ?? 0;
  const connections = options.connections ?? 100;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const drainSeconds = options.drainSeconds ?? 2;
  positive('rate', options.rate);
  positive('durationSeconds', options.durationSeconds);
  positive('warmupSeconds', warmupSeconds, true);
  positive('timeoutMs', timeoutMs);
  positive('drainSeconds', drainSeconds, true);
  if (!Number.isInteger(connections) || connections < 1) throw new Error(`pacedLoad: connections must be an integer >= 1, got ${String(connections)}`);
  if (typeof options.request !== 'function') throw new Error('pacedLoad: request must be a function n => { method, path, headers, body }');
  let base: URL;
  try {
    base = new URL(options.url);
  } catch {
    throw new Error(`pacedLoad: url is not a URL: ${JSON.stringify(options.url)}`);
  }
  if (base.protocol !== 'http:') throw new Error(`pacedLoad: only http: URLs are supported, got ${base.protocol} (${options.url})`);
  if (base.pathname !== '/' || base.search) throw new Error(`pacedLoad: url is the base (http://host:port); the paths come from request(n), got ${options.url}`);

  const intervalMs = 1000 / options.rate;
  const warmupRequests = Math.round(warmupSeconds * options.rate);
  const recordedRequests = Math.round(options.durationSeconds * options.rate);
  if (recordedRequests < 1) throw new Error(`pacedLoad: ${options.rate}/s for ${options.durationSeconds} s sends no request`);
  const total = warmupRequests + recordedRequests;

  const agent = new http.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  const host = base.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = base.port ? Number(base.port) : 80;

  const latency = newHistogram();
  const fromWrite = newHistogram();
  const lag = newHistogram();
  const statusCodes: Record<string, number> = {};
  const errorCodes: Record<string, number> = {};
  let completed = 0;
  let non2xx = 0;
  let errors = 0;
  let timeouts = 0;
  let sent = 0;
  let lastSendAt = 0;
  const inFlight = new Map<number, InFlight>();

  return new Promise<PacedLoadResult>((resolve, reject) => {
    let next = 0;
    let t0 = 0;
    let ended = false;
    let tickTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;

    const stop = (): void => {
      ended = true;
      if (tickTimer) clearTimeout(tickTimer);
      if (drainTimer) clearTimeout(drainTimer);
      for (const entry of inFlight.values()) {
        clearTimeout(entry.timer);
        entry.request.destroy();
      }
      agent.destroy();
    };
    const fail = (error: unknown): void => {
      if (ended) return;
      const cutOff = inFlight.size;
      stop();
      reject(new Error(`pacedLoad: stopped after ${next} of ${total} requests (${cutOff} cut off): ${(error as Error)?.message ?? String(error)}`, { cause: error }));
    };
    const finish = (): void => {
      if (ended) return;
      const inFlightAtEnd = [...inFlight.values()].filter((e) => e.recorded).length;
      stop();
      const firstRecordedAt = t0 + warmupRequests * intervalMs;
      const sendingMs = Math.max(lastSendAt - firstRecordedAt, 0) + intervalMs;
      const lagSummary = summary(lag);
      resolve({
        rate: options.rate,
        connections,
        durationSeconds: options.durationSeconds,
        sent,
        completed,
        statusCodes,
        non2xx,
        errors,
        errorCodes,
        timeouts,
        inFlightAtEnd,
        achievedRate: (1000 * sent) / sendingMs,
        completedPerSecond: completed / options.durationSeconds,
        latencyMs: summary(latency),
        fromWriteLatencyMs: summary(fromWrite),
        scheduleLagMs: { p99: lagSummary.p99, max: lagSummary.max },
      });
    };
    const maybeFinish = (): void => {
      if (next >= total && inFlight.size === 0) finish();
    };

    /** The entry if request n is still in flight as this entry (not settled, timed out or cut off). */
    const settle = (entry: InFlight): boolean => {
      if (ended || inFlight.get(entry.n) !== entry) return false;
      inFlight.delete(entry.n);
      clearTimeout(entry.timer);
      return true;
    };

    const failed = (entry: InFlight, error: NodeJS.ErrnoException): void => {
      if (!settle(entry)) return;
      if (entry.recorded) {
        errors++;
        const code = error.code ?? error.message;
        errorCodes[code] = (errorCodes[code] ?? 0) + 1;
      }
      maybeFinish();
    };

    const send = (n: number, scheduledAt: number): void => {
      const spec = options.request(n);
      const recorded = n >= warmupRequests;
      const headers: Record<string, string> = { ...spec.headers };
      if (spec.body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) {
        headers['content-length'] = String(Buffer.byteLength(spec.body));
      }
      const request = http.request({ agent, host, port, method: spec.method, path: spec.path, headers });
      const sentAt = performance.now();
      if (recorded) {
        sent++;
        lastSendAt = sentAt;
        record(lag, sentAt - scheduledAt);
      }
      const timer = setTimeout(() => {
        if (!settle(entry)) return;
        if (entry.recorded) timeouts++;
        request.destroy();
        maybeFinish();
      }, timeoutMs);
      const entry: InFlight = { n, recorded, scheduledAt, request, timer };
      inFlight.set(n, entry);
      request.on('socket', (socket) => {
        // A reused keep-alive socket writes at once; a new one once connected.
        if (socket.connecting) socket.once('connect', () => (entry.writtenAt = performance.now()));
        else entry.writtenAt = performance.now();
      });
      request.on('response', (response) => {
        // The connection closed mid-body: a socket error, like one before the answer.
        response.on('error', (error: NodeJS.ErrnoException) => failed(entry, error));
        response.on('aborted', () => failed(entry, Object.assign(new Error('response aborted'), { code: 'ABORTED' })));
        response.on('end', () => {
          if (!settle(entry)) return;
          const status = response.statusCode ?? 0;
          if (entry.recorded) {
            const now = performance.now();
            completed++;
            statusCodes[status] = (statusCodes[status] ?? 0) + 1;
            if (status < 200 || status >= 300) non2xx++;
            record(latency, now - entry.scheduledAt);
            record(fromWrite, now - (entry.writtenAt ?? sentAt));
          }
          try {
            options.onResponse?.(n, status);
          } catch (error) {
            fail(error);
            return;
          }
          maybeFinish();
        });
        response.resume();
      });
      request.on('error', (error: NodeJS.ErrnoException) => failed(entry, error));
      request.end(spec.body);
    };

    const tick = (): void => {
      tickTimer = undefined;
      if (ended) return;
      try {
        // Everything due now, the late ones at once: a late timer forces that, nothing else does.
        while (next < total && t0 + next * intervalMs <= performance.now()) {
          const n = next++;
          send(n, t0 + n * intervalMs);
          // The gap after the last warm-up request is the hook's, not the first recorded request's.
          if (next === warmupRequests) options.onMeasuredStart?.();
        }
      } catch (error) {
        fail(error);
        return;
      }
      if (next < total) {
        tickTimer = setTimeout(tick, Math.max(0, t0 + next * intervalMs - performance.now()));
      } else {
        drainTimer = setTimeout(finish, drainSeconds * 1000);
        maybeFinish();
      }
    };

    try {
      if (warmupRequests === 0) options.onMeasuredStart?.();
    } catch (error) {
      fail(error);
      return;
    }
    t0 = performance.now();
    tick();
  });
}
