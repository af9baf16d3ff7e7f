import { decodeIntCursor, encodeCursor, pageSize, toConnection } from '@shop/subgraph-kit';
import type { CategoryResolvers } from '../__generated__/resolvers-types.ts';

export const Category: CategoryResolvers = {
  __resolveReference: (reference, { loaders }) => loaders.categoryById.load(reference.id),

  async products(category, { first, after }, { loaders }) {
    const limit = pageSize(first);
    const afterN = decodeIntCursor('product', after) ?? 0;
    const [rows, count] = await Promise.all([
      loaders.categoryPage.load({ categoryId: category.id, afterN, limit: limit + 1 }),
      loaders.categoryCount.load(category.id),
    ]);
    for (const row of rows) loaders.productById.prime(row.id, row);
    return toConnection(rows, limit, (p) => encodeCursor('product', p.n), count?.total ?? 0, afterN > 0);
  },
};
