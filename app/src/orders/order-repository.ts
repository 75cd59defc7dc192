/**
 * SQL of the order routes. Timestamps leave the database as ISO 8601 UTC text with microseconds
 * (`iso()`), never as JS Dates (milliseconds): created_at is half of the order's primary key and of
 * the keyset cursor, so it must round-trip exactly. bigint ids stay decimal strings (pg's default).
 */
import type { PoolClient } from 'pg';
import type { OrderStatus } from './order-schemas';
import { STATUS_TIMESTAMP_COLUMN } from './order-state';

const iso = (column: string, alias = column.replace(/^o\./, '')) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ${alias}`;
const TIMESTAMP_COLUMNS = ['created_at', 'updated_at', 'confirmed_at', 'preparing_at', 'ready_at', 'served_at', 'completed_at', 'cancelled_at'];
const ORDER_COLUMNS = ['o.id', 'o.restaurant_id', 'o.table_id', 'o.status', 'o.total_cents', ...TIMESTAMP_COLUMNS.map((c) => iso(`o.${c}`))].join(', ');

export interface OrderRow {
  id: string;
  restaurant_id: string;
  table_id: string | null;
  status: OrderStatus;
  total_cents: number;
  created_at: string;
  updated_at: string;
  confirmed_at: string | null;
  preparing_at: string | null;
  ready_at: string | null;
  served_at: string | null;
  completed_at: string | null;
  cancelled_at: string | null;
}

export interface OrderItemRow {
  id: string;
  menu_item_id: string;
  quantity: number;
  unit_price_cents: number;
  notes: string | null;
}

/** A line of a new order as the request gave it; the price comes from the database. */
export interface NewOrderLine {
  menu_item_id: string;
  quantity: number;
  notes: string | null;
}

/**
 * What `create_order_idempotent` (migrations 20261128210000000_create-order-function.sql and
 * 20261129100000000_create-order-ordering-open.sql) decided.
 * `index` is the 0-based request line whose menu item does not exist or is not available.
 */
export type CreateOrderOutcome =
  | { outcome: 'created'; status: 201; body: OrderRow & { items: OrderItemRow[] } }
  | { outcome: 'replayed'; status: number; body: unknown }
  | { outcome: 'in_progress' }
  | { outcome: 'different_body' }
  | { outcome: 'ordering_closed' }
  | { outcome: 'unknown_table' }
  | { outcome: 'unavailable_item'; index: number }
  | { outcome: 'total_too_large' };

/**
 * The idempotent order creation in one statement, `create_order_committed` (migration
 * 20261205020100000_create-order-committed.sql): `create_order_idempotent` (key lock and claim,
 * table and price checks, the order, its lines and the completed key; the checks before the
 * writes), its COMMIT, and the primary's WAL insert position read after that COMMIT. The position
 * is what read-your-writes records, so it comes back with the call instead of a second round trip.
 * CALL commits by itself: the client must not be inside a transaction block (`db.write` is not).
 */
export async function createOrderIdempotent(
  client: PoolClient,
  args: { restaurantId: string; key: string; requestHash: string; tableId: string; lines: readonly NewOrderLine[] },
): Promise<{ outcome: CreateOrderOutcome; walPosition: string }> {
  const { rows } = await client.query<{ result: CreateOrderOutcome; wal_position: string }>({
    name: 'orders.create',
    text: `CALL create_order_committed($1, $2, $3, $4, $5::bigint[], $6::int[], $7::text[], NULL, NULL)`,
    values: [
      args.restaurantId,
      args.key,
      args.requestHash,
      args.tableId,
      args.lines.map((l) => l.menu_item_id),
      args.lines.map((l) => l.quantity),
      args.lines.map((l) => l.notes),
    ],
  });
  return { outcome: rows[0]!.result, walPosition: rows[0]!.wal_position };
}

/** One order of a group call (`createOrdersIdempotent`). */
export interface NewOrder {
  readonly restaurantId: string;
  readonly key: string;
  readonly requestHash: string;
  readonly tableId: string;
  readonly lines: readonly NewOrderLine[];
}

/**
 * Several orders in one statement, `create_orders_committed` (migration
 * 20261205223000000_create-orders-committed.sql): each exactly as `createOrderIdempotent` makes it,
 * in the order given, then one COMMIT and the WAL position after it. An error aborts them all;
 * nothing is written then. Keys must be distinct per restaurant within one call.
 */
export async function createOrdersIdempotent(client: PoolClient, orders: readonly NewOrder[]): Promise<{ outcomes: CreateOrderOutcome[]; walPosition: string }> {
  const lines = orders.flatMap((o) => o.lines);
  const { rows } = await client.query<{ results: CreateOrderOutcome[]; wal_position: string }>({
    name: 'orders.create_group',
    text: `CALL create_orders_committed($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::int[], $6::bigint[], $7::int[], $8::text[], NULL, NULL)`,
    values: [
      orders.map((o) => o.restaurantId),
      orders.map((o) => o.key),
      orders.map((o) => o.requestHash),
      orders.map((o) => o.tableId),
      orders.map((o) => o.lines.length),
      lines.map((l) => l.menu_item_id),
      lines.map((l) => l.quantity),
      lines.map((l) => l.notes),
    ],
  });
  const outcomes = rows[0]!.results;
  if (outcomes.length !== orders.length) throw new Error(`create_orders_committed answered ${outcomes.length} outcomes for ${orders.length} orders`);
  return { outcomes, walPosition: rows[0]!.wal_position };
}

function itemOut(row: OrderItemRow): OrderItemRow {
  return { ...row, id: String(row.id), menu_item_id: String(row.menu_item_id) };
}

/**
 * One order. With created_at the lookup goes to one partition (primary key). Without it, the
 * primary key index of EVERY partition is probed once (the key leads with id): O(partitions) index
 * probes, cheap for a year of monthly partitions, but callers that have created_at should send it.
 */
export async function findOrder(client: PoolClient, args: { restaurantId: string; orderId: string; createdAt?: string }): Promise<OrderRow | undefined> {
  const { rows } = await client.query<OrderRow>(
    args.createdAt === undefined
      ? { name: 'orders.find_by_id', text: `SELECT ${ORDER_COLUMNS} FROM orders o WHERE o.id = $1 AND o.restaurant_id = $2`, values: [args.orderId, args.restaurantId] }
      : {
          name: 'orders.find_by_key',
          text: `SELECT ${ORDER_COLUMNS} FROM orders o WHERE o.id = $1 AND o.created_at = $3::timestamptz AND o.restaurant_id = $2`,
          values: [args.orderId, args.restaurantId, args.createdAt],
        },
  );
  return rows[0];
}

export async function orderItems(client: PoolClient, order: Pick<OrderRow, 'id' | 'created_at'>): Promise<OrderItemRow[]> {
  const { rows } = await client.query<OrderItemRow>({
    name: 'orders.items',
    text: `SELECT id, menu_item_id, quantity, unit_price_cents, notes FROM order_items
            WHERE order_id = $1 AND order_created_at = $2::timestamptz ORDER BY id`,
    values: [order.id, order.created_at],
  });
  return rows.map(itemOut);
}

export async function restaurantTimezone(client: PoolClient, restaurantId: string): Promise<string | undefined> {
  const { rows } = await client.query<{ timezone: string }>({
    name: 'orders.restaurant_timezone',
    text: `SELECT timezone FROM restaurants WHERE id = $1`,
    values: [restaurantId],
  });
  return rows[0]?.timezone;
}

export interface ListFilter {
  restaurantId: string;
  status?: OrderStatus;
  tableId?: string;
  /** Restaurant-local day as [date, IANA zone]: the range is computed in SQL, so DST days are right. */
  day?: { date: string; timezone: string };
  after?: { createdAt: string; id: string };
  limit: number;
}

/**
 * A page newest first, keyset on (created_at, id) DESC via idx_orders_restaurant_created_id.
 * The day bounds are stable expressions of parameters, so partitions are pruned at executor start.
 */
export async function listOrders(client: PoolClient, filter: ListFilter): Promise<OrderRow[]> {
  const values: unknown[] = [filter.restaurantId];
  const where = ['o.restaurant_id = $1'];
  if (filter.status) where.push(`o.status = $${values.push(filter.status)}`);
  if (filter.tableId) where.push(`o.table_id = $${values.push(filter.tableId)}`);
  if (filter.day) {
    const d = values.push(filter.day.date);
    const tz = values.push(filter.day.timezone);
    where.push(`o.created_at >= ($${d}::date::timestamp AT TIME ZONE $${tz}::text)`);
    where.push(`o.created_at < (($${d}::date + 1)::timestamp AT TIME ZONE $${tz}::text)`);
  }
  if (filter.after) {
    const c = values.push(filter.after.createdAt);
    const i = values.push(filter.after.id);
    where.push(`(o.created_at, o.id) < ($${c}::timestamptz, $${i}::bigint)`);
  }
  const l = values.push(filter.limit);
  const { rows } = await client.query<OrderRow>({
    text: `SELECT ${ORDER_COLUMNS} FROM orders o WHERE ${where.join(' AND ')} ORDER BY o.created_at DESC, o.id DESC LIMIT $${l}`,
    values,
  });
  return rows;
}

/** Optimistic: only moves the order when it is still in `from`. Undefined when it was not. */
export async function updateStatus(
  client: PoolClient,
  args: { restaurantId: string; orderId: string; createdAt: string; from: OrderStatus; to: Exclude<OrderStatus, 'pending'> },
): Promise<OrderRow | undefined> {
  const column = STATUS_TIMESTAMP_COLUMN[args.to];
  const { rows } = await client.query<OrderRow>({
    text: `UPDATE orders AS o SET status = $5, ${column} = now()
            WHERE o.id = $1 AND o.created_at = $2::timestamptz AND o.restaurant_id = $3 AND o.status = $4
            RETURNING ${ORDER_COLUMNS}`,
    values: [args.orderId, args.createdAt, args.restaurantId, args.from, args.to],
  });
  return rows[0];
}
