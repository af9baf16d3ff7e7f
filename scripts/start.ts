/**
 * `npm start`: the whole supergraph on embedded defaults, seeded, in one process.
 * Data lives in .data/pglite so later starts skip seeding.
 */
import { mkdirSync } from 'node:fs';
import { handleShutdownSignals } from '@shop/platform';
import { startStack } from '@shop/stack';

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
const env = { ...process.env };
env.PGLITE_DATA_DIR ??= '.data/pglite';
mkdirSync(env.PGLITE_DATA_DIR, { recursive: true });

const stack = await startStack({ env, routerPort: Number(env.PORT ?? 4000), onProgress: (m) => console.log(`[${elapsed()}] ${m}`) });
console.log(`\nShop supergraph ready in ${elapsed()}: ${stack.routerUrl}`);
console.log(
  'Try: curl -s localhost:4000/graphql -H "content-type: application/json" ' +
    '-d \'{"query":"{ products(first: 3) { edges { node { name price(region: US) { amount currency } } } } }"}\'',
);
console.log(
  `Subscriptions: ${stack.routerUrl.replace(/^http/, 'ws')} (graphql-ws) and ${stack.routerUrl}/stream (SSE); see README "Subscriptions"`,
);

// SIGTERM/SIGINT: the router turns not ready (`/ready` 503) and keeps serving for SHUTDOWN_DELAY_MS,
// then drains and closes, then the subgraphs close, then PGlite; exit 0 (1 past DRAIN_TIMEOUT_MS,
// or on a second signal).
handleShutdownSignals({
  log: stack.router.logger,
  beginShutdown: () => {
    console.log('\nStopping…');
    stack.beginShutdown();
  },
  close: async () => {
    await stack.close();
    console.log('Stopped.');
  },
  shutdownDelayMs: stack.shutdownDelayMs,
  drainTimeoutMs: stack.drainTimeoutMs,
  closeAllConnections: () => stack.closeAllConnections(),
});
