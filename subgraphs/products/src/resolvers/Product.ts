import { productNumber } from '@shop/domain';
import type { ProductResolvers } from '../__generated__/resolvers-types.ts';

export const Product: ProductResolvers = {
  // A representation carries either key; unknown or malformed keys resolve to null.
  __resolveReference(reference, { loaders }) {
    if ('id' in reference && typeof reference.id === 'string') {
      return productNumber(reference.id) === undefined ? null : loaders.productById.load(reference.id);
    }
    if ('sku' in reference && typeof reference.sku === 'string') return loaders.productBySku.load(reference.sku);
    return null;
  },

  discontinued: (product) => product.discontinuedAt !== null,

  discontinuedAt: (product) => (product.discontinuedAt === null ? null : new Date(product.discontinuedAt).toISOString()),

  async category(product, _args, { loaders }) {
    const category = await loaders.categoryById.load(product.categoryId);
    if (!category) throw new Error(`product ${product.id} points at missing category ${product.categoryId}`);
    return category;
  },
};
