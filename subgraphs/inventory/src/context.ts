import type { InvalidationBus, Viewer } from '@shop/platform';
import type { Database } from '@shop/subgraph-kit';
import type { InventoryRepository } from './db/repository.ts';
import type { Loaders } from './loaders.ts';

export interface Context {
  viewer: Viewer | null;
  /** True when the caller proved the router/service secret; internal fields require it. */
  trusted: boolean;
  /** For writes that need a transaction (reservations); reads go through `repo` and `loaders`. */
  db: Database;
  repo: InventoryRepository;
  loaders: Loaders;
  /** Writes publish the `Type:id` tags of what they changed here, after they commit. */
  bus: InvalidationBus;
}
