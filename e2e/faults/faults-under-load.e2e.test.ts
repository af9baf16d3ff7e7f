import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRouter, type Router } from '@shop/router';
import { readConfig } from '@shop/router/config';
import { subgraphUrlEnv } from '@shop/registry';
import { SMALL_SEED } from '@shop/subgraph-kit';
import { startStack, type Stack } from '@shop/stack';
import { stallProxy, type StallProxy } from '../setup/stall-proxy.ts';

/**
 * Subgraph faults under continuous load (production hardening, point 7), on a stack of their own
 * (small seed) because they stop and stall subgraphs. Loopback only, bounded in time.
 *
 * The other two faults of point 7 are covered elsewhere:
 * - "stop Redis → no failed query": e2e/caching-redis/redis.redis.e2e.test.ts (redis-server
 *   SIGKILLed mid-load, zero failed requests, caching resumes);
 * - "SIGTERM the router under load → zero dropped accepted requests": router/test/shutdown.test.ts.
 * The breaker's state machine itself is unit-tested in router/test/breaker.test.ts.
 *
 * Assertions are on counts and states (responses, metrics, bytes reaching a proxy), never on
 * wall-clock latency. The router's entity cache is off so every request really asks the subgraphs
 * (a cached price would hide the outage).
 */
const BREAKER_FAILURE_THRESHOLD = 3;
const STACK_COOLDOWN_MS = 1_000;
const LOOPS = 8;
const LISTING =
  '{ products(first: 5) { edges { node { id name price(region: IN) { amount currency } stock(region: IN) { available } } } } }';
const LEAKS = /127\.0\.0\.1|localhost|ECONNREFUSED|ECONNRESET|https?:\/\/|\bat \S+ \(|stacktrace/i;

let stack: Stack;
const { REDIS_URL: _redis, ...inherited } = process.env;
const ROUTER_SECRET = 'e2e-faults-under-load';

beforeAll(async () => {
  stack = await startStack({
    env: {
      ...inherited,
      LOG_LEVEL: 'fatal',
      ROUTER_SECRET,
      RATE_LIMIT: 'false',
      ROUTER_CACHE: 'false',
      // The default 10 s fetch timeout: a stopped subgraph refuses connections at once, and on a
      // busy 2-core machine a healthy fetch under this load can take over a second.
      BREAKER_FAILURE_THRESHOLD: String(BREAKER_FAILURE_THRESHOLD),
      BREAKER_COOLDOWN_MS: String(STACK_COOLDOWN_MS),
    },
    freePorts: true,
    seedSize: SMALL_SEED,
  });
});
afterAll(() => stack?.close());

interface Answer {
  status: number;
  body: any;
  text: string;
  /** The phase the request was sent in, and the phase its answer arrived in. */
  phase: string;
  answeredIn: string;
}

/** POSTs a GraphQL document; a transport error is returned as status 0, never thrown. */
async function post(url: string, document: string): Promise<{ status: number; body: any; text: string }> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: document }),
    });
    const text = await response.text();
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: response.status, body, text };
  } catch (error) {
    return { status: 0, body: undefined, text: String(error) };
  }
}

/** `loops` concurrent clients sending the listing until stopped; each answer is tagged with the phase it was sent in. */
function load(url: string, phase: () => string, loops = LOOPS) {
  const answers: Answer[] = [];
  let running = true;
  const done = Promise.all(
    Array.from({ length: loops }, async () => {
      while (running) {
        const sentIn = phase();
        const answer = await post(url, LISTING);
        answers.push({ ...answer, phase: sentIn, answeredIn: phase() });
      }
    }),
  );
  return {
    answers,
    async stop() {
      running = false;
      await done;
      return answers;
    },
  };
}

/** Polls `/health` until stopped; returns every status seen. */
function watchHealth(graphqlUrl: string) {
  const statuses: number[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      statuses.push(
        await fetch(new URL('/health', graphqlUrl)).then(
          (r) => r.status,
          () => 0,
        ),
      );
      await sleep(50);
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      return statuses;
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One sample of a metric from the router's Prometheus text: the sum over series whose labels include `labels`. */
async function metric(graphqlUrl: string, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(new URL('/metrics', graphqlUrl))).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

const nodesOf = (answer: { body: any }) => (answer.body?.data?.products?.edges ?? []).map((e: any) => e.node);
const codesOf = (answer: { body: any }) => (answer.body?.errors ?? []).map((e: any) => e.extensions?.code);

/** Sends the listing until `ready` holds for an answer (the breaker lets one probe through after its cool-down). */
async function until(url: string, ready: (answer: { body: any }) => boolean, attempts = 100) {
  for (let i = 0; i < attempts; i++) {
    const answer = await post(url, LISTING);
    if (ready(answer)) return answer;
    await sleep(100);
  }
  throw new Error('the subgraph did not come back');
}

/** Every answer is a 200 with the products, whatever happened to the subgraphs behind them. */
function expectServed(answers: Answer[]) {
  const statuses = answers.map((a) => a.status);
  expect(
    statuses.filter((s) => s === 0),
    'transport errors',
  ).toHaveLength(0);
  expect(
    statuses.filter((s) => s >= 500),
    'HTTP 5xx',
  ).toHaveLength(0);
  expect(
    statuses.filter((s) => s !== 200),
    'non-200',
  ).toHaveLength(0);
  for (const answer of answers) {
    const nodes = nodesOf(answer);
    expect(nodes).toHaveLength(5);
    for (const node of nodes) expect(node.name).toEqual(expect.any(String));
    expect(answer.text).not.toMatch(LEAKS);
  }
}

describe('a subgraph killed mid-load', () => {
  it('keeps answering with products and price null, opens the breaker, and recovers when pricing returns', async () => {
    const url = stack.routerUrl;
    let phase = 'before';
    const health = watchHealth(url);
    const running = load(url, () => phase);
    await sleep(1_000);
    phase = 'stopping';
    await stack.stop('pricing');
    phase = 'after';
    await sleep(2_000);
    const answers = await running.stop();
    const healthStatuses = await health.stop();
    try {
      const by = (p: string) => answers.filter((a) => a.phase === p && (p !== 'before' || a.answeredIn === 'before'));
      console.log(
        `[faults] pricing killed: ${answers.length} answers ` +
          `(${by('before').length} before, ${by('stopping').length} while stopping, ${by('after').length} after)`,
      );
      expect(by('before').length).toBeGreaterThan(0);
      expect(by('after').length).toBeGreaterThan(0);
      expectServed(answers);
      for (const answer of by('before')) {
        expect(answer.body.errors).toBeUndefined();
        for (const node of nodesOf(answer)) expect(node.price).toEqual({ amount: expect.any(String), currency: 'INR' });
      }
      for (const answer of by('after')) {
        for (const node of nodesOf(answer)) {
          expect(node.price).toBeNull();
          expect(node.stock).toEqual({ available: expect.any(Number) }); // inventory is untouched
        }
        expect(codesOf(answer)).toContain('SUBGRAPH_UNAVAILABLE');
        expect(codesOf(answer).every((code: string) => code === 'SUBGRAPH_UNAVAILABLE')).toBe(true);
      }
      expect(healthStatuses.length).toBeGreaterThan(0);
      expect(healthStatuses.every((s) => s === 200)).toBe(true);

      // The breaker opened: most requests after the stop never tried the dead port.
      expect(await metric(url, 'subgraph_circuit_open_total', { subgraph: 'pricing' })).toBeGreaterThanOrEqual(1);
      const failedFast = await metric(url, 'subgraph_fetches_total', { subgraph: 'pricing', outcome: 'circuit_open' });
      const refused = await metric(url, 'subgraph_fetches_total', { subgraph: 'pricing', outcome: 'failed' });
      console.log(`[faults] pricing fetches while down: ${refused} failed on the network, ${failedFast} failed fast (circuit open)`);
      expect(failedFast).toBeGreaterThan(refused);
    } finally {
      await stack.start('pricing');
    }
    const back = await until(url, (a) => nodesOf(a)[0]?.price !== null && nodesOf(a).length === 5);
    expect(back.status).toBe(200);
    expect(back.body.errors).toBeUndefined();
    expect(await metric(url, 'subgraph_circuit_state', { subgraph: 'pricing' })).toBe(0);
    const again = await post(url, LISTING);
    for (const node of nodesOf(again)) expect(node.price).toEqual({ amount: expect.any(String), currency: 'INR' });
  });
});

describe('a subgraph stalled mid-load', () => {
  // A healthy inventory fetch must never hit the timeout before the stall, even on a busy shared
  // 2-core machine (PGlite serialises the queries of all five subgraphs): 1 s, and lighter load.
  const TIMEOUT_MS = 1_000;
  const COOLDOWN_MS = 6_000;
  const STALL_LOOPS = 4;
  let proxy: StallProxy;
  let router: Router;
  let url: string;

  beforeAll(async () => {
    // A second router in this process, on the stack's subgraphs, with inventory behind a proxy that can stall.
    const urls = stack.subgraphUrls;
    proxy = await stallProxy(urls.inventory);
    router = await buildRouter({
      config: readConfig({
        ...inherited,
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'fatal',
        ROUTER_SECRET,
        RATE_LIMIT: 'false',
        ROUTER_CACHE: 'false',
        // Inventory through the stalling proxy, the others direct.
        ...subgraphUrlEnv({ ...urls, inventory: proxy.url }),
        INVENTORY_TIMEOUT_MS: String(TIMEOUT_MS),
        BREAKER_FAILURE_THRESHOLD: String(BREAKER_FAILURE_THRESHOLD),
        BREAKER_COOLDOWN_MS: String(COOLDOWN_MS),
      }),
    });
    await router.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(router.app.server.address() as AddressInfo).port}/graphql`;
  });
  afterAll(async () => {
    await router?.close();
    await proxy?.close();
  });

  it('times out, then fails fast without touching the stalled subgraph, and closes again after a good probe', async () => {
    const warm = await post(url, LISTING);
    expect(warm.body.errors).toBeUndefined();
    for (const node of nodesOf(warm)) expect(node.stock).toEqual({ available: expect.any(Number) });

    let phase = 'before';
    const health = watchHealth(url);
    const running = load(url, () => phase, STALL_LOOPS);
    await sleep(500);
    proxy.pause();
    phase = 'stalled';
    const pausedAt = Date.now();
    // Wait (bounded) for the breaker to open: the first fetches each wait out the timeout.
    for (let i = 0; i < 100 && (await metric(url, 'subgraph_circuit_state', { subgraph: 'inventory' })) !== 1; i++) await sleep(50);
    expect(await metric(url, 'subgraph_circuit_state', { subgraph: 'inventory' })).toBe(1);
    const failedAtOpen = await metric(url, 'subgraph_fetches_total', { subgraph: 'inventory', outcome: 'failed' });
    const fastAtOpen = await metric(url, 'subgraph_fetches_total', { subgraph: 'inventory', outcome: 'circuit_open' });
    // Fetches admitted before the circuit opened may still be finishing: let them (each ends at its timeout).
    await sleep(TIMEOUT_MS + 500);
    phase = 'open';
    const chunksAtOpen = proxy.chunks();
    const connectionsAtOpen = proxy.connections();
    const failedAfterSettle = await metric(url, 'subgraph_fetches_total', { subgraph: 'inventory', outcome: 'failed' });
    await sleep(1_500);
    const openFor = Date.now() - pausedAt;
    const chunksLater = proxy.chunks();
    const connectionsLater = proxy.connections();
    const failedLater = await metric(url, 'subgraph_fetches_total', { subgraph: 'inventory', outcome: 'failed' });
    const fastLater = await metric(url, 'subgraph_fetches_total', { subgraph: 'inventory', outcome: 'circuit_open' });
    phase = 'resumed';
    proxy.resume();
    const answers = await running.stop();
    const healthStatuses = await health.stop();

    const by = (p: string) => answers.filter((a) => a.phase === p);
    console.log(
      `[faults] inventory stalled: ${answers.length} answers (${by('before').length} before, ` +
        `${by('stalled').length} while the breaker was closed or opening, ${by('open').length} with it open); ` +
        `inventory fetches: ${failedAtOpen} timed out when it opened, ${failedLater} by the end, ` +
        `${fastAtOpen} → ${fastLater} failed fast; ` +
        `proxy saw ${chunksAtOpen} → ${chunksLater} chunks, ${connectionsAtOpen} → ${connectionsLater} connections while open`,
    );
    expectServed(answers);
    expect(healthStatuses.every((s) => s === 200)).toBe(true);
    expect(by('open').length).toBeGreaterThan(0);
    for (const answer of [...by('stalled'), ...by('open')]) {
      if (answer.body.errors === undefined) continue; // sent just before the stall took hold
      for (const node of nodesOf(answer)) {
        expect(node.stock).toBeNull();
        expect(node.price).toEqual({ amount: expect.any(String), currency: 'INR' }); // pricing is untouched
      }
      expect(codesOf(answer).every((code: string) => code === 'SUBGRAPH_UNAVAILABLE')).toBe(true);
    }
    for (const answer of by('open')) {
      expect(codesOf(answer)).toEqual(['SUBGRAPH_UNAVAILABLE']);
      for (const node of nodesOf(answer)) expect(node.stock).toBeNull();
    }

    // Timeouts first: at least the threshold's worth of fetches failed on the network before it
    // opened. At most one per client loop was in flight when the stall began, and each of the
    // first threshold−1 timeouts may have let its loop send one more before the circuit opened.
    expect(failedAtOpen).toBeGreaterThanOrEqual(BREAKER_FAILURE_THRESHOLD);
    expect(failedAfterSettle).toBeLessThanOrEqual(STALL_LOOPS + BREAKER_FAILURE_THRESHOLD - 1);
    // Then fail-fast: the open circuit answered many fetches itself and nothing new reached the
    // proxy, except a half-open probe per elapsed cool-down (none where this phase is shorter than
    // the 6 s cool-down, as it is by ~2 s; the allowance keeps a slow machine from failing it).
    const probesDue = Math.floor(openFor / COOLDOWN_MS);
    expect(fastLater - fastAtOpen).toBeGreaterThan(STALL_LOOPS);
    expect(failedLater - failedAfterSettle).toBeLessThanOrEqual(probesDue);
    expect(connectionsLater - connectionsAtOpen).toBeLessThanOrEqual(probesDue);
    expect(chunksLater - chunksAtOpen).toBeLessThanOrEqual(probesDue * 4);

    // Resumed: after the cool-down one probe goes through, succeeds, and the circuit closes.
    const back = await until(url, (a) => a.body?.errors === undefined && nodesOf(a)[0]?.stock !== null, 150);
    for (const node of nodesOf(back)) expect(node.stock).toEqual({ available: expect.any(Number) });
    expect(await metric(url, 'subgraph_circuit_state', { subgraph: 'inventory' })).toBe(0);
    expect(proxy.chunks()).toBeGreaterThan(chunksLater);
  });
});
