import { createRouterCache } from '../cache/create.ts';
import { ListedEntityTypes } from '../cache/listed-types.ts';
import type { RouterCache } from '../cache/router-cache.ts';
import type { FetchStage, RouterParts, Stage } from './stage.ts';

/**
 * The entity cache (cache/router-cache.ts; ROUTER_CACHE): each query fetch is answered per entity
 * from memory or Redis where it can, and only the misses are fetched. It subscribes to the
 * invalidation bus (the event stream when it is JetStream) and passes every message on
 * (signals.invalidated) to the other layers, ALL_TAGS included.
 */
export async function entityCache(parts: RouterParts): Promise<Stage | undefined> {
  const { config, log, metrics, signals } = parts;
  if (!config.routerCache) return undefined;
  // The caches' invalidations ride the event stream (NATS_URL: JetStream; otherwise in-process, and
  // the bus stays Redis pub/sub or in-process), opened by buildRouter.
  const stream = parts.stream;
  if (!stream) throw new Error('the entity cache needs the event stream');
  // What each root-field fetch can list, read against the supergraph the gateway loaded last.
  const listedTypes = new ListedEntityTypes();
  signals.schemaChanged.listen((supergraphSdl) => listedTypes.setSupergraph(supergraphSdl));
  const handle = createRouterCache({
    stream,
    redisUrl: config.redisUrl,
    cacheTimeoutMs: config.cacheTimeoutMs,
    cacheMaxEntries: config.cacheMaxEntries,
    cacheMaxBytes: config.cacheMaxBytes,
    cacheMaxEntryBytes: config.cacheMaxEntryBytes,
    cacheKeyPrefix: config.cacheKeyPrefix,
    logger: log,
    metrics,
    listedTypes,
    onInvalidate: (tags) => signals.invalidated.emit(tags),
  });
  parts.entityCache = handle.cache;
  return {
    name: 'entity-cache',
    fetch: entityCacheFetch(handle.cache),
    async close() {
      await handle.close(); // stops following
    },
  };
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
