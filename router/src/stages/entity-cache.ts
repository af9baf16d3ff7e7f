import { createRouterCache } from '../cache/create.ts';
import type { RouterCache } from '../cache/router-cache.ts';
import type { FetchStage, RouterParts, Stage } from './stage.ts';

/**
 * The entity cache (cache/router-cache.ts; ROUTER_CACHE): each query fetch is answered per entity
 * from memory or Redis where it can, and only the misses are fetched. It subscribes to the
 * invalidation bus and passes every message on (signals.invalidated) to the other layers.
 */
export function entityCache(parts: RouterParts): Stage | undefined {
  const { config, log, metrics, signals } = parts;
  if (!config.routerCache) return undefined;
  const handle = createRouterCache({
    redisUrl: config.redisUrl,
    cacheTimeoutMs: config.cacheTimeoutMs,
    cacheMaxEntries: config.cacheMaxEntries,
    cacheMaxBytes: config.cacheMaxBytes,
    cacheMaxEntryBytes: config.cacheMaxEntryBytes,
    cacheKeyPrefix: config.cacheKeyPrefix,
    logger: log,
    metrics,
    onInvalidate: (tags) => signals.invalidated.emit(tags),
  });
  parts.entityCache = handle.cache;
  return { name: 'entity-cache', fetch: entityCacheFetch(handle.cache), close: () => handle.close() };
}

/** The entity cache's part in a fetch: client queries resolved through `cache`, lookups counted for Cache-Status. */
export function entityCacheFetch(cache: RouterCache): FetchStage {
  return {
    async around(call, next) {
      const context = call.context;
      if (!context) return next(call); // the gateway's own fetches
      const { response, policy, lookups } = await cache.resolve({
        subgraph: call.subgraph,
        request: call.request,
        document: call.document,
        viewer: context.viewer ?? null,
        fetch: (request) => next({ ...call, request }),
      });
      if (lookups && context.cacheStatus) {
        const entity = (context.cacheStatus.entity ??= { hits: 0, misses: 0 });
        entity.hits += lookups.hits;
        entity.misses += lookups.misses;
      }
      return { response, cacheControl: null, policy };
    },
  };
}
