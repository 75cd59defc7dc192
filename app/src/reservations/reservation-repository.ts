/**
 * SQL of the reservations. Dates and times leave the database as text (`YYYY-MM-DD`, `HH:MM`):
 * they are the restaurant's wall clock, not instants, and must not pass through a JS Date.
 */
import type { PoolClient } from 'pg';
import type { ReservationStatus } from './reservation-schemas';

export interface ReservationRow {
  readonly id: string;
  readonly table_id: string | null;
  readonly guest_name: string;
  readonly reservation_date: string;
  readonly reservation_time: string;
  readonly party_size: number;
  readonly duration_minutes: number;
  readonly status: ReservationStatus;
  readonly notes: string | null;
  readonly created_at: string;
  readonly updated_at: string;
}

const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ${column}`;
const COLUMNS = [
  'id::text',
  'table_id::text',
  'guest_name',
  `to_char(reservation_date, 'YYYY-MM-DD') AS reservation_date`,
  `to_char(reservation_time, 'HH24:MI') AS reservation_time`,
  'party_size',
  'duration_minutes',
  'status',
  'notes',
  iso('created_at'),
  iso('updated_at'),
].join(', ');

/** The restaurant's wall clock now, to the minute, as the API writes dates and times. */
export interface RestaurantClock {
  readonly timezone: string;
  /** YYYY-MM-DD */
  readonly today: string;
  /** HH:MM */
  readonly time: string;
}

/** Undefined when the restaurant does not exist. */
export async function restaurantClock(client: PoolClient, restaurantId: string): Promise<RestaurantClock | undefined> {
  const { rows } = await client.query<RestaurantClock>({
    name: 'reservations.restaurant_clock',
    text: `SELECT timezone, to_char(now() AT TIME ZONE timezone, 'YYYY-MM-DD') AS today, to_char(now() AT TIME ZONE timezone, 'HH24:MI') AS time
             FROM restaurants WHERE id = $1`,
    values: [restaurantId],
  });
  return rows[0];
}

export async function tableBelongsTo(client: PoolClient, restaurantId: string, tableId: string): Promise<boolean> {
  const { rowCount } = await client.query({ name: 'reservations.table_exists', text: 'SELECT 1 FROM tables WHERE restaurant_id = $1 AND id = $2', values: [restaurantId, tableId] });
  return rowCount === 1;
}

export interface ListFilter {
  readonly restaurantId: string;
  readonly date: string;
  readonly status?: ReservationStatus;
  readonly after?: { time: string; id: string };
  readonly limit: number;
}

/**
 * One day of a restaurant (idx_reservations_restaurant_date), by time then id, keyset after `after`.
 * Sorted and compared on the minute the API shows (`HH:MM` text in byte order sorts like the time): a row written
 * with seconds by another tool then still pages exactly, and a day is small enough to sort in memory.
 */
export async function listReservations(client: PoolClient, filter: ListFilter): Promise<ReservationRow[]> {
  const values: unknown[] = [filter.restaurantId, filter.date];
  const where = ['r.restaurant_id = $1', 'r.reservation_date = $2::date'];
  if (filter.status) where.push(`r.status = $${values.push(filter.status)}`);
  if (filter.after) {
    const t = values.push(filter.after.time);
    const i = values.push(filter.after.id);
    where.push(`(to_char(r.reservation_time, 'HH24:MI') COLLATE "C", r.id) > ($${t}::text, $${i}::bigint)`);
  }
  const l = values.push(filter.limit);
  // Unnamed: the text varies with the filters, and a prepared statement name must keep one text.
  // `r.` everywhere: a bare `id` in ORDER BY would be the output column, the text `id::text`.
  const { rows } = await client.query<ReservationRow>({
    text: `SELECT ${COLUMNS} FROM reservations r WHERE ${where.join(' AND ')} ORDER BY to_char(r.reservation_time, 'HH24:MI') COLLATE "C", r.id LIMIT $${l}`,
    values,
  });
  return rows;
}

export interface NewReservation {
  readonly guestName: string;
  readonly date: string;
  readonly time: string;
  readonly partySize: number;
  readonly durationMinutes: number;
  readonly tableId: string | null;
  readonly notes: string | null;
}

export async function insertReservation(client: PoolClient, restaurantId: string, r: NewReservation): Promise<ReservationRow> {
  const { rows } = await client.query<ReservationRow>({
    name: 'reservations.insert',
    text: `INSERT INTO reservations (restaurant_id, guest_name, reservation_date, reservation_time, party_size, duration_minutes, table_id, notes)
           VALUES ($1, $2, $3::date, $4::time, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
    values: [restaurantId, r.guestName, r.date, r.time, r.partySize, r.durationMinutes, r.tableId, r.notes],
  });
  return rows[0]!;
}

export async function findReservation(client: PoolClient, restaurantId: string, reservationId: string): Promise<ReservationRow | undefined> {
  const { rows } = await client.query<ReservationRow>({
    name: 'reservations.find',
    text: `SELECT ${COLUMNS} FROM reservations WHERE restaurant_id = $1 AND id = $2`,
    values: [restaurantId, reservationId],
  });
  return rows[0];
}

/** Optimistic: moves the reservation only while it is still in `from`. Undefined when it was not. */
export async function updateStatus(
  client: PoolClient,
  args: { restaurantId: string; reservationId: string; from: ReservationStatus; to: ReservationStatus },
): Promise<ReservationRow | undefined> {
  const { rows } = await client.query<ReservationRow>({
    name: 'reservations.update_status',
    text: `UPDATE reservations SET status = $4 WHERE restaurant_id = $1 AND id = $2 AND status = $3 RETURNING ${COLUMNS}`,
    values: [args.restaurantId, args.reservationId, args.from, args.to],
  });
  return rows[0];
}
