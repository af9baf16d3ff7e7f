import type { ProductResolvers } from '../__generated__/resolvers-types.ts';
import { bestPromotionOf, listPriceOf, quoteOf } from '../prices.ts';

export const Product: ProductResolvers = {
  // Pricing owns no product data: the reference is the product, its fields load by id in batches.
  // An unknown id is not an error here; it simply has no price.
  __resolveReference: (reference) => ({ id: reference.id }),

  price: async (product, { region }, { loaders }) => (await quoteOf(loaders, product.id, region)).unitPrice,

  listPrice: (product, { region }, { loaders }) => listPriceOf(loaders, product.id, region),

  activePromotion: async (product, { region }, { loaders }) => (await bestPromotionOf(loaders, product.id, region))?.promotion ?? null,
};
