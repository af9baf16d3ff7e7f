import type { Viewer } from '@shop/platform';
import type { Checkout } from './checkout.ts';
import type { OrderRepository } from './db/repository.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { Loaders } from './loaders.ts';

export interface Context {
  viewer: Viewer | null;
  repo: OrderRepository;
  loaders: Loaders;
  checkout: Checkout;
  lifecycle: Lifecycle;
}
