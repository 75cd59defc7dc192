-- Up Migration

-- One table, one party at a time: two active reservations (pending, confirmed or seated) of the
-- same table may not overlap. cancelled and no_show free the table, and so does completed (the
-- party has left); the status machine (app/src/reservations/reservation-state.ts) only moves a
-- reservation among the active statuses or out of them, so a status change never conflicts.
--
-- A reservation holds its table from its start for duration_minutes (new: 120 by default, what a
-- dinner seating takes; the API accepts another length per booking). Slots are half-open, so
-- 18:00 for 120 minutes and 20:00 do not overlap.
--
-- The slot is a tsrange of the restaurant's wall clock (reservation_date + reservation_time), not a
-- tstzrange: the columns are wall clock by design (migration 20261128190300000_dining-room) and the
-- zone lives in restaurants, which an index expression cannot read. Both bookings of a table are in
-- the same zone, so comparing wall clocks is comparing instants, except across a DST change at
-- night, where the overlap is off by the hour the clock jumps.
--
-- reservations is a plain table (only orders is partitioned), so the constraint needs no partition
-- key. table_id's equality in a GiST index needs btree_gist, a trusted extension since PostgreSQL
-- 13: the database owner (`app`, which runs the migrations on RDS) may create it, no master needed.
--
-- Rows that already overlap (the API never refused them) fail this migration with a message that
-- lists them, rather than cancelling or moving a guest's booking behind the host's back: the
-- migrations run in one transaction, so nothing is applied, and the Job succeeds once each pair
-- was resolved through the API (status cancelled, no_show or completed) and it runs again.
SET LOCAL lock_timeout = '5s';

CREATE EXTENSION IF NOT EXISTS btree_gist;

-- Before the check: no booking may slip in between the check and the constraint.
LOCK TABLE reservations IN ACCESS EXCLUSIVE MODE;

ALTER TABLE reservations
  ADD COLUMN duration_minutes integer NOT NULL DEFAULT 120
    CONSTRAINT reservations_duration_minutes_check CHECK (duration_minutes BETWEEN 15 AND 720);

-- The slot of a reservation, as the constraint and the API's checks compute it.
CREATE FUNCTION reservation_slot(reservation_date date, reservation_time time, duration_minutes integer) RETURNS tsrange
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT tsrange(reservation_date + reservation_time, reservation_date + reservation_time + duration_minutes * interval '1 minute') $$;

DO $$
DECLARE
  v_pairs bigint;
  v_listed text;
BEGIN
  WITH active AS (
    SELECT id, restaurant_id, table_id, reservation_date, reservation_time, duration_minutes,
           reservation_slot(reservation_date, reservation_time, duration_minutes) AS slot
      FROM reservations
     WHERE table_id IS NOT NULL AND status IN ('pending', 'confirmed', 'seated')
  ), pairs AS (
    SELECT a.restaurant_id, a.table_id, a.id AS first_id, b.id AS second_id,
           format('restaurant %s table %s: reservations %s (%s %s, %s min) and %s (%s %s, %s min)',
                  a.restaurant_id, a.table_id,
                  a.id, a.reservation_date, to_char(a.reservation_time, 'HH24:MI'), a.duration_minutes,
                  b.id, b.reservation_date, to_char(b.reservation_time, 'HH24:MI'), b.duration_minutes) AS line
      FROM active a JOIN active b ON b.table_id = a.table_id AND b.id > a.id AND b.slot && a.slot
  )
  SELECT (SELECT count(*) FROM pairs),
         (SELECT string_agg(line, '; ' ORDER BY restaurant_id, table_id, first_id, second_id)
            FROM (SELECT * FROM pairs ORDER BY restaurant_id, table_id, first_id, second_id LIMIT 20) listed)
    INTO v_pairs, v_listed;
  IF v_pairs > 0 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'exclusion_violation',
      MESSAGE = format(
        'reservations_table_overlap_excl: %s pair(s) of active reservations (pending, confirmed or seated) hold one table at overlapping times; '
        'resolve each pair (PATCH /v1/restaurants/:restaurantId/reservations/:reservationId/status to cancelled, no_show or completed) '
        'and run the migration again. %s%s',
        v_pairs, v_listed, CASE WHEN v_pairs > 20 THEN format('; and %s more', v_pairs - 20) ELSE '' END);
  END IF;
END
$$;

ALTER TABLE reservations
  ADD CONSTRAINT reservations_table_overlap_excl EXCLUDE USING gist (
    table_id WITH =,
    reservation_slot(reservation_date, reservation_time, duration_minutes) WITH &&
  ) WHERE (table_id IS NOT NULL AND status IN ('pending', 'confirmed', 'seated'));

-- Down Migration

-- btree_gist is left in place, as pg_stat_statements is: it holds no data of ours, it may have
-- existed before this migration, and other objects may use it.
ALTER TABLE reservations DROP CONSTRAINT reservations_table_overlap_excl;
DROP FUNCTION reservation_slot(date, time, integer);
ALTER TABLE reservations DROP COLUMN duration_minutes;
