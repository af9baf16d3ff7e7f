CREATE TABLE inventory.warehouse (
  n integer PRIMARY KEY,
  id text NOT NULL UNIQUE,
  code text NOT NULL UNIQUE,
  name text NOT NULL,
  city text NOT NULL,
  region text NOT NULL CHECK (region IN ('IN', 'SEA', 'ME', 'US'))
);

CREATE INDEX warehouse_region_idx ON inventory.warehouse (region, n);

-- One row per (product, warehouse) so reservations can be taken with a conditional UPDATE on a
-- single row; the CHECKs make overselling impossible even if a caller forgets the condition.
-- No foreign key to warehouse: its per-row trigger made the 200k-row dev seed 3.5x slower on
-- PGlite, and warehouses are fixed reference data that is never deleted. product_id has none
-- either: products live in another subgraph's database.
CREATE TABLE inventory.stock (
  product_id text NOT NULL,
  warehouse_id text NOT NULL,
  available integer NOT NULL CHECK (available >= 0),
  reserved integer NOT NULL CHECK (reserved >= 0),
  PRIMARY KEY (product_id, warehouse_id)
);
