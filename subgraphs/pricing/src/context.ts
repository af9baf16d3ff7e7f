import type { Viewer } from '@shop/platform';
import type { Write } from '@shop/subgraph-kit';
import type { PricingRepository } from './db/repository.ts';
import type { Loaders } from './loaders.ts';

export interface Context {
  viewer: Viewer | null;
  /** The caller presented the router/service secret: internal fields (`quote`) answer only then. */
  trusted: boolean;
  repo: PricingRepository;
  loaders: Loaders;
  /** Every write runs through this: one transaction, then the request's loaders cleared and the tags published. */
  write: Write;
}
