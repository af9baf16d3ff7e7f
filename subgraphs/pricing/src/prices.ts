import type { Region } from './__generated__/resolvers-types.ts';
import type { Loaders } from './loaders.ts';
import type { BestPromotionRow, MoneyModel, PriceQuoteModel, PriceRow } from './models.ts';

/**
 * The one rule for what a product costs, shared by `Product.price` and checkout's `quote` so the
 * price a shopper sees is the price an order is charged: the list price with the best active
 * promotion applied, or no price when the product is not sold in the region (no list price there)
 * or at all (discontinued: checkout refuses a line without a price).
 */
export async function listPriceOf(loaders: Loaders, productId: string, region: Region): Promise<MoneyModel | null> {
  const row = await priceRowOf(loaders, productId, region);
  return row ? { amount: row.amount, currency: row.currency } : null;
}

/** The promotion that sets the product's price in the region; none for a discontinued product (the query leaves them out). */
export async function bestPromotionOf(loaders: Loaders, productId: string, region: Region): Promise<BestPromotionRow | null> {
  return (await priceRowOf(loaders, productId, region))?.best ?? null;
}

export async function quoteOf(loaders: Loaders, productId: string, region: Region): Promise<PriceQuoteModel> {
  const row = await priceRowOf(loaders, productId, region);
  const listPrice = row ? { amount: row.amount, currency: row.currency } : null;
  const best = row?.best ?? null;
  return {
    productId,
    // Every row of a product carries the flag; no row means no price anyway.
    unitPrice: row?.discontinued ? null : best ? { amount: best.amount, currency: best.currency } : listPrice,
    listPrice,
    promotionId: best?.promotion.id ?? null,
  };
}

/** The product's price row in the region (list price, discontinued flag, best promotion); none: not sold there. */
async function priceRowOf(loaders: Loaders, productId: string, region: Region): Promise<PriceRow | undefined> {
  return (await loaders.prices.load(productId)).find((r) => r.region === region);
}
