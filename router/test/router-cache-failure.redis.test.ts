import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RouterMetrics } from '../src/metrics.ts';
import { answered, closeOpened, opened, routerOn, startPriceSubgraph } from './support/cache-failure.ts';
import type { FakeSubgraph } from './support/fake-subgraph.ts';
import { deleteKeys, total } from './support/harness.ts';
import {
  freePort,
  type RedisClusterProcess,
  redisProxy,
  type RedisProxy,
  requireTestRedis,
  startRedisCluster,
} from '@shop/platform/testing';
import { redisTarget } from '@shop/platform';

/**
 * Redis paused or down (behind a proxy to the real Redis; on a cluster run, a cluster of the file's
 * own paused): every answer still comes from the subgraph, promptly, the failures are counted, and
 * caching resumes by itself. Real-services tier only: the case that needs no Redis is in
 * router-cache-failure.test.ts.
 */
const testRedis = requireTestRedis();

let subgraph: FakeSubgraph;
beforeAll(async () => {
  subgraph = await startPriceSubgraph();
});
afterAll(() => subgraph.close());
afterEach(closeOpened);

const hits = (metrics: RouterMetrics) => total(metrics.cacheHits, { layer: 'router' });
/** Waits until `router` serves from Redis (its client connects in the background). */
const servingFromRedis = (router: ReturnType<typeof routerOn>) =>
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

describe('router cache when Redis fails', () => {
  it('caches entities whose keys span slots, and answers from the subgraph when no node answers', async () => {
    // The tier's Redis (on a cluster run, entities of one fetch on several slots and primaries).
    const live = routerOn(subgraph, testRedis.target);
    opened.push(live);
    await servingFromRedis(live);
    await deleteKeys(testRedis.target, live.prefix);

    // The same kind of Redis (single or cluster) at an address where nothing listens.
    const nowhere = routerOn(subgraph, redisTarget([`redis://127.0.0.1:${await freePort()}`], testRedis.cluster));
    opened.push(nowhere);
    const fetchesBefore = subgraph.requests.length;
    for (let i = 0; i < 3; i++) await answered(nowhere);
    expect(subgraph.requests.length - fetchesBefore).toBe(3);
    expect(await total(nowhere.metrics.cacheErrors, { type: 'read' })).toBeGreaterThanOrEqual(3);
  });

  // Single Redis only (the `unit-redis` project): the proxy stands in front of one node, and a
  // cluster client learns every node's own address from the cluster and would go around it.
  if (!testRedis.cluster)
    describe('through a proxy to the real Redis', () => {
      let proxy: RedisProxy;
      let router: ReturnType<typeof routerOn>;
      beforeAll(async () => {
        proxy = await redisProxy(testRedis.target);
      });
      afterAll(async () => {
        await proxy.close();
        if (router) await deleteKeys(testRedis.target, router.prefix);
      });

      const cachingAgain = () => servingFromRedis(router);

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

  // Cluster only (the `unit-redis-cluster` project, which has redis-server): in place of the proxy,
  // a cluster of this file's own whose every node is stopped and continued (SIGSTOP / SIGCONT).
  if (testRedis.cluster)
    describe('on a Redis Cluster of its own', () => {
      let cluster: RedisClusterProcess;
      beforeAll(async () => {
        cluster = await startRedisCluster(3);
      });
      afterAll(() => cluster?.close());

      it('treats a paused cluster as a miss within the cache timeout, then caches again', async () => {
        const router = routerOn(subgraph, cluster.target);
        opened.push(router);
        await servingFromRedis(router);

        cluster.pause();
        try {
          const errorsBefore = await total(router.metrics.cacheErrors, { type: 'read' });
          const fetchesBefore = subgraph.requests.length;
          for (let i = 0; i < 3; i++) await answered(router);
          expect(subgraph.requests.length - fetchesBefore).toBe(3);
          expect(await total(router.metrics.cacheErrors, { type: 'read' })).toBeGreaterThanOrEqual(errorsBefore + 3);
        } finally {
          cluster.resume();
        }
        await servingFromRedis(router);
      });
    });
});
