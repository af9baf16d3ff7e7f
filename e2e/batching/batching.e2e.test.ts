import { describe, expect, it } from 'vitest';
import { counter, metricsUrlOf, query, subgraphUrl, type SubgraphName } from '../setup/client.ts';

// A page no other scenario reads, so neither cache layer has seen these products yet.
const LISTING = `query($first: Int, $after: String) { products(first: $first, after: $after) { edges { node {
  id name category { name }
  price(region: US) { amount } listPrice(region: US) { amount }
  stock(region: US) { available } shippingEstimate(region: US) { minDays cost { amount } }
} } } }`;

const SUBGRAPHS: SubgraphName[] = ['products', 'pricing', 'inventory'];

async function statementsFor(first: number): Promise<Record<string, number>> {
  const before = await Promise.all(SUBGRAPHS.map((s) => counter(metricsUrlOf(subgraphUrl(s)), 'db_queries_total')));
  const result = await query(LISTING, { first, after: Buffer.from('product:20000').toString('base64url') });
  expect(result.errors).toBeUndefined();
  expect(result.data.products.edges).toHaveLength(first);
  const after = await Promise.all(SUBGRAPHS.map((s) => counter(metricsUrlOf(subgraphUrl(s)), 'db_queries_total')));
  return Object.fromEntries(SUBGRAPHS.map((s, i) => [s, after[i]! - before[i]!]));
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
