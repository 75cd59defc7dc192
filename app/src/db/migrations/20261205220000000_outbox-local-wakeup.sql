-- Up Migration

-- The outbox trigger notifies only writers whose process wakes its relay itself.
--
-- Every order transaction used to `pg_notify('order_event_outbox', '')` so the relays LISTENing
-- (app/src/events/outbox-relay.ts, one per api process) drained at once. Measured by
-- `npm run bench:api` (README, issue 16): that NOTIFY cost PostgreSQL about 0.08 ms and the api
-- 0.05 ms per order, every api process received every other process's notification, and commits
-- that notify take one global lock in turn (30 % more direct calls per second without it).
--
-- The api's own writes do not need it: its database manager wakes its relay after each commit on
-- the primary, and a relay that finds another holding the lock tries again shortly. Those sessions
-- say so with the setting `restaurant.outbox_wakeup = 'local'` (in their startup packet:
-- app/src/db/pg-pools.ts); a custom setting with a prefix needs no privilege. Any other writer (a
-- psql session, a job, a test) still notifies, so every relay hears it at once as before.
CREATE OR REPLACE FUNCTION order_event_outbox_write() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  v_event jsonb;
BEGIN
  IF TG_OP = 'INSERT' THEN
    v_event := jsonb_build_object(
      'v', 1,
      'type', 'order.created',
      'restaurant_id', NEW.restaurant_id::text,
      'order_id', NEW.id::text,
      'table_id', NEW.table_id::text,
      'status', NEW.status,
      'occurred_at', order_event_time(NEW.created_at),
      'total_cents', NEW.total_cents);
  ELSE
    v_event := jsonb_build_object(
      'v', 1,
      'type', 'order.status_changed',
      'restaurant_id', NEW.restaurant_id::text,
      'order_id', NEW.id::text,
      'table_id', NEW.table_id::text,
      'status', NEW.status,
      'previous_status', OLD.status,
      'occurred_at', order_event_time(NEW.updated_at));
  END IF;
  INSERT INTO order_event_outbox (restaurant_id, event) VALUES (NEW.restaurant_id, v_event);
  -- current_setting(..., true) is NULL where the setting was never set.
  IF current_setting('restaurant.outbox_wakeup', true) IS DISTINCT FROM 'local' THEN
    -- Delivered at COMMIT only (never for a rolled-back change); one per transaction, as equal
    -- payloads of a transaction are folded into one.
    PERFORM pg_notify('order_event_outbox', '');
  END IF;
  RETURN NULL;
END;
$$;

-- Down Migration

CREATE OR REPLACE FUNCTION order_event_outbox_write() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  v_event jsonb;
BEGIN
  IF TG_OP = 'INSERT' THEN
    v_event := jsonb_build_object(
      'v', 1,
      'type', 'order.created',
      'restaurant_id', NEW.restaurant_id::text,
      'order_id', NEW.id::text,
      'table_id', NEW.table_id::text,
      'status', NEW.status,
      'occurred_at', order_event_time(NEW.created_at),
      'total_cents', NEW.total_cents);
  ELSE
    v_event := jsonb_build_object(
      'v', 1,
      'type', 'order.status_changed',
      'restaurant_id', NEW.restaurant_id::text,
      'order_id', NEW.id::text,
      'table_id', NEW.table_id::text,
      'status', NEW.status,
      'previous_status', OLD.status,
      'occurred_at', order_event_time(NEW.updated_at));
  END IF;
  INSERT INTO order_event_outbox (restaurant_id, event) VALUES (NEW.restaurant_id, v_event);
  -- Delivered at COMMIT only (never for a rolled-back change); one per transaction, as equal
  -- payloads of a transaction are folded into one.
  PERFORM pg_notify('order_event_outbox', '');
  RETURN NULL;
END;
$$;
