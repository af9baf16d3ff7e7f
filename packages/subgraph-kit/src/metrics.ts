import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { type CacheMetrics, createCacheMetrics } from '@shop/platform';
import type { PoolStats } from './db.ts';

/**
 * One registry per service rather than prom-client's global one: `npm start` runs all five
 * subgraphs in one process and each must report its own `db_queries_total`.
 */
export interface ServiceMetrics {
  registry: Registry;
  /** Every statement a request sent, by the server it went to (`primary`, or the read `replica`: replica.ts). */
  dbQueries: Counter<'server'>;
  /** Statements of the service's own background work (relay, gauges, consumers): see background.ts. */
  dbBackgroundQueries: Counter<'server'>;
  /** Statements the read replica failed to serve, run on the primary instead (replica.ts). */
  dbReplicaFallbacks: Counter;
  requests: Counter<'operation' | 'status'>;
  requestDuration: Histogram<'operation'>;
  cache: CacheMetrics;
  /**
   * Reports `db_pool_connections{state="total|idle|waiting"}` from `stats`, read at scrape time
   * (the subgraph shell points it at its database).
   */
  watchPool(stats: () => PoolStats): void;
  /** A counter of the subgraph's own, on this registry (so it shows on `/metrics`). */
  counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L>;
}

export function createServiceMetrics(service: string, { defaults = true } = {}): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  // Default metrics include nodejs_eventloop_lag_seconds (and _p50/_p90/_p99, _min, _max, _mean).
  if (defaults) collectDefaultMetrics({ register: registry });
  let poolStats: (() => PoolStats) | undefined;
  new Gauge({
    name: 'db_pool_connections',
    help: 'Database connections by state: total open, idle, and callers waiting for one (embedded PGlite: one connection)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      if (!poolStats) return;
      const { total, idle, waiting } = poolStats();
      this.set({ state: 'total' }, total);
      this.set({ state: 'idle' }, idle);
      this.set({ state: 'waiting' }, waiting);
    },
  });
  return {
    registry,
    dbQueries: new Counter({
      name: 'db_queries_total',
      help: 'SQL statements sent to the database, by server (primary, or the read replica)',
      labelNames: ['server'],
      registers: [registry],
    }),
    dbBackgroundQueries: new Counter({
      name: 'db_background_queries_total',
      help: 'SQL statements of background work (outbox relay, event consumers, scrape-time gauges), not in db_queries_total, by server',
      labelNames: ['server'],
      registers: [registry],
    }),
    dbReplicaFallbacks: new Counter({
      name: 'db_replica_fallbacks_total',
      help: 'Statements the read replica could not serve (down, hung, starting up), run on the primary instead',
      registers: [registry],
    }),
    counter: (name, help, labelNames) => new Counter({ name, help, labelNames, registers: [registry] }),
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
    cache: createCacheMetrics(registry),
    watchPool(stats) {
      poolStats = stats;
    },
  };
}
