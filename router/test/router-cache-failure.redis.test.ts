import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RouterMetrics } from '../src/metrics.ts';
import { answered, closeOpened, opened, routerOn, startPriceSubgraph } from './support/cache-failure.ts';
import type { FakeSubgraph } from './support/fake-subgraph.ts';
import { deleteKeys, total } from './support/harness.ts';
import { redisProxy, type RedisProxy } from '@shop/platform/testing';

/**
 * Redis paused or down behind a proxy to the real Redis: every answer still comes from the
 * subgraph, promptly, the failures are counted, and caching resumes by itself. Real-services
 * tier only: the case that needs no Redis is in router-cache-failure.test.ts.
 */
const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL) throw new Error('REDIS_URL must be set: run these with npm run test:services');

let subgraph: FakeSubgraph;
beforeAll(async () => {
  subgraph = await startPriceSubgraph();
});
afterAll(() => subgraph.close());
afterEach(closeOpened);

describe('router cache when Redis fails', () => {
  describe('through a proxy to the real Redis', () => {
    let proxy: RedisProxy;
    let router: ReturnType<typeof routerOn>;
    beforeAll(async () => {
      proxy = await redisProxy(REDIS_URL);
    });
    afterAll(async () => {
      await proxy.close();
      if (router) await deleteKeys(REDIS_URL, router.prefix);
    });

    const hits = (metrics: RouterMetrics) => total(metrics.cacheHits, { layer: 'router' });
    /** Waits until the router serves from Redis (its client connects in the background). */
    const cachingAgain = () =>
      vi.waitFor(
        async () => {
          const before = await hits(router.metrics);
          await answered(router);
          await router.handle.cache.idle();
          await answered(router);
          expect(await hits(router.metrics)).toBeGreaterThan(before);
        },
        { timeout: 10_000, interval: 200 },
      );

    it('treats a paused Redis as a miss within the cache timeout, then caches again', async () => {
      router = routerOn(subgraph, proxy.url);
      opened.push(router);
      await cachingAgain();

      proxy.pause();
      const errorsBefore = await total(router.metrics.cacheErrors, { type: 'read' });
      const fetchesBefore = subgraph.requests.length;
      for (let i = 0; i < 3; i++) await answered(router);
      expect(subgraph.requests.length - fetchesBefore).toBe(3);
      expect(await total(router.metrics.cacheErrors, { type: 'read' })).toBeGreaterThanOrEqual(errorsBefore + 3);

      proxy.resume();
      await cachingAgain();
    });

    it('answers while Redis is down and recovers by itself when it is back', async () => {
      router = routerOn(subgraph, proxy.url, router?.prefix);
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
