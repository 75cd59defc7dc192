/**
 * Liveness, readiness and the dependency checks behind the `dependency_up` gauge. All of it is
 * served on the internal port only (app.ts): the kubelet and Prometheus reach pods directly.
 *
 * `/healthz` answers while the event loop turns (a wedged loop cannot answer, and the kubelet's
 * probe timeout restarts the pod). `/readyz` means "this process can take traffic": it is
 * listening and not draining. Neither checks a dependency every pod shares (PostgreSQL, Redis): a
 * Redis failover or an RDS Multi-AZ failover would mark every pod NotReady at once, empty the
 * headless Service and make nginx answer 502 on every route, including the cached reads and the
 * order path that keep working while Redis is down (the outbox holds the events). Dependency health
 * goes to metrics instead (`dependency_up`, alert `DependencyDown`).
 */
import type { RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import type { DatabaseManager } from '../db/database-manager';

/** @default 1000 ms: one dependency check, well inside Prometheus' scrape timeout. */
export const DEFAULT_DEPENDENCY_TIMEOUT_MS = 1000;

export interface ReadinessOptions {
  readonly isDraining: () => boolean;
}

function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  work.catch(() => undefined); // the loser of the race must not become an unhandled rejection
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** True when `run` resolves within `timeoutMs`. */
export async function dependencyAnswers(run: () => Promise<unknown>, timeoutMs = DEFAULT_DEPENDENCY_TIMEOUT_MS): Promise<boolean> {
  try {
    await withTimeout(Promise.resolve().then(run), timeoutMs);
    return true;
  } catch {
    return false;
  }
}

/** The checks of the api's shared dependencies, by the `dependency` label of `dependency_up`. */
export function apiDependencyChecks(
  db: Pick<DatabaseManager, 'read'>,
  redis: Pick<Redis, 'ping' | 'status'> | undefined,
  timeoutMs = DEFAULT_DEPENDENCY_TIMEOUT_MS,
): Record<string, () => Promise<boolean>> {
  const checks: Record<string, () => Promise<boolean>> = {
    database_primary: () => dependencyAnswers(() => db.read('SELECT 1', { consistency: 'primary', name: 'dependency_check' }), timeoutMs),
  };
  if (redis) {
    checks.redis = () =>
      dependencyAnswers(async () => {
        // ioredis queues commands while disconnected; do not wait for a reconnect.
        if (redis.status !== 'ready') throw new Error(`connection is ${redis.status}`);
        await redis.ping();
      }, timeoutMs);
  }
  return checks;
}

export const liveness: RequestHandler = (_req, res) => {
  res.set('Cache-Control', 'no-store').json({ status: 'ok' });
};

export function readiness(options: ReadinessOptions): RequestHandler {
  return (_req, res) => {
    const draining = options.isDraining();
    res
      .status(draining ? 503 : 200)
      .set('Cache-Control', 'no-store')
      .json({ status: draining ? 'not_ready' : 'ready', draining });
  };
}
