import { createLogger } from '@shop/platform';
import { buildSubgraphServer, loadSdl, type BuildOptions, type SubgraphServices } from '@shop/subgraph-kit';
import { createCheckout, type Checkout } from './checkout.ts';
import type { OrdersConfig } from './config.ts';
import { createOrderRepository } from './db/repository.ts';
import { seed } from './db/seed.ts';
import { createLoaders } from './loaders.ts';
import { resolvers } from './resolvers/index.ts';
import { createServiceClient } from './services.ts';

export const { sdl, typeDefs } = loadSdl(new URL('./schema.graphql', import.meta.url));

const SWEEP_EVERY_MS = 30_000;

/** The orders subgraph as a Fastify app; checkout calls pricing and inventory directly. */
export async function buildServer(options: BuildOptions<OrdersConfig>) {
  const { config } = options;
  const logger = options.logger ?? createLogger('orders', config.logLevel);
  let checkout: Checkout | undefined;
  const checkoutFor = ({ db, writeFor }: SubgraphServices) =>
    (checkout ??= createCheckout({
      db,
      pricing: createServiceClient('pricing', config.pricingUrl, config.routerSecret, config.dependencyTimeoutMs),
      inventory: createServiceClient('inventory', config.inventoryUrl, config.routerSecret, config.dependencyTimeoutMs),
      logger,
      abandonedAfterMs: config.abandonedCheckoutMs,
      write: writeFor(),
      limits: config.checkoutLimits,
    }));
  return buildSubgraphServer(
    {
      name: 'orders',
      typeDefs,
      resolvers,
      migrations: new URL('./db/migrations/', import.meta.url),
      seed,
      context: (services) => {
        const repo = createOrderRepository(services.db);
        const service = checkoutFor(services);
        return (viewer) => ({ viewer, repo, loaders: createLoaders(repo), checkout: service });
      },
      background: (services) => {
        const timer = setInterval(() => {
          checkoutFor(services)
            .sweepAbandoned()
            .catch((error) => logger.error({ err: error }, 'checkout sweep failed'));
        }, SWEEP_EVERY_MS);
        timer.unref();
        return () => clearInterval(timer);
      },
    },
    { ...options, logger },
  );
}
