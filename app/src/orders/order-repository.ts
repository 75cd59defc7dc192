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

export interface IdempotencyRow {
  request_hash: string;
  status: 'in_progress' | 'completed';
  response_status: number | null;
  response: unknown;
}

export interface NewOrderItem {
  menu_item_id: string;
  quantity: number;
  unit_price_cents: number;
  notes: string | null;
}

/** Transaction-scoped lock on (restaurant, key); false when another transaction holds it. */
export async function tryLockIdempotencyKey(client: PoolClient, restaurantId: string, key: string): Promise<boolean> {
  const { rows } = await client.query<{ locked: boolean }>({
    name: 'orders.idempotency_lock',
    text: `SELECT pg_try_advisory_xact_lock(hashtextextended('idempotency:' || $1::text || ':' || $2::text, 0)) AS locked`,
    values: [restaurantId, key],
  });
  return rows[0]!.locked;
}

/** Inserts the key as in_progress; returns the existing row when the key was already there. */
export async function claimIdempotencyKey(client: PoolClient, restaurantId: string, key: string, requestHash: string): Promise<IdempotencyRow | undefined> {
  const inserted = await client.query({
    name: 'orders.idempotency_claim',
    text: `INSERT INTO idempotency_keys (restaurant_id, key, request_hash) VALUES ($1, $2, $3) ON CONFLICT (restaurant_id, key) DO NOTHING`,
    values: [restaurantId, key, requestHash],
  });
  if (inserted.rowCount === 1) return undefined;
  const { rows } = await client.query<IdempotencyRow>({
    name: 'orders.idempotency_existing',
    text: `SELECT request_hash, status, response_status, response FROM idempotency_keys WHERE restaurant_id = $1 AND key = $2`,
    values: [restaurantId, key],
  });
  return rows[0];
}

export async function completeIdempotencyKey(
  client: PoolClient,
  args: { restaurantId: string; key: string; responseStatus: number; response: unknown; orderId: string; orderCreatedAt: string },
): Promise<void> {
  await client.query({
    name: 'orders.idempotency_complete',
    text: `UPDATE idempotency_keys SET status = 'completed', response_status = $3, response = $4, order_id = $5, order_created_at = $6
            WHERE restaurant_id = $1 AND key = $2`,
    values: [args.restaurantId, args.key, args.responseStatus, JSON.stringify(args.response), args.orderId, args.orderCreatedAt],
  });
}

/** Current prices of the available items among `ids` in the restaurant. */
export async function availablePrices(client: PoolClient, restaurantId: string, ids: string[]): Promise<Map<string, number>> {
  const { rows } = await client.query<{ id: string; price_cents: number }>({
    name: 'orders.menu_prices',
    text: `SELECT id, price_cents FROM menu_items WHERE restaurant_id = $1 AND id = ANY($2::bigint[]) AND is_available`,
    values: [restaurantId, ids],
  });
  return new Map(rows.map((r) => [String(r.id), r.price_cents]));
}

export async function tableExists(client: PoolClient, restaurantId: string, tableId: string): Promise<boolean> {
  const { rowCount } = await client.query({
    name: 'orders.table_exists',
    text: `SELECT 1 FROM tables WHERE restaurant_id = $1 AND id = $2`,
    values: [restaurantId, tableId],
  });
  return rowCount === 1;
}

export async function insertOrder(
  client: PoolClient,
  args: { restaurantId: string; tableId: string; totalCents: number; items: NewOrderItem[] },
): Promise<{ order: OrderRow; items: OrderItemRow[] }> {
  const { rows } = await client.query<OrderRow>({
    name: 'orders.insert',
    text: `INSERT INTO orders AS o (restaurant_id, table_id, total_cents) VALUES ($1, $2, $3) RETURNING ${ORDER_COLUMNS}`,
    values: [args.restaurantId, args.tableId, args.totalCents],
  });
  const order = rows[0]!;
  // One statement for all lines; unnest keeps the order of the request.
  const items = await client.query<OrderItemRow>({
    name: 'orders.insert_items',
    text: `INSERT INTO order_items (order_id, order_created_at, menu_item_id, quantity, unit_price_cents, notes)
           SELECT $1, $2::timestamptz, m, q, p, n
             FROM unnest($3::bigint[], $4::int[], $5::int[], $6::text[]) WITH ORDINALITY AS t(m, q, p, n, ord)
            ORDER BY ord
           RETURNING id, menu_item_id, quantity, unit_price_cents, notes`,
    values: [
      order.id,
      order.created_at,
      args.items.map((i) => i.menu_item_id),
      args.items.map((i) => i.quantity),
      args.items.map((i) => i.unit_price_cents),
      args.items.map((i) => i.notes),
    ],
  });
  return { order, items: items.rows.map(itemOut) };
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
