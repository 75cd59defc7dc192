-- Up Migration

-- Orders are range-partitioned by created_at, one partition per UTC month (orders_YYYY_MM), so a
-- month's queries touch one partition and old months can later be detached whole.
--
-- Only the parent and its DEFAULT partition are created here: which months exist depends on the
-- clock, and a migration must not. `ensureOrderPartitions` (app/src/db/order-partitions.ts) creates
-- the current and coming months; the migration entry runs it right after `up` and the
-- create-order-partitions CronJob every night. The DEFAULT partition only catches what arrives
-- when no month partition exists; ensureOrderPartitions moves such rows into the month it creates.
--
-- ids come from a sequence rather than an identity column: partitioned tables accept identity
-- columns only from PostgreSQL 17, and RDS runs 16. A bigint keeps the primary key and the keyset
-- indexes narrow (8 bytes, against 16 for a uuid) and grows with created_at, so pages of
-- (created_at, id) and the primary key stay append-mostly. The primary key must include the
-- partition key, hence (id, created_at): anything that points at an order carries both columns,
-- and a lookup by both goes straight to one partition.
CREATE SEQUENCE orders_id_seq AS bigint;

CREATE TABLE orders (
  id bigint NOT NULL DEFAULT nextval('orders_id_seq'),
  created_at timestamptz NOT NULL DEFAULT now(),
  restaurant_id bigint NOT NULL CONSTRAINT orders_restaurant_fkey REFERENCES restaurants (id),
  table_id bigint,
  guest_id bigint,
  status text NOT NULL DEFAULT 'pending'
    CONSTRAINT orders_status_check CHECK (status IN ('pending', 'confirmed', 'preparing', 'ready', 'served', 'completed', 'cancelled')),
  total_cents integer NOT NULL CONSTRAINT orders_total_cents_check CHECK (total_cents >= 0),
  notes text CONSTRAINT orders_notes_check CHECK (length(notes) <= 1000),
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- When the order entered each status: kitchen preparation is ready_at - preparing_at (or
  -- confirmed_at), processing time completed_at - created_at.
  confirmed_at timestamptz,
  preparing_at timestamptz,
  ready_at timestamptz,
  served_at timestamptz,
  completed_at timestamptz,
  cancelled_at timestamptz,
  CONSTRAINT orders_pkey PRIMARY KEY (id, created_at),
  CONSTRAINT orders_table_fkey FOREIGN KEY (restaurant_id, table_id) REFERENCES tables (restaurant_id, id),
  CONSTRAINT orders_guest_fkey FOREIGN KEY (restaurant_id, guest_id) REFERENCES guests (restaurant_id, id)
) PARTITION BY RANGE (created_at);

ALTER SEQUENCE orders_id_seq OWNED BY orders.id;

CREATE TABLE orders_default PARTITION OF orders DEFAULT;

-- Partitioned indexes: every partition, present or future, gets its own copy.
-- Kitchen queue and status filters: a restaurant's orders in some status over a time range.
CREATE INDEX idx_orders_restaurant_status_created ON orders (restaurant_id, status, created_at);
-- Order listing with keyset pagination: newest first, (created_at, id) as the cursor.
CREATE INDEX idx_orders_restaurant_created_id ON orders (restaurant_id, created_at DESC, id DESC);
-- A guest's own orders, newest first. Partial: orders taken by staff have no guest.
CREATE INDEX idx_orders_guest_id ON orders (guest_id, created_at DESC) WHERE guest_id IS NOT NULL;

CREATE TRIGGER orders_touch_updated_at BEFORE UPDATE ON orders
  FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TABLE order_items (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id bigint NOT NULL,
  order_created_at timestamptz NOT NULL,
  menu_item_id bigint NOT NULL CONSTRAINT order_items_menu_item_fkey REFERENCES menu_items (id),
  quantity integer NOT NULL CONSTRAINT order_items_quantity_check CHECK (quantity > 0),
  -- The price when ordered: later menu changes do not rewrite history.
  unit_price_cents integer NOT NULL CONSTRAINT order_items_unit_price_cents_check CHECK (unit_price_cents >= 0),
  notes text CONSTRAINT order_items_notes_check CHECK (length(notes) <= 500),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT order_items_order_fkey FOREIGN KEY (order_id, order_created_at)
    REFERENCES orders (id, created_at) ON DELETE CASCADE
);

-- An order's items; also what the foreign key's cascade looks up.
CREATE INDEX idx_order_items_order_id ON order_items (order_id, order_created_at);

-- Down Migration

DROP TABLE order_items;
DROP TABLE orders;
