import { buildSubgraphServer, loadSdl, type BuildOptions } from '@shop/service-kit';
import type { OrdersConfig } from './config.ts';
import { createOrderRepository } from './db/repository.ts';
import { seed } from './db/seed.ts';
import { createLoaders } from './loaders.ts';
import { resolvers } from './resolvers/index.ts';

export const { sdl, typeDefs } = loadSdl(new URL('./schema.graphql', import.meta.url));

/** The orders subgraph as a Fastify app: storage opened, migrated and (in development) seeded. */
export function buildServer(options: BuildOptions<OrdersConfig>) {
  return buildSubgraphServer(
    {
      name: 'orders',
      typeDefs,
      resolvers,
      migrations: new URL('./db/migrations/', import.meta.url),
      seed,
      context: (db) => {
        const repo = createOrderRepository(db);
        return (viewer) => ({ viewer, repo, loaders: createLoaders(repo) });
      },
    },
    options,
  );
}
