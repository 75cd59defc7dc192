-- Up Migration

-- Transactional outbox of order events (the contract: app/src/events/order-events.ts, v1).
--
-- Row triggers on `orders` write each event in the transaction that creates the order or changes
-- its status, so the event commits with the change or not at all; the relay
-- (app/src/events/outbox-relay.ts) appends the rows to the restaurant's Redis stream in id order
-- and deletes them. A Redis outage or an api crash between COMMIT and XADD no longer loses events.
--
-- Row triggers on a partitioned table (PostgreSQL 13+ for every kind; AFTER row triggers since 11)
-- are cloned to every partition, present and future (CREATE TABLE ... PARTITION OF and ATTACH
-- PARTITION both clone them). ensureOrderPartitions copies DEFAULT rows into a plain table before
-- attaching it, so moving rows between partitions writes no event.
--
-- `UPDATE OF status` fires when status is in the SET list; the WHEN clause skips updates that
-- leave it as it was. Per order, events are ordered: a status change locks the order row, so its
-- outbox row gets its id after the previous change committed. Across orders, ids follow the inserts
-- rather than the commits, which only orders events that were concurrent anyway.
--
-- A plain table (not partitioned): it holds what waits for the relay, normally a few rows.
CREATE TABLE order_event_outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  restaurant_id bigint NOT NULL,
  event jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- ISO 8601 UTC with microseconds, exactly like the API's timestamps (order-repository.ts `iso()`).
CREATE FUNCTION order_event_time(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;

CREATE FUNCTION order_event_outbox_write() RETURNS trigger
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

CREATE TRIGGER orders_event_outbox_created AFTER INSERT ON orders
  FOR EACH ROW EXECUTE FUNCTION order_event_outbox_write();

CREATE TRIGGER orders_event_outbox_status_changed AFTER UPDATE OF status ON orders
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION order_event_outbox_write();

-- Down Migration

DROP TRIGGER orders_event_outbox_status_changed ON orders;
DROP TRIGGER orders_event_outbox_created ON orders;
DROP FUNCTION order_event_outbox_write();
DROP FUNCTION order_event_time(timestamptz);
DROP TABLE order_event_outbox;
