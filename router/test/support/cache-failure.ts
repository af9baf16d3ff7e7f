import { expect } from 'vitest';
import { createRouterCache, type RouterCacheHandle } from '../../src/cache/create.ts';
import { representationsOf, startFakeSubgraph, type FakeSubgraph } from './fake-subgraph.ts';
import { createRouterMetrics, dataSourceFor, ENTITIES, logger, product, testPrefix } from './harness.ts';

/**
 * Shared by router-cache.test.ts, router-cache-failure.test.ts and router-cache-failure.redis.test.ts: a router cache
 * in front of a fake subgraph, and the check that an answer came from it correctly and promptly.
 */
const CACHE_TIMEOUT_MS = 100;
const PROMPT_MS = 1_000;

/** A subgraph answering each product's price (100 × its number), cacheable for a minute. */
export const startPriceSubgraph = () =>
  startFakeSubgraph((request) => ({
    body: { data: { _entities: representationsOf(request).map((r) => ({ price: Number(r.id.split('-').at(-1)) * 100 })) } },
    cacheControl: 'public, max-age=60',
  }));

export function routerOn(subgraph: FakeSubgraph, redisUrl: string | undefined, prefix = testPrefix()) {
  const metrics = createRouterMetrics();
  const handle = createRouterCache({
    redisUrl,
    cacheTimeoutMs: CACHE_TIMEOUT_MS,
    cacheMaxEntries: 1_000,
    cacheMaxBytes: 64 * 1024 * 1024,
    cacheMaxEntryBytes: 1024 * 1024,
    cacheKeyPrefix: prefix,
    logger,
    metrics,
  });
  const source = dataSourceFor(subgraph.url, metrics, handle.cache);
  return { metrics, handle, source, prefix };
}

/** Runs one lookup-and-fetch and checks it was answered correctly and promptly. */
export async function answered(router: ReturnType<typeof routerOn>) {
  const started = performance.now();
  const { response } = await router.source.run(ENTITIES, { representations: [product(1), product(2)] });
  const elapsed = performance.now() - started;
  expect(response.errors).toBeUndefined();
  expect(response.data?._entities).toEqual([{ price: 100 }, { price: 200 }]);
  expect(elapsed).toBeLessThan(PROMPT_MS);
}

/** Routers a test opened; `closeOpened` (after each test) closes them. */
export const opened: { handle: RouterCacheHandle; source: { close(): Promise<void> } }[] = [];
export async function closeOpened() {
  for (const { handle, source } of opened.splice(0)) {
    await source.close();
    await handle.close();
  }
}
