/**
 * The realtime (websocket) process: parse the environment, build logger, metrics, the two Redis
 * connections (commands, and the dedicated XREAD BLOCK reader) and the realtime server, listen on
 * PORT (websockets) and INTERNAL_PORT (probes, metrics), and shut down on SIGTERM/SIGINT: readiness fails and upgrades are refused at once; after a
 * short drain delay (so nginx and the Service stop sending reconnects here) every client is closed
 * with 1001 and reconnects to another pod, resuming from its last stream id; then the consumer,
 * the listener and Redis close. Exit 0 when all of it fits in SHUTDOWN_GRACE_MS, 1 otherwise or on
 * a startup failure.
 */
import { iamTokenProviders } from './aws/iam-auth';
import { createRedisClient, type RedisClient } from './cache/redis-client';
import { createLogger, type Logger } from './logger';
import { flushLogger, loadConfigOrReport, runEntry, shutdownSignal } from './process-lifecycle';
import { createTokenVerifier, remoteKeySet } from './auth/verify-token';
import { CLOSE_CODES } from './realtime/protocol';
import { createRealtimeMetrics } from './realtime/realtime-metrics';
import { createRealtimeServer, type RealtimeServer } from './realtime/realtime-server';

/** Longest drain delay before clients are told to go; never more than a fifth of the grace period. */
export const MAX_DRAIN_DELAY_MS = 5_000;

async function shutdown(realtime: RealtimeServer, redis: RedisClient[], logger: Logger, graceMs: number): Promise<boolean> {
  const drainDelayMs = Math.min(MAX_DRAIN_DELAY_MS, Math.floor(graceMs / 5));
  realtime.startDraining();
  logger.info({ graceMs, drainDelayMs, connections: realtime.connections() }, 'draining');
  let deadline: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (deadline = setTimeout(() => resolve(false), graceMs)));
  const orderly = (async () => {
    await new Promise((resolve) => setTimeout(resolve, drainDelayMs));
    // Half of what is left for the close handshakes; stragglers are terminated after that.
    await realtime.closeConnections(CLOSE_CODES.goingAway, Math.floor((graceMs - drainDelayMs) / 2));
    await realtime.close();
    await Promise.all(redis.map((client) => client.close()));
    return true as const;
  })();
  const finished = await Promise.race([orderly.catch((error: unknown) => (logger.error({ err: error }, 'shutdown step failed'), false as const)), timedOut]);
  clearTimeout(deadline);
  if (!finished) logger.error({ graceMs }, 'shutdown exceeded the grace period');
  return finished;
}

async function main(): Promise<number> {
  const config = loadConfigOrReport();
  if (!config) return 1;
  const logger = createLogger(config);
  const redisClients: RedisClient[] = [];
  try {
    const { redis: iamTokenProvider } = iamTokenProviders(config);
    const commands = createRedisClient(config, { name: 'ws', logger, iamTokenProvider });
    redisClients.push(commands);
    // No retries: an XREAD interrupted by a reconnect must reject, never be re-sent (stream-consumer.ts).
    const reader = createRedisClient(config, { name: 'ws-stream', logger, iamTokenProvider, maxRetriesPerRequest: 0, commandTimeoutMs: config.WS_STREAM_BLOCK_MS + 2000 });
    redisClients.push(reader);
    const realtime = createRealtimeServer({
      config,
      logger,
      metrics: createRealtimeMetrics(),
      verifyToken: createTokenVerifier({ issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, keys: remoteKeySet(config) }),
      commands: commands.redis,
      reader: reader.redis,
    });
    for (const [server, port] of [
      [realtime.server, config.PORT],
      // Probes and metrics; once it answers, the pod is ready.
      [realtime.internalServer, config.INTERNAL_PORT],
    ] as const) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '0.0.0.0', () => resolve());
      });
    }
    logger.info({ port: config.PORT, internalPort: config.INTERNAL_PORT }, 'listening');

    await shutdownSignal(logger);
    const finished = await shutdown(realtime, redisClients, logger, config.SHUTDOWN_GRACE_MS);
    logger.info({ clean: finished }, 'stopped');
    await flushLogger(logger);
    return finished ? 0 : 1;
  } catch (error) {
    logger.fatal({ err: error }, 'startup failed');
    await Promise.all(redisClients.map((client) => client.close().catch(() => undefined)));
    await flushLogger(logger);
    return 1;
  }
}

if (require.main === module) runEntry(main);
