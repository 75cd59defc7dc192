/**
 * Fault drills on the local platform (tools/local/platform.ts), each under load (PeakLoad):
 *
 *   api-sigkill    SIGKILL one api process; restarted once orders flow again
 *   ws-sigkill     SIGKILL the ws process with the most connections; restarted after clients moved
 *   replica-stop   stop the streaming replica; started again
 *   redis-outage   stop Redis (it comes back empty, as a failed-over cache would) and restart it
 *
 * Each drill checks: the orders in the database are exactly the acknowledged idempotency keys (none
 * lost, none twice), every websocket client received every event of its room that is in the
 * stream, in order, once, after reconnecting; and measures the client-visible error rate and the
 * recovery time. Phases end on conditions (orders acknowledged, clients live, probes made), not on
 * timers.
 *
 * Throughout each drill every api and ws process is probed for readiness as the kubelet would
 * (kubelet-probes.ts: the app stack's probe path, period, timeout and thresholds). The Redis outage
 * lasts until every api has been probed failureThreshold + 1 times, long enough for the kubelet
 * to take a pod out of its Service, and passes only if every api stayed Ready and served (a cached
 * menu read on its own port at every probe) and no cached menu read or order create through nginx
 * failed while Redis was down: Redis is a dependency every pod shares, so its outage must not
 * empty the Service.
 */
import Redis from 'ioredis';
import { PeakLoad, type AttemptRecord } from '../load/peak-load';
import { checkOrders, checkWs, concatStreams, eventsMissingFromStreams, highestOrderId, outboxPending, readStreams, wsCaughtUp, type OrderCheck, type StreamEntry, type WsCheck } from '../load/verify';
import { waitFor } from '../services/processes';
import type { LocalPlatform, ManagedProcess } from '../local/platform';
import { allNotReadyMs, appStackReadinessProbes, KubeletReadinessProber, type HttpProbeSpec, type ProbedRole, type ReadinessReport } from './kubelet-probes';

export const DRILLS = ['api-sigkill', 'ws-sigkill', 'replica-stop', 'redis-outage'] as const;
export type DrillName = (typeof DRILLS)[number];

export const DRILL_DESCRIPTIONS: Readonly<Record<DrillName, string>> = {
  'api-sigkill': 'SIGKILL one api process during load, restart it',
  'ws-sigkill': 'SIGKILL the busiest ws process during load, restart it',
  'replica-stop': 'stop the PostgreSQL streaming replica during load, start it again',
  'redis-outage': 'stop Redis during load (it returns empty), restart it',
};

export interface DrillSettings {
  readonly ordersPerSecond: number;
  readonly wsClients: number;
  /** Orders acknowledged before the fault. */
  readonly warmupOrders: number;
  /** Orders acknowledged while the fault lasts (sets the outage length: outageOrders / rate seconds). */
  readonly faultOrders: number;
  /** Orders acknowledged after the repair, before the load stops. */
  readonly afterOrders: number;
  readonly statusStepDelayMs: number;
  /** Upper bound of each wait; a drill that needs longer fails. */
  readonly phaseTimeoutMs: number;
}

export const TEST_DRILL_SETTINGS: DrillSettings = {
  ordersPerSecond: 15,
  wsClients: 12,
  warmupOrders: 20,
  faultOrders: 45,
  afterOrders: 30,
  statusStepDelayMs: 250,
  phaseTimeoutMs: 20_000,
};

export interface DrillResult {
  readonly drill: DrillName;
  readonly description: string;
  readonly passed: boolean;
  readonly problems: string[];
  readonly orders: OrderCheck;
  readonly ws: WsCheck;
  /** Order events the database implies that never reached a stream (producer side, see verify.ts). */
  readonly eventsMissingFromStreams: number;
  /** Client attempts (HTTP) from the fault to the end of the drill. */
  readonly attemptsAfterFault: number;
  readonly failedAttemptsAfterFault: number;
  readonly clientErrorRate: number;
  readonly failuresByOperation: Record<string, number>;
  /** Fault to the last failed client attempt (0: none failed). */
  readonly recoveryMs: number;
  /** Fault to the last websocket client live again (0: none was disconnected). */
  readonly wsRecoveryMs: number;
  /** How long the fault lasted (fault to repair). */
  readonly faultMs: number;
  readonly durationMs: number;
  /** Client attempts (HTTP, through nginx) that failed while the fault lasted, by operation and status. */
  readonly failuresDuringFault: Record<string, number>;
  /** Readiness as the kubelet saw it, per api and ws process. */
  readonly readiness: ReadinessReport;
  /**
   * While the fault lasted, how long every api (ws) process was NotReady at once: in a cluster, the
   * time the Service had no endpoint and nginx answered 502 to every request of the location.
   */
  readonly apisAllNotReadyMs: number;
  readonly wssAllNotReadyMs: number;
}

function countByOperation(attempts: readonly AttemptRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of attempts) counts[`${a.op} ${a.status || 'transport'}`] = (counts[`${a.op} ${a.status || 'transport'}`] ?? 0) + 1;
  return counts;
}

async function wsConnections(ws: ManagedProcess): Promise<number> {
  const text = await fetch(`${ws.internalUrl}/metrics`).then((r) => r.text());
  return [...text.matchAll(/^ws_connections\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

export async function runDrill(
  platform: LocalPlatform,
  drill: DrillName,
  settings: DrillSettings = TEST_DRILL_SETTINGS,
  log: (line: string) => void = () => undefined,
  probes: Readonly<Record<ProbedRole, HttpProbeSpec>> = appStackReadinessProbes(),
): Promise<DrillResult> {
  const started = Date.now();
  const restaurantIds = platform.restaurants.map((r) => r.id);
  const sinceOrderId = await highestOrderId(platform.cluster);
  const load = new PeakLoad({
    baseUrl: platform.baseUrl,
    wsUrl: platform.wsUrl,
    restaurants: platform.restaurants,
    sign: (claims) => platform.identity.token(claims, '1h'),
    runId: `${drill}-${Date.now().toString(36)}`,
    ordersPerSecond: settings.ordersPerSecond,
    statusStepDelayMs: settings.statusStepDelayMs,
    wsClients: settings.wsClients,
  });
  const wait = (what: string, check: () => boolean | Promise<boolean>) => waitFor(`${drill}: ${what}`, async () => check(), settings.phaseTimeoutMs);
  let snapshot = new Map<string, StreamEntry[]>();
  let control: Redis | undefined;
  const menuTokens = new Map<string, Promise<string>>();
  const prober = new KubeletReadinessProber(platform, probes, (restaurantId) => {
    let token = menuTokens.get(restaurantId);
    if (!token) {
      const tableId = platform.restaurants.find((r) => r.id === restaurantId)!.tableIds[0]!;
      token = platform.identity.token({ role: 'guest', restaurant_id: restaurantId, table_id: tableId, sub: `kubelet-${drill}-${restaurantId}` }, '1h');
      menuTokens.set(restaurantId, token);
    }
    return token;
  });
  try {
    await load.prepare();
    load.start();
    prober.start();
    await wait(`${settings.warmupOrders} orders acknowledged before the fault`, () => load.ackedSince(load.startedAt) >= settings.warmupOrders && load.allLive());

    const faultAt = Date.now();
    let repair: () => Promise<void>;
    let faultOver: () => boolean | Promise<boolean> = () => load.ackedSince(faultAt) >= settings.faultOrders;
    let faultTimeoutMs = settings.phaseTimeoutMs;
    switch (drill) {
      case 'api-sigkill': {
        const victim = platform.apis[0]!;
        log(`SIGKILL api ${victim.index} (pid ${victim.pid()})`);
        await victim.kill('SIGKILL');
        repair = () => victim.start();
        break;
      }
      case 'ws-sigkill': {
        const counts = await Promise.all(platform.wss.map(wsConnections));
        const victim = platform.wss[counts.indexOf(Math.max(...counts))]!;
        log(`SIGKILL ws ${victim.index} (pid ${victim.pid()}, ${Math.max(...counts)} of ${load.observers.length} clients)`);
        await victim.kill('SIGKILL');
        const affected = () => load.observers.filter((o) => o.closedAt.some((t) => t >= faultAt));
        faultOver = () => load.ackedSince(faultAt) >= settings.faultOrders && affected().length > 0 && load.allLive();
        repair = () => victim.start();
        break;
      }
      case 'replica-stop':
        log('stopping the replica');
        await platform.cluster.stopReplica();
        repair = async () => {
          await platform.cluster.startReplica();
          await platform.cluster.waitForReplica();
        };
        break;
      case 'redis-outage': {
        // Freeze writes, keep what the streams hold (Redis restarts empty), then stop it: every
        // event clients could have had is in the snapshot or in the streams after the restart.
        control = new Redis(platform.redis.url, { maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null });
        await control.connect();
        await control.call('CLIENT', 'PAUSE', '30000', 'WRITE');
        snapshot = await readStreams(platform.redis.url, restaurantIds);
        // Closed while Redis still answers (the pause outlives the connection): ioredis'
        // disconnect() on a connection the server has already dropped starts a 2 s timer that waits
        // for a 'close' event which came before, and that timer kept the jest worker alive.
        await control.quit();
        control = undefined;
        log('stopping Redis');
        await platform.redis.stop();
        // Long enough for the kubelet to act: failureThreshold failed probes take a pod out of its
        // Service, so every api must have been probed once more than that while Redis is down.
        const probesNeeded = probes.api.failureThreshold + 1;
        faultOver = () => load.ackedSince(faultAt) >= settings.faultOrders && prober.everyProbedSince('api', faultAt, probesNeeded);
        faultTimeoutMs = settings.phaseTimeoutMs + probesNeeded * (probes.api.periodSeconds + probes.api.timeoutSeconds) * 1000;
        repair = () => platform.redis.start();
        break;
      }
    }
    await waitFor(`${drill}: the fault to last ${settings.faultOrders} acknowledged orders`, async () => faultOver(), faultTimeoutMs);
    const repairedAt = Date.now();
    log(`repairing after ${((repairedAt - faultAt) / 1000).toFixed(1)} s`);
    await repair();
    await wait(`${settings.afterOrders} orders acknowledged after the repair, every websocket client live`, () => load.ackedSince(repairedAt) >= settings.afterOrders && load.allLive());
    await load.drain(settings.phaseTimeoutMs);
    // Every event committed with its order; the relay appends what waited while Redis was down.
    await wait('the order event outbox to drain', async () => (await outboxPending(platform.cluster)) === 0);

    await prober.stop();
    const readiness = prober.report();

    const streams = concatStreams(snapshot, await readStreams(platform.redis.url, restaurantIds));
    await wait('every websocket client to receive the last event of its room', () => wsCaughtUp(load, streams)).catch(() => undefined);
    const orders = await checkOrders(platform.cluster, load, sinceOrderId, restaurantIds);
    const ws = checkWs(load, streams);
    const missingFromStreams = await eventsMissingFromStreams(platform.cluster, sinceOrderId, restaurantIds, streams);

    const after = load.attempts.filter((a) => a.at >= faultAt);
    const failed = after.filter((a) => !a.ok);
    const failuresByOperation = countByOperation(failed);
    const failuresDuringFault = countByOperation(failed.filter((a) => a.at <= repairedAt));
    const apisAllNotReadyMs = allNotReadyMs(readiness, 'api', faultAt, repairedAt);
    const wssAllNotReadyMs = allNotReadyMs(readiness, 'ws', faultAt, repairedAt);
    const lastFailure = failed.reduce((latest: AttemptRecord | undefined, a) => (!latest || a.at > latest.at ? a : latest), undefined);
    const wsRecoveryMs = load.observers.reduce((worst, o) => {
      const closedAfter = o.closedAt.filter((t) => t >= faultAt);
      if (closedAfter.length === 0) return worst;
      const back = o.readyAt.filter((t) => t >= closedAfter[closedAfter.length - 1]!);
      return Math.max(worst, (back[0] ?? Date.now()) - faultAt);
    }, 0);

    const problems: string[] = [];
    if (!orders.exact) problems.push(`orders: ${orders.lost} lost, ${orders.duplicates} duplicates, ${orders.unacknowledged} unacknowledged, ${orders.rejected.length} rejected, ${orders.ordersInDatabase} in the database for ${orders.acknowledged} acknowledged keys${orders.rejected.length ? `; first rejection: ${orders.rejected[0]}` : ''}`);
    if (orders.statusMismatches > 0) problems.push(`${orders.statusMismatches} orders' status in the database differs from the acknowledged one`);
    if (!ws.exact) problems.push(`websocket: ${ws.missing} events missing, ${ws.disorderedClients} clients with duplicates or disorder`);
    if (drill === 'redis-outage') {
      // Redis is shared by every api: its outage must leave every api Ready and serving.
      for (const target of readiness.targets.filter((t) => t.role === 'api')) {
        const notReady = target.transitions.filter((t) => !t.ready);
        if (notReady.length > 0) {
          problems.push(`readiness: api ${target.index} turned NotReady ${notReady.map((t) => `${((t.at - faultAt) / 1000).toFixed(1)} s after Redis stopped (probe ${t.cause})`).join(', ')}; ${target.failedProbes} of ${target.probes} probes failed`);
        }
        if (target.failedServingChecks.length > 0) problems.push(`api ${target.index}: ${target.failedServingChecks.length} of ${target.servingChecks} cached menu reads on its own port failed (${target.failedServingChecks[0]})`);
      }
      if (apisAllNotReadyMs > 0) problems.push(`readiness: every api was NotReady at once for ${(apisAllNotReadyMs / 1000).toFixed(1)} s of the outage: in a cluster the api Service was empty and nginx answered 502 to the whole location`);
      const served = Object.entries(failuresDuringFault).filter(([key]) => key.startsWith('menu read') || key.startsWith('order create'));
      if (served.length > 0) problems.push(`through nginx while Redis was down: ${served.map(([key, n]) => `${n} x ${key}`).join(', ')}`);
    }
    return {
      drill,
      description: DRILL_DESCRIPTIONS[drill],
      passed: problems.length === 0,
      problems,
      orders,
      ws,
      eventsMissingFromStreams: missingFromStreams,
      attemptsAfterFault: after.length,
      failedAttemptsAfterFault: failed.length,
      clientErrorRate: after.length ? failed.length / after.length : 0,
      failuresByOperation,
      failuresDuringFault,
      readiness,
      apisAllNotReadyMs,
      wssAllNotReadyMs,
      recoveryMs: lastFailure ? lastFailure.at - faultAt : 0,
      wsRecoveryMs,
      faultMs: repairedAt - faultAt,
      durationMs: Date.now() - started,
    };
  } finally {
    await prober.stop();
    load.close();
    // Only a connection Redis still holds is left open here (quit() ran otherwise), so disconnect()
    // ends with the socket's close and leaves no timer behind.
    control?.disconnect();
    // Leave the platform whole for the next drill whatever happened.
    await Promise.all([...platform.apis, ...platform.wss].map((p) => p.start().catch(() => undefined)));
    await platform.cluster.startReplica().catch(() => undefined);
  }
}
