import { handleShutdownSignals } from '@shop/platform';
import { readConfig } from './config.ts';
import { buildRouter } from './server.ts';

const config = readConfig(process.env);
const router = await buildRouter({ config });
await router.app.listen({ port: config.port, host: config.host });
console.log(`Router ready at http://localhost:${config.port}/graphql`);

// SIGTERM/SIGINT: `/ready` turns 503 at once (the router keeps serving for SHUTDOWN_DELAY_MS so a
// load balancer stops sending), then the listener closes, in-flight requests finish within
// DRAIN_TIMEOUT_MS, pools, caches and Redis close, and the process exits 0. Past the drain timeout
// the remaining connections are cut and it exits 1; a second signal exits 1 at once.
handleShutdownSignals({
  log: router.logger,
  beginShutdown: () => router.beginShutdown(),
  close: () => router.close(), // stops accepting, drains in-flight requests, then closes fetchers, caches and Redis
  shutdownDelayMs: config.shutdownDelayMs,
  drainTimeoutMs: config.drainTimeoutMs,
  closeAllConnections: () => router.app.server.closeAllConnections(),
});
