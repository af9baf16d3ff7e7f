import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Router } from '../src/server.ts';
import { readConfig } from '../src/config.ts';
import { formatCacheStatus } from '../src/stages/cache-status.ts';
import { delay, representationsOf, startFakeSubgraph, type FakeSubgraph, type ReceivedRequest } from './support/fake-subgraph.ts';
import { productId } from './support/harness.ts';
import { buildTinyRouter } from './support/tiny-router.ts';

/**
 * `Cache-Status` (RFC 9211) as the router sends it outside production: one entry per router cache
 * layer the request met, the client's side first. e2e tests read exactly these values.
 */
let slow = 0;
async function productsSubgraph({ query, variables }: ReceivedRequest) {
  await delay(slow);
  const first = Number(variables.first ?? /first:\s*(\d+)/.exec(query)?.[1] ?? 2);
  const products = Array.from({ length: first }, (_, i) => ({ __typename: 'Product', id: productId(i + 1), name: `Product ${i + 1}` }));
  return { body: { data: { products } }, cacheControl: 'public, max-age=600' };
}
async function pricingSubgraph(request: ReceivedRequest) {
  if (request.query.startsWith('mutation'))
    return { body: { data: { setPrice: { __typename: 'Product', id: 'p1', price: 5 } } }, cacheControl: 'no-store' };
  await delay(slow);
  const _entities = representationsOf(request).map((r) => ({ price: Number(r.id.split('-').at(-1)) * 100 }));
  return { body: { data: { _entities } }, cacheControl: 'public, max-age=60' };
}

describe('Cache-Status', () => {
  let products: FakeSubgraph;
  let pricing: FakeSubgraph;
  const routers: Router[] = [];
  beforeAll(async () => {
    products = await startFakeSubgraph(productsSubgraph);
    pricing = await startFakeSubgraph(pricingSubgraph);
  });
  afterEach(() => {
    slow = 0;
  });
  afterAll(async () => {
    for (const router of routers) await router.close();
    await products.close();
    await pricing.close();
  });
  const start = async (env: Record<string, string | undefined> = {}) => {
    const router = await buildTinyRouter({ products, pricing }, { ROUTER_CACHE: 'true', ...env });
    routers.push(router);
    return router;
  };
  const post = async (router: Router, query: string, headers: Record<string, string> = {}) => {
    const response = await router.app.inject({
      method: 'POST',
      url: '/graphql',
      payload: { query },
      headers: { 'content-type': 'application/json', ...headers },
    });
    await router.cache?.idle();
    return response;
  };
  const status = async (router: Router, query: string, headers?: Record<string, string>) =>
    (await post(router, query, headers)).headers['cache-status'];

  it('names each layer a query met: the response cache missed and stored, then hit; entity lookups summed over the fetches', async () => {
    const router = await start();
    const listing = '{ products(first: 2) { id name price } }';
    // One root fetch (1 miss) and one _entities fetch of 2 representations (2 misses).
    expect(await status(router, listing)).toBe('router-response; fwd=miss; stored, router-entity; fwd=miss; detail="hits=0 misses=3"');
    expect(await status(router, listing)).toBe('router-response; hit');
    // Another client: its own response-cache entry, every entity from the entity cache.
    expect(await status(router, listing, { 'apollographql-client-name': 'other' })).toBe(
      'router-response; fwd=miss; stored, router-entity; hit; detail="hits=3 misses=0"',
    );
    // Another selection at the root (a miss), the same prices (two hits).
    expect(await status(router, '{ products(first: 2) { id price } }')).toBe(
      'router-response; fwd=miss; stored, router-entity; fwd=miss; detail="hits=2 misses=1"',
    );
  });

  it('does not say stored when the response was too large to store', async () => {
    const router = await start({ CACHE_MAX_ENTRY_BYTES: '1024' });
    const large = '{ products(first: 30) { id name price } }';
    expect(await status(router, large)).toBe('router-response; fwd=miss, router-entity; fwd=miss; detail="hits=0 misses=31"');
    expect(String(await status(router, large))).toMatch(/^router-response; fwd=miss, /); // still not stored
  });

  it('says fwd=bypass for a mutation, which no cache answers or keeps', async () => {
    const router = await start();
    expect(await status(router, 'mutation { setPrice(id: "p1", price: 5) { id price } }')).toBe('router-response; fwd=bypass');
  });

  it('says fwd=bypass for a request the response cache may not answer (not CSRF-safe for Apollo: refused by it)', async () => {
    const router = await start();
    const response = await router.app.inject({ method: 'GET', url: '/graphql?query=%7B__typename%7D' });
    expect(response.headers['cache-status']).toBe('router-response; fwd=bypass');
  });

  it('lists only the entity cache without the response cache, and no header when no layer was met', async () => {
    const router = await start({ RESPONSE_CACHE: 'false' });
    expect(await status(router, '{ products(first: 1) { id name price } }')).toBe('router-entity; fwd=miss; detail="hits=0 misses=2"');
    const off = await start({ ROUTER_CACHE: 'false', REQUEST_DEDUP: 'false' });
    expect(await status(off, '{ products(first: 1) { id name price } }')).toBeUndefined();
  });

  it('says router-dedup; collapsed for requests answered by joining an identical one in flight', async () => {
    slow = 150;
    const router = await start();
    const query = '{ products(first: 3) { id name price } }';
    const answers = await Promise.all([post(router, query), post(router, query), post(router, query)]);
    const statuses = answers.map((answer) => answer.headers['cache-status']).sort();
    expect(statuses).toEqual([
      'router-response; fwd=miss, router-dedup; collapsed',
      'router-response; fwd=miss, router-dedup; collapsed',
      'router-response; fwd=miss; stored, router-entity; fwd=miss; detail="hits=0 misses=4"',
    ]);
    for (const answer of answers) expect(answer.json()).toEqual(answers[0]!.json());
    await vi.waitFor(() => expect(products.requests.length).toBeGreaterThan(0));
  });

  it('is off in production (and with CACHE_STATUS_HEADER=false): no response says anything about the caches', async () => {
    expect(readConfig({}).cacheStatusHeader).toBe(true);
    expect(readConfig({ NODE_ENV: 'production', ROUTER_SECRET: 's' }).cacheStatusHeader).toBe(false);
    const production = await start({ NODE_ENV: 'production', ROUTER_SECRET: 's' });
    const listing = '{ products(first: 2) { id name price } }';
    for (let i = 0; i < 2; i++) {
      const response = await post(production, listing);
      expect(response.statusCode).toBe(200);
      expect(response.headers['cache-status']).toBeUndefined();
    }
    const off = await start({ CACHE_STATUS_HEADER: 'false' });
    expect(await status(off, listing)).toBeUndefined();
  });

  it('formats each outcome as RFC 9211 entries', () => {
    expect(formatCacheStatus({}, true)).toBe('router-response; fwd=bypass');
    expect(formatCacheStatus({}, false)).toBeUndefined();
    expect(formatCacheStatus({ response: 'miss', collapsed: true }, true)).toBe('router-response; fwd=miss, router-dedup; collapsed');
    expect(formatCacheStatus({ entity: { hits: 4, misses: 0 } }, false)).toBe('router-entity; hit; detail="hits=4 misses=0"');
  });
});
