import { MAX_ORDER_LINES } from '@shop/domain';
import { requireTrustedCaller } from '@shop/platform';
import type { QueryResolvers } from '../__generated__/resolvers-types.ts';
import { quoteOf } from '../prices.ts';
import { productIdList } from '../validation.ts';

export const Query: QueryResolvers = {
  async promotions(_parent, { region, includeExpired }, { repo, loaders }) {
    const rows = await repo.promotionsInRegion(region, includeExpired ?? false);
    for (const row of rows) loaders.promotionById.prime(row.id, row);
    return rows;
  },

  // Internal: orders prices checkout with this. The loaders batch every id into one statement per
  // table, and `quoteOf` is the rule `Product.price` uses, so an order costs what the shopper saw.
  quote(_parent, { region, productIds }, { trusted, loaders }) {
    requireTrustedCaller(trusted);
    const ids = productIdList(productIds, MAX_ORDER_LINES, { argument: 'productIds' });
    return Promise.all(ids.map((id) => quoteOf(loaders, id, region)));
  },
};
