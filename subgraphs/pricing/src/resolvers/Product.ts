import type { ProductResolvers, Region } from '../__generated__/resolvers-types.ts';
import type { Loaders } from '../loaders.ts';
import type { MoneyModel } from '../models.ts';

async function listPrice(loaders: Loaders, productId: string, region: Region): Promise<MoneyModel | null> {
  const row = (await loaders.listPrices.load(productId)).find((r) => r.region === region);
  return row ? { amount: row.amount, currency: row.currency } : null;
}

async function bestPromotion(loaders: Loaders, productId: string, region: Region) {
  return (await loaders.bestPromotions.load(productId)).find((r) => r.region === region) ?? null;
}

export const Product: ProductResolvers = {
  // Pricing owns no product data: the reference is the product, its fields load by id in batches.
  // An unknown id is not an error here; it simply has no price.
  __resolveReference: (reference) => ({ id: reference.id }),

  async price(product, { region }, { loaders }) {
    const [list, best] = await Promise.all([listPrice(loaders, product.id, region), bestPromotion(loaders, product.id, region)]);
    if (best) return { amount: best.amount, currency: best.currency };
    return list;
  },

  listPrice: (product, { region }, { loaders }) => listPrice(loaders, product.id, region),

  activePromotion: async (product, { region }, { loaders }) => (await bestPromotion(loaders, product.id, region))?.promotion ?? null,
};
