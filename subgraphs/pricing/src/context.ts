import type { InvalidationBus, Viewer } from '@shop/platform';
import type { PricingRepository } from './db/repository.ts';
import type { Loaders } from './loaders.ts';

export interface Context {
  viewer: Viewer | null;
  /** The caller presented the router/service secret: internal fields (`quote`) answer only then. */
  trusted: boolean;
  repo: PricingRepository;
  loaders: Loaders;
  /** Writes publish the `Type:id` tags of what they changed here, after they commit. */
  bus: InvalidationBus;
}
