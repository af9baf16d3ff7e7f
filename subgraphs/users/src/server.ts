import { buildSubgraphServer, clientIpOf, createLogger, loadSdl, type BuildOptions } from '@shop/service-kit';
import type { UsersConfig } from './config.ts';
import { createUserRepository } from './db/repository.ts';
import { HashGate } from './hash-gate.ts';
import { seed } from './db/seed.ts';
import { createLoaders } from './loaders.ts';
import { resolvers } from './resolvers/index.ts';
import { SignInThrottle } from './sign-in-throttle.ts';
import { createTokenIssuer, JWKS_PATH } from './tokens.ts';

export const { sdl, typeDefs } = loadSdl(new URL('./schema.graphql', import.meta.url));

/** The users subgraph as a Fastify app; it also publishes the JWKS the router verifies tokens with. */
export async function buildServer(options: BuildOptions<UsersConfig>) {
  const { config } = options;
  const logger = options.logger ?? createLogger('users', config.logLevel);
  const tokens = await createTokenIssuer({ privateKeyPem: config.jwtPrivateKey, ttlSeconds: config.jwtTtlSeconds, logger });
  // Per process: each replica bounds its own hashing and keeps its own throttle table.
  const hashing = new HashGate(config.hashGate);
  const signInThrottle = new SignInThrottle(config.signInThrottle);
  return buildSubgraphServer(
    {
      name: 'users',
      typeDefs,
      resolvers,
      migrations: new URL('./db/migrations/', import.meta.url),
      seed,
      context: (db) => {
        const repo = createUserRepository(db);
        return (viewer, _trusted, request) => ({
          viewer,
          repo,
          loaders: createLoaders(repo),
          tokens,
          clientIp: clientIpOf(request.headers, request.ip, config.routerSecret),
          hashing,
          signInThrottle,
        });
      },
      routes: (app) => {
        // Public keys only; the router caches them and refetches when it meets an unknown `kid`.
        app.get(JWKS_PATH, async (_request, reply) => {
          void reply.header('cache-control', 'public, max-age=300');
          return tokens.jwks;
        });
      },
    },
    { ...options, logger },
  );
}
