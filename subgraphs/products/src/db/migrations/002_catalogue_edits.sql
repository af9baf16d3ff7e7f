-- Catalogue edits (issue 14): admins create, edit and discontinue products.

-- Set once when an admin discontinues a product; never cleared. A discontinued product leaves the
-- listings and search (the partial indexes below serve only what is on sale) but keeps its row, so
-- it still resolves by id, by sku and as an entity: old orders go on rendering it.
ALTER TABLE products.product ADD COLUMN discontinued_at timestamptz;

-- Numbers for products created through the API, far above the seed's 1..40,000 (p<n>, as the seed
-- numbers them), so a larger seed and the API never collide. Nine digits is the most a product id has.
CREATE SEQUENCE products.product_n_seq START WITH 1000001 MAXVALUE 999999999;

-- The bounds the API enforces, kept by the database too.
ALTER TABLE products.product
  ADD CONSTRAINT product_weight_bounds CHECK (weight_grams BETWEEN 1 AND 1000000),
  ADD CONSTRAINT product_name_length CHECK (char_length(name) BETWEEN 1 AND 200),
  ADD CONSTRAINT product_description_length CHECK (char_length(description) <= 5000);

-- The search vector stays a generated column: Postgres recomputes it in the statement that changes
-- name, brand or description, so search sees an edit as soon as it commits. Listings and search
-- read only products on sale, so their indexes hold only those.
DROP INDEX products.product_category_idx;
DROP INDEX products.product_brand_idx;
DROP INDEX products.product_search_idx;
CREATE INDEX product_category_idx ON products.product (category_id, n) WHERE discontinued_at IS NULL;
CREATE INDEX product_brand_idx ON products.product (brand, n) WHERE discontinued_at IS NULL;
CREATE INDEX product_search_idx ON products.product USING gin (search) WHERE discontinued_at IS NULL;
