-- Payment: one row per checkout key (user, idempotency key), written BEFORE the provider is asked,
-- so that an authorisation the provider made while we timed out is always on record and the
-- sweeper can find it. `key` is the key the provider sees (a hash of user and idempotency key), so
-- every retry of one checkout asks with the same key and the provider answers with its first result.
--   pending     the provider was asked (or is being asked); the outcome is not known here yet
--   authorised  the order was written with this authorisation (order_id set)
--   declined    the card was refused; a retry with the key answers PAYMENT_DECLINED again
--   captured    the order shipped and the customer was charged
--   voided      released without charge: the order was cancelled, or the checkout abandoned
--   abandoned   the checkout was abandoned and the provider had nothing for the key
-- `request_hash` is the checkout's payload hash (claims are dropped when an attempt fails, this
-- row is not): the same key with another payload stays IDEMPOTENCY_KEY_REUSED.
-- `swept_at` is set by the sweeper when it takes an abandoned row; from then on no checkout may
-- write an order with it (the order write's conditional UPDATE requires swept_at IS NULL).
CREATE TABLE orders.payments (
  key text PRIMARY KEY,
  user_id text NOT NULL,
  idempotency_key text NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 255),
  request_hash text NOT NULL,
  payment_id text,
  status text NOT NULL CHECK (status IN ('pending', 'authorised', 'declined', 'captured', 'voided', 'abandoned')),
  amount numeric(12,2) NOT NULL CHECK (amount >= 0),
  currency text NOT NULL,
  order_id text UNIQUE REFERENCES orders.orders (id),
  swept_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, idempotency_key)
);

-- The sweeper's candidates: payments no order took.
CREATE INDEX payments_unclaimed_idx ON orders.payments (updated_at) WHERE order_id IS NULL AND status IN ('pending', 'authorised');

-- Seeded orders predate payments: their payment_id is NULL and shipping or cancelling them moves
-- no money (see lifecycle.ts).
ALTER TABLE orders.orders ADD COLUMN payment_id text UNIQUE;
ALTER TABLE orders.orders ADD COLUMN shipped_at timestamptz(3);
ALTER TABLE orders.orders ADD COLUMN delivered_at timestamptz(3);
ALTER TABLE orders.orders ADD COLUMN cancelled_at timestamptz(3);
