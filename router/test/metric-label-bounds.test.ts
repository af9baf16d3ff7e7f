import { MAX_CLIENT_LABELS, MAX_OPERATION_CLIENT_PAIRS, MAX_OPERATION_LABELS, OTHER_LABEL } from '@shop/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Router } from '../src/server.ts';
import { startFakeSubgraph, type FakeSubgraph } from './support/fake-subgraph.ts';
import { MANIFESTS } from './support/persisted.ts';
import { buildTinyRouter } from './support/tiny-router.ts';

/** The label sets of every series of `name` (histograms: their `_count` lines) on /metrics. */
function series(text: string, name: string): Record<string, string>[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`))
    .map((line) => Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!])));
}

/**
 * Operation and client names are the client's to choose; as label values each new one would be a
 * series kept forever and written on every scrape. Production, as the finding was found there.
 */
describe('router metrics under client-chosen names (production)', () => {
  let products: FakeSubgraph;
  let pricing: FakeSubgraph;
  let router: Router;

  beforeAll(async () => {
    products = await startFakeSubgraph(() => ({ body: { data: {} } }));
    pricing = await startFakeSubgraph(() => ({ body: { data: {} } }));
    router = await buildTinyRouter({ products, pricing }, { NODE_ENV: 'production', ROUTER_SECRET: 'test-secret', RATE_LIMIT: 'false' });
  });
  afterAll(async () => {
    await router?.close();
    await products?.close();
    await pricing?.close();
  });

  const post = (operationName: string, client: string) =>
    router.app.inject({
      method: 'POST',
      url: '/graphql',
      payload: { query: `query ${operationName} { __typename }`, operationName },
      headers: { 'content-type': 'application/json', 'apollographql-client-name': client },
    });

  it('keeps graphql_requests_total, the latency and the cost histograms to a bounded set of short label values', async () => {
    for (let i = 0; i < 1_000; i++) {
      // Half long names (not admitted at all), half valid distinct ones (first come, up to the bound).
      const operationName = i % 2 ? `N${i}${'x'.repeat(2_000)}` : `Op${i}`;
      const response = await post(operationName, `client${i % 100}`);
      expect(response.statusCode).toBe(200);
      // The same request again is answered before Apollo (response cache or shared in-flight answer).
      if (i < 10) expect((await post(operationName, `client${i % 100}`)).statusCode).toBe(200);
    }
    const scrape = await router.app.inject({ method: 'GET', url: '/metrics' });
    for (const name of ['graphql_requests_total', 'graphql_request_duration_seconds_count', 'graphql_operation_estimated_cost_count']) {
      const found = series(scrape.body, name);
      expect(found.length, name).toBeGreaterThan(0);
      const operations = new Set(found.map((labels) => labels.operation));
      const clients = new Set(found.map((labels) => labels.client));
      expect(operations.size, name).toBeLessThanOrEqual(MAX_OPERATION_LABELS + 3); // + anonymous, __invalid, __other
      expect(clients.size, name).toBeLessThanOrEqual(MAX_CLIENT_LABELS + 2); // + unknown, __other
      expect(operations.has(OTHER_LABEL) && operations.has('__invalid'), name).toBe(true);
      expect(clients.has(OTHER_LABEL), name).toBe(true);
      expect(Math.max(...[...operations, ...clients].map((value) => value?.length ?? 0)), name).toBeLessThanOrEqual(64);
      expect(found.length, name).toBeLessThan(500);
    }
    const counted = series(scrape.body, 'graphql_requests_total').length;
    const total = scrape.body
      .split('\n')
      .filter((line) => line.startsWith('graphql_requests_total{'))
      .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
    expect(counted).toBeGreaterThan(0);
    expect(total).toBe(1_010); // every request still counts, early answers included
    // Nothing of the 2,000-character names reaches the exposition.
    expect(scrape.body.length).toBeLessThan(5_000_000); // unbounded: ~30 MB of these names
    expect(scrape.body).not.toContain('x'.repeat(100));
  });

  it('keeps persisted_query_requests_total to a bounded set of client label values', async () => {
    for (let i = 0; i < 100; i++) {
      const response = await router.app.inject({
        method: 'POST',
        url: '/graphql',
        payload: { extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } } },
        headers: { 'content-type': 'application/json', 'apollographql-client-name': `apq${i}` },
      });
      expect(response.json().errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    }
    const scrape = await router.app.inject({ method: 'GET', url: '/metrics' });
    const found = series(scrape.body, 'persisted_query_requests_total').filter((labels) => labels.outcome === 'not_found');
    expect(found.length).toBeGreaterThan(0);
    expect(found.length).toBeLessThanOrEqual(MAX_CLIENT_LABELS + 2);
    expect(found.some((labels) => labels.client === OTHER_LABEL)).toBe(true);
  });
});

describe('router metrics with trusted-document manifests', () => {
  it("admits the manifests' apps and operation names before first-come ones", async () => {
    const products = await startFakeSubgraph(() => ({ body: { data: {} } }));
    const pricing = await startFakeSubgraph(() => ({ body: { data: {} } }));
    const router = await buildTinyRouter({ products, pricing }, { PERSISTED_QUERIES_DIR: MANIFESTS, RATE_LIMIT: 'false' });
    try {
      const post = (operationName: string, client: string) =>
        router.app.inject({
          method: 'POST',
          url: '/graphql',
          payload: { query: `query ${operationName} { __typename }`, operationName },
          headers: { 'content-type': 'application/json', 'apollographql-client-name': client },
        });
      for (let i = 0; i < MAX_OPERATION_LABELS + 50; i++) await post(`Op${i}`, `client${i % 50}`);
      // The fixtures' manifests: ios (Listing, SetPrice) and web (Names).
      await post('Names', 'web');
      const scrape = await router.app.inject({ method: 'GET', url: '/metrics' });
      const found = series(scrape.body, 'graphql_requests_total');
      expect(found.some((labels) => labels.operation === 'Names' && labels.client === 'web')).toBe(true);
      expect(found.some((labels) => labels.operation === OTHER_LABEL)).toBe(true);
    } finally {
      await router.close();
      await products.close();
      await pricing.close();
    }
  });
});

describe('router metrics by operation and client', () => {
  it('keep at most MAX_OPERATION_CLIENT_PAIRS pairs of their own (production)', async () => {
    const products = await startFakeSubgraph(() => ({ body: { data: {} } }));
    const pricing = await startFakeSubgraph(() => ({ body: { data: {} } }));
    const router = await buildTinyRouter(
      { products, pricing },
      { NODE_ENV: 'production', ROUTER_SECRET: 'test-secret', RATE_LIMIT: 'false', PERSISTED_QUERIES_DIR: '/nonexistent/clients' },
    );
    try {
      // 40 valid operation names × 30 valid client names: each label alone is within its bound.
      for (let op = 0; op < 40; op++) {
        for (let client = 0; client < MAX_CLIENT_LABELS; client++) {
          const operationName = `Pair${op}`;
          const response = await router.app.inject({
            method: 'POST',
            url: '/graphql',
            payload: { query: `query ${operationName} { __typename }`, operationName },
            headers: { 'content-type': 'application/json', 'apollographql-client-name': `c${client}` },
          });
          expect(response.statusCode).toBe(200);
        }
      }
      const scrape = await router.app.inject({ method: 'GET', url: '/metrics' });
      for (const name of ['graphql_request_duration_seconds_count', 'graphql_operation_estimated_cost_count']) {
        const found = series(scrape.body, name);
        const own = found.filter((labels) => labels.client !== OTHER_LABEL);
        expect(own.length, name).toBe(MAX_OPERATION_CLIENT_PAIRS);
        expect(found.length, name).toBeLessThanOrEqual(MAX_OPERATION_CLIENT_PAIRS + 40);
      }
    } finally {
      await router.close();
      await products.close();
      await pricing.close();
    }
  });
});
