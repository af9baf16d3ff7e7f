import { buildSubgraphServer, loadSdl, type BuildOptions } from '@shop/subgraph-kit';
import type { PricingConfig } from './config.ts';
import { discontinuedProducts } from './consumers.ts';
import { createPricingRepository } from './db/repository.ts';
import { seed } from './db/seed.ts';
import { createLoaders } from './loaders.ts';
import { startPromotionTicker } from './promotion-ticker.ts';
import { resolvers } from './resolvers/index.ts';

export const { sdl, typeDefs } = loadSdl(new URL('./schema.graphql', import.meta.url));

/** The pricing subgraph as a Fastify app: storage opened, migrated and (in development) seeded. */
export function buildServer(options: BuildOptions<PricingConfig>) {
  return buildSubgraphServer(
    {
      name: 'pricing',
      typeDefs,
      resolvers,
      migrations: new URL('./db/migrations/', import.meta.url),
      seed,
      context: ({ db, writeFor }) => {
        const repo = createPricingRepository(db);
        return (viewer, trusted) => {
          const loaders = createLoaders(repo);
          return { viewer, trusted, repo, loaders, write: writeFor(loaders) };
        };
      },
      // Promotions start and end by the clock: the ticker announces it (see promotion-ticker.ts).
      background: ({ writeFor, logger }) => startPromotionTicker({ write: writeFor(), intervalMs: options.config.promotionTickMs, logger }),
      consumers: [discontinuedProducts],
    },
    options,
  );
}
