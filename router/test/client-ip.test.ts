import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Router } from '../src/server.ts';
import { startFakeSubgraph, type FakeSubgraph } from './support/fake-subgraph.ts';
import { buildTinyRouter } from './support/tiny-router.ts';

describe('the client address passed to subgraphs (F4)', () => {
  let products: FakeSubgraph;
  let pricing: FakeSubgraph;
  let router: Router;
  beforeAll(async () => {
    products = await startFakeSubgraph(() => ({ body: { data: { me: 'someone' } } }));
    pricing = await startFakeSubgraph(() => ({ body: { data: {} } }));
    router = await buildTinyRouter(
      { products, pricing },
      { NODE_ENV: 'production', ROUTER_SECRET: 'client-ip-secret', RATE_LIMIT: 'false', RESPONSE_CACHE: 'false', REQUEST_DEDUP: 'false' },
    );
  });
  afterAll(async () => {
    await router?.close();
    await products?.close();
    await pricing?.close();
  });

  it('sends x-client-ip with the address the router saw, never the one a client claims, beside the router secret', async () => {
    const res = await router.app.inject({
      method: 'POST',
      url: '/graphql',
      remoteAddress: '203.0.113.42',
      headers: { 'content-type': 'application/json', 'apollographql-client-name': 'web', 'x-client-ip': '198.51.100.1' },
      payload: { query: '{ me }' },
    });
    expect(res.statusCode).toBe(200);
    const sent = products.requests.at(-1)!.headers;
    expect(sent['x-client-ip']).toBe('203.0.113.42');
    expect(sent['x-router-secret']).toBe('client-ip-secret');
  });
});
