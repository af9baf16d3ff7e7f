import type { RegionCode } from '@shop/domain';
import type { Queryable, WriteTransaction } from '@shop/subgraph-kit';
import type { ListPriceRow, NewPromotion, PriceRow, PromotionModel } from '../models.ts';

/** `active` is decided by the database clock, the same one the best-promotion query uses. */
const PROMOTION_COLUMNS = `p.id, p.name, p.region, p.discount_percent AS "discountPercent",
  p.starts_at AS "startsAt", p.ends_at AS "endsAt", (p.starts_at <= now() AND p.ends_at > now()) AS active`;

/** A list price row with its best promotion's columns, null when none applies. */
interface PriceSqlRow extends ListPriceRow {
  discontinued: boolean;
  promotionId: string | null;
  promotionName: string | null;
  discountPercent: number | null;
  startsAt: Date | null;
  endsAt: Date | null;
  active: boolean | null;
  promotedAmount: string | null;
}

/** The pricing subgraph's reads. Batch functions take many keys and run one statement. */
export function createPricingRepository(db: Queryable) {
  return {
    /**
     * Every region's list price of each product, with the best active promotion there and the
     * price it sets, in one statement: `price`, `listPrice` and `activePromotion` (and checkout's
     * `quote`) of a whole batch cost one round trip. Amounts leave SQL as text, never as floats.
     * Each row says whether the catalogue discontinued the product; a discontinued product has no
     * promotion (it has no price to discount). The best promotion is the highest discount (ties:
     * the newest, then the lowest id), its price computed in SQL numeric: `round` on a positive
     * numeric rounds half up.
     */
    async pricesOf(productIds: readonly string[]): Promise<PriceRow[]> {
      const rows = await db.query<PriceSqlRow>(
        `SELECT lp.product_id AS "productId", lp.region, lp.amount::text AS amount, lp.currency,
                d.product_id IS NOT NULL AS discontinued,
                best.id AS "promotionId", best.name AS "promotionName", best."discountPercent", best."startsAt",
                best."endsAt", best.active, best.amount AS "promotedAmount"
         FROM pricing.list_price lp
         LEFT JOIN pricing.discontinued_product d ON d.product_id = lp.product_id
         LEFT JOIN LATERAL (
           SELECT ${PROMOTION_COLUMNS}, round(lp.amount * (100 - p.discount_percent) / 100, 2)::text AS amount
           FROM pricing.promotion_product pp JOIN pricing.promotion p ON p.id = pp.promotion_id
           WHERE pp.product_id = lp.product_id AND p.region = lp.region AND p.starts_at <= now() AND p.ends_at > now()
             AND d.product_id IS NULL
           ORDER BY p.discount_percent DESC, p.starts_at DESC, p.id
           LIMIT 1
         ) AS best ON true
         WHERE lp.product_id = ANY($1::text[])`,
        [productIds],
      );
      return rows.map((row) => ({
        productId: row.productId,
        region: row.region,
        amount: row.amount,
        currency: row.currency,
        discontinued: row.discontinued,
        best:
          row.promotionId === null
            ? null
            : {
                productId: row.productId,
                region: row.region,
                amount: row.promotedAmount!,
                currency: row.currency,
                promotion: {
                  id: row.promotionId,
                  name: row.promotionName!,
                  region: row.region,
                  discountPercent: row.discountPercent!,
                  startsAt: row.startsAt!,
                  endsAt: row.endsAt!,
                  active: row.active!,
                },
              },
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
 * only way to reach them, so none commits without its events.
 */
export function createPricingWrites(tx: WriteTransaction) {
  return {
    /**
     * Creates or replaces the list price; `amount` is a normalized decimal string. Null when the
     * product already has exactly this price there: nothing changed, so there is nothing to announce.
     */
    async upsertListPrice(productId: string, region: RegionCode, amount: string, currency: string): Promise<ListPriceRow | null> {
      const [row] = await tx.query<ListPriceRow>(
        `INSERT INTO pricing.list_price AS lp (product_id, region, amount, currency) VALUES ($1, $2, $3::numeric, $4)
         ON CONFLICT (product_id, region) DO UPDATE SET amount = EXCLUDED.amount, currency = EXCLUDED.currency
           WHERE (lp.amount, lp.currency) IS DISTINCT FROM (EXCLUDED.amount, EXCLUDED.currency)
         RETURNING product_id AS "productId", region, amount::text AS amount, currency`,
        [productId, region, amount, currency],
      );
      return row ?? null;
    },

    /**
     * Inserts a promotion and the products it covers (one transaction: the write's). A missing start is the
     * database's now(), the clock `active` is judged by; null when the end is not after the start
     * by that clock (the caller's check ran on its own clock a moment earlier). A start already
     * reached is marked announced (the caller queues promotion.started for an active one); so is an
     * end already reached: a promotion created over never applied to a price, so it has no events.
     */
    async createPromotion(promotion: NewPromotion): Promise<PromotionModel | null> {
      const [row] = await tx.query<PromotionModel>(
        `INSERT INTO pricing.promotion AS p (name, region, discount_percent, starts_at, ends_at, started_event_at, ended_event_at)
         SELECT $1, $2, $3, s.starts_at, $5::timestamptz,
                CASE WHEN s.starts_at <= now() THEN now() END,
                CASE WHEN $5::timestamptz <= now() THEN now() END
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
      // Announced as ended in this write (the caller queues promotion.started's counterpart); a
      // scheduled one that never started is marked started too, so the ticker never starts it.
      const [ended] = await tx.query<PromotionModel>(
        `UPDATE pricing.promotion AS p
         SET ends_at = now(), starts_at = least(p.starts_at, now() - interval '1 millisecond'),
             started_event_at = coalesce(p.started_event_at, now()), ended_event_at = now()
         WHERE p.id = $1 AND p.ends_at > now()
         RETURNING ${PROMOTION_COLUMNS}`,
        [id],
      );
      if (ended) {
        const covered = await productsOf(tx, [id]);
        return { promotion: ended, productIds: covered.get(id) ?? [] };
      }
      const [unchanged] = await tx.query<PromotionModel>(`SELECT ${PROMOTION_COLUMNS} FROM pricing.promotion p WHERE p.id = $1`, [id]);
      return unchanged ? { promotion: unchanged, productIds: [] } : null;
    },

    /**
     * Claims up to `limit` promotions whose start time has passed and whose start was not announced,
     * marking them announced; the caller queues their promotion.started in the same write. SKIP
     * LOCKED lets the tickers of several replicas share the work without waiting on each other, and
     * the row lock plus the mark make each start claimed once.
     */
    claimDueStarts: (limit: number) => claim(tx, 'started_event_at', 'starts_at', '', limit),

    /**
     * The same for ends: promotions whose end time has passed, whose start was announced (a start
     * claimed earlier in the same write counts) and whose end was not.
     */
    claimDueEnds: (limit: number) => claim(tx, 'ended_event_at', 'ends_at', 'AND started_event_at IS NOT NULL', limit),

    /** The products of each promotion. */
    productsOf: (promotionIds: readonly string[]) => productsOf(tx, promotionIds),

    /**
     * Records that the catalogue discontinued a product; false when it was recorded already (by an
     * earlier event about it: the consumer's processed_events row guards against the same event twice).
     */
    async markDiscontinued(productId: string, discontinuedAt: string, eventId: string): Promise<boolean> {
      const rows = await tx.query(
        `INSERT INTO pricing.discontinued_product (product_id, discontinued_at, event_id) VALUES ($1, $2::timestamptz, $3::uuid)
         ON CONFLICT (product_id) DO NOTHING RETURNING product_id`,
        [productId, discontinuedAt, eventId],
      );
      return rows.length > 0;
    },
  };
}

async function claim(
  tx: WriteTransaction,
  mark: 'started_event_at' | 'ended_event_at',
  due: 'starts_at' | 'ends_at',
  also: string,
  limit: number,
): Promise<PromotionModel[]> {
  return tx.query<PromotionModel>(
    `UPDATE pricing.promotion AS p SET ${mark} = now()
     WHERE p.id IN (
       SELECT id FROM pricing.promotion
       WHERE ${mark} IS NULL AND ${due} <= now() ${also}
       ORDER BY ${due}, id LIMIT $1 FOR UPDATE SKIP LOCKED)
     RETURNING ${PROMOTION_COLUMNS}`,
    [limit],
  );
}

async function productsOf(tx: Queryable, promotionIds: readonly string[]): Promise<Map<string, string[]>> {
  const rows = await tx.query<{ promotionId: string; productId: string }>(
    `SELECT promotion_id AS "promotionId", product_id AS "productId" FROM pricing.promotion_product
     WHERE promotion_id = ANY($1::text[]) ORDER BY promotion_id, product_id`,
    [promotionIds],
  );
  const byPromotion = new Map<string, string[]>();
  for (const { promotionId, productId } of rows) {
    const products = byPromotion.get(promotionId);
    if (products) products.push(productId);
    else byPromotion.set(promotionId, [productId]);
  }
  return byPromotion;
}
