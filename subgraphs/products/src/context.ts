import type { Viewer } from '@shop/platform';
import type { Write } from '@shop/subgraph-kit';
import type { ProductRepository } from './db/repository.ts';
import type { Loaders } from './loaders.ts';

export interface Context {
  viewer: Viewer | null;
  /** Reads; the writes (createProductWrites) take a write's transaction, so they run only through `write`. */
  repo: ProductRepository;
  loaders: Loaders;
  /** Every write runs through this: the change and its events in one transaction, then the loaders cleared. */
  write: Write;
}
