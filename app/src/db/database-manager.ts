/**
 * The database manager: a primary pool, one pool per read replica, and the routing between them.
 *
 * - `write` and `transaction` run on the primary. With a `consistencyKey` they remember the
 *   primary's WAL position after the commit for that key (read-your-writes).
 * - `read` runs on a healthy replica when the caller accepts replica data (`replica-ok`, the
 *   default) and the replica has replayed past the key's (or the cookie token's) last write; else
 *   on the primary. A read that loses its replica connection (or hits a recovery conflict) is run
 *   once more on the primary: reads are idempotent. The caller never sees a replica outage.
 *   An exhausted replica pool (every client busy for the whole acquire timeout) is overload, not an
 *   outage: that error reaches the caller (`isPoolExhausted`, answer 503) instead of moving the
 *   load onto the primary.
 * - Among eligible replicas the least busy pool wins (checked-out plus waiting clients), ties taken
 *   in turn, so one slow replica does not collect a queue while another idles.
 *
 * Which WAL position a write records: `pg_current_wal_insert_lsn()`, read after COMMIT returned.
 * The commit record was inserted before COMMIT returned, so the insert position is at or past its
 * end whatever `synchronous_commit` says. `pg_current_wal_lsn()` (the written position) is also past
 * it when the commit waited for its flush (`synchronous_commit` on, the default), but a transaction
 * with `SET LOCAL synchronous_commit = off` returns before its commit record is written, and the
 * written position can then be behind it: a replica could pass that token without having the row.
 * The insert position may be a little ahead (other sessions' records, or a page header when it sits
 * on a page boundary); that only sends the key's reads to the primary a moment longer. Health
 * checks, which compare against what a replica can already have, use the written position.
 * With a key, the position is read in the same round trip as COMMIT (`COMMIT; SELECT ...`), or
 * comes back with the work itself when it commits on its own (`positionOf`: a procedure that
 * COMMITs and then reads the position, like the order create).
 * A test reads the commit records back with pg_walinspect: with `synchronous_commit = off` the
 * written position misses them, the insert position never does.
 *
 * Pool sizes: DATABASE_POOL_MAX applies to each pool (primary and every replica), per process.
 * Host entries (DATABASE_PRIMARY_HOST, DATABASE_REPLICA_HOSTS) may be `host:port`; the port
 * defaults to DATABASE_PORT.
 */
import { performance } from 'node:perf_hooks';
import type { PoolClient, QueryConfig, QueryResult, QueryResultRow } from 'pg';
import type { AppConfig } from '../config';
import { isConnectionError, isRecoveryConflict, isRetryableTransactionError } from './pg-errors';
import { createRolePool, parseEndpoint, poolConfigFor, type DatabaseLogger, type DatabaseRole, type IamTokenProvider, type RolePool } from './pg-pools';
import { laterPosition, ReadYourWritesTracker, type ReadYourWritesToken } from './read-your-writes';
import { currentConsistencyScope, noteWrittenPosition } from './request-consistency';
import { replicaStatus, startReplicaHealthChecker, type ReplicaState, type ReplicaStatus } from './replica-health';
import { MAX_WAL_POSITION, parseWalPosition, type WalPosition } from './wal-position';

export type { DatabaseLogger, DatabaseRole, IamTokenProvider } from './pg-pools';
export type { ReplicaStatus } from './replica-health';
export type { ReadYourWritesToken } from './read-your-writes';

/** A unit of work on one checked-out client. Do not keep the client after the promise settles. */
export type DatabaseWork<T> = (client: PoolClient) => Promise<T>;

export interface QueryContext {
  /**
   * Metric and log name of the query ('orders.create'). Never put SQL text or ids here.
   * @default - the QueryConfig's `name` (its prepared-statement name), else 'unnamed'
   */
  readonly name?: string;
}

export interface WriteContext<T = unknown> extends QueryContext {
  /** Remember this write for read-your-writes under this key (a client or restaurant id). */
  readonly consistencyKey?: string;
  /**
   * For work that commits by itself and reads the primary's WAL insert position after that commit
   * (a procedure that COMMITs, then reads `pg_current_wal_insert_lsn()`): picks that position
   * (`pg_lsn` text) out of the work's result, so no query asks for it afterwards. Undefined: the
   * work wrote nothing, nothing is recorded.
   * @default - the position is read with one more query after the work
   */
  readonly positionOf?: (result: T) => string | undefined;
}

export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable';

export interface TransactionContext extends Omit<WriteContext, 'positionOf'> {
  /** @default 'read committed' */
  readonly isolation?: IsolationLevel;
  /**
   * How many times to run the whole callback again after a serialization failure or deadlock
   * (40001, 40P01). The callback must be safe to re-run: database work only, no side effects.
   * @default 0
   */
  readonly retries?: number;
}

export interface ReadContext extends QueryContext {
  /** `primary`: must see every committed write (e.g. before an update decision). @default 'replica-ok' */
  readonly consistency?: 'replica-ok' | 'primary';
  /** The key a previous write used: this read must see that write. */
  readonly consistencyKey?: string;
  /** A token from another process (cookie or header): this read must see that write. */
  readonly session?: ReadYourWritesToken;
}

export interface PoolStats {
  readonly role: DatabaseRole;
  readonly host: string;
  /** Open connections. */
  readonly total: number;
  readonly idle: number;
  /** Callers waiting for a connection. */
  readonly waiting: number;
  /** Connection errors the pool survived. */
  readonly errors: number;
}

export interface DatabaseManagerOptions {
  /** @default - JSON lines on stderr */
  readonly logger?: DatabaseLogger;
  /** @default `${SERVICE_ROLE}-${LOCATION_ID}` */
  readonly applicationName?: string;
  /**
   * CA bundle (PEM) for DATABASE_SSL=verify-full; the image ships the RDS bundle.
   * @default - Node's trust store plus NODE_EXTRA_CA_CERTS
   */
  readonly caBundlePath?: string;
  /** Required with DATABASE_AUTH=iam: returns an RDS IAM token for a host. */
  readonly iamTokenProvider?: IamTokenProvider;
  /** @default 1000 */
  readonly healthCheckIntervalMs?: number;
  /** Budget of one replica check (connect and query). @default 500 */
  readonly healthCheckTimeoutMs?: number;
  /** A replica further behind than this leaves rotation. @default 1000 */
  readonly maxReplicaLagMs?: number;
  /**
   * When no replica is known to have replayed a read's required position, ask one (a single
   * `pg_last_wal_replay_lsn()` on the connection that then runs the read) before using the primary.
   * @default true
   */
  readonly onDemandReplayCheck?: boolean;
  /** Must exceed maxReplicaLagMs + healthCheckIntervalMs. @default 10000 */
  readonly readYourWritesTtlMs?: number;
  /** @default 50000 */
  readonly readYourWritesMaxKeys?: number;
  /** Queries at least this long are logged (and reported to onSlowQuery). @default 500 */
  readonly slowQueryMs?: number;
  /** Duration of each unit of work (one query, a callback, or a whole transaction), after acquire. */
  readonly onQuery?: (name: string, role: DatabaseRole, durationMs: number) => void;
  readonly onSlowQuery?: (name: string, role: DatabaseRole, durationMs: number) => void;
  /** Time spent waiting for a pooled connection. */
  readonly onPoolWait?: (role: DatabaseRole, waitMs: number) => void;
  /**
   * Called with the work's name after each `write` or `transaction` that committed on the primary
   * (not after a failed one). The api wakes its outbox relay with it (app/src/events/outbox-relay.ts). Must not throw.
   */
  readonly onCommitted?: (name: string) => void;
  /** Custom settings every session starts with (pg-pools.ts `sessionSettings`). @default - none */
  readonly sessionSettings?: Readonly<Record<string, string>>;
}

export interface DatabaseManager {
  write<T>(work: DatabaseWork<T>, context?: WriteContext<T>): Promise<T>;
  write<R extends QueryResultRow = QueryResultRow>(query: string | QueryConfig, context?: WriteContext): Promise<QueryResult<R>>;
  /** BEGIN, the callback, COMMIT; ROLLBACK when the callback throws. */
  transaction<T>(work: DatabaseWork<T>, context?: TransactionContext): Promise<T>;
  read<T>(work: DatabaseWork<T>, context?: ReadContext): Promise<T>;
  read<R extends QueryResultRow = QueryResultRow>(query: string | QueryConfig, context?: ReadContext): Promise<QueryResult<R>>;
  /** The live read-your-writes token of a key, to hand to the client (cookie, header). */
  readYourWritesToken(key: string): ReadYourWritesToken | undefined;
  /**
   * Records, for the caller, the WAL position (pg_lsn text) that a write made on its behalf reached:
   * under `consistencyKey` and in the caller's request scope, as `write` does with `positionOf`.
   * For work that ran outside the caller's scope on behalf of several callers (order-batcher.ts).
   */
  recordWritten(position: string, consistencyKey?: string): void;
  /** Runs a replica health round now. */
  checkReplicas(): Promise<void>;
  replicaStatus(): ReplicaStatus[];
  poolStats(): PoolStats[];
  /**
   * Stops health checks, refuses new work, and ends every pool once its checked-out clients are
   * released (it waits for work in flight; bound it with the shutdown grace period). Idempotent.
   */
  close(): Promise<void>;
}

const DEFAULTS = {
  healthCheckIntervalMs: 1000,
  healthCheckTimeoutMs: 500,
  maxReplicaLagMs: 1000,
  readYourWritesTtlMs: 10_000,
  readYourWritesMaxKeys: 50_000,
  slowQueryMs: 500,
} as const;

const BEGIN: Record<IsolationLevel, string> = {
  'read committed': 'BEGIN',
  'repeatable read': 'BEGIN ISOLATION LEVEL REPEATABLE READ',
  serializable: 'BEGIN ISOLATION LEVEL SERIALIZABLE',
};
const INSERT_POSITION_SQL = 'SELECT pg_current_wal_insert_lsn()::text AS position';
const COMMIT_THEN_INSERT_POSITION_SQL = `COMMIT; ${INSERT_POSITION_SQL}`;
const REPLAY_POSITION_SQL = 'SELECT pg_last_wal_replay_lsn()::text AS position';

const stderrLogger: DatabaseLogger = {
  info: (fields, msg) => process.stderr.write(`${logLine('info', fields, msg)}\n`),
  warn: (fields, msg) => process.stderr.write(`${logLine('warn', fields, msg)}\n`),
  error: (fields, msg) => process.stderr.write(`${logLine('error', fields, msg)}\n`),
};

function logLine(level: string, fields: Record<string, unknown>, msg: string): string {
  return JSON.stringify({ level, msg, ...fields }, (_key, value: unknown) =>
    value instanceof Error ? { message: value.message, code: (value as { code?: unknown }).code } : value,
  );
}

/** A checked-out client; `release` returns it, or discards it when its session is not clean. */
interface Lease {
  readonly client: PoolClient;
  release(failure?: unknown): void;
}

function positiveNumber(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${value}`);
  return value;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

export function createDatabaseManager(config: AppConfig, options: DatabaseManagerOptions = {}): DatabaseManager {
  // Validate everything before a pool (or a timer) exists, so a bad option leaks nothing.
  const logger = options.logger ?? stderrLogger;
  const healthCheckIntervalMs = positiveNumber('healthCheckIntervalMs', options.healthCheckIntervalMs ?? DEFAULTS.healthCheckIntervalMs);
  const healthCheckTimeoutMs = positiveNumber('healthCheckTimeoutMs', options.healthCheckTimeoutMs ?? DEFAULTS.healthCheckTimeoutMs);
  const maxReplicaLagMs = positiveNumber('maxReplicaLagMs', options.maxReplicaLagMs ?? DEFAULTS.maxReplicaLagMs);
  const readYourWritesTtlMs = positiveNumber('readYourWritesTtlMs', options.readYourWritesTtlMs ?? DEFAULTS.readYourWritesTtlMs);
  const readYourWritesMaxKeys = positiveNumber('readYourWritesMaxKeys', options.readYourWritesMaxKeys ?? DEFAULTS.readYourWritesMaxKeys);
  const slowQueryMs = positiveNumber('slowQueryMs', options.slowQueryMs ?? DEFAULTS.slowQueryMs);
  const onDemandReplayCheck = options.onDemandReplayCheck ?? true;
  if (readYourWritesTtlMs <= maxReplicaLagMs + healthCheckIntervalMs) {
    throw new Error(
      `readYourWritesTtlMs must exceed maxReplicaLagMs + healthCheckIntervalMs (${maxReplicaLagMs + healthCheckIntervalMs}), got ${readYourWritesTtlMs}`,
    );
  }
  const applicationName = options.applicationName ?? `${config.SERVICE_ROLE}-${config.LOCATION_ID}`;
  const settings = { applicationName, caBundlePath: options.caBundlePath, iamTokenProvider: options.iamTokenProvider, sessionSettings: options.sessionSettings };
  const primaryConfig = poolConfigFor(config, parseEndpoint(config.DATABASE_PRIMARY_HOST, config.DATABASE_PORT), settings);
  const replicaConfigs = config.DATABASE_REPLICA_HOSTS.map((host) => poolConfigFor(config, parseEndpoint(host, config.DATABASE_PORT), settings));
  const healthPoolConfig = (base: typeof primaryConfig) => ({
    ...base,
    application_name: `${applicationName}-health`,
    max: 1,
    idleTimeoutMillis: 0,
    connectionTimeoutMillis: healthCheckTimeoutMs,
    statement_timeout: healthCheckTimeoutMs,
    // Client-side as well: a host that stopped answering never sends the statement timeout.
    query_timeout: healthCheckTimeoutMs,
  });

  const primary = createRolePool('primary', primaryConfig, logger);
  const replicas = replicaConfigs.map((replicaConfig) => {
    const pool = createRolePool('replica', replicaConfig, logger);
    const state: ReplicaState = { host: pool.host, healthy: false, reason: 'not checked yet' };
    return { pool, state };
  });
  const healthPools = [
    createRolePool('primary', healthPoolConfig(primaryConfig), logger, 'health'),
    ...replicaConfigs.map((replicaConfig) => createRolePool('replica', healthPoolConfig(replicaConfig), logger, 'health')),
  ];
  const checker =
    replicas.length > 0
      ? startReplicaHealthChecker({
          intervalMs: healthCheckIntervalMs,
          maxLagMs: maxReplicaLagMs,
          logger,
          primary: healthPools[0]!.pool,
          replicas: replicas.map((r, i) => ({ state: r.state, pool: healthPools[i + 1]!.pool })),
        })
      : undefined;
  const tracker = new ReadYourWritesTracker({ ttlMs: readYourWritesTtlMs, maxKeys: readYourWritesMaxKeys });
  let nextReplica = 0;
  let closing: Promise<void> | undefined;

  const safely = (hook: () => void) => {
    try {
      hook();
    } catch (error) {
      logger.error({ err: error }, 'database hook threw');
    }
  };
  const committed = (name: string) => {
    if (options.onCommitted) safely(() => options.onCommitted!(name));
  };

  const acquire = async (target: RolePool): Promise<Lease> => {
    if (closing) throw new Error('the database manager is closed');
    const startedAt = performance.now();
    const client = await target.pool.connect();
    const unwatch = target.watchCheckedOut(client);
    if (options.onPoolWait) safely(() => options.onPoolWait!(target.role, performance.now() - startedAt));
    return {
      client,
      release: (failure) => {
        unwatch();
        // Reuse only an idle session (no open or failed transaction) whose connection is intact.
        const reusable = client.getTransactionStatus() === 'I' && !(failure !== undefined && isConnectionError(failure));
        client.release(reusable ? undefined : asError(failure ?? new Error('the client was left inside a transaction')));
      },
    };
  };

  const timed = async <T>(name: string, target: RolePool, work: () => Promise<T>): Promise<T> => {
    const startedAt = performance.now();
    try {
      return await work();
    } finally {
      const durationMs = performance.now() - startedAt;
      if (options.onQuery) safely(() => options.onQuery!(name, target.role, durationMs));
      if (durationMs >= slowQueryMs) {
        logger.warn({ query: name, role: target.role, host: target.host, durationMs: Math.round(durationMs) }, 'slow database query');
        if (options.onSlowQuery) safely(() => options.onSlowQuery!(name, target.role, durationMs));
      }
    }
  };

  const asWork = <T>(subject: DatabaseWork<T> | string | QueryConfig): DatabaseWork<T> =>
    typeof subject === 'function' ? subject : (client) => client.query(subject) as Promise<T>;

  const nameOf = (subject: DatabaseWork<unknown> | string | QueryConfig, context: QueryContext | undefined): string =>
    context?.name ?? (typeof subject === 'object' ? subject.name : undefined) ?? 'unnamed';

  const runOn = async <T>(target: RolePool, name: string, work: DatabaseWork<T>): Promise<T> => {
    const { client, release } = await acquire(target);
    let failure: unknown;
    try {
      return await timed(name, target, () => work(client));
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      release(failure);
    }
  };

  /** A position is read after a commit when a key or a request scope (request-consistency.ts) wants it. */
  const wantsPosition = (context: Omit<WriteContext, 'positionOf'>) => context.consistencyKey !== undefined || currentConsistencyScope() !== undefined;
  const recordPosition = (key: string | undefined, text: string) => {
    const position = parseWalPosition(text);
    if (key !== undefined) tracker.record(key, position);
    noteWrittenPosition(position);
  };

  const write = async <T>(subject: DatabaseWork<T> | string | QueryConfig, context: WriteContext<T> = {}): Promise<T> => {
    const work = asWork<T>(subject);
    const { client, release } = await acquire(primary);
    let failure: unknown;
    try {
      const result = await timed(nameOf(subject, context), primary, () => work(client));
      if (client.getTransactionStatus() !== 'I') {
        failure = new Error('a write callback left a transaction open (it is rolled back); use transaction()');
        throw failure;
      }
      if (wantsPosition(context)) {
        try {
          if (context.positionOf) {
            const position = context.positionOf(result);
            if (position !== undefined) recordPosition(context.consistencyKey, position);
          } else {
            const { rows } = await client.query<{ position: string }>(INSERT_POSITION_SQL);
            recordPosition(context.consistencyKey, rows[0]!.position);
          }
        } catch (error) {
          // The write itself committed; failing it now would invite a duplicate. Without a position,
          // keep the key's reads on the primary until the token expires. The request scope gets no
          // token then: a client-held one never expires, so it must not be the maximum.
          failure = error;
          if (context.consistencyKey !== undefined) tracker.record(context.consistencyKey, MAX_WAL_POSITION);
          logger.warn({ role: 'primary', err: error }, 'could not read the WAL position after a write; its key reads from the primary');
        }
      }
      committed(nameOf(subject, context));
      return result;
    } catch (error) {
      failure ??= error;
      throw error;
    } finally {
      release(failure);
    }
  };

  const transactionOnce = async <T>(work: DatabaseWork<T>, context: TransactionContext): Promise<T> => {
    const { client, release } = await acquire(primary);
    let failure: unknown;
    try {
      return await timed(context.name ?? 'unnamed', primary, async () => {
        await client.query(BEGIN[context.isolation ?? 'read committed']);
        const result = await work(client);
        let commandTag: string;
        if (!wantsPosition(context)) {
          commandTag = (await client.query('COMMIT')).command;
        } else {
          // Two statements in one simple-protocol message: node-postgres answers with one result each.
          const [commit, position] = (await client.query(COMMIT_THEN_INSERT_POSITION_SQL)) as unknown as [QueryResult, QueryResult<{ position: string }>];
          commandTag = commit.command;
          if (commandTag === 'COMMIT') recordPosition(context.consistencyKey, position.rows[0]!.position);
        }
        // COMMIT of a transaction in which a statement failed (and the callback caught the error)
        // answers ROLLBACK, not an error: surface it, or the caller would believe its work was saved.
        if (commandTag !== 'COMMIT') throw new Error('the transaction was rolled back at COMMIT: a statement in it failed and the callback did not rethrow');
        committed(context.name ?? 'unnamed');
        return result;
      });
    } catch (error) {
      failure = error;
      if (client.getTransactionStatus() !== 'I' && !isConnectionError(error)) {
        await client.query('ROLLBACK').catch((rollbackError: unknown) => {
          failure = rollbackError;
        });
      }
      throw error;
    } finally {
      release(failure);
    }
  };

  const transaction = async <T>(work: DatabaseWork<T>, context: TransactionContext = {}): Promise<T> => {
    const retries = context.retries ?? 0;
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await transactionOnce(work, context);
      } catch (error) {
        if (attempt >= retries || !isRetryableTransactionError(error)) throw error;
        // Jittered backoff so the racing transactions do not collide again in lockstep.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * 2 ** attempt));
      }
    }
  };

  /** The least busy healthy replica that has replayed `required` (by the last known position). */
  const pickReplica = (required: WalPosition | undefined) => {
    let best: (typeof replicas)[number] | undefined;
    let bestBusy = Infinity;
    for (let i = 0; i < replicas.length; i += 1) {
      const candidate = replicas[(nextReplica + i) % replicas.length]!;
      const { state, pool } = candidate;
      if (!state.healthy) continue;
      if (required !== undefined && (state.replayPosition === undefined || state.replayPosition < required)) continue;
      const busy = pool.pool.totalCount - pool.pool.idleCount + pool.pool.waitingCount;
      if (busy < bestBusy) {
        best = candidate;
        bestBusy = busy;
      }
    }
    nextReplica = (nextReplica + 1) % Math.max(replicas.length, 1);
    return best;
  };

  /**
   * Runs a read on a replica. `served: false` means "use the primary": the replica had not replayed
   * `required` (when `verify` asks to check first), lost its connection, or hit a recovery conflict.
   */
  const attemptOnReplica = async <T>(
    replica: (typeof replicas)[number],
    name: string,
    work: DatabaseWork<T>,
    required: WalPosition | undefined,
    verify: boolean,
  ): Promise<{ served: true; value: T } | { served: false }> => {
    let lease: Lease | undefined;
    let failure: unknown;
    try {
      lease = await acquire(replica.pool);
      const { client } = lease;
      if (verify && required !== undefined) {
        const { rows } = await client.query<{ position: string | null }>(REPLAY_POSITION_SQL);
        const replayed = rows[0]!.position === null ? undefined : parseWalPosition(rows[0]!.position);
        if (replayed !== undefined && (replica.state.replayPosition === undefined || replayed > replica.state.replayPosition)) {
          replica.state.replayPosition = replayed;
        }
        if (replayed === undefined || replayed < required) return { served: false };
      }
      return { served: true, value: await timed(name, replica.pool, () => work(client)) };
    } catch (error) {
      failure = error;
      if (isConnectionError(error)) {
        checker?.markUnhealthy(replica.state, `a read failed: ${asError(error).message}`);
      } else if (!isRecoveryConflict(error)) {
        throw error;
      }
      logger.warn({ role: 'replica', host: replica.state.host, query: name, err: error }, 'read failed on a replica; running it on the primary');
      return { served: false };
    } finally {
      lease?.release(failure);
    }
  };

  const readOnReplica = async <T>(replica: (typeof replicas)[number], name: string, work: DatabaseWork<T>, required: WalPosition | undefined, verify: boolean): Promise<T> => {
    const outcome = await attemptOnReplica(replica, name, work, required, verify);
    return outcome.served ? outcome.value : runOn(primary, name, work);
  };

  const read = async <T>(subject: DatabaseWork<T> | string | QueryConfig, context: ReadContext = {}): Promise<T> => {
    const work = asWork<T>(subject);
    const name = nameOf(subject, context);
    if (context.consistency === 'primary' || replicas.length === 0) return runOn(primary, name, work);
    const keyed = context.consistencyKey === undefined ? undefined : tracker.get(context.consistencyKey)?.walPosition;
    // An explicit session token wins; else the token the client sent with this request, if any.
    const required = laterPosition(keyed, context.session?.walPosition ?? currentConsistencyScope()?.incoming);
    const known = pickReplica(required);
    if (known) return readOnReplica(known, name, work, required, false);
    if (required !== undefined && onDemandReplayCheck) {
      const candidate = pickReplica(undefined);
      if (candidate) return readOnReplica(candidate, name, work, required, true);
    }
    return runOn(primary, name, work);
  };

  const stats = (target: RolePool): PoolStats => ({
    role: target.role,
    host: target.host,
    total: target.pool.totalCount,
    idle: target.pool.idleCount,
    waiting: target.pool.waitingCount,
    errors: target.errors,
  });

  return {
    write: write as DatabaseManager['write'],
    transaction,
    read: read as DatabaseManager['read'],
    readYourWritesToken: (key) => tracker.get(key),
    recordWritten: (position, consistencyKey) => recordPosition(consistencyKey, position),
    checkReplicas: async () => {
      if (closing) throw new Error('the database manager is closed');
      await checker?.checkNow();
    },
    replicaStatus: () => replicas.map((r) => replicaStatus(r.state)),
    poolStats: () => [primary, ...replicas.map((r) => r.pool)].map(stats),
    close: () => {
      closing ??= (async () => {
        await checker?.stop();
        const results = await Promise.allSettled([primary, ...replicas.map((r) => r.pool), ...healthPools].map((p) => p.pool.end()));
        for (const result of results) {
          if (result.status === 'rejected') logger.warn({ err: result.reason }, 'ending a database pool failed');
        }
      })();
      return closing;
    },
  };
}
