/**
 * Prometheus metrics of the realtime service, on a registry of its own per process (like
 * `metrics.ts` for the API). Labels are bounded: room kinds, close reasons, replay outcomes.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RoomKind } from './protocol';

/** `rate_limit`: the client sent messages (or protocol pings) faster than its token bucket allows. */
export type DropReason = 'slow_consumer' | 'heartbeat' | 'policy' | 'token_expired' | 'rate_limit';
export type UpgradeRejection = 'unauthorized' | 'bad_request' | 'not_found' | 'draining';

export interface RealtimeMetrics {
  readonly registry: Registry;
  readonly messagesDelivered: Counter<'room'>;
  /** Stream append (entry id time) to the end of the fan-out of a live event on this instance. */
  readonly deliveryLag: Histogram;
  readonly replays: Counter;
  readonly replayedEvents: Counter;
  readonly resyncs: Counter;
  /** Resumes whose `last_id` was ahead of the stream (also counted in `resyncs`). */
  readonly resumesAheadOfStream: Counter;
  /** Sockets closed with 4002 right after the handshake, by the cap that refused them (`ConnectionLimitKind`). */
  readonly connectionLimitRefusals: Counter<'limit'>;
  readonly droppedClients: Counter<'reason'>;
  readonly upgradeRejections: Counter<'reason'>;
  readonly streamReadErrors: Counter;
  /** The connection gauge reads `count()` at scrape time. */
  observeConnections(count: () => ReadonlyMap<RoomKind, number>): void;
}

export interface RealtimeMetricsOptions {
  /** Default process metrics (CPU, memory, event loop lag, GC). @default true */
  readonly defaultMetrics?: boolean;
}

export function createRealtimeMetrics(options: RealtimeMetricsOptions = {}): RealtimeMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const counts: (() => ReadonlyMap<RoomKind, number>)[] = [];
  new Gauge({
    name: 'ws_connections',
    help: 'Open websocket connections by room kind',
    labelNames: ['room'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const kind of ['restaurant', 'kitchen', 'table'] as const) {
        this.set({ room: kind }, counts.reduce((sum, count) => sum + (count().get(kind) ?? 0), 0));
      }
    },
  });
  return {
    registry,
    messagesDelivered: new Counter({
      name: 'ws_messages_delivered_total',
      help: 'Order events sent to clients (live and replayed), by room kind',
      labelNames: ['room'] as const,
      registers: [registry],
    }),
    deliveryLag: new Histogram({
      name: 'ws_delivery_lag_seconds',
      help: 'Time from the stream append of a live event to the end of its fan-out on this instance',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    replays: new Counter({ name: 'ws_replays_total', help: 'Resumes answered with a replay', registers: [registry] }),
    replayedEvents: new Counter({ name: 'ws_replayed_events_total', help: 'Events sent by replays', registers: [registry] }),
    resyncs: new Counter({ name: 'ws_resyncs_total', help: 'Resumes answered with resync (outside the replay window, trimmed, or ahead of the stream)', registers: [registry] }),
    resumesAheadOfStream: new Counter({
      name: 'ws_resumes_ahead_of_stream_total',
      help: 'Resumes whose last_id was after the newest id of the stream (answered with resync)',
      registers: [registry],
    }),
    connectionLimitRefusals: new Counter({
      name: 'ws_connection_limit_refusals_total',
      help: 'Connections closed with 4002 at once because their token subject or table already had the most open sockets, by limit',
      labelNames: ['limit'] as const,
      registers: [registry],
    }),
    droppedClients: new Counter({
      name: 'ws_dropped_clients_total',
      help: 'Connections closed by the server, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    upgradeRejections: new Counter({
      name: 'ws_upgrade_rejections_total',
      help: 'Upgrade requests refused before the handshake, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    streamReadErrors: new Counter({ name: 'ws_stream_read_errors_total', help: 'Failed XREAD calls on a connected reader', registers: [registry] }),
    observeConnections: (count) => void counts.push(count),
  };
}
