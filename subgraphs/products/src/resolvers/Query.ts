import { productNumber } from '@shop/domain';
import { badInput } from '@shop/platform';
import { decodeIntCursor, encodeCursor, pageSize, toConnection } from '@shop/subgraph-kit';
import type { QueryResolvers } from '../__generated__/resolvers-types.ts';

const MAX_QUERY_LENGTH = 200;

export const Query: QueryResolvers = {
  async product(_parent, { id, sku }, { loaders }) {
    if ((id == null) === (sku == null)) throw badInput('Pass exactly one of "id" or "sku"');
    if (id != null) {
      if (productNumber(id) === undefined) throw badInput(`"${id}" is not a product id`, { argument: 'id' });
      return loaders.productById.load(id);
    }
    return loaders.productBySku.load(sku!);
  },

  // One statement: the page, its categories and the total (an unknown category slug: none, 0).
  async products(_parent, { filter, first, after }, { repo, loaders }) {
    const limit = pageSize(first);
    const afterN = decodeIntCursor('product', after) ?? 0;
    const { rows, total } = await repo.pageProducts(
      { categorySlug: filter?.categorySlug ?? undefined, brand: filter?.brand ?? undefined },
      limit + 1,
      afterN,
    );
    return toConnection(loaders.primeProducts(rows), limit, (p) => encodeCursor('product', p.n), total, afterN > 0);
  },

  async searchProducts(_parent, { query, first, after }, { repo, loaders }) {
    const text = query.trim();
    if (!text) throw badInput('"query" must not be empty', { argument: 'query' });
    if (text.length > MAX_QUERY_LENGTH) throw badInput(`"query" must be at most ${MAX_QUERY_LENGTH} characters`, { argument: 'query' });
    const limit = pageSize(first);
    const offset = decodeIntCursor('search', after) ?? 0;
    // One statement: the page, its categories and the total.
    const { rows, total } = await repo.search(text, limit + 1, offset);
    let position = offset;
    return toConnection(loaders.primeProducts(rows), limit, () => encodeCursor('search', ++position), total, offset > 0);
  },

  categories: (_parent, _args, { repo }) => repo.allCategories(),

  category: async (_parent, { slug }, { repo }) => (await repo.categoryBySlug(slug)) ?? null,
};
