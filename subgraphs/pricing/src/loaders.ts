import { groupLoader, rowLoader } from '@shop/subgraph-kit';
import type { PricingRepository } from './db/repository.ts';

/**
 * One set per request, so a query for N products costs a fixed number of statements. List prices
 * and best promotions are loaded together, for every region of a product at once: a query asking
 * for several regions (or for price, listPrice and activePromotion together) runs one statement.
 */
export function createLoaders(repo: PricingRepository) {
  return {
    prices: groupLoader(repo.pricesOf, (row) => row.productId),
    promotionById: rowLoader(repo.promotionsByIds, (p) => p.id),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
