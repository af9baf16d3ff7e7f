import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Router } from '../src/server.ts';
import { representationsOf, startFakeSubgraph, type FakeSubgraph } from './support/fake-subgraph.ts';
import { buildTinyRouter } from './support/tiny-router.ts';

/** The value of the series `name` whose labels include `labels` (any label order), or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...match[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

/** What the router's /metrics promises operators (names and labels are a contract, see DESIGN.md). */
describe('router /metrics', () => {
  let products: FakeSubgraph;
  let pricing: FakeSubgraph;
  let router: Router;

  beforeAll(async () => {
    products = await startFakeSubgraph(() => ({ body: { data: { products: [{ __typename: 'Product', id: 'p1', name: 'One' }] } } }));
    pricing = await startFakeSubgraph((request) => ({
      body: { data: { _entities: representationsOf(request).map(() => ({ price: 5 })) } },
    }));
    router = await buildTinyRouter({ products, pricing });
  });
  afterAll(async () => {
    await router?.close();
    await products?.close();
    await pricing?.close();
  });

  const scrape = async () => {
    const response = await router.app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    return response.body;
  };

  it('counts and times requests by operation name and client', async () => {
    const response = await router.app.inject({
      method: 'POST',
      url: '/graphql',
      payload: { query: 'query ShelfPrices { products(first: 1) { id price } }', operationName: 'ShelfPrices' },
      headers: { 'content-type': 'application/json', 'apollographql-client-name': 'web' },
    });
    expect(response.json().errors).toBeUndefined();
    const text = await scrape();
    expect(sample(text, 'graphql_requests_total', { operation: 'ShelfPrices', client: 'web', status: 'ok', service: 'router' })).toBe(1);
    expect(sample(text, 'graphql_request_duration_seconds_count', { operation: 'ShelfPrices', client: 'web' })).toBe(1);
    expect(sample(text, 'subgraph_fetch_duration_seconds_count', { subgraph: 'pricing' })).toBe(1);
    expect(sample(text, 'subgraph_fetches_total', { subgraph: 'products', outcome: 'ok' })).toBe(1);
  });

  it('reports circuit state per subgraph and event-loop lag', async () => {
    const text = await scrape();
    expect(sample(text, 'subgraph_circuit_state', { subgraph: 'products', service: 'router' })).toBe(0);
    expect(sample(text, 'subgraph_circuit_state', { subgraph: 'pricing', service: 'router' })).toBe(0);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds\{service="router"\} [\d.e+-]+$/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds\{service="router"\} [\d.e+-]+$/m);
  });
});
