import type { Queryable } from '@shop/subgraph-kit';
import type { CategoryModel, ProductModel } from '../models.ts';

const PRODUCT_COLUMNS = `n, id, sku, name, description, brand, category_id AS "categoryId",
  weight_grams AS "weightGrams", image_url AS "imageUrl"`;
const CATEGORY_COLUMNS = 'id, slug, name';

export interface ProductFilter {
  categoryId?: string | undefined;
  brand?: string | undefined;
}

/** All SQL the products subgraph runs. Batch functions take many keys and run one statement. */
export function createProductRepository(db: Queryable) {
  return {
    productsByIds: (ids: readonly string[]) =>
      db.query<ProductModel>(`SELECT ${PRODUCT_COLUMNS} FROM products.product WHERE id = ANY($1::text[])`, [ids]),

    productsBySkus: (skus: readonly string[]) =>
      db.query<ProductModel>(`SELECT ${PRODUCT_COLUMNS} FROM products.product WHERE sku = ANY($1::text[])`, [skus]),

    categoriesByIds: (ids: readonly string[]) =>
      db.query<CategoryModel>(`SELECT ${CATEGORY_COLUMNS} FROM products.category WHERE id = ANY($1::text[])`, [ids]),

    categoryBySlug: async (slug: string) =>
      (await db.query<CategoryModel>(`SELECT ${CATEGORY_COLUMNS} FROM products.category WHERE slug = $1`, [slug]))[0],

    allCategories: () => db.query<CategoryModel>(`SELECT ${CATEGORY_COLUMNS} FROM products.category ORDER BY name`),

    /** One keyset page (`limit` rows after product number `afterN`) and the filter's total. */
    async pageProducts(filter: ProductFilter, limit: number, afterN: number) {
      const rows = await db.query<ProductModel>(
        `SELECT ${PRODUCT_COLUMNS} FROM products.product
           WHERE ($1::text IS NULL OR category_id = $1) AND ($2::text IS NULL OR brand = $2) AND n > $3
           ORDER BY n LIMIT $4`,
        [filter.categoryId ?? null, filter.brand ?? null, afterN, limit],
      );
      const [count] = await db.query<{ total: number }>(
        `SELECT count(*)::int AS total FROM products.product
         WHERE ($1::text IS NULL OR category_id = $1) AND ($2::text IS NULL OR brand = $2)`,
        [filter.categoryId ?? null, filter.brand ?? null],
      );
      return { rows, total: count?.total ?? 0 };
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
           WHERE category_id = k.category_id AND n > k.after_n ORDER BY n LIMIT k.lim
         ) AS p`,
        [keys.map((k) => k.categoryId), keys.map((k) => k.afterN), keys.map((k) => k.limit)],
      ),

    categoryCounts: (ids: readonly string[]) =>
      db.query<{ categoryId: string; total: number }>(
        `SELECT category_id AS "categoryId", count(*)::int AS total FROM products.product
         WHERE category_id = ANY($1::text[]) GROUP BY category_id`,
        [ids],
      ),

    /** Ranked full-text search; `offset` pagination because rank order has no stable key. */
    async search(query: string, limit: number, offset: number) {
      const rows = await db.query<ProductModel>(
        `WITH q AS (SELECT websearch_to_tsquery('english', $1) AS tsq)
         SELECT ${PRODUCT_COLUMNS} FROM products.product, q
         WHERE search @@ q.tsq
         ORDER BY ts_rank(search, q.tsq) DESC, n
         LIMIT $2 OFFSET $3`,
        [query, limit, offset],
      );
      const [count] = await db.query<{ total: number }>(
        `SELECT count(*)::int AS total FROM products.product WHERE search @@ websearch_to_tsquery('english', $1)`,
        [query],
      );
      return { rows, total: count?.total ?? 0 };
    },
  };
}

export type ProductRepository = ReturnType<typeof createProductRepository>;
