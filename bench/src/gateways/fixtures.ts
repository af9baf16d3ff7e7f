/**
 * What the scenarios need before any gateway runs, set up against the subgraphs directly: signed-in
 * customers for history and for checkout (disjoint, so checkouts never change what history reads),
 * checkout products whose stock is raised so no order can fail OUT_OF_STOCK, and search terms
 * taken from product names across the whole catalogue.
 */
import type { SeedSize } from '@shop/subgraph-kit';
import { inBatches, logIn, post, type Session } from '../graphql.ts';
import type { SubgraphUrls } from '../processes.ts';

export interface Fixtures {
  historyUsers: Session[];
  checkoutUsers: Session[];
  checkoutProducts: string[];
  /** Words and adjacent word pairs of real product names, from pages spread over the whole catalogue. */
  searchTerms: string[];
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
  return { historyUsers, checkoutUsers, checkoutProducts, searchTerms: await searchTerms(urls.products, routerSecret, size) };
}

/**
 * What shoppers type: single words (a brand, an adjective, a material, a noun) and two-word phrases
 * ("steel kettle"), as they occur in product names. Read from ten pages of 50 spread evenly over
 * the catalogue, so the terms cover all of it; sorted, so every run gets the same list.
 */
async function searchTerms(productsUrl: string, routerSecret: string, size: SeedSize): Promise<string[]> {
  const terms = new Set<string>();
  for (let page = 0; page < 10; page++) {
    const offset = Math.floor((page * size.products) / 10);
    const after = offset === 0 ? null : Buffer.from(`product:${offset}`).toString('base64url');
    const { products } = await post(
      productsUrl,
      'query($after: String) { products(first: 50, after: $after) { edges { node { name } } } }',
      { after },
      { 'x-router-secret': routerSecret },
    );
    for (const { node } of products.edges as { node: { name: string } }[]) {
      const words = node.name.split(/\s+/).filter(Boolean);
      words.forEach((word, i) => {
        terms.add(word.toLowerCase());
        if (i > 0) terms.add(`${words[i - 1]!.toLowerCase()} ${word.toLowerCase()}`);
      });
    }
  }
  if (terms.size < 10) throw new Error(`only ${terms.size} search terms from the catalogue`);
  return [...terms].sort();
}
