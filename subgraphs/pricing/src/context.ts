import type { Viewer } from '@shop/service-kit';
import type { PricingRepository } from './db/repository.ts';
import type { Loaders } from './loaders.ts';

export interface Context {
  viewer: Viewer | null;
  /** The caller presented the router/service secret: internal fields (`quote`) answer only then. */
  trusted: boolean;
  repo: PricingRepository;
  loaders: Loaders;
}
