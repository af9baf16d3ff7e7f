import type { Viewer } from '@shop/platform';
import type { ProductRepository } from './db/repository.ts';
import type { Loaders } from './loaders.ts';

export interface Context {
  viewer: Viewer | null;
  repo: ProductRepository;
  loaders: Loaders;
}
