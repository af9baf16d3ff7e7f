import { clientIpOf, createLogger } from '@shop/platform';
import { buildSubgraphServer, loadSdl, type BuildOptions, type ServiceMetrics } from '@shop/subgraph-kit';
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
  const signInThrottle = new SignInThrottle(config.signInThrottle);
  return buildSubgraphServer(
    {
      name: 'users',
      typeDefs,
      resolvers,
      migrations: new URL('./db/migrations/', import.meta.url),
      seed,
      context: ({ db, metrics, writeFor }) => {
        // Built once per server (this factory runs once), beside the metrics they count in.
        const refusals = refusalCounter(metrics);
        const hashing = new HashGate(config.hashGate, (reason) => refusals.inc({ reason }));
        const throttled = () => refusals.inc({ reason: 'throttled' });
        const repo = createUserRepository(db);
        return (viewer, _trusted, request) => {
          const loaders = createLoaders(repo);
          return {
            viewer,
            repo,
            loaders,
            write: writeFor(loaders),
            tokens,
            clientIp: clientIpOf(request.headers, request.ip, config.routerSecret),
            hashing,
            signInThrottle,
            throttled,
          };
        };
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

/** `sign_in_refusals_total{reason}`: sign-ins and sign-ups answered RATE_LIMITED without a password check. */
function refusalCounter(metrics: ServiceMetrics) {
  return metrics.counter(
    'sign_in_refusals_total',
    'Sign-ins and sign-ups refused with RATE_LIMITED before any hashing: busy (every hashing slot and the queue taken), ' +
      'client_busy (the address held its share), throttled (the account and address are backing off)',
    ['reason'],
  );
}
