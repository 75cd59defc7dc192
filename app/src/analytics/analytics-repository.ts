/**
 * SQL of the analytics reads. Days are the restaurant's own (restaurants.timezone), as in
 * daily_revenue_summary. A day's instant bounds are computed in SQL from the date and the zone
 * (`date::timestamp AT TIME ZONE zone`), so days of 23 or 25 hours around a DST change are right,
 * and they are stable expressions of parameters: only that day's month partitions are scanned.
 * Durations leave the database as seconds (float8, 0.1 s precision) and money as cents.
 */
import type { PoolClient } from 'pg';

export interface RestaurantInfo {
  readonly timezone: string;
  readonly currency: string;
}

export async function restaurantInfo(client: PoolClient, restaurantId: string): Promise<RestaurantInfo | undefined> {
  const { rows } = await client.query<RestaurantInfo>({
    name: 'analytics.restaurant',
    text: 'SELECT timezone, currency FROM restaurants WHERE id = $1',
    values: [restaurantId],
  });
  return rows[0];
}

export interface RevenueDay {
  readonly date: string;
  readonly total_orders: number;
  readonly total_revenue_cents: number;
  /** Null on a day without completed orders. */
  readonly avg_order_value_cents: number | null;
}

/**
 * Every day of [from, to], days without completed orders as zeros (a chart needs the gaps), read
 * through the view's unique index (restaurant_id, order_date). float8 is exact here: a restaurant's
 * revenue of one day in cents is far below 2^53.
 */
export async function dailyRevenue(client: PoolClient, restaurantId: string, from: string, to: string): Promise<RevenueDay[]> {
  const { rows } = await client.query<RevenueDay>({
    name: 'analytics.daily_revenue',
    text: `SELECT to_char(d.day, 'YYYY-MM-DD') AS date,
                  coalesce(s.total_orders, 0)::int AS total_orders,
                  coalesce(s.total_revenue, 0)::float8 AS total_revenue_cents,
                  round(s.avg_order_value, 2)::float8 AS avg_order_value_cents
             FROM generate_series($2::date, $3::date, interval '1 day') AS d(day)
             LEFT JOIN daily_revenue_summary s ON s.restaurant_id = $1 AND s.order_date = d.day::date
            ORDER BY d.day`,
    values: [restaurantId, from, to],
  });
  return rows;
}

/** `created_at` within the restaurant-local day $2 in zone $3 (a fragment for queries on orders `o`). */
const ON_LOCAL_DAY = `o.created_at >= ($2::date::timestamp AT TIME ZONE $3::text)
                  AND o.created_at < (($2::date + 1)::timestamp AT TIME ZONE $3::text)`;

export interface KitchenTimes {
  readonly orders: number;
  readonly p50_seconds: number | null;
  readonly p90_seconds: number | null;
  readonly avg_seconds: number | null;
}

/**
 * Preparation time of the orders placed that day that reached `ready`: ready_at minus preparing_at,
 * or confirmed_at when the kitchen skipped `preparing`. Only ready, served and completed orders can
 * have a ready_at (the state machine), and naming them lets idx_orders_restaurant_status_created
 * serve the scan.
 */
export async function kitchenTimes(client: PoolClient, restaurantId: string, date: string, timezone: string): Promise<KitchenTimes> {
  const { rows } = await client.query<KitchenTimes>({
    name: 'analytics.kitchen_times',
    text: `SELECT count(*)::int AS orders,
                  round(percentile_cont(0.5) WITHIN GROUP (ORDER BY p.seconds)::numeric, 1)::float8 AS p50_seconds,
                  round(percentile_cont(0.9) WITHIN GROUP (ORDER BY p.seconds)::numeric, 1)::float8 AS p90_seconds,
                  round(avg(p.seconds)::numeric, 1)::float8 AS avg_seconds
             FROM (SELECT extract(epoch FROM o.ready_at - coalesce(o.preparing_at, o.confirmed_at))::float8 AS seconds
                     FROM orders o
                    WHERE o.restaurant_id = $1
                      AND o.status IN ('ready', 'served', 'completed')
                      AND ${ON_LOCAL_DAY}
                      AND o.ready_at IS NOT NULL
                      AND coalesce(o.preparing_at, o.confirmed_at) IS NOT NULL) p`,
    values: [restaurantId, date, timezone],
  });
  return rows[0]!;
}

export interface TableTurnover {
  readonly table_id: string;
  readonly label: string;
  /** Completed orders placed at the table that day: one per seating. */
  readonly completed_orders: number;
  /** Reservations of that day at the table that were completed. */
  readonly completed_reservations: number;
  /** Mean of completed_at - created_at over those orders; null without any. */
  readonly avg_seated_seconds: number | null;
}

/** Every table of the restaurant (idle ones with zeros), by label. */
export async function tableTurnover(client: PoolClient, restaurantId: string, date: string, timezone: string): Promise<TableTurnover[]> {
  const { rows } = await client.query<TableTurnover>({
    name: 'analytics.table_turnover',
    text: `SELECT t.id::text AS table_id, t.label,
                  coalesce(o.completed_orders, 0)::int AS completed_orders,
                  coalesce(r.completed_reservations, 0)::int AS completed_reservations,
                  o.avg_seated_seconds
             FROM tables t
             LEFT JOIN (SELECT o.table_id, count(*) AS completed_orders,
                               round(avg(extract(epoch FROM o.completed_at - o.created_at))::numeric, 1)::float8 AS avg_seated_seconds
                          FROM orders o
                         WHERE o.restaurant_id = $1 AND o.status = 'completed' AND ${ON_LOCAL_DAY} AND o.table_id IS NOT NULL
                         GROUP BY o.table_id) o ON o.table_id = t.id
             LEFT JOIN (SELECT r.table_id, count(*) AS completed_reservations
                          FROM reservations r
                         WHERE r.restaurant_id = $1 AND r.reservation_date = $2::date AND r.status = 'completed' AND r.table_id IS NOT NULL
                         GROUP BY r.table_id) r ON r.table_id = t.id
            WHERE t.restaurant_id = $1
            ORDER BY t.label, t.id`,
    values: [restaurantId, date, timezone],
  });
  return rows;
}
