import type { Region } from './__generated__/resolvers-types.ts';
import type { Loaders } from './loaders.ts';
import type { BestPromotionRow, MoneyModel, PriceQuoteModel } from './models.ts';

/**
 * The one rule for what a product costs, shared by `Product.price` and checkout's `quote` so the
 * price a shopper sees is the price an order is charged: the list price with the best active
 * promotion applied, or no price when the product is not sold in the region (no list price there)
 * or at all (discontinued: checkout refuses a line without a price).
 */
export async function listPriceOf(loaders: Loaders, productId: string, region: Region): Promise<MoneyModel | null> {
  const row = (await loaders.listPrices.load(productId)).find((r) => r.region === region);
  return row ? { amount: row.amount, currency: row.currency } : null;
}

/** The promotion that sets the product's price in the region; none for a discontinued product (the query leaves them out). */
export async function bestPromotionOf(loaders: Loaders, productId: string, region: Region): Promise<BestPromotionRow | null> {
  return (await loaders.bestPromotions.load(productId)).find((r) => r.region === region) ?? null;
}

export async function quoteOf(loaders: Loaders, productId: string, region: Region): Promise<PriceQuoteModel> {
  const [prices, best] = await Promise.all([loaders.listPrices.load(productId), bestPromotionOf(loaders, productId, region)]);
  const row = prices.find((r) => r.region === region);
  const listPrice = row ? { amount: row.amount, currency: row.currency } : null;
  return {
    productId,
    // Every row of a product carries the flag; no row means no price anyway.
    unitPrice: row?.discontinued ? null : best ? { amount: best.amount, currency: best.currency } : listPrice,
    listPrice,
    promotionId: best?.promotion.id ?? null,
  };
}
