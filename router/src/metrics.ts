import { createEventMetrics } from '@shop/events';
import { operationClientLabels } from '@shop/platform';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createRouterMetrics() {
  const registry = new Registry();
  registry.setDefaultLabels({ service: 'router' });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    // Operation and client names come from clients: every `operation` and `client` label value goes
    // through these, so the number of series stays bounded (see metric-labels.ts in @shop/platform).
    labels: operationClientLabels(),
    requests: new Counter({
      name: 'graphql_requests_total',
      help: 'GraphQL requests by operation name, client and outcome',
      labelNames: ['operation', 'client', 'status'] as const,
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: 'graphql_request_duration_seconds',
      help: 'GraphQL request latency at the router',
      labelNames: ['operation', 'client'] as const,
      buckets: [0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    requestDedupes: new Counter({
      name: 'graphql_request_dedupes_total',
      help: 'Requests answered with the response of an identical request that was in flight',
      registers: [registry],
    }),
    subgraphFetches: new Counter({
      name: 'subgraph_fetches_total',
      help: 'Fetches the router made to subgraphs, by outcome',
      labelNames: ['subgraph', 'outcome'] as const,
      registers: [registry],
    }),
    subgraphFetchDuration: new Histogram({
      name: 'subgraph_fetch_duration_seconds',
      help: 'Latency of subgraph fetches',
      labelNames: ['subgraph'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    subgraphDedupes: new Counter({
      name: 'subgraph_fetch_dedupes_total',
      help: 'Subgraph fetches not sent because an identical one was in flight (its answer was shared)',
      labelNames: ['subgraph'] as const,
      registers: [registry],
    }),
    subgraphCircuitState: new Gauge({
      name: 'subgraph_circuit_state',
      help: 'Circuit breaker state per subgraph: 0 closed, 1 open, 2 half-open',
      labelNames: ['subgraph'] as const,
      registers: [registry],
    }),
    subgraphCircuitOpens: new Counter({
      name: 'subgraph_circuit_open_total',
      help: 'Times a subgraph circuit opened (from closed, or a failed half-open probe)',
      labelNames: ['subgraph'] as const,
      registers: [registry],
    }),
    // Cache counters carry `layer` so router and subgraph series line up on one dashboard. `type`
    // is the entity typename, `root:<subgraph>` for root-field fetches, the tag's type for
    // invalidations, and the failed operation (read, write, invalidate) for errors.
    cacheHits: new Counter({
      name: 'cache_hits_total',
      help: 'Entities and root fetches served from the cache',
      labelNames: ['layer', 'type'] as const,
      registers: [registry],
    }),
    cacheMisses: new Counter({
      name: 'cache_misses_total',
      help: 'Entities and root fetches the cache did not have',
      labelNames: ['layer', 'type'] as const,
      registers: [registry],
    }),
    cacheDedupes: new Counter({
      name: 'cache_dedupes_total',
      help: 'Subgraph fetches saved by joining an identical fetch already in flight',
      labelNames: ['layer', 'type'] as const,
      registers: [registry],
    }),
    cacheErrors: new Counter({
      name: 'cache_errors_total',
      help: 'Cache calls that failed or timed out (the request carried on without the cache)',
      labelNames: ['layer', 'type'] as const,
      registers: [registry],
    }),
    cacheInvalidations: new Counter({
      name: 'cache_invalidations_total',
      help: 'Invalidation tags received from the bus',
      labelNames: ['layer', 'type'] as const,
      registers: [registry],
    }),
    // `type`: the store (entity, response, apq); `reason`: too_large, an entry over its per-entry maximum.
    cacheSkips: new Counter({
      name: 'cache_entries_skipped_total',
      help: 'Writes a cache did not store, by store and reason',
      labelNames: ['layer', 'type', 'reason'] as const,
      registers: [registry],
    }),
    // Outcomes are events, not a partition: an APQ registration from a log_unknown client outside
    // its manifest counts as `registered` and as `unknown_logged`.
    persistedQueryRequests: new Counter({
      name: 'persisted_query_requests_total',
      help: 'Persisted query outcomes by client: hit, registered, not_found, not_in_list, unknown_logged',
      labelNames: ['client', 'outcome'] as const,
      registers: [registry],
    }),
    persistedQueryUnknown: new Counter({
      name: 'persisted_query_unknown_total',
      help: 'Operations run for a log_unknown client that are not in its persisted query manifest',
      labelNames: ['client'] as const,
      registers: [registry],
    }),
    persistedQueryManifestLoads: new Counter({
      name: 'persisted_query_manifest_loads_total',
      help: 'Times the client persisted query manifests were loaded or reloaded',
      registers: [registry],
    }),
    // Demand control's estimate (see demand-control.ts), refused operations included.
    operationCost: new Histogram({
      name: 'graphql_operation_estimated_cost',
      help: 'Estimated cost of each GraphQL operation (from @cost and @listSize), before it runs',
      labelNames: ['operation', 'client'] as const,
      buckets: [1, 10, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 100_000],
      registers: [registry],
    }),
    supergraphLoads: new Counter({
      name: 'supergraph_loads_total',
      help: 'Times the supergraph was loaded or reloaded',
      registers: [registry],
    }),
    // Requests refused with 429 by the per-client rate limit, by what they were keyed on (a signed-in
    // user, else the client IP). Redis failures of the limiter (which then lets requests through)
    // count in cache_errors_total{layer="router",type="rate_limit"}, beside the caches' own.
    rateLimitRejections: new Counter({
      name: 'rate_limit_rejections_total',
      help: 'Requests refused with 429 by the rate limits, by bucket (user, ip, ip_ceiling, sign_in, sign_up)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    // The event stream's metrics (packages/events/src/metrics.ts); the router's caches follow the
    // stream, so events_followed_total and events_follow_gaps_total are the ones it moves.
    events: createEventMetrics(registry),
    // Subscriptions (subscriptions/): what is open, what each event cost, and what was refused or cut.
    subscriptionConnections: new Gauge({
      name: 'subscription_connections',
      help: 'Open subscription connections by transport (ws, sse)',
      labelNames: ['transport'] as const,
      registers: [registry],
    }),
    subscriptionsActive: new Gauge({
      name: 'subscriptions_active',
      help: 'Subscription operations running, by root field',
      labelNames: ['field'] as const,
      registers: [registry],
    }),
    subscriptionResults: new Counter({
      name: 'subscription_results_total',
      help: 'Results sent to subscribers, by how they were resolved: executed, shared (another subscriber asked the same at the same event) or error',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    subscriptionRefusals: new Counter({
      name: 'subscription_refusals_total',
      help: 'Subscription connections or operations refused or cut, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    subscriptionDelivery: new Histogram({
      name: 'subscription_delivery_seconds',
      help: 'From an event occurring to its result being written to a subscriber',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
}

export type RouterMetrics = ReturnType<typeof createRouterMetrics>;
