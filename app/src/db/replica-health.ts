/**
 * Replica health: which read replicas may serve reads, and how far each has replayed.
 *
 * Every `intervalMs` one round runs: first the primary's written WAL position
 * (`pg_current_wal_lsn()`), then, on each replica with a `timeoutMs` budget,
 * `pg_is_in_recovery()`, `pg_last_wal_replay_lsn()` and the age of the last replayed transaction.
 * A replica stays in rotation while it is in recovery, answers in time and lags at most `maxLagMs`.
 *
 * Lag is measured in WAL, not with `pg_last_xact_replay_timestamp()`: that timestamp stops moving
 * when the primary is idle, so its age grows on a replica that is fully caught up. Instead the
 * primary's positions of recent rounds are kept with their times; a replica's lag is the age of the
 * oldest sampled position it has not replayed yet (0 once it has replayed the latest), a lower bound
 * accurate to one interval. A replica that has not reached even the oldest kept sample has not
 * shown that it is close at all (just started, or far behind) and stays out. The replay age is
 * still reported, for dashboards.
 *
 * Checks use their own one-connection pools, so a saturated query pool is never mistaken for a dead
 * replica (overload should queue, not move every read onto the primary). A replica is taken out
 * after one failed round or by the read path on a connection error, and comes back after one good
 * round.
 */
import type { Pool } from 'pg';
import type { DatabaseLogger } from './pg-pools';
import { formatWalPosition, parseWalPosition, type WalPosition } from './wal-position';

/** The primary's written WAL position over recent rounds, oldest first. */
export class PrimaryPositionHistory {
  private readonly samples: { readonly atMs: number; readonly position: WalPosition }[] = [];

  /** @param retainMs how long samples are kept; longer than the largest lag worth measuring. */
  constructor(
    private readonly retainMs: number,
    private readonly maxSamples = 1000,
  ) {}

  get isEmpty(): boolean {
    return this.samples.length === 0;
  }

  record(atMs: number, position: WalPosition): void {
    this.samples.push({ atMs, position });
    while (this.samples.length > 1 && (this.samples[0]!.atMs < atMs - this.retainMs || this.samples.length > this.maxSamples)) {
      this.samples.shift();
    }
  }

  /**
   * `lagMs`: 0 when `replayed` has reached the latest sample, else the age of the oldest sample
   * not reached. `reachedOldest`: the replica has replayed at least the oldest kept sample, so the
   * lag figure is a real measurement and not just "behind everything we remember".
   */
  assess(replayed: WalPosition, nowMs: number): { readonly lagMs: number; readonly reachedOldest: boolean } {
    const latest = this.samples[this.samples.length - 1];
    if (latest === undefined) throw new Error('no primary position sampled yet');
    if (replayed >= latest.position) return { lagMs: 0, reachedOldest: true };
    const firstAhead = this.samples.find((s) => s.position > replayed)!;
    return { lagMs: Math.max(0, nowMs - firstAhead.atMs), reachedOldest: replayed >= this.samples[0]!.position };
  }
}

/** The live, mutable record the router reads; only the checker and the read path write it. */
export interface ReplicaState {
  readonly host: string;
  healthy: boolean;
  /** Last known `pg_last_wal_replay_lsn()`. */
  replayPosition?: WalPosition;
  lagMs?: number;
  /** Age of the last replayed transaction; grows on an idle primary, so reported but not judged. */
  replayAgeMs?: number;
  checkedAtMs?: number;
  /** Why the replica is out of rotation. */
  reason?: string;
}

/** A snapshot for health endpoints, logs and tests. */
export interface ReplicaStatus {
  readonly host: string;
  readonly healthy: boolean;
  readonly replayPosition?: string;
  readonly lagMs?: number;
  readonly replayAgeMs?: number;
  readonly checkedAt?: string;
  readonly reason?: string;
}

export function replicaStatus(state: ReplicaState): ReplicaStatus {
  return {
    host: state.host,
    healthy: state.healthy,
    ...(state.replayPosition !== undefined && { replayPosition: formatWalPosition(state.replayPosition) }),
    ...(state.lagMs !== undefined && { lagMs: state.lagMs }),
    ...(state.replayAgeMs !== undefined && { replayAgeMs: state.replayAgeMs }),
    ...(state.checkedAtMs !== undefined && { checkedAt: new Date(state.checkedAtMs).toISOString() }),
    ...(state.reason !== undefined && { reason: state.reason }),
  };
}

export interface ReplicaHealthCheckerOptions {
  readonly intervalMs: number;
  readonly maxLagMs: number;
  readonly logger: DatabaseLogger;
  /** One-connection pool on the primary, with the check timeout as its query timeout. */
  readonly primary: Pool;
  readonly replicas: readonly { readonly state: ReplicaState; readonly pool: Pool }[];
  /** @default Date.now */
  readonly now?: () => number;
}

export interface ReplicaHealthChecker {
  /** Runs a round now (joins the one in flight, if any). */
  checkNow(): Promise<void>;
  /** Takes a replica out of rotation until the next good round (the read path saw it fail). */
  markUnhealthy(state: ReplicaState, reason: string): void;
  /** Stops the timer and waits for the round in flight; does not end the pools. */
  stop(): Promise<void>;
}

const PRIMARY_POSITION_SQL = 'SELECT pg_current_wal_lsn()::text AS position';
const REPLICA_PROBE_SQL = `SELECT pg_is_in_recovery() AS in_recovery,
  pg_last_wal_replay_lsn()::text AS replay_position,
  (extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::float8 AS replay_age_ms`;

export function startReplicaHealthChecker(options: ReplicaHealthCheckerOptions): ReplicaHealthChecker {
  const { logger, maxLagMs } = options;
  const now = options.now ?? Date.now;
  const history = new PrimaryPositionHistory(maxLagMs + 2 * options.intervalMs);
  let inFlight: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const setHealth = (state: ReplicaState, healthy: boolean, reason?: string) => {
    const wasHealthy = state.healthy;
    state.healthy = healthy;
    state.reason = healthy ? undefined : reason;
    if (wasHealthy && !healthy) logger.warn({ role: 'replica', host: state.host, reason }, 'replica taken out of rotation');
    if (!wasHealthy && healthy) logger.info({ role: 'replica', host: state.host }, 'replica back in rotation');
  };

  const samplePrimary = async () => {
    try {
      const { rows } = await options.primary.query<{ position: string }>(PRIMARY_POSITION_SQL);
      history.record(now(), parseWalPosition(rows[0]!.position));
    } catch (error) {
      // Replicas are still judged against the positions sampled before; a primary outage must not
      // also take the replicas out, they are what still answers reads.
      logger.warn({ role: 'primary', err: error }, 'health check could not read the primary WAL position');
    }
  };

  const checkReplica = async ({ state, pool }: ReplicaHealthCheckerOptions['replicas'][number]) => {
    try {
      const { rows } = await pool.query<{ in_recovery: boolean; replay_position: string | null; replay_age_ms: number | null }>(REPLICA_PROBE_SQL);
      const row = rows[0]!;
      state.checkedAtMs = now();
      state.replayAgeMs = row.replay_age_ms ?? undefined;
      if (!row.in_recovery) return setHealth(state, false, 'not in recovery: promoted, or not a replica');
      if (row.replay_position === null) return setHealth(state, false, 'has not replayed any WAL yet');
      state.replayPosition = parseWalPosition(row.replay_position);
      if (history.isEmpty) {
        // The primary has never answered: lag is unknown, and this replica is all that can serve reads.
        state.lagMs = undefined;
        return setHealth(state, true);
      }
      const { lagMs, reachedOldest } = history.assess(state.replayPosition, state.checkedAtMs);
      state.lagMs = lagMs;
      if (!reachedOldest) return setHealth(state, false, `behind every primary position of the last ${lagMs} ms`);
      if (lagMs > maxLagMs) return setHealth(state, false, `lags ${lagMs} ms (max ${maxLagMs} ms)`);
      return setHealth(state, true);
    } catch (error) {
      state.checkedAtMs = now();
      return setHealth(state, false, `health check failed: ${(error as Error).message}`);
    }
  };

  const round = async () => {
    // The primary first: a replica position read after the primary sample can be compared with it.
    await samplePrimary();
    await Promise.all(options.replicas.map(checkReplica));
  };

  const checkNow = () => {
    inFlight ??= round().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  const schedule = (delayMs: number) => {
    timer = setTimeout(() => {
      void checkNow().finally(() => {
        if (!stopped) schedule(options.intervalMs);
      });
    }, delayMs);
    // The pools keep the process alive while it has work; the checker alone should not.
    timer.unref();
  };
  schedule(0);

  return {
    checkNow,
    markUnhealthy: (state, reason) => setHealth(state, false, reason),
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
    },
  };
}
