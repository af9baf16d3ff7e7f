import type { QueryResolvers } from '../__generated__/resolvers-types.ts';

export const Query: QueryResolvers = {
  async warehouses(_parent, { region }, { repo, loaders }) {
    const rows = await repo.warehouses(region ?? null);
    for (const row of rows) loaders.warehouseById.prime(row.id, row);
    return rows;
  },
};
