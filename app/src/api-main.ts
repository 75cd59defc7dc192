/**
 * The order API process: parse the environment, build logger, metrics, database manager, Redis and
 * the app, listen on PORT, and shut down gracefully on SIGTERM/SIGINT (see http/server.ts): exit 0
 * when everything closed within SHUTDOWN_GRACE_MS, 1 otherwise or on a startup failure.
 */
import { Redis } from 'ioredis';
import { loadConfig, type AppConfig } from './config';
import { createDatabaseManager } from './db/database-manager';
import { createApp } from './http/app';
import { boundPort, listen, shutdown } from './http/server';
import { createLogger, type Logger } from './logger';
import { createMetrics } from './metrics';
import { remoteKeySet } from './auth/verify-token';

/** Redis keys of this service live under one prefix (the cache and rate limits share the instance). */
export const REDIS_KEY_PREFIX = 'app:';

export function createRedis(config: AppConfig, logger: Logger): Redis {
  if (config.REDIS_AUTH === 'iam') {
    throw new Error('REDIS_AUTH=iam is not supported yet (ElastiCache IAM tokens are not implemented); use REDIS_AUTH=none');
  }
  const redis = new Redis({
    host: config.REDIS_HOST,
    port: config.REDIS_PORT,
    keyPrefix: REDIS_KEY_PREFIX,
    ...(config.REDIS_TLS ? { tls: { servername: config.REDIS_HOST } } : {}),
    // Fail a command after one reconnect attempt instead of queueing requests for seconds.
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
  });
  redis.on('error', (error: Error) => logger.warn({ err: error }, 'redis connection error'));
  return redis;
}

/** pino writes asynchronously; a hung flush must not hold the exit. */
function flush(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 500);
    logger.flush(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function main(): Promise<number> {
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (error) {
    process.stderr.write(`${JSON.stringify({ level: 'fatal', msg: (error as Error).message })}\n`);
    return 1;
  }
  const logger = createLogger(config);
  const metrics = createMetrics();
  let redis: Redis | undefined;
  try {
    redis = createRedis(config, logger);
    const db = createDatabaseManager(config, { logger, ...metrics.databaseHooks() });
    metrics.observePools(db);
    const handle = createApp({ config, db, logger, metrics, jwks: remoteKeySet(config), redis });
    const server = await listen(handle, config.PORT);
    logger.info({ port: boundPort(server) }, 'listening');

    const liveRedis = redis;
    const finished = await new Promise<boolean>((resolve) => {
      const onSignal = (signal: NodeJS.Signals) => {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        logger.info({ signal }, 'shutdown requested');
        void shutdown({
          server,
          handle,
          logger,
          graceMs: config.SHUTDOWN_GRACE_MS,
          cleanup: async () => {
            await Promise.all([db.close(), liveRedis.quit().then(() => undefined, () => liveRedis.disconnect())]);
          },
        }).then(resolve);
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
    logger.info({ clean: finished }, 'stopped');
    await flush(logger);
    return finished ? 0 : 1;
  } catch (error) {
    logger.fatal({ err: error }, 'startup failed');
    redis?.disconnect();
    await flush(logger);
    return 1;
  }
}

if (require.main === module) {
  // Exit explicitly: a lingering handle (a JWKS fetch socket) must not keep a stopped process alive.
  void main().then((code) => process.exit(code));
}
