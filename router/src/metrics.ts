import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createRouterMetrics() {
  const registry = new Registry();
  registry.setDefaultLabels({ service: 'router' });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
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
    supergraphLoads: new Counter({
      name: 'supergraph_loads_total',
      help: 'Times the supergraph was loaded or reloaded',
      registers: [registry],
    }),
  };
}

export type RouterMetrics = ReturnType<typeof createRouterMetrics>;
