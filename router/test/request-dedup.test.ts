import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Router } from '../src/server.ts';
import { delay, representationsOf, startFakeSubgraph, type FakeSubgraph } from './support/fake-subgraph.ts';
import { startIssuer } from './support/issuer.ts';
import { buildTinyRouter } from './support/tiny-router.ts';

/**
 * Identical client requests in flight at once (src/request-dedup.ts), on the real router over the
 * tiny supergraph with the entity cache off. Subgraph fetch sharing is off too (SUBGRAPH_DEDUP),
 * so the fakes' request logs count pipeline runs.
 */
describe('identical client requests in flight at once (REQUEST_DEDUP)', () => {
  let products: FakeSubgraph;
  let pricing: FakeSubgraph;
  let issuer: Awaited<ReturnType<typeof startIssuer>>;
  let productsGate: Promise<void> | undefined;
  const routers: Router[] = [];

  beforeAll(async () => {
    issuer = await startIssuer();
    products = await startFakeSubgraph(async ({ query, headers, variables }) => {
      await (productsGate ?? delay(150));
      if (/\bme\b/.test(query)) return { body: { data: { me: headers['x-user-id'] ?? 'anonymous' } }, cacheControl: 'private, max-age=30' };
      const first = Number(variables.first ?? /first:\s*(\d+)/.exec(query)?.[1] ?? 2);
      return { body: { data: { products: Array.from({ length: first }, (_, i) => ({ __typename: 'Product', id: `p${i + 1}`, name: `Product ${i + 1}` })) } }, cacheControl: 'public, max-age=60' };
    });
    pricing = await startFakeSubgraph(async (request) => {
      if (request.query.startsWith('mutation')) return { body: { data: { setPrice: { __typename: 'Product', id: 'p1', price: 5 } } } };
      return { body: { data: { _entities: representationsOf(request).map((r) => ({ price: Number(r.id.slice(1)) * 100 })) } }, cacheControl: 'public, max-age=60' };
    });
  });
  afterEach(async () => {
    productsGate = undefined;
    products.requests.length = 0;
    pricing.requests.length = 0;
    await Promise.all(routers.splice(0).map((router) => router.close()));
  });
  afterAll(async () => {
    await products?.close();
    await pricing?.close();
    await issuer?.close();
  });

  async function router(env: Record<string, string> = {}) {
    const built = await buildTinyRouter({ products, pricing }, { JWKS_URL: issuer.jwksUrl, SUBGRAPH_DEDUP: 'false', ...env });
    routers.push(built);
    return built;
  }
  const post = (target: Router, body: object, headers: Record<string, string> = {}) =>
    target.app.inject({ method: 'POST', url: '/graphql', headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify(body) });
  const LISTING = { query: 'query Listing($first: Int) { products(first: $first) { id name price } }', variables: { first: 2 } };
  const EXPECTED = { data: { products: [{ id: 'p1', name: 'Product 1', price: 100 }, { id: 'p2', name: 'Product 2', price: 200 }] } };

  async function metric(target: Router, name: string, labels = ''): Promise<number> {
    const text = (await target.app.inject({ method: 'GET', url: '/metrics' })).body;
    const line = text.split('\n').find((l) => l.startsWith(name) && labels.split(',').every((label) => l.includes(label)));
    return line ? Number(line.split(' ').at(-1)) : 0;
  }

  it('runs five identical queries once and sends each client the same response', async () => {
    const target = await router();
    const responses = await Promise.all(Array.from({ length: 5 }, () => post(target, LISTING)));
    for (const response of responses) {
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual(EXPECTED);
      expect(response.headers['cache-control']).toBe('public, max-age=60');
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.body).toBe(responses[0]!.body);
    }
    expect(products.requests).toHaveLength(1);
    expect(pricing.requests).toHaveLength(1);
    expect(await metric(target, 'graphql_request_dedupes_total')).toBe(4);
    expect(await metric(target, 'graphql_requests_total', 'operation="Listing",status="ok"')).toBe(5);
  });

  it('keeps requests apart when variables, client name or viewer differ', async () => {
    const target = await router();
    const [alice, bob] = await Promise.all([issuer.sign('alice'), issuer.sign('bob')]);
    const responses = await Promise.all([
      post(target, LISTING),
      post(target, { ...LISTING, variables: { first: 1 } }),
      post(target, LISTING, { 'apollographql-client-name': 'admin' }),
      post(target, { query: '{ me }' }, { authorization: `Bearer ${alice}` }),
      post(target, { query: '{ me }' }, { authorization: `Bearer ${bob}` }),
      post(target, { query: '{ me }' }, { authorization: `Bearer ${alice}` }),
    ]);
    expect(responses[0]!.json()).toEqual(EXPECTED);
    expect(responses[1]!.json()).toEqual({ data: { products: [{ id: 'p1', name: 'Product 1', price: 100 }] } });
    expect(responses[2]!.json()).toEqual(EXPECTED);
    expect(responses.slice(3).map((r) => r.json())).toEqual([{ data: { me: 'alice' } }, { data: { me: 'bob' } }, { data: { me: 'alice' } }]);
    // Listing, first: 1, the admin client's listing, alice (twice, shared) and bob.
    expect(products.requests).toHaveLength(5);
  });

  it('runs every mutation, identical or not', async () => {
    const target = await router();
    const mutation = { query: 'mutation { setPrice(id: "p1", price: 5) { id price } }' };
    const responses = await Promise.all(Array.from({ length: 3 }, () => post(target, mutation)));
    for (const response of responses) expect(response.json()).toEqual({ data: { setPrice: { id: 'p1', price: 5 } } });
    expect(pricing.requests.filter((r) => r.query.startsWith('mutation'))).toHaveLength(3);
    expect(await metric(target, 'graphql_request_dedupes_total')).toBe(0);
  });

  it('does not let a query that arrives after a mutation join a run that started before it', async () => {
    const target = await router();
    let release!: () => void;
    productsGate = new Promise<void>((resolve) => (release = resolve));
    const before = post(target, LISTING);
    await vi.waitFor(() => expect(products.requests).toHaveLength(1));
    await post(target, { query: 'mutation { setPrice(id: "p1", price: 5) { id } }' });
    const after = post(target, LISTING);
    await vi.waitFor(() => expect(products.requests).toHaveLength(2));
    release();
    expect((await before).json()).toEqual(EXPECTED);
    expect((await after).json()).toEqual(EXPECTED);
  });

  it('runs each request through the pipeline when the first one fails validation', async () => {
    const target = await router();
    const responses = await Promise.all(Array.from({ length: 3 }, () => post(target, { query: '{ products(first: 2) { nope } }' })));
    for (const response of responses) {
      expect(response.statusCode).toBe(400);
      expect(response.json().errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    }
    expect(await metric(target, 'graphql_request_dedupes_total')).toBe(0);
  });

  it('runs each request with REQUEST_DEDUP=false', async () => {
    const target = await router({ REQUEST_DEDUP: 'false' });
    const responses = await Promise.all(Array.from({ length: 3 }, () => post(target, LISTING)));
    for (const response of responses) expect(response.json()).toEqual(EXPECTED);
    expect(products.requests).toHaveLength(3);
  });
});
