-- One row per (user, idempotency key), claimed before pricing or inventory is called, so that
-- concurrent retries of one checkout wait for a single outcome instead of each reserving stock.
-- order_id is set in the same transaction that writes the order; a claim without an order is a
-- checkout in progress (or abandoned by a crash: its reservation is released and the claim removed).
CREATE TABLE orders.checkout (
  user_id text NOT NULL,
  idempotency_key text NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 255),
  request_hash text NOT NULL,
  reservation_id text NOT NULL UNIQUE,
  order_id text UNIQUE REFERENCES orders.orders (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  -- Set when the attempt gave up but could not release its reservation (inventory unreachable):
  -- a retry or the sweeper releases it, then the claim goes.
  failed_at timestamptz,
  PRIMARY KEY (user_id, idempotency_key)
);

CREATE INDEX checkout_pending_idx ON orders.checkout (created_at) WHERE order_id IS NULL;

-- The inventory reservation an order holds; cancelling releases it.
ALTER TABLE orders.orders ADD COLUMN reservation_id text UNIQUE;
