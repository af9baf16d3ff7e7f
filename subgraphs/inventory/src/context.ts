import type { Viewer } from '@shop/platform';
import type { Write } from '@shop/subgraph-kit';
import type { InventoryRepository } from './db/repository.ts';
import type { Loaders } from './loaders.ts';

export interface Context {
  viewer: Viewer | null;
  /** True when the caller proved the router/service secret; internal fields require it. */
  trusted: boolean;
  /** Reads; the writes (createInventoryWrites) take a write's transaction, so they run only through `write`. */
  repo: InventoryRepository;
  loaders: Loaders;
  /** Every write runs through this: one transaction with its events, then the request's loaders cleared and the caches dropped. */
  write: Write;
}
