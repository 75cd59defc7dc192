/**
 * Liveness and readiness. `/healthz` answers while the event loop turns (a wedged loop cannot
 * answer, and the kubelet's probe timeout restarts the pod); it checks no dependency, so an outage
 * of PostgreSQL never restarts every pod. `/readyz` touches the dependencies a request needs: the
 * primary (`SELECT 1` with a short timeout) and Redis (PING), and fails while draining so nginx and
 * the Service stop sending new work before the listener closes.
 */
import type { RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import type { DatabaseManager } from '../db/database-manager';

/** @default 1000 ms: well inside the kubelet's default 1 s probe timeout plus its period. */
export const DEFAULT_READINESS_TIMEOUT_MS = 1000;

export interface ReadinessOptions {
  readonly db: Pick<DatabaseManager, 'read'>;
  readonly redis?: Pick<Redis, 'ping' | 'status'>;
  readonly isDraining: () => boolean;
  readonly timeoutMs?: number;
}

type CheckResult = 'ok' | string;

function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  work.catch(() => undefined); // the loser of the race must not become an unhandled rejection
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

async function check(run: () => Promise<unknown>, timeoutMs: number): Promise<CheckResult> {
  try {
    await withTimeout(Promise.resolve().then(run), timeoutMs);
    return 'ok';
  } catch (error) {
    return error instanceof Error ? error.message : 'failed';
  }
}

export const liveness: RequestHandler = (_req, res) => {
  res.set('Cache-Control', 'no-store').json({ status: 'ok' });
};

export function readiness(options: ReadinessOptions): RequestHandler {
  const timeoutMs = options.timeoutMs ?? DEFAULT_READINESS_TIMEOUT_MS;
  const { db, redis } = options;
  return async (_req, res) => {
    const [database, redisResult] = await Promise.all([
      check(() => db.read('SELECT 1', { consistency: 'primary', name: 'readiness' }), timeoutMs),
      redis
        ? check(async () => {
            // ioredis queues commands while disconnected; do not wait for a reconnect.
            if (redis.status !== 'ready') throw new Error(`connection is ${redis.status}`);
            await redis.ping();
          }, timeoutMs)
        : Promise.resolve(undefined),
    ]);
    const checks: Record<string, CheckResult> = { database };
    if (redisResult !== undefined) checks.redis = redisResult;
    const draining = options.isDraining();
    const failed = Object.entries(checks).filter(([, result]) => result !== 'ok').map(([name]) => name);
    if (draining) failed.push('draining');
    res
      .status(failed.length === 0 ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({ status: failed.length === 0 ? 'ready' : 'not_ready', failed, checks, draining });
  };
}
