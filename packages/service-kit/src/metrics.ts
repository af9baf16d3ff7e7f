import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One registry per service rather than prom-client's global one: `npm start` runs all five
 * subgraphs in one process and each must report its own `db_queries_total`.
 */
export interface ServiceMetrics {
  registry: Registry;
  dbQueries: Counter;
  requests: Counter<'operation' | 'status'>;
  requestDuration: Histogram<'operation'>;
}

export function createServiceMetrics(service: string, { defaults = true } = {}): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (defaults) collectDefaultMetrics({ register: registry });
  return {
    registry,
    dbQueries: new Counter({ name: 'db_queries_total', help: 'SQL statements sent to the database', registers: [registry] }),
    requests: new Counter({
      name: 'graphql_requests_total',
      help: 'GraphQL requests served, by operation name and outcome',
      labelNames: ['operation', 'status'],
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: 'graphql_request_duration_seconds',
      help: 'GraphQL request latency',
      labelNames: ['operation'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
  };
}
