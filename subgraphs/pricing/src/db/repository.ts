import type { RegionCode } from '@shop/domain';
import type { Queryable, WriteTransaction } from '@shop/subgraph-kit';
import type { BestPromotionRow, ListPriceRow, NewPromotion, PromotionModel } from '../models.ts';

/** `active` is decided by the database clock, the same one the best-promotion query uses. */
const PROMOTION_COLUMNS = `p.id, p.name, p.region, p.discount_percent AS "discountPercent",
  p.starts_at AS "startsAt", p.ends_at AS "endsAt", (p.starts_at <= now() AND p.ends_at > now()) AS active`;

type BestPromotionSqlRow = PromotionModel & { productId: string; amount: string; currency: string };

/** The pricing subgraph's reads. Batch functions take many keys and run one statement. */
export function createPricingRepository(db: Queryable) {
  return {
    /** Every region's list price of each product; amounts leave SQL as text, never as floats. */
    listPrices: (productIds: readonly string[]) =>
      db.query<ListPriceRow>(
        `SELECT product_id AS "productId", region, amount::text AS amount, currency
         FROM pricing.list_price WHERE product_id = ANY($1::text[])`,
        [productIds],
      ),

    /**
     * For each (product, region) of the batch, the active promotion with the highest discount
     * (ties: the newest, then the lowest id) and the price it sets, computed in SQL numeric:
     * `round` on a positive numeric rounds half up.
     */
    async bestActivePromotions(productIds: readonly string[]): Promise<BestPromotionRow[]> {
      const rows = await db.query<BestPromotionSqlRow>(
        `SELECT DISTINCT ON (pp.product_id, p.region)
                pp.product_id AS "productId", ${PROMOTION_COLUMNS},
                round(lp.amount * (100 - p.discount_percent) / 100, 2)::text AS amount, lp.currency
         FROM pricing.promotion_product pp
         JOIN pricing.promotion p ON p.id = pp.promotion_id
         JOIN pricing.list_price lp ON lp.product_id = pp.product_id AND lp.region = p.region
         WHERE pp.product_id = ANY($1::text[]) AND p.starts_at <= now() AND p.ends_at > now()
         ORDER BY pp.product_id, p.region, p.discount_percent DESC, p.starts_at DESC, p.id`,
        [productIds],
      );
      return rows.map(({ productId, amount, currency, ...promotion }) => ({
        productId,
        region: promotion.region,
        amount,
        currency,
        promotion,
      }));
    },

    promotionsByIds: (ids: readonly string[]) =>
      db.query<PromotionModel>(`SELECT ${PROMOTION_COLUMNS} FROM pricing.promotion p WHERE p.id = ANY($1::text[])`, [ids]),

    /** A region's promotions, active first, newest first; expired ones only when asked for. */
    promotionsInRegion: (region: RegionCode, includeExpired: boolean) =>
      db.query<PromotionModel>(
        `SELECT ${PROMOTION_COLUMNS} FROM pricing.promotion p
         WHERE p.region = $1 AND ($2::boolean OR p.ends_at > now())
         ORDER BY active DESC, p.starts_at DESC, p.id`,
        [region, includeExpired],
      ),
  };
}

export type PricingRepository = ReturnType<typeof createPricingRepository>;

/**
 * The pricing subgraph's writes, over the transaction of a `write` (see the kit's write.ts): the
 * only way to reach them, so every one commits before its tags are published.
 */
export function createPricingWrites(tx: WriteTransaction) {
  return {
    /** Creates or replaces the list price; `amount` is a normalized decimal string. */
    async upsertListPrice(productId: string, region: RegionCode, amount: string, currency: string): Promise<ListPriceRow> {
      const [row] = await tx.query<ListPriceRow>(
        `INSERT INTO pricing.list_price (product_id, region, amount, currency) VALUES ($1, $2, $3::numeric, $4)
         ON CONFLICT (product_id, region) DO UPDATE SET amount = EXCLUDED.amount, currency = EXCLUDED.currency
         RETURNING product_id AS "productId", region, amount::text AS amount, currency`,
        [productId, region, amount, currency],
      );
      return row!;
    },

    /**
     * Inserts a promotion and the products it covers (one transaction: the write's). A missing start is the
     * database's now(), the clock `active` is judged by; null when the end is not after the start
     * by that clock (the caller's check ran on its own clock a moment earlier).
     */
    async createPromotion(promotion: NewPromotion): Promise<PromotionModel | null> {
      const [row] = await tx.query<PromotionModel>(
        `INSERT INTO pricing.promotion AS p (name, region, discount_percent, starts_at, ends_at)
         SELECT $1, $2, $3, s.starts_at, $5::timestamptz
         FROM (SELECT coalesce($4::timestamptz, now()) AS starts_at) s
         WHERE $5::timestamptz > s.starts_at
         RETURNING ${PROMOTION_COLUMNS}`,
        [
          promotion.name,
          promotion.region,
          promotion.discountPercent,
          promotion.startsAt?.toISOString() ?? null,
          promotion.endsAt.toISOString(),
        ],
      );
      if (!row) return null;
      await tx.query(`INSERT INTO pricing.promotion_product (promotion_id, product_id) SELECT $1, unnest($2::text[])`, [
        row.id,
        promotion.productIds,
      ]);
      return row;
    },

    /**
     * Ends a running or scheduled promotion now; one that has already ended is returned as it is.
     * A promotion ended before it started also gets its start moved just before the end, keeping
     * `ends_at > starts_at`. Null for an unknown id. The read after a no-op update runs as its
     * own statement so it sees a concurrent end that committed meanwhile. `productIds` lists the
     * products whose prices this changed: the ones it covers when it ended it, none otherwise.
     */
    async endPromotion(id: string): Promise<{ promotion: PromotionModel; productIds: string[] } | null> {
      const [ended] = await tx.query<PromotionModel>(
        `UPDATE pricing.promotion AS p
         SET ends_at = now(), starts_at = least(p.starts_at, now() - interval '1 millisecond')
         WHERE p.id = $1 AND p.ends_at > now()
         RETURNING ${PROMOTION_COLUMNS}`,
        [id],
      );
      if (ended) {
        const covered = await tx.query<{ productId: string }>(
          `SELECT product_id AS "productId" FROM pricing.promotion_product WHERE promotion_id = $1`,
          [id],
        );
        return { promotion: ended, productIds: covered.map((row) => row.productId) };
      }
      const [unchanged] = await tx.query<PromotionModel>(`SELECT ${PROMOTION_COLUMNS} FROM pricing.promotion p WHERE p.id = $1`, [id]);
      return unchanged ? { promotion: unchanged, productIds: [] } : null;
    },
  };
}
