import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSubgraphFailure } from '../src/breaker.ts';
import { readConfig } from '../src/config.ts';
import { everySubgraphAt } from './support/supergraph-env.ts';
import { createFetcher, RESPONSE_TOO_LARGE_CODE, SubgraphResponseTooLargeError } from '../src/fetcher.ts';
import { buildRouter, type Router } from '../src/server.ts';
import { startFakeSubgraph, type FakeSubgraph } from './support/fake-subgraph.ts';

/**
 * SUBGRAPH_MAX_RESPONSE_BYTES: the router reads at most that much of a subgraph's answer, so an
 * operation demand control under-estimates cannot make it buffer whatever a subgraph sends, and a
 * refused answer (the client's query) never opens the subgraph's circuit.
 */

const MAX_BYTES = 4_096;

/** A subgraph that streams `size` bytes of JSON in chunks, with no Content-Length. */
async function startStreamingSubgraph(size: number) {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const name = 'é'.repeat(Math.max(0, (size - 40) / 2)); // 2 bytes each in UTF-8
      const text = JSON.stringify({ data: { name } });
      for (let i = 0; i < text.length; i += 1_000) res.write(text.slice(i, i + 1_000));
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('the subgraph fetcher', () => {
  const { fetcher, close } = createFetcher({ timeoutMs: 5_000, maxResponseBytes: MAX_BYTES });
  afterAll(() => close());
  const post = (url: string) =>
    fetcher(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ name }"}' });

  it('reads a streamed body up to the limit, characters split across chunks intact', async () => {
    const subgraph = await startStreamingSubgraph(MAX_BYTES - 100);
    try {
      const body = await (await post(subgraph.url)).json();
      expect(body.data.name).toMatch(/^é+$/);
    } finally {
      await subgraph.close();
    }
  });

  it('fails a fetch whose streamed body (no Content-Length) goes past the limit', async () => {
    const subgraph = await startStreamingSubgraph(MAX_BYTES * 4);
    try {
      const error = await post(subgraph.url).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SubgraphResponseTooLargeError);
      expect((error as SubgraphResponseTooLargeError).extensions.code).toBe(RESPONSE_TOO_LARGE_CODE);
    } finally {
      await subgraph.close();
    }
  });

  it('fails a fetch whose Content-Length is over the limit without reading it', async () => {
    const subgraph = await startFakeSubgraph(() => ({ body: { data: { name: 'x'.repeat(MAX_BYTES) } } }));
    try {
      await expect(post(subgraph.url)).rejects.toBeInstanceOf(SubgraphResponseTooLargeError);
    } finally {
      await subgraph.close();
    }
  });

  it('the breaker does not count a refused size as the subgraph failing', () => {
    expect(isSubgraphFailure(new SubgraphResponseTooLargeError(MAX_BYTES))).toBe(false);
  });
});

describe('a subgraph answer over SUBGRAPH_MAX_RESPONSE_BYTES (production)', () => {
  let subgraph: FakeSubgraph;
  let router: Router;
  let large = true;
  beforeAll(async () => {
    subgraph = await startFakeSubgraph(() => ({
      body: { data: { categories: [{ __typename: 'Category', id: 'c1', name: large ? 'x'.repeat(MAX_BYTES) : 'Kettles' }] } },
    }));
    router = await buildRouter({
      config: readConfig({
        NODE_ENV: 'production',
        ROUTER_SECRET: 'test-secret',
        PORT: '0',
        LOG_LEVEL: 'silent',
        ROUTER_CACHE: 'false',
        RESPONSE_CACHE: 'false',
        SUBGRAPH_MAX_RESPONSE_BYTES: String(MAX_BYTES),
        BREAKER_FAILURE_THRESHOLD: '2',
        ...everySubgraphAt(subgraph.url),
      }),
    });
  });
  afterAll(async () => {
    await router?.close();
    await subgraph?.close();
  });
  const menu = () =>
    router.app.inject({
      method: 'POST',
      url: '/graphql',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ query: '{ categories { id name } }' }),
    });

  it('fails that field with its own error and 200 (not 500), and never opens the circuit however often', async () => {
    large = true;
    for (let i = 0; i < 6; i++) {
      const response = await menu();
      expect(response.statusCode).toBe(200);
      const body = response.json();
      expect(body.data).toBeNull();
      expect(body.errors.map((e: { extensions?: { code?: string } }) => e.extensions?.code)).toEqual([RESPONSE_TOO_LARGE_CODE]);
      expect(JSON.stringify(body)).not.toMatch(/127\.0\.0\.1|stack/);
    }
    expect(subgraph.requests).toHaveLength(6); // every one reached the subgraph: no circuit opened
    const { values } = await router.metrics.subgraphCircuitState.get();
    expect(values.find((v) => v.labels.subgraph === 'products')?.value).toBe(0);

    large = false;
    const response = await menu();
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ data: { categories: [{ id: 'c1', name: 'Kettles' }] } });
  });
});
