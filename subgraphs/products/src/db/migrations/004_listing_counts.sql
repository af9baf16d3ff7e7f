-- Listing totals (issue 17): a listing's totalCount counted every product on sale on each request
-- (40,000 rows for the unfiltered grid, most of a listing's database time). The number on sale per
-- category is kept here instead, by statement-level triggers in the same transaction as every write
-- to products.product (create, discontinue, a category change, a seed), so it is never stale and a
-- failed write changes nothing. The unfiltered total is the sum of 60-odd rows; a category's is one
-- row. A brand filter still counts (its index holds only that brand's products).
CREATE TABLE products.category_count (
  category_id text PRIMARY KEY REFERENCES products.category (id) ON DELETE CASCADE,
  on_sale integer NOT NULL CHECK (on_sale >= 0)
);

INSERT INTO products.category_count (category_id, on_sale)
SELECT c.id, count(p.n)::int
FROM products.category c
LEFT JOIN products.product p ON p.category_id = c.id AND p.discontinued_at IS NULL
GROUP BY c.id;

-- One function for the three triggers (a trigger with transition tables has one event). Changes are
-- applied in category order, so two writers touching the same categories lock them in one order.
CREATE FUNCTION products.count_on_sale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO products.category_count AS c (category_id, on_sale)
    SELECT category_id, count(*)::int FROM new_rows WHERE discontinued_at IS NULL GROUP BY category_id ORDER BY category_id
    ON CONFLICT (category_id) DO UPDATE SET on_sale = c.on_sale + EXCLUDED.on_sale;
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE products.category_count AS c SET on_sale = c.on_sale - d.n
    FROM (SELECT category_id, count(*)::int AS n FROM old_rows WHERE discontinued_at IS NULL GROUP BY category_id) AS d
    WHERE c.category_id = d.category_id;
  ELSE
    -- The net change per category: existing rows take it in place (gains and losses alike), and a
    -- category's first product on sale adds its row. Not one upsert, because the check runs on the
    -- row an upsert proposes (a loss alone would be negative) before it meets the existing one.
    WITH d AS (
      SELECT category_id, sum(delta)::int AS n FROM (
        SELECT category_id, 1 AS delta FROM new_rows WHERE discontinued_at IS NULL
        UNION ALL
        SELECT category_id, -1 FROM old_rows WHERE discontinued_at IS NULL
      ) AS changes
      GROUP BY category_id HAVING sum(delta) <> 0
    ), changed AS (
      UPDATE products.category_count AS c SET on_sale = c.on_sale + d.n
      FROM d WHERE c.category_id = d.category_id
      RETURNING c.category_id
    )
    INSERT INTO products.category_count AS c (category_id, on_sale)
    SELECT category_id, n FROM d WHERE n > 0 AND category_id NOT IN (SELECT category_id FROM changed)
    ON CONFLICT (category_id) DO UPDATE SET on_sale = c.on_sale + EXCLUDED.on_sale;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER product_count_insert AFTER INSERT ON products.product
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION products.count_on_sale();
CREATE TRIGGER product_count_update AFTER UPDATE ON products.product
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION products.count_on_sale();
CREATE TRIGGER product_count_delete AFTER DELETE ON products.product
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION products.count_on_sale();
