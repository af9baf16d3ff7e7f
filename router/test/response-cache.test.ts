import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInvalidationBus, createLogger, invalidationChannel } from '@shop/platform';
import type { Router } from '../src/server.ts';
import { representationsOf, startFakeSubgraph, type FakeSubgraph } from './support/fake-subgraph.ts';
import { startIssuer } from './support/issuer.ts';
import { buildTinyRouter } from './support/tiny-router.ts';

/**
 * The whole-response cache in front of Apollo (src/cache/response-cache.ts), on the real router
 * over the tiny supergraph. The fakes answer with the Cache-Control real subgraphs send; their
 * request logs show what reached them. Without Redis, invalidations travel on the in-process bus.
 */
let products: FakeSubgraph;
let pricing: FakeSubgraph;
let issuer: Awaited<ReturnType<typeof startIssuer>>;
let priceOffset = 0;

beforeAll(async () => {
  issuer = await startIssuer();
  products = await startFakeSubgraph(({ query, headers, variables }) => {
    if (/\bme\b/.test(query)) return { body: { data: { me: headers['x-user-id'] ?? 'anonymous' } }, cacheControl: 'private, max-age=30' };
    const first = Number(/first:\s*(\d+)/.exec(query)?.[1] ?? variables.first ?? 2);
    if (first === 0)
      return {
        body: { data: null, errors: [{ message: '"first" must be positive', path: ['products'], extensions: { code: 'BAD_USER_INPUT' } }] },
      };
    const list = Array.from({ length: first }, (_, i) => ({ __typename: 'Product', id: `p${i + 1}`, name: `Product ${i + 1}` }));
    return { body: { data: { products: list } }, cacheControl: 'public, max-age=600' };
  });
  pricing = await startFakeSubgraph((request) => {
    if (request.query.startsWith('mutation'))
      return { body: { data: { setPrice: { __typename: 'Product', id: 'p1', price: 5 } } }, cacheControl: 'no-store' };
    return {
      body: { data: { _entities: representationsOf(request).map((r) => ({ price: Number(r.id.slice(1)) * 100 + priceOffset })) } },
      cacheControl: 'public, max-age=60',
    };
  });
});
afterAll(async () => {
  await products?.close();
  await pricing?.close();
  await issuer?.close();
});

const LISTING = 'query Listing($first: Int) { products(first: $first) { id name price } }';

function post(router: Router, body: object, headers: Record<string, string> = {}) {
  return router.app.inject({
    method: 'POST',
    url: '/graphql',
    headers: { 'content-type': 'application/json', ...headers },
    payload: JSON.stringify(body),
  });
}

/** One labelled series of a metric in the router's Prometheus text. */
async function series(router: Router, name: string, labels: string): Promise<number> {
  const text = (await router.app.inject({ method: 'GET', url: '/metrics' })).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.split(',').every((label) => l.includes(label)));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

const fetchesAt = () => products.requests.length + pricing.requests.length;

describe('the whole-response cache', () => {
  let router: Router;
  let prefix: string;
  beforeAll(async () => {
    prefix = `rc-test-${randomUUID()}:`;
    router = await buildTinyRouter(
      { products, pricing },
      { ROUTER_CACHE: 'true', CACHE_KEY_PREFIX: prefix, JWKS_URL: issuer.jwksUrl, RATE_LIMIT: 'false' },
    );
  });
  afterAll(() => router?.close());

  it('answers a repeated query without a subgraph fetch, with the same body and the time left', async () => {
    const first = await post(router, { query: LISTING, operationName: 'Listing', variables: { first: 3 } });
    expect(first.statusCode).toBe(200);
    expect(first.headers['cache-control']).toBe('public, max-age=60');
    const before = fetchesAt();
    const hitsBefore = await series(router, 'cache_hits_total', 'type="response"');
    const requestsBefore = await series(router, 'graphql_requests_total', 'operation="Listing",client="unknown",status="ok"');

    const second = await post(router, { operationName: 'Listing', variables: { first: 3 }, query: LISTING });
    expect(second.statusCode).toBe(200);
    expect(second.body).toBe(first.body);
    expect(second.headers['content-type']).toMatch(/^application\/json/);
    expect(second.headers['cache-control']).toMatch(/^public, max-age=(59|60)$/);
    expect(fetchesAt()).toBe(before);
    expect(await series(router, 'cache_hits_total', 'type="response"')).toBe(hitsBefore + 1);
    // A hit is still a request in the request metrics.
    expect(await series(router, 'graphql_requests_total', 'operation="Listing",client="unknown",status="ok"')).toBe(requestsBefore + 1);
  });

  it('keys on variables, operation name and client name', async () => {
    // The entity cache underneath may still answer without a fetch; the response cache's own
    // counters say whether the whole response was reused.
    const misses = () => series(router, 'cache_misses_total', 'type="response"');
    const hits = () => series(router, 'cache_hits_total', 'type="response"');
    await post(router, { query: LISTING, operationName: 'Listing', variables: { first: 4 } });
    const [missesBefore, hitsBefore] = [await misses(), await hits()];
    await post(router, { query: LISTING, operationName: 'Listing', variables: { first: 5 } });
    await post(router, { query: LISTING, variables: { first: 4 } });
    await post(router, { query: LISTING, operationName: 'Listing', variables: { first: 4 } }, { 'apollographql-client-name': 'ios' });
    expect(await misses()).toBe(missesBefore + 3);
    await post(router, { query: LISTING, operationName: 'Listing', variables: { first: 4 } });
    expect(await hits()).toBe(hitsBefore + 1);
  });

  it('keeps a PRIVATE answer to its own user and never stores one for an anonymous viewer', async () => {
    const alice = await issuer.sign('u1');
    const bob = await issuer.sign('u2');
    const me = (headers: Record<string, string>) => post(router, { query: '{ me }' }, headers);

    expect((await me({ authorization: `Bearer ${alice}` })).json().data.me).toBe('u1');
    const before = products.requests.length;
    const again = await me({ authorization: `Bearer ${alice}` });
    expect(again.json().data.me).toBe('u1');
    expect(again.headers['cache-control']).toMatch(/^private, max-age=\d+$/);
    expect(products.requests.length).toBe(before);

    expect((await me({ authorization: `Bearer ${bob}` })).json().data.me).toBe('u2');
    expect((await me({})).json().data.me).toBe('anonymous');
    expect((await me({})).json().data.me).toBe('anonymous');
    expect(products.requests.length).toBe(before + 3);
  });

  it('never stores a response with errors, or a mutation', async () => {
    const before = products.requests.length;
    for (let i = 0; i < 2; i++) {
      const failed = await post(router, { query: '{ products(first: 0) { id } }' });
      expect(failed.json().errors[0].extensions.code).toBe('BAD_USER_INPUT');
    }
    expect(products.requests.length).toBe(before + 2);

    const mutations = pricing.requests.filter((r) => r.query.startsWith('mutation')).length;
    for (let i = 0; i < 2; i++) await post(router, { query: 'mutation { setPrice(id: "p1", price: 5) { id price } }' });
    expect(pricing.requests.filter((r) => r.query.startsWith('mutation')).length).toBe(mutations + 2);
  });

  it('drops a response when anything it showed is invalidated', async () => {
    const query = { query: LISTING, variables: { first: 2 } };
    expect((await post(router, query)).json().data.products[0].price).toBe(100);
    expect((await post(router, query)).json().data.products[0].price).toBe(100);
    priceOffset = 7;
    try {
      const bus = createInvalidationBus({
        redisUrl: undefined,
        logger: createLogger('test', 'silent'),
        channel: invalidationChannel(prefix),
      });
      await bus.publish(['Product:p1']);
      await bus.close();
      // The entity cache dropped p1 too, so the new price comes all the way from pricing.
      expect((await post(router, query)).json().data.products.map((p: { price: number }) => p.price)).toEqual([107, 200]);
    } finally {
      priceOffset = 0;
    }
  });

  it('answers only where the pipeline would: not a GET that CSRF prevention refuses', async () => {
    const url = `/graphql?query=${encodeURIComponent('{ products(first: 6) { id name } }')}`;
    const allowed = await router.app.inject({ method: 'GET', url, headers: { 'apollo-require-preflight': 'true' } });
    expect(allowed.statusCode).toBe(200);
    const again = await router.app.inject({ method: 'GET', url, headers: { 'apollo-require-preflight': 'true' } });
    expect(again.body).toBe(allowed.body);
    const refused = await router.app.inject({ method: 'GET', url });
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toMatch(/CSRF/);
  });

  it('lets a token that does not verify through to the pipeline (401), even for a cached query', async () => {
    await post(router, { query: LISTING, variables: { first: 2 } });
    const response = await post(router, { query: LISTING, variables: { first: 2 } }, { authorization: 'Bearer not-a-token' });
    expect(response.statusCode).toBe(401);
    expect(response.json().errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});

describe('RESPONSE_CACHE=false', () => {
  it('leaves repeated queries to the entity cache', async () => {
    const router = await buildTinyRouter(
      { products, pricing },
      { ROUTER_CACHE: 'true', RESPONSE_CACHE: 'false', CACHE_KEY_PREFIX: `rc-off-${randomUUID()}:`, RATE_LIMIT: 'false' },
    );
    try {
      for (let i = 0; i < 3; i++) await post(router, { query: LISTING, variables: { first: 2 } });
      expect(await series(router, 'cache_hits_total', 'type="response"')).toBe(0);
      expect(await series(router, 'cache_hits_total', 'type="Product"')).toBeGreaterThan(0);
    } finally {
      await router.close();
    }
  });
});
