import { createTokenMint, getJson, startApp, type RunningApp } from './support';

describe('load shedding', () => {
  let running: RunningApp;
  let loopDelayMs = 0;
  let poolWaiting = 0;

  beforeAll(async () => {
    const mint = await createTokenMint();
    running = await startApp({
      jwks: mint.jwks,
      loadShedding: { maxEventLoopDelayMs: 50, maxPoolWaiting: 3, eventLoopDelayMs: () => loopDelayMs, poolWaiting: () => poolWaiting },
      routes: (v1, kit) => {
        v1.get('/test/analytics', kit.shed('analytics'), (_req, res) => void res.json({ ok: true }));
        v1.post('/test/orders', (_req, res) => void res.status(201).json({ ok: true }));
      },
    });
  });
  afterAll(() => running.close());
  afterEach(() => {
    loopDelayMs = 0;
    poolWaiting = 0;
  });

  const both = async () => [
    await getJson(`${running.url}/v1/test/analytics`),
    await getJson(`${running.url}/v1/test/orders`, { method: 'POST' }),
  ];

  test('below the thresholds analytics is served', async () => {
    const [analytics] = await both();
    expect(analytics!.status).toBe(200);
  });

  test.each([
    ['event-loop delay', () => (loopDelayMs = 80), 'event_loop'],
    ['database pool waiting', () => (poolWaiting = 4), 'db_pool'],
  ])('over the %s threshold analytics answers 503 + Retry-After while ordering is served', async (_name, overload, reason) => {
    overload();
    const [analytics, order] = await both();
    expect(analytics!.status).toBe(503);
    expect(analytics!.headers.get('retry-after')).toBe('5');
    expect(analytics!.body.error).toMatchObject({ code: 'unavailable', details: { reason } });
    expect(order!.status).toBe(201);
    const metrics = await getJson(`${running.internalUrl}/metrics`);
    expect(metrics.body).toContain(`load_shed_rejections_total{route_class="analytics",reason="${reason}"} 1`);
  });
});
