import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import type { SubgraphName } from '@shop/registry';
import { startStack } from '@shop/stack';

/**
 * Starts every subgraph in the registry and the router once, on free ports, with the full development
 * seed: on embedded PGlite by default, on real Postgres when the `*_DATABASE_URL` variables are set.
 */
export default async function setup(project: TestProject) {
  const started = Date.now();
  // RATE_LIMIT=false: every e2e file sends from 127.0.0.1 (load tests, 200 concurrent checkouts),
  // which the per-IP rate limit would refuse; the limit has its own tests in router/test.
  // Provided to the files that build a router of their own over these subgraphs: without it they
  // would not believe its identity or client-address headers.
  const routerSecret = process.env.ROUTER_SECRET || randomBytes(24).toString('base64url');
  const stack = await startStack({
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error', RATE_LIMIT: 'false', ROUTER_SECRET: routerSecret },
    freePorts: true,
  });
  process.stderr.write(`[e2e] stack ready in ${((Date.now() - started) / 1000).toFixed(1)}s at ${stack.routerUrl}\n`);
  project.provide('routerUrl', stack.routerUrl);
  project.provide('subgraphUrls', stack.subgraphUrls);
  project.provide('routerSecret', routerSecret);
  project.provide('paymentProviderUrl', stack.paymentProviderUrl);
  return () => stack.close();
}

declare module 'vitest' {
  export interface ProvidedContext {
    routerUrl: string;
    subgraphUrls: Record<SubgraphName, string>;
    routerSecret: string;
    /** The payment sandbox the stack started (its /_sandbox/faults and /_sandbox/ledger are for tests). */
    paymentProviderUrl: string;
  }
}
