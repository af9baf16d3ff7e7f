import DataLoader from 'dataloader';
import { rowLoader } from '@shop/subgraph-kit';
import type { ProductRepository, ProductWithCategory } from './db/repository.ts';
import type { ProductModel } from './models.ts';

export interface CategoryPageKey {
  categoryId: string;
  afterN: number;
  limit: number;
}

/**
 * One set per request, so a query for N products costs a fixed number of statements. Products
 * are read with their categories, which prime `categoryById`: `Product.category` then costs no
 * statement of its own.
 */
export function createLoaders(repo: ProductRepository) {
  const categoryById = rowLoader(repo.categoriesByIds, (c) => c.id);
  const withCategories = (rows: ProductWithCategory[]): ProductModel[] =>
    rows.map(({ product, category }) => {
      categoryById.prime(category.id, category);
      return product;
    });
  const productById = rowLoader(
    async (ids: readonly string[]) => withCategories(await repo.productsByIds(ids)),
    (p) => p.id,
  );
  return {
    productById,
    productBySku: rowLoader(
      async (skus: readonly string[]) => withCategories(await repo.productsBySkus(skus)),
      (p) => p.sku,
    ),
    categoryById,
    /** Primes each product (by id) and its category, for rows a listing read itself. */
    primeProducts(rows: ProductWithCategory[]): ProductModel[] {
      const products = withCategories(rows);
      for (const product of products) productById.prime(product.id, product);
      return products;
    },
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
