import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { testCache } from '@shop/platform/testing';
import { SMALL_SEED } from '@shop/subgraph-kit';
import { metricValue } from '@shop/subgraph-kit/testing';
import { readConfig } from '../src/config.ts';
import { buildServer } from '../src/server.ts';

/** Catalog listings in the subgraph cache, and the Cache-Control products answers with. */
const cache = testCache();
let app: FastifyInstance;

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

async function post(query: string, variables: Record<string, unknown> = {}) {
  const response = await app.inject({ method: 'POST', url: '/graphql', payload: { query, variables } });
  return {
    status: response.statusCode,
    cacheControl: response.headers['cache-control'],
    ...(response.json() as { data?: any; errors?: any[] }),
  };
}
async function statements(call: () => Promise<unknown>) {
  const before = await metricValue(app, 'db_queries_total');
  await call();
  return (await metricValue(app, 'db_queries_total')) - before;
}

/** Subgraph cache lookups of one field (`Query.searchProducts`), from /metrics. */
async function lookups(field: string) {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  const sum = (name: string) =>
    text
      .split('\n')
      .filter((line) => line.startsWith(`${name}{`) && line.includes(`type="${field}"`))
      .reduce((total, line) => total + Number(line.split(' ').at(-1)), 0);
  return { hits: sum('cache_hits_total'), misses: sum('cache_misses_total') };
}

const LISTING = `query($after: String) { products(first: 10, after: $after) {
  totalCount edges { cursor node { id sku name brand imageUrl } } pageInfo { hasNextPage endCursor } } }`;

describe('catalog caching', () => {
  it('answers with the hint of what was asked for', async () => {
    expect((await post(LISTING)).cacheControl).toBe('public, max-age=600');
    expect((await post('{ product(id: "p1") { id name } }')).cacheControl).toBe('public, max-age=3600');
    expect((await post('{ searchProducts(query: "a") { totalCount } categories { id } }')).cacheControl).toBe('public, max-age=300');
    const bad = await post('{ product(id: "not-an-id") { id } }');
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(bad.cacheControl).toBe('no-store');
  });

  it('serves a repeated listing page from the cache, without SQL', async () => {
    let first: any;
    expect(await statements(async () => (first = await post(LISTING, { after: null })))).toBeGreaterThan(0);
    let second: any;
    expect(await statements(async () => (second = await post(LISTING, { after: null })))).toBe(0);
    expect(second.data).toEqual(first.data);
    // Another page is another entry.
    const next = first.data.products.pageInfo.endCursor as string;
    expect(await statements(() => post(LISTING, { after: next }))).toBeGreaterThan(0);
    expect(await statements(() => post(LISTING, { after: next }))).toBe(0);
  });

  it('does not cache an error', async () => {
    expect(await statements(() => post('{ category(slug: "no-such-category") { id } }'))).toBeGreaterThan(0);
    // The counters are cumulative over the file: only what changes around these requests counts.
    const bad = '{ searchProducts(query: "   ") { totalCount } }';
    const before = await lookups('Query.searchProducts');
    expect((await post(bad)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await post(bad)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    // Both were looked up and both missed: the first error was not stored for the second to find.
    expect(await lookups('Query.searchProducts')).toEqual({ hits: before.hits, misses: before.misses + 2 });
    // The same field does answer a good repeat from the cache, so the counters above can move.
    const good = '{ searchProducts(query: "errors are not cached") { totalCount } }';
    expect((await post(good)).errors).toBeUndefined();
    expect((await post(good)).errors).toBeUndefined();
    expect(await lookups('Query.searchProducts')).toEqual({ hits: before.hits + 1, misses: before.misses + 3 });
  });
});
