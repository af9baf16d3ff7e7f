import { spawn, type ChildProcess } from 'node:child_process';
import { Agent } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, httpOutcome, type HttpOutcome } from '@shop/platform/testing';
import { delay, representationsOf, startFakeSubgraph, type FakeSubgraph } from './support/fake-subgraph.ts';
import { TINY_SUPERGRAPH } from './support/tiny-router.ts';
import { SOURCE_NODE_ARGS } from '@shop/platform/testing';

/**
 * SIGTERM on the real router process (tsx over src/index.ts) in front of two fake subgraphs
 * (test/fixtures/tiny-supergraph.graphql), pricing answering in 300 ms so requests are in flight.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = fileURLToPath(new URL('../src/index.ts', import.meta.url));
const QUERY = JSON.stringify({ query: '{ products(first: 2) { id name price } }' });

interface Started {
  child: ChildProcess;
  port: number;
  output: () => string;
  exited: Promise<{ code: number | null; at: number }>;
}

async function startRouter(products: FakeSubgraph, pricing: FakeSubgraph, env: Record<string, string>): Promise<Started> {
  const port = await freePort();
  // Not vitest's NODE_ENV=test: Apollo Server only skips its own signal handlers under it, and
  // those once stopped the router at the first SIGTERM, skipping the not-ready delay.
  const { REDIS_URL: _redis, NODE_ENV: _nodeEnv, ...inherited } = process.env;
  const child = spawn(process.execPath, [...SOURCE_NODE_ARGS, ENTRY], {
    cwd: ROOT,
    env: {
      ...inherited,
      PORT: String(port),
      HOST: '127.0.0.1',
      SUPERGRAPH_PATH: TINY_SUPERGRAPH,
      PRODUCTS_URL: products.url,
      PRICING_URL: pricing.url,
      ROUTER_CACHE: 'false',
      LOG_LEVEL: 'fatal',
      // Loops of requests from 127.0.0.1 keep it under load; the per-IP rate limit is not under test.
      RATE_LIMIT: 'false',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
    child.once('exit', (code) => resolve({ code, at: Date.now() })),
  );
  const ready = new Promise<void>((resolve, reject) => {
    const check = () => output.includes('Router ready at') && resolve();
    child.stdout!.on('data', check);
    void exited.then(({ code }) => reject(new Error(`router exited with ${code} before listening:\n${output}`)));
  });
  await ready;
  return { child, port, output: () => output, exited };
}

/** One request on a fresh connection (no keep-alive) unless an agent is given, classified by how it ended. */
const send = httpOutcome;
type Outcome = HttpOutcome;

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  cleanup = [];
});

async function fakes(pricingDelayMs: number | 'never') {
  const products = await startFakeSubgraph(() => ({
    body: { data: { products: [1, 2].map((n) => ({ __typename: 'Product', id: `p${n}`, name: `Product ${n}` })) } },
  }));
  const pricing = await startFakeSubgraph(async (request) => {
    if (pricingDelayMs === 'never') await new Promise(() => undefined);
    else await delay(pricingDelayMs);
    return { body: { data: { _entities: representationsOf(request).map((r) => ({ price: Number(r.id.slice(1)) * 100 })) } } };
  });
  cleanup.push(
    () => products.close(),
    () => pricing.close(),
  );
  return { products, pricing };
}

describe('router shutdown (SIGTERM on the real process)', () => {
  it('turns /ready 503 first, serves every accepted request to completion under load, then exits 0', async () => {
    const { products, pricing } = await fakes(300);
    const drainTimeoutMs = 5_000;
    const router = await startRouter(products, pricing, { DRAIN_TIMEOUT_MS: String(drainTimeoutMs), SHUTDOWN_DELAY_MS: '300' });
    cleanup.push(async () => void router.child.kill('SIGKILL'));

    // An idle keep-alive connection must not hold the draining router open.
    const keepAlive = new Agent({ keepAlive: true });
    cleanup.push(async () => keepAlive.destroy());
    expect((await send(router.port, '/health', undefined, keepAlive)).kind).toBe('response');

    let exited = false;
    void router.exited.then(() => (exited = true));
    // Like a load balancer, the load stops sending once /ready says the router is going away;
    // SHUTDOWN_DELAY_MS gives it that time before the listener closes. (Connections opened after
    // the listener closed are refused; ones opened in the instant it closes can be reset by the
    // kernel before the router ever sees them, which no server can prevent.)
    let loadBalancerStopped = false;
    const outcomes: Outcome[] = [];
    const loops = Array.from({ length: 4 }, async () => {
      while (!exited && !loadBalancerStopped) {
        const outcome = await send(router.port, '/graphql', QUERY);
        outcomes.push(outcome);
        if (outcome.kind !== 'response') await delay(10);
      }
    });

    // Serving under load first.
    while (outcomes.filter((o) => o.kind === 'response').length < 8) await delay(20);
    const sigtermAt = Date.now();
    router.child.kill('SIGTERM');

    // Poll /ready right after SIGTERM (a load balancer's probe).
    let ready503At: number | undefined;
    let readyBody: unknown;
    while (!exited && ready503At === undefined) {
      const probe = await send(router.port, '/ready');
      // Before the signal lands /ready may be 503 for another reason (subgraphs not in this test are down);
      // `supergraph: false` is the router saying it is shutting down.
      if (probe.kind === 'response' && probe.status === 503 && JSON.parse(probe.body).supergraph === false) {
        ready503At = probe.at;
        readyBody = JSON.parse(probe.body);
        loadBalancerStopped = true;
      } else await delay(10);
    }

    // After the delay the listener is closed: a new connection is refused.
    await delay(400);
    const late = await send(router.port, '/graphql', QUERY);
    const { code, at: exitAt } = await router.exited;
    await Promise.all(loops);

    expect(code).toBe(0);
    expect(exitAt - sigtermAt).toBeLessThan(drainTimeoutMs + 3_000);
    expect(ready503At).toBeDefined();
    expect(ready503At!).toBeLessThan(exitAt);
    expect(readyBody).toMatchObject({ ready: false, supergraph: false });

    const responses = outcomes.filter((o) => o.kind === 'response');
    const dropped = outcomes.filter((o) => o.kind === 'dropped');
    expect(dropped).toEqual([]);
    for (const response of responses) {
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body)).toEqual({
        data: {
          products: [
            { id: 'p1', name: 'Product 1', price: 100 },
            { id: 'p2', name: 'Product 2', price: 200 },
          ],
        },
      });
    }
    // Requests in flight at SIGTERM (and those sent while not ready) were answered...
    expect(responses.filter((o) => o.at > sigtermAt).length).toBeGreaterThan(0);
    // ...and once the listener closed, new connections were refused.
    expect(late.kind).toBe('refused');
  }, 60_000);

  it('exits 1 soon after DRAIN_TIMEOUT_MS when a request cannot finish', async () => {
    const { products, pricing } = await fakes('never');
    // Two stuck fetches at the subgraph, not one shared by both requests.
    const router = await startRouter(products, pricing, {
      DRAIN_TIMEOUT_MS: '200',
      LOG_LEVEL: 'error',
      REQUEST_DEDUP: 'false',
      SUBGRAPH_DEDUP: 'false',
    });
    cleanup.push(async () => void router.child.kill('SIGKILL'));

    const stuck = [send(router.port, '/graphql', QUERY), send(router.port, '/graphql', QUERY)];
    while (pricing.requests.length < 2) await delay(10);
    const sigtermAt = Date.now();
    router.child.kill('SIGTERM');

    const { code, at } = await router.exited;
    expect(code).toBe(1);
    expect(at - sigtermAt).toBeGreaterThanOrEqual(200);
    expect(at - sigtermAt).toBeLessThan(200 + 2_000);
    expect(router.output()).toContain('drain timeout');
    // The cut requests end without a response (the client sees the connection close).
    for (const outcome of await Promise.all(stuck)) expect(outcome.kind).toBe('dropped');
  }, 60_000);
});
