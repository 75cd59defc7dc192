-- Up Migration

-- create_orders_committed: several orders in one transaction and one round trip (group commit).
--
-- Each order is create_order_idempotent (migration 20261129100000000_create-order-ordering-open.sql)
-- exactly as create_order_committed (migration 20261205020100000_create-order-committed.sql) calls
-- it, in the order given; then one COMMIT and the WAL insert position after it, which covers every
-- order of the call. The api sends one when orders queue behind its calls in flight
-- (app/src/orders/order-batcher.ts): what a call costs apart from its orders (the round trip, the
-- statement, the transaction, the commit and its WAL flush, the replica's share) is then paid once
-- per batch instead of once per order.
--
-- The orders are flattened: scalars per order, their lines concatenated in order, p_line_counts
-- telling where each order's lines end. `results` is a JSON array of the function's answers,
-- one per order, in the same order.
--
-- No exception block per order: a refusal is an answer, not an error, and an error (none is
-- expected) aborts the whole call with all it wrote; the api then sends each order of the batch on
-- its own, so the error reaches only the order that causes it. Savepoints per order would cost a
-- subtransaction each, and past 64 in one transaction every snapshot on the primary and the
-- replicas overflows its subtransaction cache.
--
-- Two orders with the same key in one call would meet the same session's advisory lock (which does
-- not exclude its own holder): the api never puts a key in a call twice (order-batcher.ts answers
-- the second "in progress", as the lock would), and this procedure refuses such a call outright.
CREATE PROCEDURE create_orders_committed(
  p_restaurant_ids bigint[],
  p_keys text[],
  p_request_hashes text[],
  p_table_ids bigint[],
  p_line_counts integer[],
  p_menu_item_ids bigint[],
  p_quantities integer[],
  p_notes text[],
  OUT results json,
  OUT wal_position text
)
LANGUAGE plpgsql
AS $$
DECLARE
  v_count integer := coalesce(array_length(p_keys, 1), 0);
  v_answers json[] := '{}';
  v_first integer := 1;
  v_last integer;
BEGIN
  IF coalesce(array_length(p_restaurant_ids, 1), 0) <> v_count OR coalesce(array_length(p_request_hashes, 1), 0) <> v_count
     OR coalesce(array_length(p_table_ids, 1), 0) <> v_count OR coalesce(array_length(p_line_counts, 1), 0) <> v_count THEN
    RAISE EXCEPTION 'create_orders_committed: % keys but % restaurants, % hashes, % tables, % line counts', v_count,
      array_length(p_restaurant_ids, 1), array_length(p_request_hashes, 1), array_length(p_table_ids, 1), array_length(p_line_counts, 1);
  END IF;
  IF (SELECT count(DISTINCT (r, k)) FROM unnest(p_restaurant_ids, p_keys) AS u(r, k)) <> v_count THEN
    RAISE EXCEPTION 'create_orders_committed: a restaurant and key appear twice in one call';
  END IF;
  IF (SELECT coalesce(sum(n), 0) FROM unnest(p_line_counts) AS n) <> coalesce(array_length(p_menu_item_ids, 1), 0) THEN
    RAISE EXCEPTION 'create_orders_committed: the line counts do not add up to the lines given';
  END IF;
  FOR i IN 1 .. v_count LOOP
    v_last := v_first + p_line_counts[i] - 1;
    v_answers := v_answers || create_order_idempotent(p_restaurant_ids[i], p_keys[i], p_request_hashes[i], p_table_ids[i],
      p_menu_item_ids[v_first:v_last], p_quantities[v_first:v_last], p_notes[v_first:v_last]);
    v_first := v_last + 1;
  END LOOP;
  COMMIT;
  results := array_to_json(v_answers);
  wal_position := pg_current_wal_insert_lsn()::text;
END;
$$;

-- Down Migration

DROP PROCEDURE create_orders_committed;
