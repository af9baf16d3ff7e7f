import { buildSubgraphServer, loadSdl, type BuildOptions } from '@shop/subgraph-kit';
import type { ProductsConfig } from './config.ts';
import { createProductRepository } from './db/repository.ts';
import { seed } from './db/seed.ts';
import { createLoaders } from './loaders.ts';
import { resolvers } from './resolvers/index.ts';

export const { sdl, typeDefs } = loadSdl(new URL('./schema.graphql', import.meta.url));

/** The products subgraph as a Fastify app: storage opened, migrated and (in development) seeded. */
export function buildServer(options: BuildOptions<ProductsConfig>) {
  return buildSubgraphServer(
    {
      name: 'products',
      typeDefs,
      resolvers,
      migrations: new URL('./db/migrations/', import.meta.url),
      seed,
      context: ({ db, writeFor }) => {
        const repo = createProductRepository(db);
        return (viewer) => {
          const loaders = createLoaders(repo);
          return { viewer, repo, loaders, write: writeFor(loaders) };
        };
      },
    },
    options,
  );
}
