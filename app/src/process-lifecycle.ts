/**
 * What every long-running entry (api-main, ws-main) does the same way around its own wiring:
 * read the environment contract or report why not, wait for the first SIGTERM/SIGINT, flush the
 * logger before exiting, and exit explicitly.
 */
import { loadConfig, type AppConfig } from './config';
import type { Logger } from './logger';

/** The contract, or undefined after one fatal JSON line on stderr (there is no logger yet). */
export function loadConfigOrReport(): AppConfig | undefined {
  try {
    return loadConfig();
  } catch (error) {
    process.stderr.write(`${JSON.stringify({ level: 'fatal', msg: (error as Error).message })}\n`);
    return undefined;
  }
}

/** Resolves with the first SIGTERM or SIGINT (Kubernetes sends SIGTERM, a terminal SIGINT). */
export function shutdownSignal(logger: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      logger.info({ signal }, 'shutdown requested');
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** pino writes asynchronously; a hung flush must not hold the exit. */
export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 500);
    logger.flush(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Runs an entry's main and exits with its code. Exit explicitly: a lingering handle (a JWKS fetch
 * socket, a reconnect timer) must not keep a stopped process alive.
 */
export function runEntry(main: () => Promise<number>): void {
  void main().then((code) => process.exit(code));
}
