import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedBy, rawClients } from '@shop/platform/testing';
import { readConfig } from '../src/config.ts';
import type { Router } from '../src/server.ts';
import { delay, startFakeSubgraph, type FakeSubgraph } from './support/fake-subgraph.ts';
import { buildTinyRouter } from './support/tiny-router.ts';

/** Tiny bounds so the test is quick; the defaults are seconds. */
const BOUNDS = { HEADERS_TIMEOUT_MS: '300', REQUEST_TIMEOUT_MS: '600', KEEP_ALIVE_TIMEOUT_MS: '300' };
/** How long the products subgraph takes to answer: longer than every bound above. */
const SLOW_ANSWER_MS = 1_500;

describe('router listener timeouts (F9, production)', () => {
  let products: FakeSubgraph;
  let pricing: FakeSubgraph;
  let router: Router;
  let port: number;
  const clients = rawClients(() => port);

  beforeAll(async () => {
    products = await startFakeSubgraph(async () => {
      await delay(SLOW_ANSWER_MS);
      return { body: { data: { me: 'slow but fine' } } };
    });
    pricing = await startFakeSubgraph(() => ({ body: { data: {} } }));
    router = await buildTinyRouter(
      { products, pricing },
      { NODE_ENV: 'production', ROUTER_SECRET: 'listener-secret', RATE_LIMIT: 'false', ...BOUNDS },
    );
    await router.app.listen({ port: 0, host: '127.0.0.1' });
    port = (router.app.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    clients.close();
    await router?.close();
    await products?.close();
    await pricing?.close();
  });

  it('cuts a client that promises Content-Length: 100000 and trickles the body', async () => {
    expect(
      await clients.slow(
        'POST /graphql HTTP/1.1\r\nHost: router\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{',
        ' ',
        100,
      ),
    ).toMatch(/^HTTP\/1\.1 408|^$/);
  });

  it('cuts a client that trickles its headers, and one that sends nothing', async () => {
    await Promise.all([clients.slow('POST /graphql HTTP/1.1\r\nHost: router\r\nX-Slow: ', 'a', 50), closedBy(clients.open(), 15_000)]);
  });

  it('closes an idle keep-alive connection after its response', async () => {
    const client = clients.open();
    client.write('GET /health HTTP/1.1\r\nHost: router\r\nConnection: keep-alive\r\n\r\n');
    expect(await closedBy(client, 15_000)).toMatch(/^HTTP\/1\.1 200/);
  });

  it('does not bound how long the answer takes: a slow subgraph still answers', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'apollographql-client-name': 'web' },
      body: JSON.stringify({ query: '{ me }' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { me: 'slow but fine' } });
  });

  it('reads the bounds from the environment', () => {
    expect(readConfig(BOUNDS).listener).toEqual({ headersTimeoutMs: 300, requestTimeoutMs: 600, keepAliveTimeoutMs: 300 });
  });
});
