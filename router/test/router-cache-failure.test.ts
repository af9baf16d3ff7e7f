import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRouterCache, type RouterCacheHandle } from '../src/cache/create.ts';
import type { RouterMetrics } from '../src/metrics.ts';
import { representationsOf, startFakeSubgraph, type FakeSubgraph } from './support/fake-subgraph.ts';
import { createRouterMetrics, dataSourceFor, deleteKeys, ENTITIES, logger, product, REDIS_URL, testPrefix, total } from './support/harness.ts';
import { startRedisProxy, type RedisProxy } from './support/redis-proxy.ts';

/**
 * Redis down, paused or slow: every answer still comes from the subgraph, promptly (within a
 * bound far above the 100 ms cache timeout, far below what a hung Redis would cost), and the
 * failures are counted. Latency bounds here prove fail-open; speed is measured in bench/.
 */
const CACHE_TIMEOUT_MS = 100;
const PROMPT_MS = 1_000;

let subgraph: FakeSubgraph;
beforeAll(async () => {
  subgraph = await startFakeSubgraph((request) => ({
    body: { data: { _entities: representationsOf(request).map((r) => ({ price: Number(r.id.split('-').at(-1)) * 100 })) } },
    cacheControl: 'public, max-age=60',
  }));
});
afterAll(() => subgraph.close());

function routerOn(redisUrl: string, prefix = testPrefix()) {
  const metrics = createRouterMetrics();
  const handle = createRouterCache({ redisUrl, cacheTimeoutMs: CACHE_TIMEOUT_MS, cacheMaxEntries: 1_000, cacheKeyPrefix: prefix, logger, metrics });
  const source = dataSourceFor(subgraph.url, metrics, handle.cache);
  return { metrics, handle, source, prefix };
}

/** Runs one lookup-and-fetch and checks it was answered correctly and promptly. */
async function answered(router: ReturnType<typeof routerOn>) {
  const started = performance.now();
  const { response } = await router.source.run(ENTITIES, { representations: [product(1), product(2)] });
  const elapsed = performance.now() - started;
  expect(response.errors).toBeUndefined();
  expect(response.data?._entities).toEqual([{ price: 100 }, { price: 200 }]);
  expect(elapsed).toBeLessThan(PROMPT_MS);
}

const opened: { handle: RouterCacheHandle; source: { close(): Promise<void> } }[] = [];
afterEach(async () => {
  for (const { handle, source } of opened.splice(0)) {
    await source.close();
    await handle.close();
  }
});

describe('router cache when Redis fails', () => {
  it('answers from the subgraph and counts the errors when nothing listens at REDIS_URL', async () => {
    const router = routerOn('redis://127.0.0.1:1');
    opened.push(router);
    const before = subgraph.requests.length;
    for (let i = 0; i < 3; i++) {
      await answered(router);
      await router.handle.cache.idle();
    }
    expect(subgraph.requests.length - before).toBe(3); // nothing could be cached
    expect(await total(router.metrics.cacheErrors, { layer: 'router', type: 'read' })).toBeGreaterThanOrEqual(3);
    expect(await total(router.metrics.cacheErrors, { type: 'write' })).toBeGreaterThanOrEqual(1);
    await router.handle.cache.invalidate(['Product:p1']); // resolves, does not throw
    expect(await total(router.metrics.cacheErrors, { type: 'invalidate' })).toBe(1);
  });

  describe.runIf(REDIS_URL)('through a proxy to the real Redis', () => {
    let proxy: RedisProxy;
    let router: ReturnType<typeof routerOn>;
    beforeAll(async () => {
      proxy = await startRedisProxy(REDIS_URL!);
    });
    afterAll(async () => {
      await proxy.close();
      if (router) await deleteKeys(REDIS_URL!, router.prefix);
    });

    const hits = (metrics: RouterMetrics) => total(metrics.cacheHits, { layer: 'router' });
    /** Waits until the router serves from Redis (its client connects in the background). */
    const cachingAgain = () =>
      vi.waitFor(async () => {
        const before = await hits(router.metrics);
        await answered(router);
        await router.handle.cache.idle();
        await answered(router);
        expect(await hits(router.metrics)).toBeGreaterThan(before);
      }, { timeout: 10_000, interval: 200 });

    it('treats a paused Redis as a miss within the cache timeout, then caches again', async () => {
      router = routerOn(proxy.url);
      opened.push(router);
      await cachingAgain();

      proxy.stall();
      const errorsBefore = await total(router.metrics.cacheErrors, { type: 'read' });
      const fetchesBefore = subgraph.requests.length;
      for (let i = 0; i < 3; i++) await answered(router);
      expect(subgraph.requests.length - fetchesBefore).toBe(3);
      expect(await total(router.metrics.cacheErrors, { type: 'read' })).toBeGreaterThanOrEqual(errorsBefore + 3);

      proxy.resume();
      await cachingAgain();
    });

    it('answers while Redis is down and recovers by itself when it is back', async () => {
      router = routerOn(proxy.url, router?.prefix);
      opened.push(router);
      await cachingAgain();

      await proxy.down();
      const errorsBefore = await total(router.metrics.cacheErrors);
      for (let i = 0; i < 3; i++) await answered(router);
      expect(await total(router.metrics.cacheErrors)).toBeGreaterThan(errorsBefore);

      await proxy.up();
      await cachingAgain();
    });
  });
});
