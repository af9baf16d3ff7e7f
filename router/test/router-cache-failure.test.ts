import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { answered, closeOpened, opened, routerOn, startPriceSubgraph } from './support/cache-failure.ts';
import type { FakeSubgraph } from './support/fake-subgraph.ts';
import { total } from './support/harness.ts';

/**
 * Redis down, paused or slow: every answer still comes from the subgraph, promptly (within a
 * bound far above the 100 ms cache timeout, far below what a hung Redis would cost), and the
 * failures are counted. Latency bounds here prove fail-open; speed is measured in bench/.
 * The cases going through a proxy to a real Redis are in router-cache-failure.redis.test.ts
 * (real-services tier).
 */
let subgraph: FakeSubgraph;
beforeAll(async () => {
  subgraph = await startPriceSubgraph();
});
afterAll(() => subgraph.close());
afterEach(closeOpened);

describe('router cache when Redis fails', () => {
  it('answers from the subgraph and counts the errors when nothing listens at REDIS_URL', async () => {
    const router = routerOn(subgraph, 'redis://127.0.0.1:1');
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
});
