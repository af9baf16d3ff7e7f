import { buildSubgraphSchema } from '@apollo/subgraph';
import type { PGlite } from '@electric-sql/pglite';
import {
  createDatabase, createLogger, createServiceMetrics, createSubgraphServer, FULL_SEED, loadSdl, migrate,
  type Logger, type SeedSize,
} from '@shop/service-kit';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import type { UsersConfig } from './config.ts';
import { createUserRepository } from './db/repository.ts';
import { seed } from './db/seed.ts';
import { createLoaders } from './loaders.ts';
import { resolvers } from './resolvers/index.ts';
import { createTokenIssuer, JWKS_PATH } from './tokens.ts';

export const { sdl, typeDefs } = loadSdl(new URL('./schema.graphql', import.meta.url));

export interface BuildOptions {
  config: UsersConfig;
  /** Share an open PGlite instead of opening one (used by `npm start` and the e2e tests). */
  pglite?: PGlite;
  logger?: Logger;
  /** Seed size when seeding is on; the full development seed by default. */
  seedSize?: SeedSize;
}

export async function buildServer({ config, pglite, logger, seedSize = FULL_SEED }: BuildOptions) {
  const log = logger ?? createLogger('users', config.logLevel);
  const metrics = createServiceMetrics('users');
  const tokens = await createTokenIssuer({ privateKeyPem: config.jwtPrivateKey, ttlSeconds: config.jwtTtlSeconds, logger: log });
  const db = await createDatabase({
    url: config.databaseUrl,
    pglite,
    pgliteDataDir: config.pgliteDataDir,
    onStatement: () => metrics.dbQueries.inc(),
  });
  await migrate(db, 'users', new URL('./db/migrations/', import.meta.url));
  if (config.seed) await seed(db, seedSize);
  const repo = createUserRepository(db);
  const schema = buildSubgraphSchema({ typeDefs, resolvers: resolvers as GraphQLResolverMap<unknown> });
  return createSubgraphServer({
    name: 'users',
    schema,
    metrics,
    logger: log,
    routerSecret: config.routerSecret,
    production: config.production,
    context: (viewer) => ({ viewer, repo, loaders: createLoaders(repo), tokens }),
    routes: (app) => {
      // Public keys only; the router caches them and refetches when it meets an unknown `kid`.
      app.get(JWKS_PATH, async (_request, reply) => {
        void reply.header('cache-control', 'public, max-age=300');
        return tokens.jwks;
      });
    },
    onClose: () => db.close(),
  });
}
