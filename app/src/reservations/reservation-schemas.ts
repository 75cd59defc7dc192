/**
 * Input schemas of the reservation routes and their keyset cursor. Validation failures become a 400
 * naming the field through the order routes' `parseInput` (`query.date`, `body.reservation_time`,
 * `body.table_id`, `body.color` for an unknown field).
 */
import { z } from 'zod';
import { databaseId, decodeKeysetCursor, encodeKeysetCursor } from '../http/input';

/** The statuses `reservations_status_check` allows (migration 20261128190300000_dining-room). */
export const RESERVATION_STATUSES = ['pending', 'confirmed', 'seated', 'completed', 'cancelled', 'no_show'] as const;
export type ReservationStatus = (typeof RESERVATION_STATUSES)[number];

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 50;
/** How long a booking holds its table unless the request says (the column's default, migration 20261129100100000_reservation-table-overlaps). */
export const DEFAULT_DURATION_MINUTES = 120;

const bodyId = z.union([databaseId, z.number().int().positive().max(Number.MAX_SAFE_INTEGER)], { message: 'must be a positive integer id' }).transform((v) => String(v));
/** A calendar date in the restaurant's timezone; zod checks the day exists (no 2026-02-30). */
const localDate = z.iso.date({ message: 'must be a date (YYYY-MM-DD)' });
const status = z.enum(RESERVATION_STATUSES, { message: `must be one of ${RESERVATION_STATUSES.join(', ')}` });

export const reservationParams = z.strictObject({ restaurantId: databaseId, reservationId: databaseId });

export const listReservationsQuery = z.strictObject({
  date: localDate,
  status: status.optional(),
  limit: z
    .string()
    .regex(/^[0-9]{1,6}$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(1, 'must be at least 1').max(MAX_PAGE_SIZE, `must be at most ${MAX_PAGE_SIZE}`))
    .optional(),
  cursor: z.string().max(200).optional(),
});

export const createReservationBody = z.strictObject({
  guest_name: z.string().trim().min(1, 'must not be empty').max(120, 'must be at most 120 characters'),
  reservation_date: localDate,
  /** The restaurant's wall clock, minutes precision. */
  reservation_time: z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'must be a time (HH:MM, 00:00 to 23:59)'),
  party_size: z.number().int('must be an integer').min(1, 'must be at least 1').max(100, 'must be at most 100'),
  /** How long the booking holds its table (reservations_duration_minutes_check). @default DEFAULT_DURATION_MINUTES */
  duration_minutes: z.number().int('must be an integer').min(15, 'must be at least 15').max(720, 'must be at most 720').optional(),
  table_id: bodyId.optional(),
  notes: z.string().max(1000, 'must be at most 1000 characters').optional(),
});
export type CreateReservationBody = z.infer<typeof createReservationBody>;

export const reservationStatusBody = z.strictObject({ status });

/** Opaque keyset cursor: base64url of JSON `[reservation_time, id]` of the last row of a page. */
export interface ReservationCursor {
  /** HH:MM, as the API returns it. */
  readonly time: string;
  readonly id: string;
}

export function encodeCursor(cursor: ReservationCursor): string {
  return encodeKeysetCursor([cursor.time, cursor.id]);
}

const cursorTuple = z.tuple([z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/), databaseId]);

export function decodeCursor(raw: string): ReservationCursor {
  const [time, id] = decodeKeysetCursor(raw, cursorTuple);
  return { time, id };
}
