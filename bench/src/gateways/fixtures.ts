/**
 * What the scenarios need before any gateway runs, set up against the subgraphs directly: signed-in
 * customers for history and for checkout (disjoint, so checkouts never change what history reads),
 * and checkout products whose stock is raised so no order can fail OUT_OF_STOCK.
 */
import type { SeedSize } from '@shop/subgraph-kit';
import { inBatches, logIn, post, type Session } from '../graphql.ts';
import type { SubgraphUrls } from '../processes.ts';

export interface Fixtures {
  historyUsers: Session[];
  checkoutUsers: Session[];
  checkoutProducts: string[];
}

export async function prepareFixtures(urls: SubgraphUrls, routerSecret: string, size: SeedSize): Promise<Fixtures> {
  const users = size.users;
  const historyCount = Math.min(200, Math.floor(users / 2));
  const checkoutCount = Math.min(100, users - historyCount);
  const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
  // History users and checkout users are disjoint, so checkouts never change what history reads.
  const historyUsers = await inBatches(range(1, historyCount), 8, (n) => logIn(urls.users, `user${n}@example.com`, 'password'));
  const checkoutUsers = await inBatches(range(users - checkoutCount + 1, checkoutCount), 8, (n) =>
    logIn(urls.users, `user${n}@example.com`, 'password'),
  );
  const admin = await logIn(urls.users, 'admin@example.com', 'admin');
  // Checkout buys from 200 products whose stock in every IN warehouse is raised first, so no
  // order can fail OUT_OF_STOCK (which would count as an error).
  const checkoutProducts = range(1, Math.min(200, size.products)).map((n) => `p${n}`);
  const adminHeaders = { 'x-router-secret': routerSecret, 'x-user-id': admin.userId, 'x-user-scopes': 'admin' };
  const { warehouses } = await post(urls.inventory, '{ warehouses(region: IN) { id } }', {}, adminHeaders);
  const adjustments = checkoutProducts.flatMap((productId) =>
    (warehouses as { id: string }[]).map((w) => ({ productId, warehouseId: w.id })),
  );
  for (let i = 0; i < adjustments.length; i += 50) {
    const batch = adjustments.slice(i, i + 50);
    const fields = batch.map(
      (a, j) =>
        `a${j}: adjustStock(productId: ${JSON.stringify(a.productId)}, warehouseId: ${JSON.stringify(a.warehouseId)}, ` +
        'delta: 100000) { available }',
    );
    await post(urls.inventory, `mutation { ${fields.join(' ')} }`, {}, adminHeaders);
  }
  return { historyUsers, checkoutUsers, checkoutProducts };
}
