/**
 * Read-your-writes across API processes: the client carries the token.
 *
 * The in-process tracker (read-your-writes.ts) only helps when the next request lands on the same
 * pod; behind nginx's least_conn it usually does not. So every response to a request that wrote
 * carries `X-Consistency-Token: <WAL position>`, and a client that sends it back on later requests
 * (to any pod) has those reads served by a replica only once the replica has replayed that far.
 *
 * The scope is per request, held in AsyncLocalStorage so that every repository's reads and writes
 * take part without threading the token through each service call: `db.read` uses the scope's
 * incoming token when the caller passes no `session`, and `db.write`/`db.transaction` raise the
 * scope's written position after each commit.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { laterPosition } from './read-your-writes';
import type { WalPosition } from './wal-position';

export const CONSISTENCY_TOKEN_HEADER = 'X-Consistency-Token';

export interface ConsistencyScope {
  /** The token the client sent back: the position its earlier writes reached. */
  readonly incoming?: WalPosition;
  /** The latest position this request's own writes reached. */
  written?: WalPosition;
}

const storage = new AsyncLocalStorage<ConsistencyScope>();

/** Runs `work` (and everything it awaits or schedules) inside `scope`. */
export function runInConsistencyScope<T>(scope: ConsistencyScope, work: () => T): T {
  return storage.run(scope, work);
}

/**
 * Runs `work` outside every request's scope: for work started by one request on behalf of several
 * (a group of orders, app/src/orders/order-batcher.ts), whose position each of them records itself.
 */
export function outsideConsistencyScope<T>(work: () => T): T {
  return storage.exit(work);
}

export function currentConsistencyScope(): ConsistencyScope | undefined {
  return storage.getStore();
}

/** Called by the database manager after a commit whose position it read. */
export function noteWrittenPosition(position: WalPosition): void {
  const scope = storage.getStore();
  if (scope) scope.written = laterPosition(scope.written, position);
}
