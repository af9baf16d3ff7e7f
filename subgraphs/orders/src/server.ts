import { buildSubgraphSchema } from '@apollo/subgraph';
import type { PGlite } from '@electric-sql/pglite';
import {
  createDatabase, createLogger, createServiceMetrics, createSubgraphServer, FULL_SEED, loadSdl, migrate,
  type Logger, type SeedSize,
} from '@shop/service-kit';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import type { OrdersConfig } from './config.ts';
import { createOrderRepository } from './db/repository.ts';
import { seed } from './db/seed.ts';
import { createLoaders } from './loaders.ts';
import { resolvers } from './resolvers/index.ts';

export const { sdl, typeDefs } = loadSdl(new URL('./schema.graphql', import.meta.url));

export interface BuildOptions {
  config: OrdersConfig;
  /** Share an open PGlite instead of opening one (used by `npm start` and the e2e tests). */
  pglite?: PGlite;
  logger?: Logger;
  /** Seed size when seeding is on; the full development seed by default. */
  seedSize?: SeedSize;
}

export async function buildServer({ config, pglite, logger, seedSize = FULL_SEED }: BuildOptions) {
  const log = logger ?? createLogger('orders', config.logLevel);
  const metrics = createServiceMetrics('orders');
  const db = await createDatabase({
    url: config.databaseUrl,
    pglite,
    pgliteDataDir: config.pgliteDataDir,
    onStatement: () => metrics.dbQueries.inc(),
  });
  await migrate(db, 'orders', new URL('./db/migrations/', import.meta.url));
  if (config.seed) await seed(db, seedSize);
  const repo = createOrderRepository(db);
  const schema = buildSubgraphSchema({ typeDefs, resolvers: resolvers as GraphQLResolverMap<unknown> });
  return createSubgraphServer({
    name: 'orders',
    schema,
    metrics,
    logger: log,
    routerSecret: config.routerSecret,
    production: config.production,
    context: (viewer) => ({ viewer, repo, loaders: createLoaders(repo) }),
    onClose: () => db.close(),
  });
}
