import type { FastifyInstance } from 'fastify';
import { handleShutdownSignals, type ShutdownHandle } from '@shop/platform';
import { beginSubgraphShutdown } from './server.ts';
import type { SubgraphBaseConfig } from './subgraph-config.ts';

/**
 * Listens on the configured port and stops on SIGTERM/SIGINT as `handleShutdownSignals` says, for
 * a subgraph built by `buildSubgraphServer`: each subgraph's `index.ts` is this one call.
 */
export async function serveSubgraph(
  app: FastifyInstance,
  config: Pick<SubgraphBaseConfig, 'port' | 'host' | 'shutdownDelayMs' | 'drainTimeoutMs'>,
): Promise<ShutdownHandle> {
  await app.listen({ port: config.port, host: config.host });
  return handleShutdownSignals({
    log: app.log,
    beginShutdown: () => beginSubgraphShutdown(app),
    close: () => app.close(), // stops accepting, drains, then closes the cache's and bus's Redis and the pool
    shutdownDelayMs: config.shutdownDelayMs,
    drainTimeoutMs: config.drainTimeoutMs,
    closeAllConnections: () => app.server.closeAllConnections(),
  });
}
