import { createLogger } from '@shop/platform';
import { buildSubgraphServer, loadSdl, type BuildOptions } from '@shop/subgraph-kit';
import type { InventoryConfig } from './config.ts';
import { createInventoryRepository } from './db/repository.ts';
import { seed } from './db/seed.ts';
import { createLoaders } from './loaders.ts';
import { resolvers } from './resolvers/index.ts';
import { orderShippedConsumer } from './shipments.ts';

export const { sdl, typeDefs } = loadSdl(new URL('./schema.graphql', import.meta.url));

/**
 * The inventory subgraph as a Fastify app: storage opened, migrated and (in development) seeded,
 * and the order.shipped consumer running (shipments.ts).
 */
export function buildServer(options: BuildOptions<InventoryConfig>) {
  // Made here rather than by the kit (which would make the same one) so the consumer logs with it.
  const logger = options.logger ?? createLogger('inventory', options.config.logLevel);
  return buildSubgraphServer(
    {
      name: 'inventory',
      typeDefs,
      resolvers,
      migrations: new URL('./db/migrations/', import.meta.url),
      seed,
      context: ({ db, writeFor }) => {
        const repo = createInventoryRepository(db);
        return (viewer, trusted) => {
          const loaders = createLoaders(repo);
          return { viewer, trusted, repo, loaders, write: writeFor(loaders) };
        };
      },
      consumers: [orderShippedConsumer(logger)],
    },
    { ...options, logger },
  );
}
