import { rowLoader } from '@shop/subgraph-kit';
import type { UserRepository } from './db/repository.ts';

/** One set per request, so resolving N users costs one statement. */
export function createLoaders(repo: UserRepository) {
  return {
    userById: rowLoader(repo.usersByIds, (u) => u.id),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
