import { createLogger } from '@shop/platform';
import { buildSubgraphServer, loadSdl, type BuildOptions, type SubgraphServices } from '@shop/subgraph-kit';
import { createCheckout, type Checkout } from './checkout.ts';
import type { OrdersConfig } from './config.ts';
import { createOrderRepository } from './db/repository.ts';
import { seed } from './db/seed.ts';
import { createLifecycle, type Lifecycle } from './lifecycle.ts';
import { createLoaders } from './loaders.ts';
import type { PaymentProvider } from './payments/port.ts';
import { withResilience } from './payments/resilient.ts';
import { createSandboxProvider } from './payments/sandbox.ts';
import { resolvers } from './resolvers/index.ts';
import { createServiceClient } from './services.ts';

export const { sdl, typeDefs } = loadSdl(new URL('./schema.graphql', import.meta.url));

const SWEEP_EVERY_MS = 30_000;

export interface OrdersBuildOptions extends BuildOptions<OrdersConfig> {
  /** Tests: this provider instead of the configured one, used as it is (no timeout, retries or breaker added). */
  paymentProvider?: PaymentProvider | undefined;
}

/** The orders subgraph as a Fastify app; checkout calls pricing, inventory and the payment provider directly. */
export async function buildServer(options: OrdersBuildOptions) {
  const { config, paymentProvider, ...rest } = options;
  const logger = options.logger ?? createLogger('orders', config.logLevel);
  let sandbox: ReturnType<typeof createSandboxProvider> | undefined;

  /** The provider as checkout and the lifecycle see it: one per server, so one circuit breaker. */
  const paymentsFor = ({ metrics }: SubgraphServices): PaymentProvider => {
    if (paymentProvider) return paymentProvider;
    const calls = metrics.counter('payment_calls_total', 'Payment provider calls by operation and outcome (retries included in one call)', [
      'operation',
      'outcome',
    ]);
    sandbox = createSandboxProvider({ url: config.payments.providerUrl, timeoutMs: config.payments.timeoutMs });
    return withResilience(sandbox, {
      timeoutMs: config.payments.timeoutMs,
      retries: config.payments.retries,
      breaker: { threshold: config.payments.breakerThreshold, halfOpenAfterMs: config.payments.breakerHalfOpenMs },
      onCall: ({ operation, outcome }) => calls.inc({ operation, outcome }),
      onStateChange: (state) => logger.warn({ state }, 'payment provider circuit changed state'),
    });
  };

  let services: { checkout: Checkout; lifecycle: Lifecycle } | undefined;
  const servicesFor = (shell: SubgraphServices) => {
    if (services) return services;
    const inventory = createServiceClient('inventory', config.inventoryUrl, config.routerSecret, config.dependencyTimeoutMs);
    const payments = paymentsFor(shell);
    const write = shell.writeFor();
    services = {
      checkout: createCheckout({
        db: shell.db,
        pricing: createServiceClient('pricing', config.pricingUrl, config.routerSecret, config.dependencyTimeoutMs),
        inventory,
        payments,
        logger,
        abandonedAfterMs: config.abandonedCheckoutMs,
        paymentSweepAfterMs: config.payments.sweepAfterMs,
        write,
        limits: config.checkoutLimits,
      }),
      lifecycle: createLifecycle({ db: shell.db, inventory, payments, write, logger }),
    };
    return services;
  };
  const app = await buildSubgraphServer(
    {
      name: 'orders',
      typeDefs,
      resolvers,
      migrations: new URL('./db/migrations/', import.meta.url),
      seed,
      context: (shell) => {
        const repo = createOrderRepository(shell.db);
        const { checkout, lifecycle } = servicesFor(shell);
        return (viewer) => ({ viewer, repo, loaders: createLoaders(repo), checkout, lifecycle });
      },
      background: (shell) => {
        const timer = setInterval(() => {
          const { checkout } = servicesFor(shell);
          // Claims first: dropping a crashed attempt's claim is what lets its payment be swept.
          checkout
            .sweepAbandoned()
            .then(() => checkout.sweepPayments())
            .catch((error) => logger.error({ err: error }, 'checkout sweep failed'));
        }, SWEEP_EVERY_MS);
        timer.unref();
        return () => clearInterval(timer);
      },
    },
    { ...rest, config, logger },
  );
  // The sandbox adapter's connection pool goes with the server.
  app.addHook('onClose', async () => sandbox?.close());
  return app;
}
