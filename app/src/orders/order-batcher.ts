/**
 * Group commit for order creates: orders that arrive while this process's order calls are all in
 * flight wait, and go to PostgreSQL together, in one `create_orders_committed` call (one round trip,
 * one transaction, one commit; migration 20261205223000000_create-orders-committed.sql), as soon as
 * a call slot frees.
 *
 * Why: apart from its rows, each order call cost the api a round trip (the socket write alone was
 * 27 % of the api's busy CPU in the order run of `npm run bench:api`) and PostgreSQL a statement,
 * a transaction, a commit with its WAL flush and the replica's replay of it. Under load those are
 * paid once per group. Apart from the gathering below, nothing waits on purpose: with a slot free
 * and no order just before it, an order goes at once, alone, through the same function as before.
 *
 * - `slots` calls at most in flight (default: half the primary pool, at least 1), each of at most
 *   `maxGroup` orders (default 32).
 * - Gathering: an order that arrives within `gatherWindowMs` (2) of the one before waits up to
 *   `gatherMs` (1) for more before its call goes, even with a slot free. Without it, orders arriving
 *   one by one at a moderate rate each paid a whole call and commit: `npm run bench:api` measured
 *   api 0.35 + PostgreSQL 0.53 ms per order at 1,672 orders/s paced, against 0.16 + 0.34 when they
 *   went in groups, so half the maximum rate took 87 % of the CPU (README, issue 16); with it, 3.4
 *   orders per call and 0.80 ms instead of 0.88 at 1,759 orders/s. An order after a quiet spell (the
 *   common case at low load) goes at once: gathering adds latency only where orders come faster
 *   than one per `gatherWindowMs`.
 * - Same answers as one call per order: each order gets the function's own outcome, and the WAL
 *   position after the group's COMMIT (later than its own commit would have been, so
 *   read-your-writes still holds).
 * - A key (restaurant and Idempotency-Key) already queued or in flight in this process is answered
 *   `in_progress` at once, as the advisory lock answers a second request with that key while the
 *   first runs: in one transaction the lock would not exclude its own holder.
 * - An error of a group call (none is expected: refusals are outcomes, not errors) rolled the whole
 *   group back; each of its orders is then sent again on its own, in turn on the same session, so
 *   the error reaches only the orders that cause it and the others are made. A group whose outcome
 *   is unknown (the connection dropped around its COMMIT) is sent again order by order on other
 *   connections: the keys make an order that did commit replay.
 */
import { performance } from 'node:perf_hooks';
import type { PoolClient } from 'pg';
import { isConnectionError } from '../db/pg-errors';
import { outsideConsistencyScope } from '../db/request-consistency';
import type { DatabaseManager } from '../db/database-manager';
import * as repo from './order-repository';

export interface OrderBatcherOptions {
  readonly db: DatabaseManager;
  /** Group calls in flight at once. @default max(1, floor(DATABASE_POOL_MAX / 2)) as the caller passes it */
  readonly slots: number;
  /** Orders per group call. @default DEFAULT_MAX_GROUP */
  readonly maxGroup?: number;
  /** Every call's size (1 for an order sent alone), for the metrics. */
  readonly onCall?: (orders: number) => void;
  /** How long an order arriving close behind another waits for more before its call goes; 0 never waits. @default DEFAULT_GATHER.gatherMs */
  readonly gatherMs?: number;
  /** "Close behind": within this many milliseconds of the previous order. @default DEFAULT_GATHER.gatherWindowMs */
  readonly gatherWindowMs?: number;
}

/** One timer tick (Node's timers have a 1 ms resolution) of waiting, only for orders 2 ms apart or closer. */
export const DEFAULT_GATHER = { gatherMs: 1, gatherWindowMs: 2 } as const;

/** Groups averaged 17.7 orders and 11.9 ms in PostgreSQL in the bench's saturated run: 32 stay far under any statement timeout. */
export const DEFAULT_MAX_GROUP = 32;

export interface CreateResult {
  readonly outcome: repo.CreateOrderOutcome;
  readonly walPosition: string;
}

export interface OrderBatcher {
  /** Creates the order (alone or in a group); rejects with the database error of its own call. */
  create(order: repo.NewOrder): Promise<CreateResult>;
  /** Orders waiting for a slot. */
  readonly waiting: number;
}

interface Pending {
  readonly order: repo.NewOrder;
  readonly id: string;
  resolve(result: CreateResult): void;
  reject(error: unknown): void;
}

const IN_PROGRESS: repo.CreateOrderOutcome = { outcome: 'in_progress' };

type Settled = { readonly result: CreateResult } | { readonly error: unknown };

export function createOrderBatcher(options: OrderBatcherOptions): OrderBatcher {
  const { db } = options;
  const maxGroup = options.maxGroup ?? DEFAULT_MAX_GROUP;
  if (!Number.isInteger(options.slots) || options.slots < 1) throw new Error(`order batcher slots must be a positive integer, got ${options.slots}`);
  if (!Number.isInteger(maxGroup) || maxGroup < 1) throw new Error(`order batcher maxGroup must be a positive integer, got ${maxGroup}`);
  const gatherMs = options.gatherMs ?? DEFAULT_GATHER.gatherMs;
  const gatherWindowMs = options.gatherWindowMs ?? DEFAULT_GATHER.gatherWindowMs;
  for (const [name, value] of [['gatherMs', gatherMs], ['gatherWindowMs', gatherWindowMs]] as const) {
    if (!(value >= 0) || !Number.isFinite(value)) throw new Error(`order batcher ${name} must be 0 or more milliseconds, got ${value}`);
  }
  let lastArrival = -Infinity;
  let gathering: NodeJS.Timeout | undefined;
  const queue: Pending[] = [];
  /** Keys queued or in flight here. */
  const active = new Set<string>();
  let busy = 0;

  const alone = (pending: Pending): Promise<void> =>
    db
      .write((client) => repo.createOrderIdempotent(client, pending.order), { name: 'orders.create', positionOf: () => undefined })
      .then(pending.resolve, pending.reject);

  /** Each order of a failed group on its own, in turn, on the group's session (see `together`). */
  const oneByOne = async (client: PoolClient, group: readonly Pending[]): Promise<Settled[]> => {
    const settled: Settled[] = [];
    for (const pending of group) {
      try {
        settled.push({ result: await repo.createOrderIdempotent(client, pending.order) });
      } catch (error) {
        if (isConnectionError(error)) throw error;
        settled.push({ error });
      }
    }
    return settled;
  };

  const together = async (group: Pending[]): Promise<void> => {
    let settled: Settled[];
    try {
      settled = await db.write(
        async (client) => {
          try {
            const answered = await repo.createOrdersIdempotent(
              client,
              group.map((p) => p.order),
            );
            return answered.outcomes.map((outcome) => ({ result: { outcome, walPosition: answered.walPosition } }));
          } catch (error) {
            if (isConnectionError(error)) throw error;
            // The group rolled back. Its orders go one by one on the same session: the backend has
            // finished that rollback (and released the group's advisory locks) before it reads the
            // next call, where another connection could still find a key locked and answer
            // "in progress".
            return oneByOne(client, group);
          }
        },
        { name: 'orders.create_group', positionOf: () => undefined },
      );
    } catch {
      // The session was lost: nothing of it committed past its last answer, and the keys replay
      // whatever did. Each order on its own connection.
      await Promise.all(group.map(alone));
      return;
    }
    group.forEach((pending, i) => {
      const outcome = settled[i]!;
      if ('result' in outcome) pending.resolve(outcome.result);
      else pending.reject(outcome.error);
    });
  };

  const pump = (): void => {
    clearTimeout(gathering);
    gathering = undefined;
    while (busy < options.slots && queue.length > 0) {
      const group = queue.splice(0, maxGroup);
      busy += 1;
      options.onCall?.(group.length);
      // The call runs for every order of the group, none of whose request scopes it belongs to:
      // each caller records the position in its own (order-service.ts).
      void outsideConsistencyScope(() => (group.length === 1 ? alone(group[0]!) : together(group))).finally(() => {
        busy -= 1;
        for (const pending of group) active.delete(pending.id);
        pump();
      });
    }
  };

  return {
    create(order) {
      const id = `${order.restaurantId}:${order.key}`;
      if (active.has(id)) return Promise.resolve({ outcome: IN_PROGRESS, walPosition: '0/0' });
      active.add(id);
      const now = performance.now();
      const closeBehind = now - lastArrival < gatherWindowMs;
      lastArrival = now;
      return new Promise<CreateResult>((resolve, reject) => {
        queue.push({ order, id, resolve, reject });
        // With every slot busy the queue waits for one anyway; a full group goes at once.
        if (gatherMs > 0 && closeBehind && busy < options.slots && queue.length < maxGroup) {
          gathering ??= setTimeout(pump, gatherMs);
          return;
        }
        pump();
      });
    },
    get waiting() {
      return queue.length;
    },
  };
}
