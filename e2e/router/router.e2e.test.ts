import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, inject } from 'vitest';
import { buildRouter } from '@shop/router';
import { readConfig } from '@shop/router/config';
import { subgraphUrlEnv } from '@shop/registry';
import { compose, readSubgraphSdls, SUPERGRAPH_FILE } from '@shop/schema';
import { counter, query, routerUrl } from '../setup/client.ts';

describe('router operations endpoints', () => {
  it('answers /health and /ready with every subgraph reachable', async () => {
    const base = new URL(routerUrl());
    expect((await fetch(new URL('/health', base))).status).toBe(200);
    const ready = await fetch(new URL('/ready', base));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      ready: true,
      subgraphs: { products: true, inventory: true, pricing: true, users: true, orders: true },
    });
  });

  it('counts requests by operation and client at /metrics', async () => {
    const metricsUrl = new URL('/metrics', routerUrl()).toString();
    await query('query MetricsProbe { categories { id } }', {}, { headers: { 'apollographql-client-name': 'web' } });
    const text = await (await fetch(metricsUrl)).text();
    expect(text).toMatch(/graphql_requests_total\{[^}]*operation="MetricsProbe"[^}]*client="web"[^}]*\} 1/);
    expect(await counter(metricsUrl, 'subgraph_fetches_total')).toBeGreaterThan(0);
  });
});

describe('supergraph hot reload', () => {
  it('picks up a changed supergraph file without failing requests in flight', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'supergraph-'));
    const file = join(dir, 'supergraph.graphql');
    await writeFile(file, await readFile(SUPERGRAPH_FILE, 'utf8'));
    const urls = inject('subgraphUrls');
    const router = await buildRouter({
      config: readConfig({
        // RATE_LIMIT=false: the load loop below sends from 127.0.0.1 as fast as it is answered.
        PORT: '0',
        LOG_LEVEL: 'error',
        SUPERGRAPH_PATH: file,
        RATE_LIMIT: 'false',
        ...subgraphUrlEnv(urls),
      }),
    });
    try {
      await router.app.listen({ port: 0, host: '127.0.0.1' });
      const url = `http://127.0.0.1:${(router.app.server.address() as AddressInfo).port}/graphql`;
      const ask = async (q: string) => {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: q }),
        });
        return { status: response.status, body: (await response.json()) as any };
      };
      const withImage = '{ product(id: "p1") { id imageUrl } }';
      expect((await ask(withImage)).status).toBe(200);

      // A new supergraph in which products no longer offers Product.imageUrl.
      // (The first `imageUrl: String!` is Product's; the catalogue-edit inputs have fields of that name too.)
      const productType = (sdl: string) => sdl.slice(sdl.indexOf('type Product '), sdl.indexOf('\n}\n', sdl.indexOf('type Product ')));
      const sdls = readSubgraphSdls().map((s) => (s.name === 'products' ? { ...s, sdl: s.sdl.replace('  imageUrl: String!\n', '') } : s));
      expect(productType(sdls.find((s) => s.name === 'products')!.sdl)).not.toContain('imageUrl');
      const outcome = compose(sdls);
      if (!outcome.ok) throw new Error(JSON.stringify(outcome.errors));

      let stop = false;
      const failures: unknown[] = [];
      let served = 0;
      const load = (async () => {
        while (!stop) {
          const result = await ask('{ products(first: 3) { edges { node { id price(region: US) { amount } } } } }');
          served++;
          if (result.status !== 200 || result.body.errors) failures.push(result.body);
        }
      })();
      await new Promise((r) => setTimeout(r, 200));
      await writeFile(file, outcome.supergraphSdl);
      let reloaded = false;
      for (let i = 0; i < 50 && !reloaded; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const result = await ask(withImage);
        reloaded = result.status === 400 && result.body.errors?.[0]?.extensions?.code === 'GRAPHQL_VALIDATION_FAILED';
      }
      stop = true;
      await load;
      expect(reloaded).toBe(true);
      expect(served).toBeGreaterThan(0);
      expect(failures).toEqual([]);
    } finally {
      await router.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
