import type { WarehouseResolvers } from '../__generated__/resolvers-types.ts';

export const Warehouse: WarehouseResolvers = {
  __resolveReference: (reference, { loaders }) => (typeof reference.id === 'string' ? loaders.warehouseById.load(reference.id) : null),
};
