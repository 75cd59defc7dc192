import { shutdown } from '../../../app/src/http/server';
import { createTokenMint, getJson, httpTestConfig, memoryLogger, startApp } from './support';

test('shutdown lets an in-flight request finish, then runs cleanup and resolves true', async () => {
  const mint = await createTokenMint();
  let requestArrived!: () => void;
  const arrived = new Promise<void>((resolve) => (requestArrived = resolve));
  const app = await startApp({
    jwks: mint.jwks,
    routes: (v1) => v1.get('/test/slow', async (_req, res) => {
      requestArrived();
      await new Promise((resolve) => setTimeout(resolve, 300));
      res.json({ done: true });
    }),
  });
  const inFlight = getJson(`${app.url}/v1/test/slow`);
  await arrived; // shut down only once the request is really in flight
  let cleaned = false;
  const finished = await shutdown({
    server: app.server,
    internalServer: app.internalServer,
    handle: app.handle,
    logger: app.deps.logger,
    graceMs: 2000,
    drainDelayMs: 0,
    cleanup: async () => void (cleaned = true),
  });
  expect(finished).toBe(true);
  expect(cleaned).toBe(true);
  expect((await inFlight).status).toBe(200);
  // Both listeners are closed: the public one first, the probes' one last.
  await expect(fetch(`${app.url}/v1/test/slow`)).rejects.toThrow();
  await expect(fetch(`${app.internalUrl}/healthz`)).rejects.toThrow();
});

test('shutdown resolves false at the grace deadline when cleanup hangs', async () => {
  const mint = await createTokenMint();
  const app = await startApp({ jwks: mint.jwks });
  const startedAt = Date.now();
  const finished = await shutdown({ server: app.server, handle: app.handle, logger: app.deps.logger, graceMs: 300, drainDelayMs: 0, cleanup: () => new Promise(() => undefined) });
  expect(finished).toBe(false);
  expect(Date.now() - startedAt).toBeLessThan(2_000); // the 300 ms deadline, with room for a noisy machine
  // The hung cleanup never reaches the internal listener; the process would exit here, the test closes it.
  app.internalServer.closeAllConnections();
  await new Promise<void>((resolve) => app.internalServer.close(() => resolve()));
});

test('the logger redacts authorization headers, cookies, passwords and tokens', () => {
  const { logger, lines } = memoryLogger(httpTestConfig());
  logger.info({ req: { headers: { authorization: 'Bearer abc.def.ghi', cookie: 'sid=1' } }, password: 'hunter2', user: { token: 't0k' } }, 'x');
  const text = JSON.stringify(lines);
  expect(text).not.toMatch(/abc\.def|sid=1|hunter2|t0k/);
  expect(text).toContain('[redacted]');
});
