-- Up Migration

-- `ordering_open: false` in a restaurant's settings (app/src/settings/settings-schemas.ts) closes
-- ordering: create_order_idempotent (migration 20261128210000000_create-order-function.sql, whose
-- steps this keeps) answers 'ordering_closed' (409) for every role and writes nothing. Absent or
-- true is open, as before.
--
-- The check sits after the key lookup, so a retry of an order created while ordering was open still
-- replays it, and before the table and price checks: a closed restaurant refuses before anything
-- else is looked at. A refused request stores no key, so the same key creates the order once
-- ordering is open again.
--
-- The setting is read in the create's own transaction, from the restaurant row locked FOR SHARE:
-- an UPDATE of the row (the settings PATCH) conflicts with that lock, so once a PATCH that closes
-- ordering has committed, no create that read the old settings can still commit. The lock costs
-- next to nothing: the insert into orders takes FOR KEY SHARE on the same row for its foreign key
-- anyway, and share locks of concurrent creates do not block each other.
--
-- Same signature, so API processes of the previous release (a rolling deploy) call this one too;
-- they do not know 'ordering_closed' and answer 500 for it, only while ordering is closed and
-- only until they are replaced.
CREATE OR REPLACE FUNCTION create_order_idempotent(
  p_restaurant_id bigint,
  p_key text,
  p_request_hash text,
  p_table_id bigint,
  p_menu_item_ids bigint[],
  p_quantities integer[],
  p_notes text[]
) RETURNS json
LANGUAGE plpgsql
AS $$
DECLARE
  v_existing record;
  v_ordering_open jsonb;
  v_prices integer[];
  v_missing bigint;
  v_total bigint;
  v_order orders%ROWTYPE;
  v_body json;
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtextextended('idempotency:' || p_restaurant_id::text || ':' || p_key, 0)) THEN
    RETURN json_build_object('outcome', 'in_progress');
  END IF;

  SELECT request_hash, status, response_status, response INTO v_existing
    FROM idempotency_keys WHERE restaurant_id = p_restaurant_id AND key = p_key;
  IF FOUND THEN
    IF v_existing.request_hash <> p_request_hash THEN
      RETURN json_build_object('outcome', 'different_body');
    ELSIF v_existing.status <> 'completed' THEN
      RETURN json_build_object('outcome', 'in_progress');
    END IF;
    RETURN json_build_object('outcome', 'replayed', 'status', v_existing.response_status, 'body', v_existing.response);
  END IF;

  -- FOR SHARE: a settings change (UPDATE restaurants) waits for the creates in flight, and a create
  -- waits for a change in flight and then reads the committed settings.
  SELECT settings -> 'ordering_open' INTO v_ordering_open
    FROM restaurants WHERE id = p_restaurant_id FOR SHARE;
  IF v_ordering_open = 'false'::jsonb THEN
    RETURN json_build_object('outcome', 'ordering_closed');
  END IF;

  PERFORM 1 FROM tables WHERE restaurant_id = p_restaurant_id AND id = p_table_id;
  IF NOT FOUND THEN
    RETURN json_build_object('outcome', 'unknown_table');
  END IF;

  SELECT array_agg(m.price_cents ORDER BY l.ord),
         min(l.ord) FILTER (WHERE m.id IS NULL),
         sum(l.quantity::bigint * m.price_cents)
    INTO v_prices, v_missing, v_total
    FROM unnest(p_menu_item_ids, p_quantities) WITH ORDINALITY AS l(menu_item_id, quantity, ord)
    LEFT JOIN menu_items m ON m.id = l.menu_item_id AND m.restaurant_id = p_restaurant_id AND m.is_available;
  IF v_missing IS NOT NULL THEN
    RETURN json_build_object('outcome', 'unavailable_item', 'index', v_missing - 1);
  ELSIF v_total > 2147483647 THEN
    RETURN json_build_object('outcome', 'total_too_large');
  END IF;

  INSERT INTO orders (restaurant_id, table_id, total_cents) VALUES (p_restaurant_id, p_table_id, v_total)
    RETURNING * INTO v_order;

  WITH inserted AS (
    INSERT INTO order_items (order_id, order_created_at, menu_item_id, quantity, unit_price_cents, notes)
    SELECT v_order.id, v_order.created_at, l.menu_item_id, l.quantity, l.price_cents, l.notes
      FROM unnest(p_menu_item_ids, p_quantities, v_prices, p_notes) WITH ORDINALITY AS l(menu_item_id, quantity, price_cents, notes, ord)
     ORDER BY l.ord
    RETURNING id, menu_item_id, quantity, unit_price_cents, notes
  )
  SELECT json_build_object(
           'id', v_order.id::text,
           'restaurant_id', v_order.restaurant_id::text,
           'table_id', v_order.table_id::text,
           'status', v_order.status,
           'total_cents', v_order.total_cents,
           'created_at', to_char(v_order.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'updated_at', to_char(v_order.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'confirmed_at', to_char(v_order.confirmed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'preparing_at', to_char(v_order.preparing_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'ready_at', to_char(v_order.ready_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'served_at', to_char(v_order.served_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'completed_at', to_char(v_order.completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'cancelled_at', to_char(v_order.cancelled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'items', (SELECT json_agg(json_build_object(
                              'id', i.id::text,
                              'menu_item_id', i.menu_item_id::text,
                              'quantity', i.quantity,
                              'unit_price_cents', i.unit_price_cents,
                              'notes', i.notes) ORDER BY i.id)
                       FROM inserted i))
    INTO v_body;

  INSERT INTO idempotency_keys (restaurant_id, key, request_hash, status, response_status, response, order_id, order_created_at)
  VALUES (p_restaurant_id, p_key, p_request_hash, 'completed', 201, v_body::jsonb, v_order.id, v_order.created_at);

  RETURN json_build_object('outcome', 'created', 'status', 201, 'body', v_body);
END;
$$;

-- Down Migration

CREATE OR REPLACE FUNCTION create_order_idempotent(
  p_restaurant_id bigint,
  p_key text,
  p_request_hash text,
  p_table_id bigint,
  p_menu_item_ids bigint[],
  p_quantities integer[],
  p_notes text[]
) RETURNS json
LANGUAGE plpgsql
AS $$
DECLARE
  v_existing record;
  v_prices integer[];
  v_missing bigint;
  v_total bigint;
  v_order orders%ROWTYPE;
  v_body json;
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtextextended('idempotency:' || p_restaurant_id::text || ':' || p_key, 0)) THEN
    RETURN json_build_object('outcome', 'in_progress');
  END IF;

  SELECT request_hash, status, response_status, response INTO v_existing
    FROM idempotency_keys WHERE restaurant_id = p_restaurant_id AND key = p_key;
  IF FOUND THEN
    IF v_existing.request_hash <> p_request_hash THEN
      RETURN json_build_object('outcome', 'different_body');
    ELSIF v_existing.status <> 'completed' THEN
      RETURN json_build_object('outcome', 'in_progress');
    END IF;
    RETURN json_build_object('outcome', 'replayed', 'status', v_existing.response_status, 'body', v_existing.response);
  END IF;

  PERFORM 1 FROM tables WHERE restaurant_id = p_restaurant_id AND id = p_table_id;
  IF NOT FOUND THEN
    RETURN json_build_object('outcome', 'unknown_table');
  END IF;

  SELECT array_agg(m.price_cents ORDER BY l.ord),
         min(l.ord) FILTER (WHERE m.id IS NULL),
         sum(l.quantity::bigint * m.price_cents)
    INTO v_prices, v_missing, v_total
    FROM unnest(p_menu_item_ids, p_quantities) WITH ORDINALITY AS l(menu_item_id, quantity, ord)
    LEFT JOIN menu_items m ON m.id = l.menu_item_id AND m.restaurant_id = p_restaurant_id AND m.is_available;
  IF v_missing IS NOT NULL THEN
    RETURN json_build_object('outcome', 'unavailable_item', 'index', v_missing - 1);
  ELSIF v_total > 2147483647 THEN
    RETURN json_build_object('outcome', 'total_too_large');
  END IF;

  INSERT INTO orders (restaurant_id, table_id, total_cents) VALUES (p_restaurant_id, p_table_id, v_total)
    RETURNING * INTO v_order;

  WITH inserted AS (
    INSERT INTO order_items (order_id, order_created_at, menu_item_id, quantity, unit_price_cents, notes)
    SELECT v_order.id, v_order.created_at, l.menu_item_id, l.quantity, l.price_cents, l.notes
      FROM unnest(p_menu_item_ids, p_quantities, v_prices, p_notes) WITH ORDINALITY AS l(menu_item_id, quantity, price_cents, notes, ord)
     ORDER BY l.ord
    RETURNING id, menu_item_id, quantity, unit_price_cents, notes
  )
  SELECT json_build_object(
           'id', v_order.id::text,
           'restaurant_id', v_order.restaurant_id::text,
           'table_id', v_order.table_id::text,
           'status', v_order.status,
           'total_cents', v_order.total_cents,
           'created_at', to_char(v_order.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'updated_at', to_char(v_order.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'confirmed_at', to_char(v_order.confirmed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'preparing_at', to_char(v_order.preparing_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'ready_at', to_char(v_order.ready_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'served_at', to_char(v_order.served_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'completed_at', to_char(v_order.completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'cancelled_at', to_char(v_order.cancelled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'items', (SELECT json_agg(json_build_object(
                              'id', i.id::text,
                              'menu_item_id', i.menu_item_id::text,
                              'quantity', i.quantity,
                              'unit_price_cents', i.unit_price_cents,
                              'notes', i.notes) ORDER BY i.id)
                       FROM inserted i))
    INTO v_body;

  INSERT INTO idempotency_keys (restaurant_id, key, request_hash, status, response_status, response, order_id, order_created_at)
  VALUES (p_restaurant_id, p_key, p_request_hash, 'completed', 201, v_body::jsonb, v_order.id, v_order.created_at);

  RETURN json_build_object('outcome', 'created', 'status', 201, 'body', v_body);
END;
$$;
