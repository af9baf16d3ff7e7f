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

  // Issue 17: the product page and a listing page cost one products statement each. Arguments no
  // other test here uses, so the subgraph cache has not seen them.
  it('reads a product with its category, and a listing page with its categories and total, in one statement each', async () => {
    const statementsOf = async (query: string, variables: Record<string, unknown> = {}) => {
      const before = await metricValue(app, 'db_queries_total');
      const res = await gql(app, query, variables);
      expect(res.errors).toBeUndefined();
      return { data: res.data!, statements: (await metricValue(app, 'db_queries_total')) - before };
    };
    const page = await statementsOf('{ product(id: "p77") { id category { id slug name } } }');
    expect(page.data.product).toMatchObject({ id: 'p77', category: { id: 'c17', slug: expect.any(String), name: expect.any(String) } });
    expect(page.statements).toBe(1);
    const bySku = await statementsOf('{ product(sku: "SKU-000078") { id category { id name } } }');
    expect(bySku.data.product).toMatchObject({ id: 'p78', category: { id: 'c18' } });
    expect(bySku.statements).toBe(1);

    const LISTING = `query($filter: ProductFilter, $first: Int, $after: String) { products(filter: $filter, first: $first, after: $after) {
      totalCount edges { node { id category { id slug } } } pageInfo { hasNextPage } } }`;
    const after = (n: number) => Buffer.from(`product:${n}`).toString('base64url');
    const listing = await statementsOf(LISTING, { first: 7, after: after(301) });
    expect(listing.data.products.edges.map((e: any) => e.node.id)).toEqual(['p302', 'p303', 'p304', 'p305', 'p306', 'p307', 'p308']);
    expect(listing.data.products.edges.map((e: any) => e.node.category.id)).toEqual(['c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8']);
    expect(listing.data.products.totalCount).toBeGreaterThanOrEqual(SMALL_SEED.products);
    expect(listing.statements).toBe(1);

    const slug = page.data.product.category.slug;
    const inCategory = await statementsOf(LISTING, { filter: { categorySlug: slug }, first: 3, after: after(17) });
    expect(inCategory.data.products.edges.map((e: any) => e.node.id)).toEqual(['p77', 'p137', 'p197']);
    expect(inCategory.data.products.edges.every((e: any) => e.node.category.slug === slug)).toBe(true);
    expect(inCategory.statements).toBe(1);

    // Past the last page: no rows, but still the total, from the same one statement.
    const pastTheEnd = await statementsOf(LISTING, { filter: { categorySlug: slug }, first: 3, after: after(1_000_000) });
    expect(pastTheEnd.data.products.edges).toEqual([]);
    // The seed puts every 60th product in a category: 8 or 9 of its 500 (more if another file adds one).
    expect(inCategory.data.products.totalCount).toBeGreaterThanOrEqual(8);
    expect(pastTheEnd.data.products.totalCount).toBeGreaterThanOrEqual(8);
    expect(pastTheEnd.data.products.pageInfo.hasNextPage).toBe(false);
    expect(pastTheEnd.statements).toBe(1);
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
