/**
 * Order domain logic: who may do what, idempotent creation with database prices, reads with
 * read-your-writes and the status machine. Order events are not published here: triggers on
 * `orders` write them into the outbox in the same transaction (migration
 * 20261128220000000_order-event-outbox.sql) and the relay (events/outbox-relay.ts) appends them
 * to the streams.
 *
 * Idempotent create: ONE statement on the primary, `create_order_idempotent` (a SQL function,
 * migration 20261128210000000_create-order-function.sql), which is one transaction by itself:
 * 1. `pg_try_advisory_xact_lock` on (restaurant, key): held by another transaction means the same
 *    key is being processed right now → 409 (the client retries later).
 * 2. An existing key row: same hash and completed → replay its stored status and body; same hash
 *    and in_progress → 409; another hash → 422. A replay does not look at the settings: an order
 *    created while ordering was open replays after it closed.
 * 3. `ordering_open: false` in the restaurant's settings → 409 `ordering_closed`, for every role
 *    that may create orders (guest, staff, manager): the setting says the kitchen takes no more
 *    orders, and a staff-entered order lands in the same kitchen queue; a manager reopens ordering
 *    with one PATCH when an exception is needed. Read from the restaurant row locked FOR SHARE in
 *    the statement's transaction (not from the settings cache), so a create never commits after a
 *    PATCH that closed ordering.
 * 4. The table, then prices from menu_items (available, same restaurant, read once), total_cents;
 *    the order and its items; the key row, inserted completed with the response.
 * Every refusal is decided before the function's first write, and an error aborts the statement
 * with all it wrote: a rejected request (422 unknown item) writes nothing and stores nothing, so a
 * retry with the same key is evaluated afresh. The call is `CALL create_order_committed(...)`
 * (migration 20261205020100000_create-order-committed.sql): the function, its COMMIT and the WAL
 * position after that COMMIT (read-your-writes) in one round trip (it was two: the call, then the
 * position; before that ten: BEGIN, lock, key insert, table, prices, order, items, key update,
 * COMMIT with the position). Orders that arrive while this process's creates are all in flight go
 * together in one `create_orders_committed` call (order-batcher.ts: group commit), each with the
 * answer it would have had alone; each request records the group's position for itself.
 * The key scope is the restaurant (the table's primary key); the hash covers the body only.
 * Expired keys (expires_at) are not purged here.
 */
import { createHash } from 'node:crypto';
import type { AuthClaims } from '../auth/claims';
import type { DatabaseManager } from '../db/database-manager';
import { sqlState } from '../db/pg-errors';
import { AppError, conflict, forbidden, notFound, unprocessable } from '../errors';
import type { OrderLifecycleObserver } from '../metrics';
import { cacheKeys, CACHE_POLICIES } from '../cache/cache-keys';
import type { InvalidationBus } from '../cache/invalidation-bus';
import type { LayeredCache } from '../cache/layered-cache';
import { createOrderBatcher, type CreateResult } from './order-batcher';
import * as repo from './order-repository';
import { MAX_PAGE_SIZE, encodeCursor, type CreateOrderBody, type Cursor, type OrderStatus } from './order-schemas';
import { canTransition } from './order-state';

export interface OrderView extends repo.OrderRow {
  items?: repo.OrderItemRow[];
}

export interface StoredResponse {
  readonly status: number;
  readonly body: OrderView;
}

/** A create's answer and the WAL position its write reached (pg_lsn text), for a caller outside any request scope. */
export interface CreatedResponse extends StoredResponse {
  readonly walPosition: string;
}

/** SQLSTATE unique_violation. */
const UNIQUE_VIOLATION = '23505';

export const consistencyKey = (restaurantId: string) => `restaurant:${restaurantId}`;

/** JSON with sorted object keys: the same body hashes the same whatever its key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function requestHash(body: CreateOrderBody): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

const keyInProgress = () => conflict('a request with this Idempotency-Key is in progress; retry later', { field: 'header.Idempotency-Key' });

function isDuplicateKey(error: unknown): boolean {
  return sqlState(error) === UNIQUE_VIOLATION && (error as { constraint?: unknown }).constraint === 'idempotency_keys_pkey';
}

/** The response of a create, or the AppError that refuses it (same messages as the API always gave). */
function responseOf(outcome: repo.CreateOrderOutcome, body: CreateOrderBody): { response: StoredResponse; created: boolean } {
  switch (outcome.outcome) {
    case 'created':
      return { response: { status: outcome.status, body: outcome.body }, created: true };
    case 'replayed':
      return { response: { status: outcome.status, body: outcome.body as OrderView }, created: false };
    case 'in_progress':
      throw keyInProgress();
    case 'different_body':
      throw unprocessable('idempotency key reused with a different body', { field: 'header.Idempotency-Key' });
    case 'ordering_closed':
      throw new AppError('ordering_closed', 'ordering is closed at this restaurant', 409, { details: { setting: 'ordering_open' } });
    case 'unknown_table':
      throw unprocessable(`table_id ${body.table_id} is not a table of this restaurant`, { field: 'body.table_id' });
    case 'unavailable_item': {
      const id = body.items[outcome.index]!.menu_item_id;
      throw unprocessable(`items.${outcome.index}.menu_item_id: menu item ${id} does not exist or is not available`, {
        field: `body.items.${outcome.index}.menu_item_id`,
        menu_item_id: id,
      });
    }
    case 'total_too_large':
      throw unprocessable('order total is too large', { field: 'body.items' });
  }
}

export interface OrderService {
  create(claims: AuthClaims, restaurantId: string, key: string, body: CreateOrderBody): Promise<CreatedResponse>;
  get(claims: AuthClaims, args: { restaurantId: string; orderId: string; createdAt?: string; includeItems: boolean }): Promise<OrderView>;
  /** The order's status, cached; what guests poll between websocket events. */
  getStatus(claims: AuthClaims, args: { restaurantId: string; orderId: string }): Promise<OrderStatusView>;
  list(
    claims: AuthClaims,
    args: { restaurantId: string; status?: OrderStatus; tableId?: string; date?: string; limit: number; after?: Cursor },
  ): Promise<{ orders: OrderView[]; next_cursor: string | null }>;
  changeStatus(claims: AuthClaims, args: { restaurantId: string; orderId: string; createdAt?: string; to: OrderStatus }): Promise<OrderView>;
}

/** What guests poll: small, cached per order (cache kind `order-status`). */
export interface OrderStatusView {
  readonly id: string;
  readonly restaurant_id: string;
  readonly table_id: string | null;
  readonly status: OrderStatus;
  readonly updated_at: string;
}

export interface OrderServiceDependencies {
  readonly db: DatabaseManager;
  readonly observer?: OrderLifecycleObserver;
  /** Order status polling through L1/L2, invalidated on every status change. @default - read the database each time */
  readonly statusCache?: { readonly cache: LayeredCache; readonly bus: InvalidationBus };
  /**
   * Order creates in flight at once; more wait and go together (order-batcher.ts). The api passes
   * half its primary pool. @default DEFAULT_GROUP_SLOTS
   */
  readonly groupSlots?: number;
  /** The size of every create call (1: an order alone). */
  readonly onGroupCall?: (orders: number) => void;
}

export const DEFAULT_GROUP_SLOTS = 3;

export function createOrderService(deps: OrderServiceDependencies): OrderService {
  const { db, observer, statusCache } = deps;
  const batcher = createOrderBatcher({ db, slots: deps.groupSlots ?? DEFAULT_GROUP_SLOTS, onCall: deps.onGroupCall });

  /**
   * From the primary, like the menu: the value fills a cache every instance shares, and a refill
   * from a lagging replica right after a change would spread the old status for a whole TTL. A
   * primary key lookup per order per TTL is cheap next to the polling it absorbs.
   */
  const loadStatus = async (restaurantId: string, orderId: string): Promise<OrderStatusView | null> => {
    const order = await db.read((client) => repo.findOrder(client, { restaurantId, orderId }), { name: 'orders.status', consistency: 'primary' });
    return order ? { id: order.id, restaurant_id: order.restaurant_id, table_id: order.table_id, status: order.status, updated_at: order.updated_at } : null;
  };

  return {
    async create(claims, restaurantId, key, body) {
      if (claims.role === 'guest' && body.table_id !== claims.table_id) throw forbidden('a guest may order only for its own table');
      const hash = requestHash(body);
      const lines = body.items.map((i) => ({ menu_item_id: i.menu_item_id, quantity: i.quantity, notes: i.notes ?? null }));
      let call: CreateResult;
      try {
        call = await batcher.create({ restaurantId, key, requestHash: hash, tableId: body.table_id, lines });
      } catch (error) {
        // Only a writer that skipped the advisory lock can cause this: it holds or held the key.
        if (isDuplicateKey(error)) throw keyInProgress();
        throw error;
      }
      // A refusal throws here, so no WAL position is recorded for it (nothing was written).
      const result = responseOf(call.outcome, body);
      db.recordWritten(call.walPosition, consistencyKey(restaurantId));
      if (result.created) {
        const order = result.response.body;
        observer?.created(order);
      }
      return { ...result.response, walPosition: call.walPosition };
    },

    async getStatus(claims, args) {
      const key = cacheKeys.orderStatus(args.orderId);
      const view = statusCache
        ? await statusCache.cache.get(key, () => loadStatus(args.restaurantId, args.orderId), CACHE_POLICIES['order-status'])
        : await loadStatus(args.restaurantId, args.orderId);
      // The key is the order id alone: check the restaurant too. Another table's order is a 404 for a guest.
      if (!view || view.restaurant_id !== args.restaurantId || (claims.role === 'guest' && view.table_id !== claims.table_id)) throw notFound('order');
      return view;
    },

    async get(claims, args) {
      const found = await db.read(
        async (client) => {
          const order = await repo.findOrder(client, args);
          if (!order) return undefined;
          return args.includeItems ? { ...order, items: await repo.orderItems(client, order) } : order;
        },
        { name: 'orders.get', consistencyKey: consistencyKey(args.restaurantId) },
      );
      // A guest sees only its table's orders; another table's order is a 404, not a 403 (no probing).
      if (!found || (claims.role === 'guest' && found.table_id !== claims.table_id)) throw notFound('order');
      return found;
    },

    async list(claims, args) {
      if (claims.role === 'guest' && args.tableId !== undefined && args.tableId !== claims.table_id) {
        throw forbidden('a guest may list only its own table');
      }
      const tableId = claims.role === 'guest' ? claims.table_id : args.tableId;
      const limit = Math.min(args.limit, MAX_PAGE_SIZE);
      const rows = await db.read(
        async (client) => {
          let day: repo.ListFilter['day'];
          if (args.date !== undefined) {
            const timezone = await repo.restaurantTimezone(client, args.restaurantId);
            if (timezone === undefined) throw notFound('restaurant');
            day = { date: args.date, timezone };
          }
          return repo.listOrders(client, { restaurantId: args.restaurantId, status: args.status, tableId, day, after: args.after, limit: limit + 1 });
        },
        { name: 'orders.list', consistencyKey: consistencyKey(args.restaurantId) },
      );
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return { orders: page, next_cursor: rows.length > limit && last ? encodeCursor({ createdAt: last.created_at, id: last.id }) : null };
    },

    async changeStatus(claims, args) {
      if (claims.role === 'guest') throw forbidden('guests may not change order status');
      const outcome = await db.write(
        async (client) => {
          const current = await repo.findOrder(client, args);
          if (!current) throw notFound('order');
          if (!canTransition(current.status, args.to)) {
            throw new AppError('invalid_transition', `cannot change status from ${current.status} to ${args.to}`, 409, { details: { from: current.status, to: args.to } });
          }
          const updated = await repo.updateStatus(client, { ...args, createdAt: current.created_at, from: current.status, to: args.to });
          if (!updated) {
            // Someone moved it between our read and our UPDATE.
            throw new AppError('invalid_transition', `order status changed concurrently; it is no longer ${current.status}`, 409, {
              details: { from: current.status, to: args.to },
            });
          }
          return { updated, previous: current.status };
        },
        { name: 'orders.change_status', consistencyKey: consistencyKey(args.restaurantId) },
      );
      const order = outcome.updated;
      observer?.statusChanged(order, outcome.previous);
      // After commit; the bus never throws and retries a publish Redis did not take.
      if (statusCache) await statusCache.bus.invalidateOrderStatus(order.id);
      return order;
    },
  };
}

