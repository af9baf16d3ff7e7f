import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.ts';
import { readiness } from '../src/readiness.ts';
import type { Router } from '../src/server.ts';
import { subgraphsOf } from '../src/supergraph.ts';
import { startFakeSubgraph, type FakeSubgraph } from './support/fake-subgraph.ts';
import { buildTinyRouter, TINY_SUPERGRAPH } from './support/tiny-router.ts';

/**
 * Where the router sends each subgraph: the `join__graph(url:)` of the supergraph it loaded, unless
 * `<NAME>_URL` overrides it, and `/ready` probes exactly the subgraphs that supergraph names.
 */
const products = (name: string) => () => ({
  body: { data: { products: [{ __typename: 'Product', id: 'p1', name }] } },
  cacheControl: 'public, max-age=60',
});
const pricing = () => ({ body: { data: { _entities: [{ price: 100 }] } }, cacheControl: 'public, max-age=60' });

describe('subgraph URLs from the supergraph', () => {
  let elsewhere: FakeSubgraph;
  let override: FakeSubgraph;
  let pricingFake: FakeSubgraph;
  let dir: string;
  let supergraph: string;
  const routers: Router[] = [];

  beforeAll(async () => {
    elsewhere = await startFakeSubgraph(products('from the supergraph URL'));
    override = await startFakeSubgraph(products('from PRODUCTS_URL'));
    pricingFake = await startFakeSubgraph(pricing);
    // The tiny supergraph with `products` (and pricing) composed for somewhere other than localhost:4001.
    dir = await mkdtemp(join(tmpdir(), 'router-urls-'));
    supergraph = join(dir, 'supergraph.graphql');
    const sdl = (await readFile(TINY_SUPERGRAPH, 'utf8'))
      .replace('http://localhost:4001/graphql', elsewhere.url)
      .replace('http://localhost:4003/graphql', pricingFake.url);
    await writeFile(supergraph, sdl);
  });
  afterAll(async () => {
    for (const router of routers) await router.close();
    await Promise.all([elsewhere.close(), override.close(), pricingFake.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  const start = async (env: Record<string, string | undefined>) => {
    const router = await buildTinyRouter(
      { products: override, pricing: pricingFake },
      { SUPERGRAPH_PATH: supergraph, PRICING_URL: undefined, ...env },
    );
    routers.push(router);
    return router;
  };
  const ask = async (router: Router) =>
    (await router.app.inject({ method: 'POST', url: '/graphql', payload: { query: '{ products(first: 1) { id name } }' } })).json();

  it('lists the subgraphs a supergraph names, with their join__graph URLs', async () => {
    expect(subgraphsOf(await readFile(supergraph, 'utf8'))).toEqual([
      { name: 'pricing', url: pricingFake.url },
      { name: 'products', url: elsewhere.url },
    ]);
  });

  it('fetches a subgraph at its supergraph URL when no <NAME>_URL is set', async () => {
    const router = await start({ PRODUCTS_URL: undefined });
    const before = override.requests.length;
    expect(await ask(router)).toEqual({ data: { products: [{ id: 'p1', name: 'from the supergraph URL' }] } });
    expect(elsewhere.requests.length).toBeGreaterThan(0);
    expect(override.requests.length).toBe(before);
  });

  it('fetches it at <NAME>_URL when that is set: the override wins', async () => {
    const router = await start({ PRODUCTS_URL: override.url });
    const before = elsewhere.requests.length;
    expect(await ask(router)).toEqual({ data: { products: [{ id: 'p1', name: 'from PRODUCTS_URL' }] } });
    expect(elsewhere.requests.length).toBe(before);
  });

  it('/ready probes exactly the loaded supergraph’s subgraphs, at their effective URLs', async () => {
    const router = await start({ PRODUCTS_URL: undefined });
    const ready = await router.app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ ready: true, supergraph: true, subgraphs: { pricing: true, products: true } });

    // products overridden to an address nobody listens on: that one subgraph is down.
    const down = await start({ PRODUCTS_URL: 'http://127.0.0.1:9/graphql' });
    const notReady = await down.app.inject({ method: 'GET', url: '/ready' });
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json()).toEqual({ ready: false, supergraph: true, subgraphs: { pricing: true, products: false } });
  });

  it('/ready stays 200 when a subgraph goes down after every one has answered: that outage costs its fields, not the router', async () => {
    const app = Fastify();
    const ready = readiness(app, readConfig({}));
    ready.supergraphLoaded(await readFile(supergraph, 'utf8'));
    expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
    // The same router, now probing products at an address nobody listens on.
    ready.supergraphLoaded((await readFile(supergraph, 'utf8')).replace(elsewhere.url, 'http://127.0.0.1:9/graphql'));
    const later = await app.inject({ method: 'GET', url: '/ready' });
    expect(later.statusCode).toBe(200);
    expect(later.json()).toEqual({ ready: true, supergraph: true, subgraphs: { pricing: true, products: false } });
    await app.close();
  });

  it('/ready is 503 until a supergraph is loaded, and after shutdown begins', async () => {
    const app = Fastify();
    const ready = readiness(app, readConfig({}));
    expect((await app.inject({ method: 'GET', url: '/ready' })).json()).toEqual({ ready: false, supergraph: false, subgraphs: {} });
    ready.supergraphLoaded(await readFile(supergraph, 'utf8'));
    const loaded = await app.inject({ method: 'GET', url: '/ready' });
    expect(loaded.json()).toEqual({ ready: true, supergraph: true, subgraphs: { pricing: true, products: true } });
    ready.beginShutdown();
    const closing = await app.inject({ method: 'GET', url: '/ready' });
    expect(closing.statusCode).toBe(503);
    expect(closing.json()).toEqual({ ready: false, supergraph: false, subgraphs: {} });
    await app.close();
  });
});
