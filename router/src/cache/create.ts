import { type EventStream, openInvalidationBus } from '@shop/events';
import { createInvalidationBus, createRedis, type InvalidationBus, invalidationChannel, type Logger } from '@shop/platform';
import type { RouterMetrics } from '../metrics.ts';
import type { ListedEntityTypes } from './listed-types.ts';
import { MemoryStorage } from './memory-storage.ts';
import { RedisStorage } from './redis-storage.ts';
import { RouterCache } from './router-cache.ts';
import type { SkipReason } from './sizes.ts';
import type { CacheStorage } from './storage.ts';

export interface RouterCacheSettings {
  /** Redis for entries and the bus; without it, memory and the in-process bus. */
  redisUrl: string | undefined;
  cacheTimeoutMs: number;
  cacheMaxEntries: number;
  /** Byte bound of the in-memory store (see memory-storage.ts). */
  cacheMaxBytes: number;
  /** Largest entry written, to memory or Redis. */
  cacheMaxEntryBytes: number;
  cacheKeyPrefix: string;
  logger: Logger;
  metrics: RouterMetrics;
  /**
   * The event stream the router opened (stages/entity-cache.ts): on JetStream the caches follow it,
   * so a replica that was disconnected catches up from its last position; otherwise (the in-process
   * stream) the Redis or in-process bus as before. Unset (tests of the cache alone): that bus.
   */
  stream?: EventStream | undefined;
  /** The entity types root-field fetches can list, tagged whatever their data (see RouterCacheOptions). */
  listedTypes?: ListedEntityTypes | undefined;
  /** Whatever else drops what the bus names (the whole-response cache, fetch sharing); awaited with the cache. */
  onInvalidate?: ((tags: readonly string[]) => Promise<unknown>) | undefined;
}

export interface RouterCacheHandle {
  cache: RouterCache;
  /** Leaves the bus, lets pending writes settle and disconnects. */
  close(): Promise<void>;
}

/** The router cache on its storage, subscribed to the invalidation bus (over the event stream on JetStream). */
export function createRouterCache(settings: RouterCacheSettings): RouterCacheHandle {
  const { redisUrl, cacheTimeoutMs, logger, metrics } = settings;
  const onSkip = (reason: SkipReason) => metrics.cacheSkips.inc({ layer: 'router', type: 'entity', reason });
  const storage: CacheStorage = redisUrl
    ? // `within` bounds every call by cacheTimeoutMs; ioredis's own timeout only reaps commands that never answer.
      new RedisStorage(createRedis(redisUrl, { logger, commandTimeoutMs: 5_000 }), {
        prefix: `${settings.cacheKeyPrefix}rc:`,
        timeoutMs: cacheTimeoutMs,
        maxEntryBytes: settings.cacheMaxEntryBytes,
        onError: (operation) => metrics.cacheErrors.inc({ layer: 'router', type: operation }),
        onSkip,
      })
    : new MemoryStorage({
        maxEntries: settings.cacheMaxEntries,
        maxBytes: settings.cacheMaxBytes,
        maxEntryBytes: settings.cacheMaxEntryBytes,
        onSkip,
      });
  const cache = new RouterCache({ storage, metrics, listedTypes: settings.listedTypes });
  // The same channel the subgraphs publish on; returning the promise lets an in-process publish
  // wait until this cache has dropped the entries (read-your-writes under `npm start`).
  const channel = invalidationChannel(settings.cacheKeyPrefix);
  const bus: InvalidationBus = settings.stream
    ? openInvalidationBus({ stream: settings.stream, redisUrl, channel, logger, metrics: metrics.events })
    : createInvalidationBus({ redisUrl, logger, channel });
  // ALL_TAGS (['*']: the follower found events missing that the stream no longer holds) reaches
  // every layer as it is: each drops everything (RouterCache.invalidate, ResponseCache.invalidate;
  // fetch sharing forgets every fetch in flight on any invalidation).
  const unsubscribe = bus.subscribe(async (tags) => {
    await Promise.all([cache.invalidate(tags), settings.onInvalidate?.(tags)]);
  });
  return {
    cache,
    async close() {
      unsubscribe();
      await bus.close();
      await cache.close();
    },
  };
}
