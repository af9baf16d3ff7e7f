import type { Queryable, WriteTransaction } from '@shop/subgraph-kit';
import { type CategoryModel, EDITABLE_FIELDS, type NewProduct, type ProductChanges, type ProductModel } from '../models.ts';

const PRODUCT_COLUMNS = `n, id, sku, name, description, brand, category_id AS "categoryId",
  weight_grams AS "weightGrams", image_url AS "imageUrl", discontinued_at AS "discontinuedAt"`;
const CATEGORY_COLUMNS = 'id, slug, name';

/**
 * `productSelect` (rows of PRODUCT_COLUMNS) with each product's category joined in: the product
 * page and the listing show the category, so reading it with the product saves the category
 * loader a statement of its own. The join comes after the select, so a LIMIT in it has already
 * cut the rows down (the foreign key guarantees every product a category).
 */
const withCategory = (productSelect: string) =>
  `SELECT p.*, c.slug AS "categorySlug", c.name AS "categoryName"
   FROM (${productSelect}) AS p JOIN products.category c ON c.id = p."categoryId"`;

interface ProductWithCategoryRow extends ProductModel {
  categorySlug: string;
  categoryName: string;
}

/** A product row and its category, split apart (the loaders prime each into its own cache). */
export interface ProductWithCategory {
  product: ProductModel;
  category: CategoryModel;
}

const splitCategory = ({ categorySlug, categoryName, ...product }: ProductWithCategoryRow): ProductWithCategory => ({
  product,
  category: { id: product.categoryId, slug: categorySlug, name: categoryName },
});

export interface ProductFilter {
  /** A category's slug; an unknown one matches no product. */
  categorySlug?: string | undefined;
  brand?: string | undefined;
}

/** PRODUCT_COLUMNS of the table aliased `p` (search joins the page back to it). */
const PRODUCT_COLUMNS_OF_P = `p.n, p.id, p.sku, p.name, p.description, p.brand, p.category_id AS "categoryId",
  p.weight_grams AS "weightGrams", p.image_url AS "imageUrl", p.discontinued_at AS "discontinuedAt"`;

/**
 * The products subgraph's reads. Batch functions take many keys and run one statement. Lookups by
 * id and sku find every product; listings, counts and search only those on sale (not discontinued),
 * which is what their partial indexes hold.
 */
export function createProductRepository(db: Queryable) {
  return {
    /** Products by id, each with its category (the foreign key guarantees one). */
    productsByIds: async (ids: readonly string[]) =>
      (
        await db.query<ProductWithCategoryRow>(withCategory(`SELECT ${PRODUCT_COLUMNS} FROM products.product WHERE id = ANY($1::text[])`), [
          ids,
        ])
      ).map(splitCategory),

    productsBySkus: async (skus: readonly string[]) =>
      (
        await db.query<ProductWithCategoryRow>(
          withCategory(`SELECT ${PRODUCT_COLUMNS} FROM products.product WHERE sku = ANY($1::text[])`),
          [skus],
        )
      ).map(splitCategory),

    categoriesByIds: (ids: readonly string[]) =>
      db.query<CategoryModel>(`SELECT ${CATEGORY_COLUMNS} FROM products.category WHERE id = ANY($1::text[])`, [ids]),

    categoryBySlug: async (slug: string) =>
      (await db.query<CategoryModel>(`SELECT ${CATEGORY_COLUMNS} FROM products.category WHERE slug = $1`, [slug]))[0],

    allCategories: () => db.query<CategoryModel>(`SELECT ${CATEGORY_COLUMNS} FROM products.category ORDER BY name`),

    /**
     * One keyset page (`limit` rows after product number `afterN`, categories joined in) and the
     * filter's total, in one statement: the total is an uncorrelated subquery the page hangs off
     * (LEFT JOIN LATERAL ... ON true), so a page past the end still brings the total (one row of
     * nulls), and each half keeps the plan it had as a statement of its own. A category slug is
     * resolved inside the statement too (an unknown one matches nothing): with the slug bound,
     * `$1 IS NULL OR ...` folds away and the (category_id, n) index answers the page.
     *
     * Without a brand the total is read from `category_count` (migration 004, kept by triggers in
     * every write's transaction) instead of counted: counting the unfiltered grid read all 40,000
     * products on every request. With a brand it is counted over the brand's index.
     */
    async pageProducts(filter: ProductFilter, limit: number, afterN: number) {
      const category = '(SELECT id FROM products.category WHERE slug = $1)';
      const matches = `p.discontinued_at IS NULL
        AND ($1::text IS NULL OR p.category_id = ${category})
        AND ($2::text IS NULL OR p.brand = $2)`;
      const rows = await db.query<ProductWithCategoryRow & { total: number }>(
        `SELECT t.total, page.*
         FROM (SELECT CASE WHEN $2::text IS NULL
                 THEN (SELECT coalesce(sum(on_sale), 0)::int FROM products.category_count
                       WHERE $1::text IS NULL OR category_id = ${category})
                 ELSE (SELECT count(*)::int FROM products.product p WHERE ${matches})
               END AS total) AS t
         LEFT JOIN LATERAL (
           ${withCategory(`SELECT ${PRODUCT_COLUMNS} FROM products.product p WHERE ${matches} AND p.n > $3 ORDER BY p.n LIMIT $4`)}
         ) AS page ON true
         ORDER BY page.n`,
        [filter.categorySlug ?? null, filter.brand ?? null, afterN, limit],
      );
      return {
        rows: rows.filter((row) => row.id != null).map(({ total: _total, ...row }) => splitCategory(row)),
        total: rows[0]?.total ?? 0,
      };
    },

    /**
     * Pages of several categories in one statement: each key is (category, after, limit), and a
     * LATERAL subquery takes each category's page from the (category_id, n) index.
     */
    categoryPages: (keys: readonly { categoryId: string; afterN: number; limit: number }[]) =>
      db.query<ProductModel & { key: number }>(
        `SELECT k.ord::int AS key, p.*
         FROM unnest($1::text[], $2::int[], $3::int[]) WITH ORDINALITY AS k(category_id, after_n, lim, ord)
         CROSS JOIN LATERAL (
           SELECT ${PRODUCT_COLUMNS} FROM products.product
           WHERE category_id = k.category_id AND discontinued_at IS NULL AND n > k.after_n ORDER BY n LIMIT k.lim
         ) AS p`,
        [keys.map((k) => k.categoryId), keys.map((k) => k.afterN), keys.map((k) => k.limit)],
      ),

    /** Products on sale per category, kept by migration 004's triggers (a category with none may have no row). */
    categoryCounts: (ids: readonly string[]) =>
      db.query<{ categoryId: string; total: number }>(
        `SELECT category_id AS "categoryId", on_sale AS total FROM products.category_count WHERE category_id = ANY($1::text[])`,
        [ids],
      ),

    /**
     * Ranked full-text search, one statement: the page (rank order, ties by product number) and the
     * number of matches. `offset` pagination because rank order has no stable key.
     *
     * The query is a materialized CTE, so the planner sees a parameter, not a constant: with the
     * constant it estimates a common word's thousands of matches and reads the whole table instead of
     * the GIN index (about 5 times slower here, the matches being on nearly every page anyway). The
     * matches carry only (n, rank), so ranking and counting all of them stays in memory, and only the
     * returned page joins back for its columns and its products' categories (which a result shows:
     * the category loader then reads nothing). The count hangs off the page (LEFT JOIN ... ON true),
     * so a page past the end still brings it, as one row of nulls.
     */
    async search(query: string, limit: number, offset: number) {
      const rows = await db.query<ProductWithCategoryRow & { total: number }>(
        `WITH q AS MATERIALIZED (SELECT websearch_to_tsquery('english', $1) AS tsq),
         hits AS MATERIALIZED (
           SELECT m.n, ts_rank(m.search, (SELECT tsq FROM q)) AS rank FROM products.product m
           WHERE m.search @@ (SELECT tsq FROM q) AND m.discontinued_at IS NULL
         ),
         page AS (SELECT n, rank FROM hits ORDER BY rank DESC, n LIMIT $2 OFFSET $3)
         SELECT t.total, ${PRODUCT_COLUMNS_OF_P}, c.slug AS "categorySlug", c.name AS "categoryName"
         FROM (SELECT count(*)::int AS total FROM hits) AS t
         LEFT JOIN (page JOIN products.product p ON p.n = page.n JOIN products.category c ON c.id = p.category_id) ON true
         ORDER BY page.rank DESC, page.n`,
        [query, limit, offset],
      );
      return {
        rows: rows.filter((row) => row.id != null).map(({ total: _total, ...row }) => splitCategory(row)),
        total: rows[0]?.total ?? 0,
      };
    },
  };
}

export type ProductRepository = ReturnType<typeof createProductRepository>;

/** Column of each editable field. */
const COLUMN: Readonly<Record<(typeof EDITABLE_FIELDS)[number], string>> = {
  name: 'name',
  description: 'description',
  brand: 'brand',
  categoryId: 'category_id',
  imageUrl: 'image_url',
  weightGrams: 'weight_grams',
};

/**
 * The products subgraph's writes, over the transaction of a `write` (the kit's write.ts): the only
 * way to reach them, so none commits without its events. The search vector is a generated column,
 * recomputed by the very statement that writes name, brand or description.
 */
export function createProductWrites(tx: WriteTransaction) {
  return {
    async categoryExists(id: string): Promise<boolean> {
      return (await tx.query('SELECT 1 FROM products.category WHERE id = $1', [id])).length > 0;
    },

    /**
     * Inserts a product numbered from the API's sequence (`p<n>`, the seed's scheme). Null when
     * the SKU is taken: the unique constraint decides, so two concurrent creates cannot both have it.
     */
    async insertProduct(product: NewProduct): Promise<ProductModel | null> {
      const [row] = await tx.query<ProductModel>(
        `INSERT INTO products.product (n, id, sku, name, description, brand, category_id, weight_grams, image_url)
         SELECT s.n, 'p' || s.n, $1, $2, $3, $4, $5, $6, $7 FROM (SELECT nextval('products.product_n_seq')::int AS n) AS s
         ON CONFLICT (sku) DO NOTHING
         RETURNING ${PRODUCT_COLUMNS}`,
        [product.sku, product.name, product.description, product.brand, product.categoryId, product.weightGrams, product.imageUrl],
      );
      return row ?? null;
    },

    /** The product, locked until the write commits, so concurrent edits of it apply one after the other. */
    async lockProduct(id: string): Promise<ProductModel | undefined> {
      const [row] = await tx.query<ProductModel>(`SELECT ${PRODUCT_COLUMNS} FROM products.product WHERE id = $1 FOR UPDATE`, [id]);
      return row;
    },

    /** Sets the given fields (at least one). */
    async updateProduct(id: string, changes: ProductChanges): Promise<ProductModel> {
      const fields = EDITABLE_FIELDS.filter((field) => changes[field] !== undefined);
      const sets = fields.map((field, i) => `${COLUMN[field]} = $${i + 2}`);
      const [row] = await tx.query<ProductModel>(
        `UPDATE products.product SET ${sets.join(', ')} WHERE id = $1 RETURNING ${PRODUCT_COLUMNS}`,
        [id, ...fields.map((field) => changes[field])],
      );
      if (!row) throw new Error(`product ${id} vanished inside its own locked write`);
      return row;
    },

    /** Marks the product discontinued now; null when it is unknown or already discontinued. */
    async discontinueProduct(id: string): Promise<ProductModel | null> {
      const [row] = await tx.query<ProductModel>(
        `UPDATE products.product SET discontinued_at = now() WHERE id = $1 AND discontinued_at IS NULL RETURNING ${PRODUCT_COLUMNS}`,
        [id],
      );
      return row ?? null;
    },
  };
}
