import DataLoader from 'dataloader';
import { groupLoader, rowLoader } from '@shop/subgraph-kit';
import type { OrderRepository, UserOrdersPageKey } from './db/repository.ts';
import type { OrderModel } from './models.ts';

/** One set per request, so a query for N orders or N users costs a fixed number of statements. */
export function createLoaders(repo: OrderRepository) {
  return {
    orderById: rowLoader(repo.ordersByIds, (o) => o.id),
    linesByOrderId: groupLoader(repo.linesByOrderIds, (l) => l.orderId),
    userOrderCount: rowLoader(repo.userOrderCounts, (c) => c.userId),
    userOrdersPage: new DataLoader<UserOrdersPageKey, OrderModel[], string>(
      async (keys) => {
        const rows = await repo.userOrderPages(keys);
        const pages = keys.map((): OrderModel[] => []);
        for (const { key, ...order } of rows) pages[key - 1]?.push(order);
        return pages;
      },
      { cacheKeyFn: (k) => `${k.userId}|${k.after ? `${k.after.createdAt}|${k.after.n}` : ''}|${k.limit}` },
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
