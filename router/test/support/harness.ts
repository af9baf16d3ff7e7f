import { randomBytes } from 'node:crypto';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Counter } from 'prom-client';
import { createLogger, createRedis, parseRedisTarget, type Viewer } from '@shop/platform';
import { requireTestRedis, testRedis } from '@shop/platform/testing';
import { MemoryStorage } from '../../src/cache/memory-storage.ts';
import { ResponseCachePolicy } from '../../src/cache/policy.ts';
import { RedisStorage } from '../../src/cache/redis-storage.ts';
import { RouterCache } from '../../src/cache/router-cache.ts';
import type { CacheStorage } from '../../src/cache/storage.ts';
import type { RouterContext } from '../../src/context.ts';
import { SubgraphDataSource } from '../../src/datasource.ts';
import { createFetcher } from '../../src/fetcher.ts';
import { createRouterMetrics, type RouterMetrics } from '../../src/metrics.ts';
import { cacheControl } from '../../src/stages/cache-control.ts';
import { entityCacheFetch } from '../../src/stages/entity-cache.ts';
import { namedFetchErrors } from '../../src/stages/errors.ts';
import { sharedFetches } from '../../src/stages/fetch-sharing.ts';
import { measuredFetches } from '../../src/stages/metrics.ts';
import type { RouterParts } from '../../src/stages/stage.ts';
import { viewer } from '../../src/stages/viewer.ts';

export const logger = createLogger('router-test', 'silent');

/**
 * Set by CI for the real-services tier; the Redis cases run only then. As createRedis takes it
 * (a Redis Cluster's seed nodes with REDIS_CLUSTER=true: see testRedis).
 */
export const REDIS_URL = testRedis()?.target;

/** A key prefix of this run's own, so parallel runs on one Redis never touch each other's keys. */
export const testPrefix = () => `test:rc:${randomBytes(6).toString('hex')}:`;

/** Ids unique to this run: tags published on the shared bus must not drop anyone else's entries. */
const run = randomBytes(3).toString('hex');
export const productId = (n: number) => `p${run}-${n}`;

export const ENTITIES =
  'query Listing__pricing__1($representations:[_Any!]!){_entities(representations:$representations){...on Product{price}}}';
export const product = (n: number) => ({ __typename: 'Product', id: productId(n) });

/** Sum of a counter's series, optionally only those whose labels match. */
export async function total(counter: Counter<string>, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await counter.get();
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0);
}

/** Storage that counts round trips, to prove a lookup is one read. */
export class CountingStorage implements CacheStorage {
  reads = 0;
  constructor(readonly inner: CacheStorage) {}
  getMany(keys: readonly string[]) {
    this.reads++;
    return this.inner.getMany(keys);
  }
  setMany(...args: Parameters<CacheStorage['setMany']>) {
    return this.inner.setMany(...args);
  }
  invalidate(tags: readonly string[]) {
    return this.inner.invalidate(tags);
  }
  clear() {
    return this.inner.clear();
  }
  close() {
    return this.inner.close();
  }
}

export function storageFor(redisUrl: string | undefined, metrics: RouterMetrics, prefix: string, timeoutMs = 100): CacheStorage {
  if (!redisUrl) return new MemoryStorage({ maxEntries: 1_000, maxBytes: 64 * 1024 * 1024, maxEntryBytes: 1024 * 1024 });
  return new RedisStorage(createRedis(redisUrl, { logger, commandTimeoutMs: timeoutMs }), {
    prefix,
    timeoutMs,
    maxEntryBytes: 1024 * 1024,
    onError: (operation) => metrics.cacheErrors.inc({ layer: 'router', type: operation }),
  });
}

/** Deletes this run's keys, on every node of a cluster (never FLUSHDB: the Redis is shared). */
export async function deleteKeys(target: string, prefix: string): Promise<void> {
  const { urls, cluster } = parseRedisTarget(target);
  await requireTestRedis({ REDIS_URL: urls.join(','), REDIS_CLUSTER: String(cluster) }).deleteMatching(`${prefix}*`);
}

/**
 * A data source over a subgraph URL, the way the gateway drives it for client operations: the
 * pipeline's fetch chain as the router builds it (with a cache: the entity cache and the fetch
 * sharing its misses go through).
 */
export function dataSourceFor(url: string, metrics: RouterMetrics, cache: RouterCache | undefined, subgraph = 'pricing') {
  const { fetcher, close } = createFetcher({ timeoutMs: 5_000, maxResponseBytes: 16 * 1024 ** 2 });
  const identity = viewer({ config: { routerSecret: undefined } } as RouterParts).fetch!;
  const stages = [
    identity,
    cacheControl().fetch!,
    namedFetchErrors,
    ...(cache ? [entityCacheFetch(cache), sharedFetches(metrics)] : []),
    measuredFetches(metrics),
  ];
  const source = new SubgraphDataSource({ subgraph, url, fetcher, stages });
  return {
    source,
    close,
    /** One fetch; returns the response and the Cache-Control the client would get for it alone. */
    async run(query: string, variables: Record<string, unknown> = {}, viewer: Viewer | null = null) {
      const context: RouterContext = { viewer, requestId: 'test', clientName: 'test', cachePolicy: new ResponseCachePolicy() };
      const options = { kind: 'incoming operation', request: { query, variables }, context, incomingRequestContext: {} };
      const response = await source.process(options as unknown as GraphQLDataSourceProcessOptions<RouterContext>);
      return { response, cacheControl: context.cachePolicy.header() };
    },
  };
}

export { createRouterMetrics, RouterCache };
