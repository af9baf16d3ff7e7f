import DataLoader from 'dataloader';
import { rowLoader } from '@shop/subgraph-kit';
import type { ProductRepository } from './db/repository.ts';
import type { ProductModel } from './models.ts';

export interface CategoryPageKey {
  categoryId: string;
  afterN: number;
  limit: number;
}

/** One set per request, so a query for N products costs a fixed number of statements. */
export function createLoaders(repo: ProductRepository) {
  return {
    productById: rowLoader(repo.productsByIds, (p) => p.id),
    productBySku: rowLoader(repo.productsBySkus, (p) => p.sku),
    categoryById: rowLoader(repo.categoriesByIds, (c) => c.id),
    categoryCount: rowLoader(repo.categoryCounts, (c) => c.categoryId),
    categoryPage: new DataLoader<CategoryPageKey, ProductModel[], string>(
      async (keys) => {
        const rows = await repo.categoryPages(keys);
        const pages = keys.map((): ProductModel[] => []);
        for (const { key, ...product } of rows) pages[key - 1]?.push(product);
        return pages;
      },
      { cacheKeyFn: (k) => `${k.categoryId}|${k.afterN}|${k.limit}` },
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
