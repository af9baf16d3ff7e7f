import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Router } from '../src/server.ts';
import { representationsOf, startFakeSubgraph, type FakeSubgraph, type ReceivedRequest } from './support/fake-subgraph.ts';
import { deleteKeys, productId, REDIS_URL, testPrefix } from './support/harness.ts';
import { buildTinyRouter } from './support/tiny-router.ts';

/**
 * The cache as the router runs it: a real gateway over a two-subgraph supergraph
 * (test/fixtures/tiny-supergraph.graphql) whose subgraphs are fakes answering with the
 * Cache-Control the real ones would send. End-to-end behaviour over the real subgraphs is in e2e/.
 */

function productsSubgraph(request: ReceivedRequest) {
  const { query } = request;
  if (/\bme\b/.test(query)) return { body: { data: { me: 'someone' } }, cacheControl: 'private, max-age=30' };
  const first = Number(/first:(\d+)/.exec(query)?.[1] ?? request.variables.first ?? 2);
  if (first === 0)
    return {
      body: { data: null, errors: [{ message: '"first" must be positive', path: ['products'], extensions: { code: 'BAD_USER_INPUT' } }] },
    };
  const products = Array.from({ length: first }, (_, i) => ({ __typename: 'Product', id: productId(i + 1), name: `Product ${i + 1}` }));
  return { body: { data: { products } }, cacheControl: 'public, max-age=600' };
}

function pricingSubgraph(request: ReceivedRequest) {
  if (request.query.startsWith('mutation')) {
    return {
      body: { data: { setPrice: { __typename: 'Product', id: request.variables.id ?? 'p1', price: 5 } } },
      cacheControl: 'no-store',
    };
  }
  const _entities = representationsOf(request).map((r) => ({ price: Number(r.id.split('-').at(-1)) * 100 }));
  return { body: { data: { _entities } }, cacheControl: 'public, max-age=60' };
}

describe.each([
  ['on', 'true'],
  ['off', 'false'],
] as const)('router with ROUTER_CACHE %s', (mode, routerCache) => {
  let products: FakeSubgraph;
  let pricing: FakeSubgraph;
  let router: Router;
  const prefix = testPrefix();

  beforeAll(async () => {
    products = await startFakeSubgraph(productsSubgraph);
    pricing = await startFakeSubgraph(pricingSubgraph);
    router = await buildTinyRouter({ products, pricing }, { ROUTER_CACHE: routerCache, CACHE_KEY_PREFIX: prefix, REDIS_URL });
  });
  afterAll(async () => {
    await router.close();
    await products.close();
    await pricing.close();
    if (REDIS_URL) await deleteKeys(REDIS_URL, prefix);
  });

  const post = async (query: string) => {
    const response = await router.app.inject({
      method: 'POST',
      url: '/graphql',
      payload: { query },
      headers: { 'content-type': 'application/json' },
    });
    await router.cache?.idle();
    return { body: response.json() as { data?: any; errors?: any[] }, cacheControl: response.headers['cache-control'] };
  };

  it('answers with the lowest max-age among the fetches, public unless any was private', async () => {
    const listing = await post('{ products(first: 3) { id name price } }');
    expect(listing.body.errors).toBeUndefined();
    expect(listing.body.data.products.map((p: { price: number }) => p.price)).toEqual([100, 200, 300]);
    expect(listing.cacheControl).toBe('public, max-age=60');
    expect((await post('{ me }')).cacheControl).toBe('private, max-age=30');
  });

  it('answers no-store for mutations and for responses with errors', async () => {
    expect((await post(`mutation { setPrice(id: "${productId(1)}", price: 5) { price } }`)).cacheControl).toBe('no-store');
    const failed = await post('{ products(first: 0) { id } }');
    expect(failed.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(failed.cacheControl).toBe('no-store');
  });

  it(mode === 'on' ? 'serves a repeated query without fetching, with the time left' : 'fetches every time', async () => {
    const query = '{ products(first: 4) { name price } }';
    const first = await post(query);
    const before = { products: products.requests.length, pricing: pricing.requests.length };
    const second = await post(query);
    expect(second.body).toEqual(first.body);
    const fetched = { products: products.requests.length - before.products, pricing: pricing.requests.length - before.pricing };
    if (mode === 'on') {
      expect(fetched).toEqual({ products: 0, pricing: 0 });
      expect(second.cacheControl).toMatch(/^public, max-age=(59|60)$/);
    } else {
      expect(fetched).toEqual({ products: 1, pricing: 1 });
      expect(second.cacheControl).toBe('public, max-age=60');
    }
    const metrics = (await router.app.inject({ method: 'GET', url: '/metrics' })).body;
    if (mode === 'on') expect(metrics).toMatch(/cache_hits_total\{[^}]*layer="router"[^}]*type="Product"[^}]*\} [1-9]/);
    else expect(metrics).not.toMatch(/cache_hits_total\{/);
  });
});
