-- Regions are the API's enum; the check keeps a typo in a seed or a write from creating a fifth.
CREATE TABLE pricing.list_price (
  product_id text NOT NULL,
  region text NOT NULL CHECK (region IN ('IN', 'SEA', 'ME', 'US')),
  amount numeric(12,2) NOT NULL CHECK (amount > 0),
  currency text NOT NULL CHECK (currency IN ('INR', 'SGD', 'AED', 'USD')),
  PRIMARY KEY (product_id, region)
);

CREATE TABLE pricing.promotion (
  id text PRIMARY KEY,
  name text NOT NULL,
  region text NOT NULL CHECK (region IN ('IN', 'SEA', 'ME', 'US')),
  discount_percent integer NOT NULL CHECK (discount_percent BETWEEN 1 AND 90),
  starts_at timestamptz NOT NULL,
  ends_at timestamptz NOT NULL,
  CHECK (ends_at > starts_at)
);

CREATE INDEX promotion_region_idx ON pricing.promotion (region, starts_at DESC);

-- Which products a promotion covers. Keyed product first as well, because prices are looked up
-- by product: the best-promotion query starts from a batch of product ids.
CREATE TABLE pricing.promotion_product (
  promotion_id text NOT NULL REFERENCES pricing.promotion (id) ON DELETE CASCADE,
  product_id text NOT NULL,
  PRIMARY KEY (promotion_id, product_id)
);

CREATE INDEX promotion_product_product_idx ON pricing.promotion_product (product_id, promotion_id);
