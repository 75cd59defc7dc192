/**
 * Reservations: the host stand's day, bookings, and the reservation state machine.
 *
 * A booking's table must be a table of the restaurant: checked before the INSERT so the client gets
 * a 422 naming `body.table_id`, and the composite foreign key (reservations_table_fkey) catches the
 * table deleted in between, mapped to the same 422 instead of a 500.
 * A booking may not start before the restaurant's current minute (its own timezone): a 422 naming
 * `body.reservation_date`, or `body.reservation_time` on today's date.
 * Two active bookings (pending, confirmed, seated) of one table may not overlap, each holding it
 * for its duration_minutes: the exclusion constraint reservations_table_overlap_excl (migration
 * 20261129100100000_reservation-table-overlaps) decides, race-free, and its violation is a 409
 * `reservation_conflict`. Status changes never conflict: they only leave the active statuses or
 * move between them.
 * Writes record their WAL position under `restaurant:<id>` and reads use that key, so a booking
 * shows up in the next list of the process that took it.
 */
import type { DatabaseManager } from '../db/database-manager';
import { sqlState } from '../db/pg-errors';
import { AppError, notFound, unprocessable } from '../errors';
import { consistencyKey } from '../orders/order-service';
import * as repo from './reservation-repository';
import { DEFAULT_DURATION_MINUTES, encodeCursor, MAX_PAGE_SIZE, type CreateReservationBody, type ReservationCursor, type ReservationStatus } from './reservation-schemas';
import { canTransition } from './reservation-state';

const FOREIGN_KEY_VIOLATION = '23503';
const EXCLUSION_VIOLATION = '23P01';
const OVERLAP_CONSTRAINT = 'reservations_table_overlap_excl';

export interface ReservationService {
  list(args: { restaurantId: string; date: string; status?: ReservationStatus; limit: number; after?: ReservationCursor }): Promise<{
    reservations: repo.ReservationRow[];
    next_cursor: string | null;
  }>;
  create(restaurantId: string, body: CreateReservationBody): Promise<repo.ReservationRow>;
  changeStatus(args: { restaurantId: string; reservationId: string; to: ReservationStatus }): Promise<repo.ReservationRow>;
}

const tableNotInRestaurant = (tableId: string) =>
  unprocessable(`body.table_id: table ${tableId} is not a table of this restaurant`, { field: 'body.table_id', table_id: tableId });

/** The field that puts the start before the restaurant's current minute, or undefined when it does not. */
function pastField(body: CreateReservationBody, clock: repo.RestaurantClock): string | undefined {
  // YYYY-MM-DD and HH:MM compare as text like the dates and times they are.
  if (body.reservation_date < clock.today) return 'body.reservation_date';
  if (body.reservation_date === clock.today && body.reservation_time < clock.time) return 'body.reservation_time';
  return undefined;
}

const inThePast = (field: string, clock: repo.RestaurantClock) =>
  unprocessable(`${field}: must not be in the past (it is ${clock.today} ${clock.time} in ${clock.timezone})`, { field });

const tableAlreadyReserved = (tableId: string, body: CreateReservationBody, durationMinutes: number) =>
  new AppError(
    'reservation_conflict',
    `table ${tableId} is already reserved at a time overlapping ${body.reservation_date} ${body.reservation_time} for ${durationMinutes} minutes`,
    409,
    { details: { field: 'body.table_id', table_id: tableId } },
  );

const invalidTransition = (from: ReservationStatus, to: ReservationStatus, message = `cannot change status from ${from} to ${to}`) =>
  new AppError('invalid_transition', message, 409, { details: { from, to } });

export function createReservationService(deps: { db: DatabaseManager }): ReservationService {
  const { db } = deps;
  return {
    async list(args) {
      const limit = Math.min(args.limit, MAX_PAGE_SIZE);
      const rows = await db.read(
        (client) => repo.listReservations(client, { restaurantId: args.restaurantId, date: args.date, status: args.status, after: args.after, limit: limit + 1 }),
        { name: 'reservations.list', consistencyKey: consistencyKey(args.restaurantId) },
      );
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return { reservations: page, next_cursor: rows.length > limit && last ? encodeCursor({ time: last.reservation_time, id: last.id }) : null };
    },

    async create(restaurantId, body) {
      const tableId = body.table_id ?? null;
      const durationMinutes = body.duration_minutes ?? DEFAULT_DURATION_MINUTES;
      try {
        return await db.transaction(
          async (client) => {
            const clock = await repo.restaurantClock(client, restaurantId);
            if (!clock) throw notFound('restaurant');
            const past = pastField(body, clock);
            if (past) throw inThePast(past, clock);
            if (tableId !== null && !(await repo.tableBelongsTo(client, restaurantId, tableId))) throw tableNotInRestaurant(tableId);
            return repo.insertReservation(client, restaurantId, {
              guestName: body.guest_name,
              date: body.reservation_date,
              time: body.reservation_time,
              partySize: body.party_size,
              durationMinutes,
              tableId,
              notes: body.notes ?? null,
            });
          },
          { name: 'reservations.create', consistencyKey: consistencyKey(restaurantId) },
        );
      } catch (error) {
        if (sqlState(error) === FOREIGN_KEY_VIOLATION && tableId !== null) throw tableNotInRestaurant(tableId);
        if (sqlState(error) === EXCLUSION_VIOLATION && (error as { constraint?: unknown }).constraint === OVERLAP_CONSTRAINT && tableId !== null) {
          throw tableAlreadyReserved(tableId, body, durationMinutes);
        }
        throw error;
      }
    },

    async changeStatus(args) {
      return db.write(
        async (client) => {
          const current = await repo.findReservation(client, args.restaurantId, args.reservationId);
          if (!current) throw notFound('reservation');
          if (!canTransition(current.status, args.to)) throw invalidTransition(current.status, args.to);
          const updated = await repo.updateStatus(client, { ...args, from: current.status });
          // Someone moved it between our read and our UPDATE.
          if (!updated) throw invalidTransition(current.status, args.to, `reservation status changed concurrently; it is no longer ${current.status}`);
          return updated;
        },
        { name: 'reservations.change_status', consistencyKey: consistencyKey(args.restaurantId) },
      );
    },
  };
}
