/**
 * SQL of the kitchen queue. One statement returns the orders with their lines (menu item name,
 * quantity, notes) as JSON, so a kitchen screen costs one round trip however many orders it shows.
 */
import type { PoolClient, QueryConfig } from 'pg';
import type { OrderStatus } from '../orders/order-schemas';

export interface KitchenItem {
  readonly id: string;
  readonly menu_item_id: string;
  readonly name: string;
  readonly quantity: number;
  readonly notes: string | null;
}

export interface KitchenOrderRow {
  readonly id: string;
  readonly table_id: string | null;
  readonly table_label: string | null;
  readonly status: OrderStatus;
  readonly created_at: string;
  readonly confirmed_at: string | null;
  readonly preparing_at: string | null;
  readonly ready_at: string | null;
  readonly items: KitchenItem[];
}

export interface KitchenQueueArgs {
  readonly restaurantId: string;
  readonly statuses: readonly OrderStatus[];
  /** Only orders created this many hours back or less. */
  readonly windowHours: number;
  readonly limit: number;
}

/**
 * Replica clocks may trail the primary that stamped created_at by a little; the upper bound leaves
 * that much room so a just-created order is never cut off, while still excluding the DEFAULT
 * partition and every month after the next.
 */
const CLOCK_SKEW_ALLOWANCE = "interval '5 minutes'";

const iso = (column: string) => `to_char(q.${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ${column}`;

/**
 * The statement, exported so a test can EXPLAIN exactly what runs. The inner query reads
 * idx_orders_restaurant_status_created (restaurant, status, created_at). Its created_at bounds are
 * stable expressions (now()), so the partitions outside [now - window, now + skew] are pruned when
 * the executor starts, for custom and generic plans alike. Oldest first: the kitchen works FIFO.
 */
export function kitchenQueueStatement(args: KitchenQueueArgs): QueryConfig {
  return {
    name: 'kitchen.queue',
    text: `SELECT q.id::text, q.table_id::text, t.label AS table_label, q.status,
                  ${['created_at', 'confirmed_at', 'preparing_at', 'ready_at'].map(iso).join(', ')},
                  coalesce((SELECT json_agg(json_build_object('id', oi.id::text, 'menu_item_id', oi.menu_item_id::text, 'name', m.name,
                                                              'quantity', oi.quantity, 'notes', oi.notes) ORDER BY oi.id)
                              FROM order_items oi JOIN menu_items m ON m.id = oi.menu_item_id
                             WHERE oi.order_id = q.id AND oi.order_created_at = q.created_at), '[]'::json) AS items
             FROM (SELECT o.id, o.created_at, o.restaurant_id, o.table_id, o.status, o.confirmed_at, o.preparing_at, o.ready_at
                     FROM orders o
                    WHERE o.restaurant_id = $1
                      AND o.status = ANY($2::text[])
                      AND o.created_at >= now() - make_interval(hours => $3::int)
                      AND o.created_at < now() + ${CLOCK_SKEW_ALLOWANCE}
                    ORDER BY o.created_at, o.id
                    LIMIT $4) q
             LEFT JOIN tables t ON t.restaurant_id = q.restaurant_id AND t.id = q.table_id
            ORDER BY q.created_at, q.id`,
    values: [args.restaurantId, args.statuses, args.windowHours, args.limit],
  };
}

export async function kitchenQueue(client: PoolClient, args: KitchenQueueArgs): Promise<KitchenOrderRow[]> {
  const { rows } = await client.query<KitchenOrderRow>(kitchenQueueStatement(args));
  return rows;
}
