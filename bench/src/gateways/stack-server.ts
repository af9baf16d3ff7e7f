/**
 * Child process: every subgraph, started once for the whole gateway comparison (see
 * ../gateway-bench.ts). Uses startStack (real Postgres for every subgraph with a
 * `<NAME>_DATABASE_URL`, else one shared PGlite) on free ports; startStack also starts our
 * router in this process, which the benchmark never sends a request to (every gateway under test
 * runs in its own child process).
 *
 * Env: BENCH_SEED=small|full, ROUTER_SECRET (required). Sends `{ type: 'ready', subgraphUrls }`
 * over IPC, and exits when the parent disconnects or sends `{ type: 'close' }`.
 */
import { FULL_SEED, SMALL_SEED } from '@shop/subgraph-kit';
import { startStack } from '@shop/stack';

if (!process.send) throw new Error('stack-server.ts runs as a child process of gateway-bench.ts');
if (!process.env.ROUTER_SECRET) throw new Error('ROUTER_SECRET is required');

const started = Date.now();
const stack = await startStack({
  env: {
    ...process.env,
    RATE_LIMIT: 'false',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'fatal',
    // On PGlite the five subgraphs queue every statement on one connection, in one process that
    // 50 connections keep saturated; a checkout's price quote (orders → pricing) can then wait
    // longer than the production 3 s in that queue and fail DEPENDENCY_UNAVAILABLE. That measures
    // the shared embedded database, not the gateway in front, so the bench allows 10 s.
    DEPENDENCY_TIMEOUT_MS: process.env.DEPENDENCY_TIMEOUT_MS ?? '10000',
  },
  freePorts: true,
  seedSize: process.env.BENCH_SEED === 'small' ? SMALL_SEED : FULL_SEED,
});

let closing = false;
async function close() {
  if (closing) return;
  closing = true;
  await stack.close().catch(() => {});
  process.exit(0);
}
process.on('disconnect', () => void close());
process.on('message', (message: { type?: string }) => {
  if (message?.type === 'close') void close();
});
process.send({ type: 'ready', subgraphUrls: stack.subgraphUrls, startedInMs: Date.now() - started });
