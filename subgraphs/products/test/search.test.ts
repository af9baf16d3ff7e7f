import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { testCache } from '@shop/platform/testing';
import { SMALL_SEED } from '@shop/subgraph-kit';
import { gql, metricValue } from '@shop/subgraph-kit/testing';
import { readConfig } from '../src/config.ts';
import { buildServer } from '../src/server.ts';

let app: FastifyInstance;

const cache = testCache();
beforeAll(async () => {
  app = await buildServer({
    config: readConfig({ PRODUCTS_DATABASE_URL: process.env.PRODUCTS_DATABASE_URL, ...cache.env }),
    seedSize: SMALL_SEED,
  });
});
afterAll(async () => {
  await app?.close();
  await cache.cleanup();
});

const SEARCH = `query($q: String!, $first: Int, $after: String) {
  searchProducts(query: $q, first: $first, after: $after) {
    totalCount edges { cursor node { id name brand } } pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}`;
const search = async (q: string, first: number, after?: string) => {
  const res = await gql(app, SEARCH, { q, first, after });
  expect(res.errors).toBeUndefined();
  return res.data!.searchProducts;
};
const productNumber = (id: string) => Number(id.slice(1));

// Words of the seed that no other test file writes into a product (catalogue.test.ts makes
// kettles, lamps and mugs), so the totals hold on a shared database too.
describe('searchProducts', () => {
  it('pages through every match once, in the order of one big page, with the same total on each page', async () => {
    const all = await search('bamboo', 100);
    expect(all.totalCount).toBeGreaterThan(20);
    expect(all.pageInfo.hasNextPage).toBe(false);
    expect(all.edges).toHaveLength(all.totalCount);
    for (const edge of all.edges) expect(edge.node.name.toLowerCase()).toContain('bamboo');

    const paged: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await search('bamboo', 7, after);
      expect(page.totalCount).toBe(all.totalCount);
      expect(page.pageInfo.hasPreviousPage).toBe(after !== undefined);
      paged.push(...page.edges.map((e: any) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(paged).toEqual(all.edges.map((e: any) => e.node.id));
  });

  it('ranks a match in the name above one in the description only, and breaks ties by product number', async () => {
    // Every seeded description says "Model <n>"; only Acme's products have "Acme" in their name too.
    const page = await search('acme or model', 10);
    expect(page.totalCount).toBeGreaterThanOrEqual(SMALL_SEED.products);
    expect(page.edges.map((e: any) => e.node.brand)).toEqual(Array(10).fill('Acme'));
    const numbers = page.edges.map((e: any) => productNumber(e.node.id));
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
  });

  it('still counts the matches on a page past the last one', async () => {
    const all = await search('camera', 100);
    const past = await gql(app, SEARCH, { q: 'camera', first: 5, after: all.edges.at(-1).cursor });
    expect(past.errors).toBeUndefined();
    expect(past.data!.searchProducts).toMatchObject({
      totalCount: all.totalCount,
      edges: [],
      pageInfo: { hasNextPage: false, hasPreviousPage: true },
    });
  });

  it('answers no match with an empty page and a total of 0', async () => {
    expect(await search('zeppelin', 5)).toMatchObject({ totalCount: 0, edges: [], pageInfo: { hasNextPage: false } });
  });

  it('reads the page, its categories and its total in one statement', async () => {
    const before = await metricValue(app, 'db_queries_total');
    const res = await gql(
      app,
      '{ searchProducts(query: "leather", first: 3) { totalCount edges { node { id category { id slug name } } } } }',
    );
    expect(res.errors).toBeUndefined();
    const { totalCount, edges } = res.data!.searchProducts;
    expect(totalCount).toBeGreaterThan(0);
    for (const { node } of edges)
      expect(node.category).toMatchObject({ id: expect.stringMatching(/^c\d+$/), slug: expect.any(String), name: expect.any(String) });
    expect(await metricValue(app, 'db_queries_total')).toBe(before + 1);
  });
});
