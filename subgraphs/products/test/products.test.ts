import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { testCache } from '@shop/platform/testing';
import { SMALL_SEED } from '@shop/subgraph-kit';
import { ENTITIES_QUERY, gql, metricValue } from '@shop/subgraph-kit/testing';
import { readConfig } from '../src/config.ts';
import { buildServer } from '../src/server.ts';

let app: FastifyInstance;

/** Memory, or Redis under a prefix of this file's own when the run sets REDIS_URL. */
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

describe('products subgraph', () => {
  it('resolves Product by id and by sku, and Category by id, through _entities', async () => {
    const res = await gql(app, ENTITIES_QUERY('... on Product { id sku name category { id } } ... on Category { id slug }'), {
      representations: [
        { __typename: 'Product', id: 'p2' },
        { __typename: 'Product', sku: 'SKU-000003' },
        { __typename: 'Category', id: 'c1' },
        { __typename: 'Product', id: 'p999999' },
        { __typename: 'Product', id: 'not-an-id' },
      ],
    });
    expect(res.errors).toBeUndefined();
    const [byId, bySku, category, missing, malformed] = res.data!._entities;
    expect(byId).toMatchObject({ __typename: 'Product', id: 'p2', sku: 'SKU-000002', category: { id: 'c2' } });
    expect(bySku).toMatchObject({ id: 'p3', sku: 'SKU-000003' });
    expect(category).toMatchObject({ __typename: 'Category', id: 'c1' });
    expect(category.slug).toMatch(/^[a-z-]+$/);
    expect(missing).toBeNull();
    expect(malformed).toBeNull();
  });

  it('batches _entities: the statement count does not grow with the number of representations', async () => {
    const run = async (n: number) => {
      const before = await metricValue(app, 'db_queries_total');
      const representations = Array.from({ length: n }, (_, i) => ({ __typename: 'Product', id: `p${i + 1}` }));
      const res = await gql(app, ENTITIES_QUERY('... on Product { id category { name } }'), { representations });
      expect(res.data!._entities).toHaveLength(n);
      return (await metricValue(app, 'db_queries_total')) - before;
    };
    expect(await run(5)).toBe(await run(100));
  });

  it('pages products with a cursor round trip and a total', async () => {
    const first = await gql(app, '{ products(first: 3) { totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }');
    // At least the seed: on a shared database catalogue.test.ts may have a product of its own on sale meanwhile.
    expect(first.data!.products.totalCount).toBeGreaterThanOrEqual(SMALL_SEED.products);
    expect(first.data!.products.edges.map((e: any) => e.node.id)).toEqual(['p1', 'p2', 'p3']);
    const after = first.data!.products.pageInfo.endCursor;
    const next = await gql(app, 'query($after: String) { products(first: 2, after: $after) { edges { node { id } } } }', { after });
    expect(next.data!.products.edges.map((e: any) => e.node.id)).toEqual(['p4', 'p5']);
  });

  it('filters by category slug and pages inside a category', async () => {
    const cats = await gql(app, '{ categories { id slug } }');
    expect(cats.data!.categories.length).toBeGreaterThanOrEqual(50);
    const slug = cats.data!.categories.find((c: any) => c.id === 'c2').slug;
    const res = await gql(
      app,
      `query($slug: String!) { category(slug: $slug) { products(first: 2) { totalCount edges { node { id category { id } } } } }
      products(filter: { categorySlug: $slug }, first: 2) { edges { node { id } } } }`,
      { slug },
    );
    expect(res.data!.category.products.edges.map((e: any) => e.node.id)).toEqual(['p2', 'p62']);
    expect(res.data!.products.edges.map((e: any) => e.node.id)).toEqual(['p2', 'p62']);
  });

  it('refuses subscriptions with BAD_REQUEST: the router serves them as Query.product', async () => {
    const res = await gql(app, 'subscription($ids: [ID!]!) { productUpdated(ids: $ids) { id name } }', { ids: ['p1'] });
    expect(res.data).toBeNull();
    expect(res.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/^Subscriptions are served by the router/),
      extensions: { code: 'BAD_REQUEST' },
    });
  });

  it('searches with Postgres full-text search', async () => {
    const res = await gql(app, '{ searchProducts(query: "steel", first: 5) { totalCount edges { node { name } } } }');
    expect(res.data!.searchProducts.totalCount).toBeGreaterThan(0);
    for (const edge of res.data!.searchProducts.edges) expect(edge.node.name.toLowerCase()).toContain('steel');
  });

  it.each([
    ['first: 0', '{ products(first: 0) { totalCount } }'],
    ['first: 101', '{ products(first: 101) { totalCount } }'],
    ['a malformed cursor', '{ products(after: "garbage!") { totalCount } }'],
    ['a cursor from another list', `{ products(after: "${Buffer.from('search:3').toString('base64url')}") { totalCount } }`],
    ['a malformed id', '{ product(id: "DROP TABLE") { id } }'],
    ['both id and sku', '{ product(id: "p1", sku: "SKU-000001") { id } }'],
    ['an empty search', '{ searchProducts(query: "  ") { totalCount } }'],
    // Postgres cannot take a NUL in text at all; that is the client's input, not our fault.
    ['a NUL in a search', '{ searchProducts(query: "a\\u0000b") { totalCount } }'],
  ])('rejects %s with BAD_USER_INPUT', async (_name, query) => {
    const res = await gql(app, query);
    expect(res.status).toBe(200);
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(res)).not.toMatch(/SELECT|stack|at /);
  });

  it('answers an unparsable body with 400 in GraphQL shape', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/graphql',
      payload: '{"query": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0].extensions.code).toBe('BAD_REQUEST');
  });
});
