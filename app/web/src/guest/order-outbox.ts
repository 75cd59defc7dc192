/**
 * The offline order queue: every order is written here, with its Idempotency-Key, BEFORE it is
 * sent, and removed only once the API has answered for it. So an order placed without a
 * connection, or whose answer was lost, survives reloads and restarts of the browser, and is sent
 * again with the same key until an answer arrives. The API stores the key with the order and
 * replays its first answer for a repeat (app/src/orders/order-service.ts), so the order lands
 * exactly once however many times it is sent.
 *
 * IndexedDB (through `idb`), not localStorage: writes are transactional and asynchronous (a slow
 * phone's main thread never waits on them). The queue holds the order, never the token: a queued
 * order is sent by a page of this table's session, which has one.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';

/** The body of POST /v1/restaurants/:restaurantId/orders (app/src/orders/order-schemas.ts). */
export interface OrderRequestBody {
  readonly table_id: string;
  readonly items: readonly { readonly menu_item_id: string; readonly quantity: number }[];
}

export interface QueuedOrder {
  /** The Idempotency-Key: made once, when the guest pressed "Order". */
  readonly key: string;
  readonly restaurantId: string;
  readonly tableId: string;
  readonly body: OrderRequestBody;
  /** What the guest saw: item names and quantities. */
  readonly summary: string;
  readonly totalCents: number;
  readonly queuedAtMs: number;
}

interface OutboxSchema extends DBSchema {
  outbox: { key: string; value: QueuedOrder };
}

const DATABASE = 'restaurant-guest';
const VERSION = 1;

/**
 * A queued order older than this is dropped instead of sent: a guest who ordered during an outage
 * an hour ago has left or ordered at the counter, and food for the table then would be wrong.
 */
export const QUEUED_ORDER_MAX_AGE_MS = 30 * 60_000;

let opening: Promise<IDBPDatabase<OutboxSchema>> | undefined;

function database(): Promise<IDBPDatabase<OutboxSchema>> {
  opening ??= openDB<OutboxSchema>(DATABASE, VERSION, {
    upgrade(db) {
      db.createObjectStore('outbox', { keyPath: 'key' });
    },
  });
  return opening;
}

export async function enqueueOrder(order: QueuedOrder): Promise<void> {
  await (await database()).put('outbox', order);
}

/** This table's queued orders, oldest first. */
export async function queuedOrders(restaurantId: string, tableId: string): Promise<QueuedOrder[]> {
  const all = await (await database()).getAll('outbox');
  return all.filter((o) => o.restaurantId === restaurantId && o.tableId === tableId).sort((a, b) => a.queuedAtMs - b.queuedAtMs);
}

export async function removeQueuedOrder(key: string): Promise<void> {
  await (await database()).delete('outbox', key);
}
