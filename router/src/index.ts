import { setTimeout as sleep } from 'node:timers/promises';
import { readConfig } from './config.ts';
import { buildRouter } from './server.ts';

const config = readConfig(process.env);
const router = await buildRouter({ config });
const log = router.logger;
await router.app.listen({ port: config.port, host: config.host });
console.log(`Router ready at http://localhost:${config.port}/graphql`);

/**
 * SIGTERM/SIGINT: `/ready` turns 503 at once (the router keeps serving for SHUTDOWN_DELAY_MS so a
 * load balancer stops sending), then the listener closes, in-flight requests finish within
 * DRAIN_TIMEOUT_MS, pools, caches and Redis close, and the process exits 0. Past the drain timeout
 * the remaining connections are cut and it exits 1; a second signal exits 1 at once.
 */
let shuttingDown = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (shuttingDown) {
    log.warn({ signal }, 'second signal during shutdown: exiting now');
    process.exit(1);
  }
  shuttingDown = true;
  router.beginShutdown();
  log.info({ signal, shutdownDelayMs: config.shutdownDelayMs, drainTimeoutMs: config.drainTimeoutMs }, 'shutting down: not ready');
  if (config.shutdownDelayMs > 0) await sleep(config.shutdownDelayMs);

  const drainTimer = setTimeout(() => {
    log.error({ drainTimeoutMs: config.drainTimeoutMs }, 'drain timeout: closing remaining connections and exiting');
    router.app.server.closeAllConnections();
    process.exit(1);
  }, config.drainTimeoutMs);
  try {
    await router.close(); // stops accepting, drains in-flight requests, then closes fetchers, caches and Redis
  } catch (error) {
    log.error({ err: error }, 'shutdown failed');
    process.exit(1);
  }
  clearTimeout(drainTimer);
  log.info('shutdown complete');
  process.exit(0);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => void shutdown(signal));
}
