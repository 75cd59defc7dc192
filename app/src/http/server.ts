/**
 * The HTTP listener and its graceful shutdown.
 *
 * Keep-alive: nginx keeps idle upstream connections for 4 s (`upstreamKeepaliveTimeoutSeconds`);
 * the server must keep them longer, or nginx can reuse a connection Node is closing and the request
 * fails with a 502. 65 s leaves room for any proxy timeout up to a minute; idle connections cost
 * little, and `server.close()` (Node >= 19) closes idle ones at shutdown at once.
 *
 * Shutdown: readiness (on the internal listener) fails first and the public listener keeps
 * serving for a short drain delay (so nginx's resolver and the Service drop this pod before its
 * port closes), then the public listener stops, in-flight requests finish, `cleanup` closes pools
 * and Redis, and the internal listener closes last. A hard deadline of the grace period forces
 * exit 1 if anything hangs.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger';
import type { AppHandle } from './app';

export const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** Above keepAliveTimeout, so a request arriving as the keep-alive expires is not cut off. */
export const HEADERS_TIMEOUT_MS = 66_000;
/** Longest drain delay; never more than a fifth of the grace period. */
export const MAX_DRAIN_DELAY_MS = 5_000;

/** Listens with `handler` (`handle.handler` for the public port, `handle.internalApp` for the internal one). */
export function listen(handler: RequestListener, port: number, host?: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(handler);
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    server.headersTimeout = HEADERS_TIMEOUT_MS;
    server.once('error', reject);
    server.listen(port, host ?? '0.0.0.0', () => resolve(server));
  });
}

export function boundPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}

export interface ShutdownOptions {
  readonly server: Server;
  readonly handle: AppHandle;
  readonly logger: Logger;
  readonly graceMs: number;
  /** Closes pools and clients after the listener drained. */
  readonly cleanup: () => Promise<void>;
  /**
   * The probes and metrics listener: it keeps answering (readiness 503) while the public one
   * drains, and closes last.
   * @default - none
   */
  readonly internalServer?: Server;
  /** @default min(MAX_DRAIN_DELAY_MS, graceMs / 5) */
  readonly drainDelayMs?: number;
}

/** Resolves true when everything closed within the grace period, false on the deadline. */
export async function shutdown(options: ShutdownOptions): Promise<boolean> {
  const { server, handle, logger, graceMs } = options;
  const drainDelayMs = options.drainDelayMs ?? Math.min(MAX_DRAIN_DELAY_MS, Math.floor(graceMs / 5));
  handle.startDraining();
  logger.info({ graceMs, drainDelayMs }, 'draining');
  let deadline: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    deadline = setTimeout(() => resolve(false), graceMs);
  });
  const orderly = (async () => {
    await new Promise((resolve) => setTimeout(resolve, drainDelayMs));
    // close() drops idle keep-alive connections only once; a connection whose request finishes
    // later would idle until keepAliveTimeout, so keep dropping idle ones until the server closed.
    const sweeper = setInterval(() => server.closeIdleConnections(), 100);
    await new Promise<void>((resolve) => server.close(() => resolve())).finally(() => clearInterval(sweeper));
    handle.close();
    await options.cleanup();
    if (options.internalServer) {
      const internal = options.internalServer;
      const closed = new Promise<void>((resolve) => internal.close(() => resolve()));
      internal.closeAllConnections();
      await closed;
    }
    return true as const;
  })();
  orderly.catch((error: unknown) => logger.error({ err: error }, 'shutdown step failed'));
  const finished = await Promise.race([orderly.catch(() => false as const), timedOut]);
  clearTimeout(deadline);
  if (!finished) {
    logger.error({ graceMs }, 'shutdown exceeded the grace period; closing connections');
    server.closeAllConnections();
    options.internalServer?.closeAllConnections();
  }
  return finished;
}
