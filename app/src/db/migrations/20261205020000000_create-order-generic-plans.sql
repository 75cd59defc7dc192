-- Up Migration

-- create_order_idempotent (migration 20261129100000000_create-order-ordering-open.sql) runs its
-- statements, and the foreign key checks they fire, with generic plans.
--
-- Why: an order fires four foreign key checks against `orders` (one per order line from
-- order_items, one from idempotency_keys). Each is a cached query with parameters on the
-- partitioned table, and PostgreSQL's plan cache compares the generic plan (every partition,
-- pruned when the executor starts) with a custom plan (pruned by the planner to one partition):
-- the custom plan always looks cheaper, so it is planned again on every call. A perf profile of
-- the PostgreSQL processes while 8 clients called the function directly (3 lines each) put that
-- planning at 19 % of their CPU; the same calls cost 0.92 to 1.00 ms of PostgreSQL CPU per order
-- before, 0.67 to 0.69 ms after (4 partitions of orders, the harness); with 40 partitions 0.81 to
-- 0.99 before, 0.76 to 0.77 after, because PostgreSQL 16 locks every partition a generic plan
-- names. Detaching old months keeps that part small.
--
-- The setting applies while the function runs (the foreign key checks run inside it, at the end of
-- each statement) and is restored when it returns: no other query changes.
ALTER FUNCTION create_order_idempotent(bigint, text, text, bigint, bigint[], integer[], text[])
  SET plan_cache_mode = force_generic_plan;

-- Down Migration

ALTER FUNCTION create_order_idempotent(bigint, text, text, bigint, bigint[], integer[], text[])
  RESET plan_cache_mode;
