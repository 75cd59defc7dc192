/**
 * Group commit for order creates: orders that arrive while this process's order calls are all in
 * flight wait, and go to PostgreSQL together, in one `create_orders_committed` call (one round trip,
 * one transaction, one commit; migration 20261205223000000_create-orders-committed.sql), as soon as
 * a call slot frees.
 *
 * Why: apart from its rows, each order call cost the api a round trip (the socket write alone was
 * 27 % of the api's busy CPU in the order run of `npm run bench:api`) and PostgreSQL a statement,
 * a transaction, a commit with its WAL flush and the replica's replay of it. Under load those are
 * paid once per group. Nothing waits on purpose: with a slot free (no load) an order goes at once,
 * alone, through the same function as before; a group forms only from orders that would otherwise
 * queue for a database connection.
 *
 * - `slots` calls at most in flight (default: half the primary pool, at least 1), each of at most
 *   `maxGroup` orders (default 32).
 * - Same answers as one call per order: each order gets the function's own outcome, and the WAL
 *   position after the group's COMMIT (later than its own commit would have been, so
 *   read-your-writes still holds).
 * - A key (restaurant and Idempotency-Key) already queued or in flight in this process is answered
 *   `in_progress` at once, as the advisory lock answers a second request with that key while the
 *   first runs: in one transaction the lock would not exclude its own holder.
 * - An error of a group call (none is expected: refusals are outcomes, not errors) rolled the whole
 *   group back; each of its orders is then sent again on its own, so the error reaches only the
 *   orders that cause it and the others are made. A group whose outcome is unknown (the connection
 *   dropped around its COMMIT) is safe to send again too: the keys make a committed order replay.
 */
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
}

/** A group of 32 runs about 15 ms in PostgreSQL on the bench machine, well under any statement timeout. */
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

export function createOrderBatcher(options: OrderBatcherOptions): OrderBatcher {
  const { db } = options;
  const maxGroup = options.maxGroup ?? DEFAULT_MAX_GROUP;
  if (!Number.isInteger(options.slots) || options.slots < 1) throw new Error(`order batcher slots must be a positive integer, got ${options.slots}`);
  if (!Number.isInteger(maxGroup) || maxGroup < 1) throw new Error(`order batcher maxGroup must be a positive integer, got ${maxGroup}`);
  const queue: Pending[] = [];
  /** Keys queued or in flight here. */
  const active = new Set<string>();
  let busy = 0;

  const alone = (pending: Pending): Promise<void> =>
    db
      .write((client) => repo.createOrderIdempotent(client, pending.order), { name: 'orders.create', positionOf: () => undefined })
      .then(pending.resolve, pending.reject);

  const together = async (group: Pending[]): Promise<void> => {
    let answered: { outcomes: repo.CreateOrderOutcome[]; walPosition: string };
    try {
      answered = await db.write(
        (client) =>
          repo.createOrdersIdempotent(
            client,
            group.map((p) => p.order),
          ),
        { name: 'orders.create_group', positionOf: () => undefined },
      );
    } catch {
      // Nothing of the group was committed (or, at worst, all of it, which the keys replay): each on its own.
      await Promise.all(group.map(alone));
      return;
    }
    group.forEach((pending, i) => pending.resolve({ outcome: answered.outcomes[i]!, walPosition: answered.walPosition }));
  };

  const pump = (): void => {
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
      return new Promise<CreateResult>((resolve, reject) => {
        queue.push({ order, id, resolve, reject });
        pump();
      });
    },
    get waiting() {
      return queue.length;
    },
  };
}
