-- One row per checkout reservation. The id is chosen by the caller (orders), which makes
-- reserveStock idempotent: the primary key decides, so concurrent calls with one id make one row.
CREATE TABLE inventory.reservation (
  id text PRIMARY KEY,
  region text NOT NULL CHECK (region IN ('IN', 'SEA', 'ME', 'US')),
  status text NOT NULL CHECK (status IN ('HELD', 'RELEASED')),
  created_at timestamptz NOT NULL DEFAULT now(),
  released_at timestamptz
);

-- What a reservation took from each warehouse, so releasing gives back exactly that.
CREATE TABLE inventory.reservation_line (
  reservation_id text NOT NULL REFERENCES inventory.reservation (id),
  product_id text NOT NULL,
  warehouse_id text NOT NULL,
  quantity integer NOT NULL CHECK (quantity > 0),
  PRIMARY KEY (reservation_id, product_id, warehouse_id)
);
