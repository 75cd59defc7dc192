/**
 * Prometheus metrics of one process (prom-client), on a registry of its own so tests can build
 * several apps in one process without "already registered" clashes.
 *
 * Label cardinality is bounded on purpose: HTTP routes are the express route pattern
 * (`/v1/restaurants/:restaurantId/menu`), never the raw URL; unmatched requests share one label.
 * Database queries are labelled by their metric name (never SQL text) and role.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DatabaseManager, DatabaseManagerOptions, DatabaseRole } from './db/database-manager';

/** What the order service reports after each committed change; metrics implement it. */
export interface OrderLifecycleObserver {
  created(order: { readonly restaurant_id: string }): void;
  /** `order` carries its status timestamps after the change. */
  statusChanged(order: OrderTimes, previous: string): void;
}

export interface OrderTimes {
  readonly restaurant_id: string;
  readonly status: string;
  readonly created_at: string;
  readonly confirmed_at: string | null;
  readonly preparing_at: string | null;
  readonly ready_at: string | null;
  readonly completed_at: string | null;
}

/** Seconds between two ISO timestamps, or undefined when either is missing or time ran backwards. */
function secondsBetween(from: string | null, to: string | null): number | undefined {
  if (from === null || to === null) return undefined;
  const seconds = (Date.parse(to) - Date.parse(from)) / 1000;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

/** Route label for requests no route matched (404s, scanners), so they cannot blow up cardinality. */
export const UNMATCHED_ROUTE = 'unmatched';

export interface AppMetrics {
  readonly registry: Registry;
  readonly httpRequestDuration: Histogram<'route' | 'method' | 'status'>;
  readonly dbQueryDuration: Histogram<'query' | 'role'>;
  readonly dbSlowQueries: Counter<'query' | 'role'>;
  readonly dbPoolWait: Histogram<'role'>;
  readonly rateLimitRejections: Counter<'route_class'>;
  readonly loadShedRejections: Counter<'route_class' | 'reason'>;
  /** Order lifecycle (fed by the order service after each commit). */
  readonly orders: OrderLifecycleObserver;
  /** Outbox relay batches that failed (XADD refused or timed out, database error) and invalid rows. */
  readonly orderEventRelayFailures: Counter;
  /** Order events the outbox relay appended to their streams. */
  readonly orderEventRelayPublished: Counter;
  /** Orders per create call to PostgreSQL (1: alone; more: a group, app/src/orders/order-batcher.ts). */
  readonly orderCreateCallOrders: Histogram;
  /** `order_event_outbox_pending` reads this at scrape time (rows waiting for the relay). */
  observeOrderEventOutbox(outbox: { pending(): Promise<number> }): void;
  /**
   * `dependency_up{dependency}` runs these checks at scrape time: 1 when the dependency answered,
   * 0 when not. Readiness never checks shared dependencies (http/health.ts); this gauge and the
   * `DependencyDown` alert report them instead.
   */
  observeDependencies(checks: Readonly<Record<string, () => Promise<boolean>>>): void;
  /** The DatabaseManager option hooks that feed the query metrics. */
  databaseHooks(): Pick<DatabaseManagerOptions, 'onQuery' | 'onSlowQuery' | 'onPoolWait'>;
  /**
   * Pool gauges read `poolStats()` of this manager at scrape time; when it has `replicaStatus()`,
   * so do the replica gauges (lag and rotation per replica host).
   */
  observePools(db: ObservedDatabase): void;
}

/** What the scrape-time gauges read from a DatabaseManager. */
export type ObservedDatabase = Pick<DatabaseManager, 'poolStats'> & Partial<Pick<DatabaseManager, 'replicaStatus'>>;

export interface MetricsOptions {
  /** Default process metrics (CPU, memory, event loop lag, GC). @default true */
  readonly defaultMetrics?: boolean;
}

export function createMetrics(options: MetricsOptions = {}): AppMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  const httpRequestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by express route pattern, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const dbQueryDuration = new Histogram({
    name: 'db_query_duration_seconds',
    help: 'Database unit of work duration (after acquire) by query name and role',
    labelNames: ['query', 'role'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const dbSlowQueries = new Counter({
    name: 'db_slow_queries_total',
    help: 'Database queries over the slow-query threshold',
    labelNames: ['query', 'role'] as const,
    registers: [registry],
  });
  const dbPoolWait = new Histogram({
    name: 'db_pool_wait_seconds',
    help: 'Time spent waiting for a pooled database connection',
    labelNames: ['role'] as const,
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2],
    registers: [registry],
  });
  const rateLimitRejections = new Counter({
    name: 'rate_limit_rejections_total',
    help: 'Requests answered 429 by the rate limiter, by route class',
    labelNames: ['route_class'] as const,
    registers: [registry],
  });
  const loadShedRejections = new Counter({
    name: 'load_shed_rejections_total',
    help: 'Requests answered 503 by load shedding, by route class and reason',
    labelNames: ['route_class', 'reason'] as const,
    registers: [registry],
  });

  // Restaurant is not a label: a region's locations share a Prometheus, and the location is a
  // target label already; per-restaurant figures come from the analytics routes.
  const ordersCreated = new Counter({ name: 'orders_created_total', help: 'Orders created (idempotent replays not counted)', registers: [registry] });
  const orderStatusChanges = new Counter({
    name: 'order_status_changes_total',
    help: 'Order status changes by the status entered',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const orderProcessing = new Histogram({
    name: 'order_processing_seconds',
    help: 'Order processing time: created to completed',
    buckets: [60, 300, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200, 10800],
    registers: [registry],
  });
  const kitchenPreparation = new Histogram({
    name: 'kitchen_preparation_seconds',
    help: 'Kitchen preparation time: preparing (or confirmed, when preparing was skipped) to ready',
    buckets: [60, 120, 180, 300, 420, 600, 900, 1200, 1800, 2700, 3600],
    registers: [registry],
  });
  const orderEventRelayFailures = new Counter({
    name: 'order_event_relay_failures_total',
    help: 'Order event outbox relay batches that failed (XADD refused or timed out, database error; the events stay in the outbox) and invalid outbox rows',
    registers: [registry],
  });
  const orderCreateCallOrders = new Histogram({
    name: 'order_create_call_orders',
    help: 'Orders per create call to PostgreSQL: 1 when an order went alone, more when orders queued and went as one group',
    buckets: [1, 2, 4, 8, 16, 32],
    registers: [registry],
  });
  const orderEventRelayPublished = new Counter({
    name: 'order_event_relay_published_total',
    help: 'Order events the outbox relay appended to their Redis streams',
    registers: [registry],
  });
  const outboxes: { pending(): Promise<number> }[] = [];
  // One table for every api process: each reports the same count (alert on max, not sum).
  new Gauge({
    name: 'order_event_outbox_pending',
    help: 'Order events in the outbox waiting for the relay (the same table for every api process)',
    registers: [registry],
    async collect() {
      this.reset();
      if (outboxes.length === 0) return;
      // A scrape while the primary is down reports no sample rather than failing /metrics.
      const counts = await Promise.all(outboxes.map((o) => o.pending().catch(() => undefined)));
      const known = counts.filter((n): n is number => n !== undefined);
      if (known.length > 0) this.set(Math.max(...known));
    },
  });
  const dependencyChecks: Record<string, () => Promise<boolean>> = {};
  new Gauge({
    name: 'dependency_up',
    help: 'Whether this process reached a shared dependency at scrape time (1) or not (0): database_primary (SELECT 1), redis (PING)',
    labelNames: ['dependency'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const entries = Object.entries(dependencyChecks);
      const results = await Promise.all(entries.map(([, check]) => check().catch(() => false)));
      entries.forEach(([dependency], i) => this.set({ dependency }, results[i] ? 1 : 0));
    },
  });
  const orders: OrderLifecycleObserver = {
    created: () => ordersCreated.inc(),
    statusChanged: (order) => {
      orderStatusChanges.inc({ status: order.status });
      if (order.status === 'ready') {
        const seconds = secondsBetween(order.preparing_at ?? order.confirmed_at, order.ready_at);
        if (seconds !== undefined) kitchenPreparation.observe(seconds);
      }
      if (order.status === 'completed') {
        const seconds = secondsBetween(order.created_at, order.completed_at);
        if (seconds !== undefined) orderProcessing.observe(seconds);
      }
    },
  };

  const pools: ObservedDatabase[] = [];
  const poolGauge = (name: string, help: string, pick: (s: ReturnType<DatabaseManager['poolStats']>[number]) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['role', 'host'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const db of pools) {
          for (const stats of db.poolStats()) this.set({ role: stats.role, host: stats.host }, pick(stats));
        }
      },
    });
  poolGauge('db_pool_connections', 'Open connections per pool', (s) => s.total);
  poolGauge('db_pool_idle_connections', 'Idle connections per pool', (s) => s.idle);
  poolGauge('db_pool_waiting_clients', 'Callers waiting for a connection per pool', (s) => s.waiting);
  poolGauge('db_pool_errors', 'Connection errors each pool survived (monotonic per pool)', (s) => s.errors);

  // Replica health as the router sees it (replica-health.ts): the lag is the WAL-based lower bound
  // the health checker measures, absent until a replica's first check.
  const replicaGauge = (name: string, help: string, pick: (s: ReturnType<DatabaseManager['replicaStatus']>[number]) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['host'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const db of pools) {
          for (const status of db.replicaStatus?.() ?? []) {
            const value = pick(status);
            if (value !== undefined) this.set({ host: status.host }, value);
          }
        }
      },
    });
  replicaGauge('db_replica_lag_seconds', 'Replication lag of each read replica (WAL replay behind the primary), as the health checker measured it', (s) =>
    s.lagMs === undefined ? undefined : s.lagMs / 1000,
  );
  replicaGauge('db_replica_healthy', '1 while a read replica is in the read rotation, 0 while it is out (down, not in recovery or lagging)', (s) => (s.healthy ? 1 : 0));

  return {
    registry,
    httpRequestDuration,
    dbQueryDuration,
    dbSlowQueries,
    dbPoolWait,
    rateLimitRejections,
    loadShedRejections,
    orders,
    orderEventRelayFailures,
    orderEventRelayPublished,
    orderCreateCallOrders,
    observeOrderEventOutbox: (outbox) => void outboxes.push(outbox),
    observeDependencies: (checks) => void Object.assign(dependencyChecks, checks),
    databaseHooks: () => ({
      onQuery: (name: string, role: DatabaseRole, durationMs: number) => dbQueryDuration.observe({ query: name, role }, durationMs / 1000),
      onSlowQuery: (name: string, role: DatabaseRole) => dbSlowQueries.inc({ query: name, role }),
      onPoolWait: (role: DatabaseRole, waitMs: number) => dbPoolWait.observe({ role }, waitMs / 1000),
    }),
    observePools: (db) => void pools.push(db),
  };
}
