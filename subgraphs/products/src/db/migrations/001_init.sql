CREATE TABLE products.category (
  id text PRIMARY KEY,
  slug text NOT NULL UNIQUE,
  name text NOT NULL
);

CREATE TABLE products.product (
  n integer PRIMARY KEY,
  id text NOT NULL UNIQUE,
  sku text NOT NULL UNIQUE,
  name text NOT NULL,
  description text NOT NULL,
  brand text NOT NULL,
  category_id text NOT NULL REFERENCES products.category (id),
  weight_grams integer NOT NULL CHECK (weight_grams > 0),
  image_url text NOT NULL,
  search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', name), 'A') ||
    setweight(to_tsvector('english', brand), 'B') ||
    setweight(to_tsvector('english', description), 'C')
  ) STORED
);

CREATE INDEX product_category_idx ON products.product (category_id, n);
CREATE INDEX product_brand_idx ON products.product (brand, n);
CREATE INDEX product_search_idx ON products.product USING gin (search);
