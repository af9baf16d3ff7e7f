import { handleShutdownSignals } from '@shop/platform';
import { readConfig } from './config.ts';
import { beginSandboxShutdown, buildServer } from './server.ts';

const config = readConfig(process.env);
const app = await buildServer({ config });
await app.listen({ port: config.port, host: config.host });
// Stops the way every service does (see serveSubgraph): not ready, then drain, then exit.
handleShutdownSignals({
  log: app.log,
  beginShutdown: () => beginSandboxShutdown(app),
  close: () => app.close(),
  shutdownDelayMs: config.shutdownDelayMs,
  drainTimeoutMs: config.drainTimeoutMs,
  closeAllConnections: () => app.server.closeAllConnections(),
});
