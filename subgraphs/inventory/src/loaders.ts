import { groupLoader, rowLoader } from '@shop/subgraph-kit';
import type { InventoryRepository } from './db/repository.ts';

/**
 * One set per request, so a query for N products costs a fixed number of statements. `stock` and
 * `shippingEstimate` (for any region) share `stockByProduct`: one statement for all of them.
 */
export function createLoaders(repo: InventoryRepository) {
  return {
    warehouseById: rowLoader(repo.warehousesByIds, (w) => w.id),
    stockByProduct: groupLoader(repo.stockByProductIds, (s) => s.productId),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
