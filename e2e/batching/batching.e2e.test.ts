import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { counter, metricsUrlOf, query, type Result, subgraphUrl, type SubgraphName } from '../setup/client.ts';

// A page no other scenario reads, so neither cache layer has seen these products yet.
const LISTING = `query($first: Int, $after: String) { products(first: $first, after: $after) { edges { node {
  id name category { name }
  price(region: US) { amount } listPrice(region: US) { amount }
  stock(region: US) { available } shippingEstimate(region: US) { minDays cost { amount } }
} } } }`;

const SUBGRAPHS: SubgraphName[] = ['products', 'pricing', 'inventory'];

/** The exact text the web storefront sends for an operation (its persisted-query manifest). */
function webOperation(name: string): string {
  const manifest = JSON.parse(
    readFileSync(new URL('../../clients/web/__generated__/persisted-query-manifest.json', import.meta.url), 'utf8'),
  ) as { operations: { name: string; body: string }[] };
  const operation = manifest.operations.find((o) => o.name === name);
  if (!operation) throw new Error(`the web manifest has no operation ${name}`);
  return operation.body;
}

const cursorAfter = (n: number) => Buffer.from(`product:${n}`).toString('base64url');

/** SQL statements (db_queries_total) each subgraph ran for one request through the router. */
async function statementsOf(
  document: string,
  variables: Record<string, unknown>,
): Promise<{ result: Result; statements: Record<string, number> }> {
  const before = await Promise.all(SUBGRAPHS.map((s) => counter(metricsUrlOf(subgraphUrl(s)), 'db_queries_total')));
  const result = await query(document, variables);
  const after = await Promise.all(SUBGRAPHS.map((s) => counter(metricsUrlOf(subgraphUrl(s)), 'db_queries_total')));
  return { result, statements: Object.fromEntries(SUBGRAPHS.map((s, i) => [s, after[i]! - before[i]!])) };
}

async function statementsFor(first: number): Promise<Record<string, number>> {
  const { result, statements } = await statementsOf(LISTING, { first, after: cursorAfter(20000) });
  expect(result.errors).toBeUndefined();
  expect(result.data.products.edges).toHaveLength(first);
  return statements;
}

describe('batched resolvers', () => {
  it('runs the same number of SQL statements per subgraph for 5 and for 100 products', async () => {
    const five = await statementsFor(5);
    const hundred = await statementsFor(100);
    console.log(`SQL statements per subgraph, N=5: ${JSON.stringify(five)}; N=100: ${JSON.stringify(hundred)}`);
    expect(hundred).toEqual(five);
    for (const s of SUBGRAPHS) expect(five[s]).toBeGreaterThan(0);
  });
});

// Issue 17: at most 3 statements per page, one per subgraph. Products no other e2e file reads,
// so no cache layer answers any part of them.
describe('statements per page of the web storefront', () => {
  it('the product page (ProductById) runs one statement in each of products, pricing and inventory', async () => {
    const { result, statements } = await statementsOf(webOperation('ProductById'), { id: 'p31337', region: 'SEA' });
    console.log(`ProductById SQL statements per subgraph: ${JSON.stringify(statements)}`);
    expect(result.errors).toBeUndefined();
    const product = result.data.product;
    expect(product).toMatchObject({ id: 'p31337', category: { slug: expect.any(String), name: expect.any(String) } });
    expect(product.price).toMatchObject({ currency: 'SGD' });
    expect(product.listPrice).toMatchObject({ currency: 'SGD' });
    expect(typeof product.stock.available).toBe('number');
    expect(product.shippingEstimate.cost).toMatchObject({ currency: 'SGD' });
    expect(statements).toEqual({ products: 1, pricing: 1, inventory: 1 });
  });

  it('a listing page (ProductListing) runs one statement in each of products, pricing and inventory', async () => {
    const { result, statements } = await statementsOf(webOperation('ProductListing'), {
      region: 'ME',
      first: 24,
      after: cursorAfter(31000),
    });
    console.log(`ProductListing SQL statements per subgraph: ${JSON.stringify(statements)}`);
    expect(result.errors).toBeUndefined();
    const { edges, totalCount, pageInfo } = result.data.products;
    expect(edges).toHaveLength(24);
    expect(edges[0].node.id).toBe('p31001');
    expect(totalCount).toBeGreaterThan(31000);
    expect(pageInfo.hasNextPage).toBe(true);
    for (const { node } of edges) {
      expect(node.category).toMatchObject({ slug: expect.any(String), name: expect.any(String) });
      expect(node.listPrice).toMatchObject({ currency: 'AED' });
      expect(typeof node.stock.inStock).toBe('boolean');
    }
    expect(statements).toEqual({ products: 1, pricing: 1, inventory: 1 });
  });

  it('a listing filtered by a category runs one statement in each subgraph, and lists only that category', async () => {
    const categories = await query('{ categories { slug } }');
    const slug: string = categories.data.categories[7].slug;
    const { result, statements } = await statementsOf(webOperation('ProductListing'), {
      region: 'IN',
      filter: { categorySlug: slug },
      first: 10,
      after: cursorAfter(30000),
    });
    expect(result.errors).toBeUndefined();
    const { edges, totalCount } = result.data.products;
    expect(edges.length).toBeGreaterThan(0);
    expect(totalCount).toBeGreaterThan(edges.length);
    for (const { node } of edges) expect(node.category.slug).toBe(slug);
    expect(statements).toEqual({ products: 1, pricing: 1, inventory: 1 });
  });

  it('a listing filtered by an unknown category is empty, with a total of 0, in one products statement', async () => {
    const { result, statements } = await statementsOf(webOperation('ProductListing'), {
      region: 'ME',
      filter: { categorySlug: 'no-such-category-17' },
    });
    expect(result.errors).toBeUndefined();
    expect(result.data.products).toMatchObject({ totalCount: 0, edges: [], pageInfo: { hasNextPage: false } });
    expect(statements).toEqual({ products: 1, pricing: 0, inventory: 0 });
  });
});
