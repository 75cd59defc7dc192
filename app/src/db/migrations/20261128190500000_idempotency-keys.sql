-- Up Migration

-- One row per Idempotency-Key of an order creation, written in the order's transaction: a retry
-- with the same key and body replays `response`, another body is refused by `request_hash`.
CREATE TABLE idempotency_keys (
  restaurant_id bigint NOT NULL CONSTRAINT idempotency_keys_restaurant_fkey REFERENCES restaurants (id),
  key text NOT NULL CONSTRAINT idempotency_keys_key_check CHECK (length(key) BETWEEN 1 AND 255),
  -- Hash of the canonical request body (hex SHA-256).
  request_hash text NOT NULL,
  status text NOT NULL DEFAULT 'in_progress'
    CONSTRAINT idempotency_keys_status_check CHECK (status IN ('in_progress', 'completed')),
  response_status smallint,
  response jsonb,
  order_id bigint,
  order_created_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL DEFAULT now() + interval '24 hours',
  CONSTRAINT idempotency_keys_pkey PRIMARY KEY (restaurant_id, key),
  CONSTRAINT idempotency_keys_order_fkey FOREIGN KEY (order_id, order_created_at)
    REFERENCES orders (id, created_at) ON DELETE CASCADE,
  CONSTRAINT idempotency_keys_order_pair_check CHECK ((order_id IS NULL) = (order_created_at IS NULL)),
  CONSTRAINT idempotency_keys_completed_check CHECK (status = 'in_progress' OR (response_status IS NOT NULL AND response IS NOT NULL))
);

-- Purging expired keys.
CREATE INDEX idx_idempotency_keys_expires_at ON idempotency_keys (expires_at);

-- Down Migration

DROP TABLE idempotency_keys;
