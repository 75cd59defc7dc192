/**
 * The paced load generator of `npm run bench:api` (tools/bench/paced-load.ts) against a node:http
 * server started here: requests spread evenly (seen from the server's arrival times), every request
 * accounted for, and latency counted from the schedule, socket waits included. The machine is shared
 * and noisy: the bounds are wide, they tell even spacing from bursts and queueing from none.
 */
import * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import { pacedLoad, type PacedLoadOptions } from '../../tools/bench/paced-load';

interface TestServer {
  readonly url: string;
  /** performance.now() of each request's arrival. */
  readonly arrivals: number[];
  /** The most requests the server held at once. */
  readonly maxConcurrent: () => number;
  close(): Promise<void>;
}

/** `/<status>/<delay ms>` answers that status after that delay; `/reset` destroys the connection. */
async function startServer(): Promise<TestServer> {
  const arrivals: number[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let concurrent = 0;
  let maxConcurrent = 0;
  const server = http.createServer((req, res) => {
    arrivals.push(performance.now());
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    res.on('close', () => concurrent--);
    req.resume();
    req.on('end', () => {
      if (req.url === '/reset') {
        req.socket.destroy();
        return;
      }
      const [, status, delay] = /^\/(\d+)\/(\d+)$/.exec(req.url ?? '') ?? [];
      const answer = () => res.writeHead(Number(status ?? 400), { 'content-type': 'text/plain' }).end('answered');
      if (!Number(delay)) {
        answer();
        return;
      }
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, Number(delay));
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    arrivals,
    maxConcurrent: () => maxConcurrent,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

let server: TestServer;
beforeEach(async () => {
  server = await startServer();
});
afterEach(() => server.close());

const get = (path: string): PacedLoadOptions['request'] => () => ({ method: 'GET', path });

test('spreads the requests evenly over the second, not in bursts', async () => {
  const result = await pacedLoad({ url: server.url, rate: 200, durationSeconds: 1, connections: 100, request: get('/200/0') });
  expect(result.sent).toBe(200);
  expect(server.arrivals).toHaveLength(200);
  // Ten windows of 100 ms from the first arrival: 20 requests each when even. A per-second burst
  // (autocannon's rate mode) puts all 200 into the first.
  const first = server.arrivals[0]!;
  const windows = new Array<number>(11).fill(0);
  for (const at of server.arrivals) windows[Math.min(10, Math.floor((at - first) / 100))]!++;
  expect(Math.max(...windows)).toBeLessThanOrEqual(40);
  // Every window but the last partial one got a share: nothing was held back for a later burst.
  expect(windows.slice(0, 9).every((count) => count >= 5)).toBe(true);
  expect(result.achievedRate).toBeGreaterThan(150);
  expect(result.scheduleLagMs.max).toBeGreaterThanOrEqual(0);
});

test('counts every request: per status, warm-up apart, each response reported to onResponse', async () => {
  const answered = new Map<number, number>();
  let measuredStartedAfter = -1;
  const result = await pacedLoad({
    url: server.url,
    rate: 100,
    durationSeconds: 0.8,
    warmupSeconds: 0.2,
    request: (n) => ({ method: 'POST', path: n % 4 === 0 ? '/503/0' : '/201/0', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n }) }),
    onResponse: (n, status) => answered.set(n, status),
    onMeasuredStart: () => (measuredStartedAfter = server.arrivals.length),
  });
  // 20 warm-up requests (n 0..19), then 80 recorded ones (n 20..99).
  expect(measuredStartedAfter).toBeGreaterThanOrEqual(0);
  expect(measuredStartedAfter).toBeLessThanOrEqual(20);
  expect(result.sent).toBe(80);
  expect(result.sent).toBe(result.completed + result.errors + result.timeouts + result.inFlightAtEnd);
  expect(result.inFlightAtEnd).toBe(0);
  expect(result.statusCodes).toEqual({ 201: 60, 503: 20 });
  expect(result.non2xx).toBe(20);
  expect(result.errors + result.timeouts).toBe(0);
  expect(answered.size).toBe(100);
  for (const [n, status] of answered) expect(status).toBe(n % 4 === 0 ? 503 : 201);
});

test('cuts off what is still unanswered when the drain ends, and never reports it', async () => {
  const answered = new Map<number, number>();
  const result = await pacedLoad({
    url: server.url,
    rate: 100,
    durationSeconds: 0.5,
    drainSeconds: 0.2,
    // Every fifth answer takes 1.5 s: past the end of the run.
    request: (n) => ({ method: 'GET', path: n % 5 === 0 ? '/200/1500' : '/200/0' }),
    onResponse: (n, status) => answered.set(n, status),
  });
  expect(result.sent).toBe(50);
  expect(result.inFlightAtEnd).toBeGreaterThanOrEqual(10);
  expect(result.sent).toBe(result.completed + result.inFlightAtEnd);
  expect(result.statusCodes).toEqual({ 200: result.completed });
  expect(answered.size).toBe(result.completed);
  expect([...answered.keys()].some((n) => n % 5 === 0)).toBe(false);
  await new Promise((resolve) => setTimeout(resolve, 1600));
  expect(answered.size).toBe(result.completed);
});

test('counts socket errors and timeouts apart from answers', async () => {
  const answered = new Map<number, number>();
  const result = await pacedLoad({
    url: server.url,
    rate: 50,
    durationSeconds: 0.6,
    timeoutMs: 300,
    request: (n) => ({ method: 'GET', path: n % 3 === 0 ? '/reset' : n % 3 === 1 ? '/200/2000' : '/200/0' }),
    onResponse: (n, status) => answered.set(n, status),
  });
  expect(result.sent).toBe(30);
  expect(result.errors).toBe(10);
  expect(result.timeouts).toBe(10);
  expect(result.completed).toBe(10);
  expect(result.inFlightAtEnd).toBe(0);
  expect(Object.values(result.errorCodes).reduce((sum, count) => sum + count, 0)).toBe(10);
  expect([...answered.keys()].every((n) => n % 3 === 2)).toBe(true);
});

test('latency includes the server delay', async () => {
  const result = await pacedLoad({ url: server.url, rate: 50, durationSeconds: 1, request: get('/200/30') });
  expect(result.completed).toBe(50);
  expect(result.latencyMs.p50).toBeGreaterThanOrEqual(30);
  expect(result.fromWriteLatencyMs.p50).toBeGreaterThanOrEqual(30);
  expect(result.latencyMs.max).toBeGreaterThanOrEqual(result.latencyMs.p99);
});

test('latency from the schedule includes the wait for a free socket (no coordinated omission)', async () => {
  // One connection, 50 ms per answer: at most 20/s get through, so at 40/s requests queue for the
  // socket and the later ones wait hundreds of ms; each answer alone still takes about 50 ms.
  const result = await pacedLoad({ url: server.url, rate: 40, durationSeconds: 1, connections: 1, drainSeconds: 5, request: get('/200/50') });
  expect(server.maxConcurrent()).toBe(1);
  expect(result.completed).toBe(40);
  expect(result.latencyMs.p99).toBeGreaterThan(300);
  expect(result.fromWriteLatencyMs.p50).toBeGreaterThanOrEqual(50);
  expect(result.fromWriteLatencyMs.p50).toBeLessThan(result.latencyMs.p50);
  expect(result.latencyMs.p99).toBeGreaterThan(3 * result.fromWriteLatencyMs.p99);
});

test('rejects bad inputs with a clear message', () => {
  const base: PacedLoadOptions = { url: 'http://127.0.0.1:1', rate: 10, durationSeconds: 1, request: get('/') };
  expect(() => pacedLoad({ ...base, rate: 0 })).toThrow(/rate must be a finite number > 0, got 0/);
  expect(() => pacedLoad({ ...base, rate: -5 })).toThrow(/rate must be/);
  expect(() => pacedLoad({ ...base, rate: Number.NaN })).toThrow(/rate must be/);
  expect(() => pacedLoad({ ...base, durationSeconds: 0 })).toThrow(/durationSeconds must be/);
  expect(() => pacedLoad({ ...base, warmupSeconds: -1 })).toThrow(/warmupSeconds must be a finite number >= 0/);
  expect(() => pacedLoad({ ...base, connections: 0 })).toThrow(/connections must be an integer >= 1/);
  expect(() => pacedLoad({ ...base, connections: 1.5 })).toThrow(/connections must be an integer >= 1/);
  expect(() => pacedLoad({ ...base, timeoutMs: 0 })).toThrow(/timeoutMs must be/);
  expect(() => pacedLoad({ ...base, url: 'https://127.0.0.1:1' })).toThrow(/only http: URLs/);
  expect(() => pacedLoad({ ...base, url: 'http://127.0.0.1:1/v1' })).toThrow(/the paths come from request/);
  expect(() => pacedLoad({ ...base, url: 'not a url' })).toThrow(/url is not a URL/);
  expect(() => pacedLoad({ ...base, rate: 0.4, durationSeconds: 1 })).toThrow(/sends no request/);
});

test('a request factory that throws stops the run with its error', async () => {
  await expect(
    pacedLoad({
      url: server.url,
      rate: 100,
      durationSeconds: 1,
      request: (n) => {
        if (n === 5) throw new Error('no body for 5');
        return { method: 'GET', path: '/200/0' };
      },
    }),
  ).rejects.toThrow(/stopped after 6 of 100 requests .*no body for 5/);
});
