/**
 * The order API process: parse the environment, build logger, metrics, database manager, Redis and
 * the app, listen on PORT (the API, behind nginx), then on INTERNAL_PORT (probes and metrics: once
 * it answers, the pod is ready), and shut down gracefully on SIGTERM/SIGINT (see http/server.ts):
 * exit 0 when everything closed within SHUTDOWN_GRACE_MS, 1 otherwise or on a startup failure.
 */
import { iamTokenProviders } from './aws/iam-auth';
import { createInvalidationBus } from './cache/invalidation-bus';
import { createLayeredCache } from './cache/layered-cache';
import { createRedisClient } from './cache/redis-client';
import { createDatabaseManager } from './db/database-manager';
import { jobClientConfig } from './db/job-connection';
import { createOutboxRelay, LOCAL_WAKEUP_SESSION_SETTINGS, type OutboxRelay } from './events/outbox-relay';
import { createApp } from './http/app';
import { apiDependencyChecks } from './http/health';
import { boundPort, listen, shutdown } from './http/server';
import { createImageBackends } from './images/image-backends';
import { registerMenuImageRoutes } from './images/menu-image-routes';
import { createLogger } from './logger';
import { flushLogger, loadConfigOrReport, runEntry, shutdownSignal } from './process-lifecycle';
import { registerMenuRoutes } from './menu/menu-routes';
import { createMetrics } from './metrics';
import { registerOrderRoutes } from './orders/order-routes';
import { registerSettingsRoutes } from './settings/settings-routes';
import { registerTableRoutes } from './tables/table-routes';
import { registerReservationRoutes } from './reservations/reservation-routes';
import { registerKitchenRoutes } from './kitchen/kitchen-routes';
import { registerAnalyticsRoutes } from './analytics/analytics-routes';
import { remoteKeySet } from './auth/verify-token';

async function main(): Promise<number> {
  const config = loadConfigOrReport();
  if (!config) return 1;
  const logger = createLogger(config);
  const metrics = createMetrics();
  let closeRedis: (() => Promise<void>) | undefined;
  try {
    const iam = iamTokenProviders(config);
    // One Redis connection for cache, rate limits and order events; the bus adds its subscriber.
    const redisClient = createRedisClient(config, { name: 'api', logger, iamTokenProvider: iam.redis });
    closeRedis = () => redisClient.close();
    const redis = redisClient.redis;
    // The relay (below) is woken by this process's own commits, so its sessions' order writes do not NOTIFY.
    let relay: OutboxRelay | undefined;
    const db = createDatabaseManager(config, {
      logger,
      iamTokenProvider: iam.database,
      ...metrics.databaseHooks(),
      sessionSettings: LOCAL_WAKEUP_SESSION_SETTINGS,
      onCommitted: (name) => relay?.wake(name),
    });
    metrics.observePools(db);
    metrics.observeDependencies(apiDependencyChecks(db, redis));
    const cache = createLayeredCache({ redis, registry: metrics.registry, logger });
    const bus = createInvalidationBus(config, { cache, publisher: redis, logger, iamTokenProvider: iam.redis });
    const images = createImageBackends(config);
    const handle = createApp({
      config,
      db,
      logger,
      metrics,
      jwks: remoteKeySet(config),
      redis,
      routes: (v1, kit) => {
        registerMenuRoutes(v1, kit, { db, cache, bus, logger });
        // Half the primary pool for order creates; orders beyond them go in groups (order-batcher.ts).
        registerOrderRoutes(v1, kit, { db, logger, metrics, statusCache: { cache, bus }, groupSlots: Math.max(1, Math.floor(config.DATABASE_POOL_MAX / 2)) });
        registerSettingsRoutes(v1, kit, { db, cache, bus, logger });
        registerTableRoutes(v1, kit, { db });
        registerReservationRoutes(v1, kit, { db });
        registerKitchenRoutes(v1, kit, { db });
        registerAnalyticsRoutes(v1, kit, { db });
        registerMenuImageRoutes(v1, kit, { db, bus, logger, ...images });
      },
    });
    // Order events: triggers write them to the outbox with each change; this relay streams them.
    relay = createOutboxRelay({
      db,
      redis,
      logger,
      listenConnection: jobClientConfig(config),
      onPublished: (n) => metrics.orderEventRelayPublished.inc(n),
      onFailure: () => metrics.orderEventRelayFailures.inc(),
    });
    metrics.observeOrderEventOutbox(relay);
    relay.start();
    const server = await listen(handle.handler, config.PORT);
    const internalServer = await listen(handle.internalApp, config.INTERNAL_PORT);
    logger.info({ port: boundPort(server), internalPort: boundPort(internalServer) }, 'listening');

    await shutdownSignal(logger);
    const finished = await shutdown({
      server,
      internalServer,
      handle,
      logger,
      graceMs: config.SHUTDOWN_GRACE_MS,
      cleanup: async () => {
        // Shutdown order: the relay, the bus and cache before the connection they use, the database last.
        await relay.stop();
        await bus.close();
        await cache.close();
        await images.close();
        await Promise.all([db.close(), redisClient.close()]);
      },
    });
    logger.info({ clean: finished }, 'stopped');
    await flushLogger(logger);
    return finished ? 0 : 1;
  } catch (error) {
    logger.fatal({ err: error }, 'startup failed');
    await closeRedis?.().catch(() => undefined);
    await flushLogger(logger);
    return 1;
  }
}

if (require.main === module) runEntry(main);
