import type { Queryable, RegionCode } from '@shop/service-kit';
import type { BestPromotionRow, ListPriceRow, PromotionModel } from '../models.ts';

/** `active` is decided by the database clock, the same one the best-promotion query uses. */
const PROMOTION_COLUMNS = `p.id, p.name, p.region, p.discount_percent AS "discountPercent",
  p.starts_at AS "startsAt", p.ends_at AS "endsAt", (p.starts_at <= now() AND p.ends_at > now()) AS active`;

type BestPromotionSqlRow = PromotionModel & { productId: string; amount: string; currency: string };

/** All SQL the pricing subgraph runs. Batch functions take many keys and run one statement. */
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
