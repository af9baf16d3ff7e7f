import type { ApolloServerPlugin } from '@apollo/server';
import type { FastifyRequest } from 'fastify';
import { tagsOf } from '../cache/keys.ts';
import { ListedEntityTypes } from '../cache/listed-types.ts';
import { ResponseCache } from '../cache/response-cache.ts';
import type { ResponseCacheState, RouterContext } from '../context.ts';
import { keyedRequest } from '../request-key.ts';
import { cacheStatusOf } from './cache-status.ts';
import { answeredEarly } from './metrics.ts';
import type { RouterParts, Stage } from './stage.ts';

/**
 * The whole-response cache (cache/response-cache.ts; RESPONSE_CACHE, only with ROUTER_CACHE): a
 * query answered before is answered in the route's preHandler, before parsing, planning or any
 * fetch. Each fetch adds the tags of what it asked about and got back, so the bus drops the
 * responses that showed them; a new supergraph or new trusted documents drop everything.
 */
export function responseCache({ config, metrics, viewerOf, signals }: RouterParts): Stage | undefined {
  if (!config.routerCache || !config.responseCache) return undefined;
  const cache = new ResponseCache({
    maxEntries: config.responseCacheMaxEntries,
    maxBytes: config.responseCacheMaxBytes,
    maxEntryBytes: config.cacheMaxEntryBytes,
    metrics,
  });
  // The entity types each client operation can list, and where each fetch's entities sit (see
  // `fetch` below), against the supergraph the gateway loaded last.
  const listedTypes = new ListedEntityTypes();
  signals.invalidated.listen((tags) => cache.invalidate(tags));
  signals.schemaChanged.listen((supergraphSdl) => {
    listedTypes.setSupergraph(supergraphSdl);
    cache.clear();
  });
  signals.documentsChanged.listen(() => cache.clear());
  const states = new WeakMap<FastifyRequest, ResponseCacheState>();
  return {
    name: 'response-cache',
    async preHandler(request, reply) {
      const keyed = await keyedRequest(request, viewerOf);
      if (!keyed) return;
      states.set(request, {
        key: keyed.key,
        generation: cache.currentGeneration,
        viewer: keyed.viewer,
        startedAt: ResponseCache.now(),
        tags: new Set(),
      });
      const status = cacheStatusOf(request);
      status.response = 'miss';
      if (!(await cache.serve(keyed.key, keyed.viewer, reply, () => (status.response = 'hit')))) return;
      return answeredEarly(metrics, request, reply, keyed.client);
    },
    context: (request) => ({ responseCache: states.get(request) }),
    apollo: {
      plugins: [
        cache.plugin(),
        listedTypesPlugin(listedTypes),
        {
          // Only queries are ever stored: for anything else the lookup was no lookup at all.
          requestDidStart: async () => ({
            willSendResponse: async ({
              contextValue,
              operation,
            }: {
              contextValue: RouterContext;
              operation?: { operation: string } | null;
            }) => {
              if (contextValue.cacheStatus && operation?.operation !== 'query') contextValue.cacheStatus.response = 'bypass';
            },
          }),
        },
      ],
    },
    fetch: {
      async around(call, next) {
        const result = await next(call);
        const tags = call.context?.responseCache?.tags;
        if (tags) {
          const representations = call.request.variables?.representations;
          const entities = Array.isArray(representations);
          tagsOf(representations, tags);
          // Lists from root-field fetches also tag the response with their entities' bare types (a
          // product created or discontinued drops the listings and searches); `_entities` answers do not.
          tagsOf(result.response.data, tags, { collections: !entities });
          // A root-field fetch's entities are tagged where its selection puts them, `__typename` or
          // not (`product(id:) { id name }`); an `_entities` answer's are named by its representations.
          const query = call.request.query;
          if (!entities && query) listedTypes.tagData(result.response.data, query, undefined, call.document, tags);
        }
        return result;
      },
    },
    close: () => cache.close(),
  };
}

/**
 * Tags a query's response with every entity type its operation can list (cache/listed-types.ts),
 * whatever the fetches bring back: an empty search or a page without `__typename` is dropped by a
 * bare `Product` (a product created) as a full one is. Once the operation is resolved, before any fetch.
 */
function listedTypesPlugin(listedTypes: ListedEntityTypes): ApolloServerPlugin<RouterContext> {
  return {
    requestDidStart: async () => ({
      didResolveOperation: async ({ contextValue, source, document, operation }) => {
        const tags = contextValue.responseCache?.tags;
        if (!tags || operation?.operation !== 'query') return;
        for (const type of listedTypes.of(source, operation.name?.value, document)) tags.add(type);
      },
    }),
  };
}
