import type { QueryResolvers } from '../__generated__/resolvers-types.ts';

export const Query: QueryResolvers = {
  async promotions(_parent, { region, includeExpired }, { repo, loaders }) {
    const rows = await repo.promotionsInRegion(region, includeExpired ?? false);
    for (const row of rows) loaders.promotionById.prime(row.id, row);
    return rows;
  },
};
