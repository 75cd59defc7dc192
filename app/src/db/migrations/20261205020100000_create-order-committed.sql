-- Up Migration

-- create_order_committed: create_order_idempotent (migration
-- 20261129100000000_create-order-ordering-open.sql), its COMMIT, and the primary's WAL insert
-- position read after that COMMIT, in one call. The api needs that position for read-your-writes
-- (app/src/db/database-manager.ts: a replica may serve the key's reads once it has replayed past
-- the commit record), and read before the COMMIT it would lie before the commit record. Reading it
-- in a second statement after the call cost a round trip and a transaction of its own per order.
--
-- A procedure may COMMIT only when CALL runs outside a transaction block (the api's db.write opens
-- none); inside one PostgreSQL refuses with "invalid transaction termination" and nothing is
-- written. A procedure that COMMITs may not carry a SET clause, so the generic plans stay on the
-- function (migration 20261205020000000_create-order-generic-plans.sql), which applies them while
-- it runs. Everything before the COMMIT is as before: an error aborts the call with all it wrote.
--
-- `result` is the function's answer, unchanged; `wal_position` is pg_lsn text. A refusal wrote
-- nothing, and its position is simply not used.
CREATE PROCEDURE create_order_committed(
  p_restaurant_id bigint,
  p_key text,
  p_request_hash text,
  p_table_id bigint,
  p_menu_item_ids bigint[],
  p_quantities integer[],
  p_notes text[],
  OUT result json,
  OUT wal_position text
)
LANGUAGE plpgsql
AS $$
BEGIN
  result := create_order_idempotent(p_restaurant_id, p_key, p_request_hash, p_table_id, p_menu_item_ids, p_quantities, p_notes);
  COMMIT;
  wal_position := pg_current_wal_insert_lsn()::text;
END;
$$;

-- Down Migration

DROP PROCEDURE create_order_committed;
