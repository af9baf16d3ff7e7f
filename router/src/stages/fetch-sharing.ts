import { fetchKey, subgraphFetches, type InFlight, type SubgraphAnswer } from '../inflight.ts';
import type { RouterMetrics } from '../metrics.ts';
import type { FetchStage, RouterParts, Stage } from './stage.ts';

/**
 * Identical query fetches to a subgraph in flight at once (same subgraph, viewer, operation and
 * variables) share one request (SUBGRAPH_DEDUP; always with the entity cache, whose misses come
 * through here). The router's one set of in-flight fetches, for every subgraph, so a mutation to
 * any of them, or an invalidation on the bus, stops later fetches joining ones that started before.
 */
export function fetchSharing({ config, metrics, signals }: RouterParts): Stage | undefined {
  if (!config.subgraphDedup && !config.routerCache) return undefined;
  const inFlight = subgraphFetches();
  // A fetch already in flight may carry the old data: later requests must not join it.
  signals.invalidated.listen(() => inFlight.clear());
  return { name: 'fetch-sharing', fetch: sharedFetches(metrics, inFlight) };
}

/** Fetch sharing over one set of in-flight fetches (the router has one; tests may make their own). */
export function sharedFetches(metrics: RouterMetrics, inFlight: InFlight<SubgraphAnswer> = subgraphFetches()): FetchStage {
  return {
    async around(call, next) {
      if (!call.context) return next(call);
      if (call.operation !== 'query') {
        // Sent every time; once answered, later queries start afresh (one that set off before may have read what it changed).
        try {
          return await next(call);
        } finally {
          inFlight.clear();
        }
      }
      const { value, leader } = await inFlight.run(fetchKey(call.subgraph, call.context.viewer ?? null, call.request), async () => {
        const { response, cacheControl } = await next(call);
        return { response, cacheControl };
      });
      if (!leader) metrics.subgraphDedupes.inc({ subgraph: call.subgraph });
      return { ...value, shared: !leader };
    },
  };
}
