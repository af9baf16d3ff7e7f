import { Counter, type Registry } from 'prom-client';

/**
 * Cache counters, labelled by layer (`subgraph`, `router`) and by what was cached: `Type.field`
 * for lookups, the tag's type (`Product`) for invalidations.
 */
export interface CacheMetrics {
  hits: Counter<'layer' | 'type'>;
  misses: Counter<'layer' | 'type'>;
  /** Lookups or writes the cache could not do (Redis down, slow or refusing); the request went on without it. */
  errors: Counter<'layer' | 'type'>;
  /** Tags received from the invalidation bus. */
  invalidations: Counter<'layer' | 'type'>;
  /** Values not stored, by field and reason (`too_large`: over the per-entry maximum). */
  skipped: Counter<'layer' | 'type' | 'reason'>;
}

export function createCacheMetrics(registry: Registry): CacheMetrics {
  const counter = (name: string, help: string) => new Counter({ name, help, labelNames: ['layer', 'type'], registers: [registry] });
  return {
    hits: counter('cache_hits_total', 'Cache lookups answered from the cache'),
    misses: counter('cache_misses_total', 'Cache lookups that had to be resolved'),
    errors: counter('cache_errors_total', 'Cache operations that failed open (answered without the cache)'),
    invalidations: counter('cache_invalidations_total', 'Invalidation tags received, by tag type'),
    skipped: new Counter({
      name: 'cache_entries_skipped_total',
      help: 'Values the cache did not store, by field and reason',
      labelNames: ['layer', 'type', 'reason'],
      registers: [registry],
    }),
  };
}
