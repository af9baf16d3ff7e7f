import { groupLoader, rowLoader } from '@shop/subgraph-kit';
import type { PricingRepository } from './db/repository.ts';

/**
 * One set per request, so a query for N products costs a fixed number of statements. Prices and
 * promotions are loaded for every region of a product at once: a query asking for several regions
 * (or for price, listPrice and activePromotion together) still runs one statement per loader.
 */
export function createLoaders(repo: PricingRepository) {
  return {
    listPrices: groupLoader(repo.listPrices, (row) => row.productId),
    bestPromotions: groupLoader(repo.bestActivePromotions, (row) => row.productId),
    promotionById: rowLoader(repo.promotionsByIds, (p) => p.id),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
