import { GraphQLError } from 'graphql';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker, CircuitOpenError, isSubgraphFailure, type CircuitState } from '../src/breaker.ts';
import { readConfig } from '../src/config.ts';
import type { Router } from '../src/server.ts';
import { createSubgraphClients } from '../src/subgraph-clients.ts';
import { delay, representationsOf, startFakeSubgraph, type FakeHandler, type FakeSubgraph } from './support/fake-subgraph.ts';
import { createRouterMetrics } from './support/harness.ts';
import { buildTinyRouter } from './support/tiny-router.ts';

const down = () => Promise.reject(new TypeError('fetch failed'));
const up = () => Promise.resolve('ok');

function breakerWithClock(options: { failureThreshold?: number; cooldownMs?: number; windowMs?: number } = {}) {
  let time = 1_000;
  const changes: CircuitState[] = [];
  const breaker = new CircuitBreaker({
    name: 'pricing',
    failureThreshold: 3,
    cooldownMs: 5_000,
    ...options,
    now: () => time,
    onStateChange: (state) => changes.push(state),
  });
  return { breaker, changes, advance: (ms: number) => (time += ms) };
}

describe('circuit breaker', () => {
  it('opens after the threshold of consecutive failures, and then fails fast without calling', async () => {
    const { breaker, changes } = breakerWithClock();
    for (let i = 0; i < 2; i++) await expect(breaker.run(down)).rejects.toThrow('fetch failed');
    expect(breaker.state).toBe('closed');
    await expect(breaker.run(down)).rejects.toThrow('fetch failed');
    expect(breaker.state).toBe('open');
    expect(changes).toEqual(['open']);

    const call = vi.fn(up);
    const error = await breaker.run(call).catch((e: unknown) => e);
    expect(call).not.toHaveBeenCalled();
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(error).toBeInstanceOf(GraphQLError);
    expect((error as GraphQLError).message).toBe('pricing is unavailable; some fields could not be resolved');
    expect((error as GraphQLError).extensions).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'pricing' });
  });

  it('counts only consecutive failures within the window', async () => {
    const { breaker, advance } = breakerWithClock({ windowMs: 10_000 });
    await expect(breaker.run(down)).rejects.toThrow();
    await expect(breaker.run(down)).rejects.toThrow();
    await breaker.run(up); // a success ends the streak
    await expect(breaker.run(down)).rejects.toThrow();
    await expect(breaker.run(down)).rejects.toThrow();
    advance(10_001); // the streak is too old: this failure starts a new one
    await expect(breaker.run(down)).rejects.toThrow();
    await expect(breaker.run(down)).rejects.toThrow();
    expect(breaker.state).toBe('closed');
    await expect(breaker.run(down)).rejects.toThrow();
    expect(breaker.state).toBe('open');
  });

  it('does not count GraphQL errors in an answer or 4xx, only no answer and 5xx', async () => {
    const status = (code: number) => Object.assign(new GraphQLError(`${code}`), { extensions: { response: { status: code } } });
    expect(isSubgraphFailure(new TypeError('fetch failed'))).toBe(true);
    expect(isSubgraphFailure(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))).toBe(true);
    expect(isSubgraphFailure(status(503))).toBe(true);
    expect(isSubgraphFailure(status(400))).toBe(false);
    expect(isSubgraphFailure(new CircuitOpenError('pricing'))).toBe(false);

    const { breaker } = breakerWithClock({ failureThreshold: 1 });
    await expect(breaker.run(() => Promise.reject(status(401)))).rejects.toThrow('401');
    expect(breaker.state).toBe('closed');
    // A 200 carrying GraphQL errors resolves: the subgraph is up.
    await breaker.run(() => Promise.resolve({ errors: [{ message: 'bad input' }] }));
    expect(breaker.state).toBe('closed');
  });

  it('never counts a subgraph refusing the client: a 429, or a 5xx whose errors all carry a client code', async () => {
    const answer = (status: number, body: unknown) =>
      Object.assign(new GraphQLError(`${status}`), { extensions: { response: { status, body } } });
    const refused = (code: string) => ({ errors: [{ message: 'no', extensions: { code } }] });
    expect(isSubgraphFailure(answer(429, refused('RATE_LIMITED')))).toBe(false);
    expect(isSubgraphFailure(answer(429, 'Too Many Requests'))).toBe(false);
    expect(isSubgraphFailure(answer(503, refused('RATE_LIMITED')))).toBe(false);
    expect(isSubgraphFailure(answer(500, refused('BAD_USER_INPUT')))).toBe(false);
    // …but a 5xx with no codes, an internal code, or a mix with one, is the subgraph failing.
    expect(isSubgraphFailure(answer(503, 'Service Unavailable'))).toBe(true);
    expect(isSubgraphFailure(answer(500, refused('INTERNAL_SERVER_ERROR')))).toBe(true);
    expect(isSubgraphFailure(answer(500, { errors: [...refused('RATE_LIMITED').errors, { message: 'db down' }] }))).toBe(true);
    expect(isSubgraphFailure(answer(502, { errors: [] }))).toBe(true);

    const { breaker } = breakerWithClock({ failureThreshold: 1 });
    for (let i = 0; i < 5; i++)
      await expect(breaker.run(() => Promise.reject(answer(503, refused('RATE_LIMITED'))))).rejects.toThrow('503');
    expect(breaker.state).toBe('closed');
  });

  it('after the cool-down lets exactly one probe through; its success closes the circuit', async () => {
    const { breaker, changes, advance } = breakerWithClock({ failureThreshold: 1 });
    await expect(breaker.run(down)).rejects.toThrow();
    advance(4_999);
    await expect(breaker.run(up)).rejects.toBeInstanceOf(CircuitOpenError);
    advance(1);

    let finishProbe!: (value: string) => void;
    const probeCall = vi.fn(() => new Promise<string>((resolve) => (finishProbe = resolve)));
    const probe = breaker.run(probeCall);
    expect(breaker.state).toBe('half-open');
    const other = vi.fn(up);
    await expect(breaker.run(other)).rejects.toBeInstanceOf(CircuitOpenError);
    expect(other).not.toHaveBeenCalled();
    expect(probeCall).toHaveBeenCalledTimes(1);

    finishProbe('fine');
    await expect(probe).resolves.toBe('fine');
    expect(breaker.state).toBe('closed');
    expect(changes).toEqual(['open', 'half-open', 'closed']);
    await expect(breaker.run(up)).resolves.toBe('ok');
  });

  it('reopens for another cool-down when the probe fails', async () => {
    const { breaker, changes, advance } = breakerWithClock({ failureThreshold: 2 });
    await expect(breaker.run(down)).rejects.toThrow();
    await expect(breaker.run(down)).rejects.toThrow();
    advance(5_000);
    await expect(breaker.run(down)).rejects.toThrow('fetch failed'); // the probe went out and failed
    expect(breaker.state).toBe('open');
    expect(changes).toEqual(['open', 'half-open', 'open']);
    advance(4_999);
    const call = vi.fn(up);
    await expect(breaker.run(call)).rejects.toBeInstanceOf(CircuitOpenError);
    expect(call).not.toHaveBeenCalled();
    advance(1);
    await expect(breaker.run(up)).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
  });

  it('keeps one breaker per subgraph and uses each subgraph its own timeout', () => {
    const config = readConfig({ SUBGRAPH_TIMEOUT_MS: '3000', PRICING_TIMEOUT_MS: '250' });
    const clients = createSubgraphClients(config, createRouterMetrics());
    expect(clients.timeoutFor('pricing')).toBe(250);
    expect(clients.timeoutFor('products')).toBe(3_000);
    expect(clients.timeoutFor('not-configured')).toBe(3_000);
    expect(clients.breakerFor('pricing')).toBe(clients.breakerFor('pricing'));
    expect(clients.breakerFor('pricing')).not.toBe(clients.breakerFor('products'));
    expect(clients.fetcherFor('products')).toBe(clients.fetcherFor('users'));
    expect(clients.fetcherFor('pricing')).not.toBe(clients.fetcherFor('products'));
    return clients.close();
  });
});

/**
 * The breaker as the router runs it, over the tiny supergraph (products + pricing fakes). Pricing
 * stalls: the first fetches wait out PRICING_TIMEOUT_MS, then the circuit opens and answers come
 * at once without reaching pricing; once pricing is back, the probe after the cool-down closes it.
 */
const TIMEOUT_MS = 1_000;
const COOLDOWN_MS = 1_500;
const LISTING = '{ products(first: 2) { id name price } }';

describe('router with a stalled subgraph', () => {
  let products: FakeSubgraph;
  let pricing: FakeSubgraph;
  let router: Router;
  const stalled: (() => void)[] = [];

  const healthyPricing: FakeHandler = (request) => {
    if (request.query.startsWith('mutation')) throw new Error('pricing broke');
    return { body: { data: { _entities: representationsOf(request).map((r) => ({ price: Number(r.id.slice(1)) * 100 })) } } };
  };
  const stall: FakeHandler = () => new Promise((resolve) => stalled.push(() => resolve({ body: { data: null } })));

  beforeAll(async () => {
    products = await startFakeSubgraph(() => ({
      body: { data: { products: [1, 2].map((n) => ({ __typename: 'Product', id: `p${n}`, name: `Product ${n}` })) } },
    }));
    pricing = await startFakeSubgraph(healthyPricing);
    router = await buildTinyRouter(
      { products, pricing },
      { PRICING_TIMEOUT_MS: String(TIMEOUT_MS), BREAKER_FAILURE_THRESHOLD: '2', BREAKER_COOLDOWN_MS: String(COOLDOWN_MS) },
    );
  });
  afterAll(async () => {
    for (const release of stalled) release();
    await router.close();
    await products.close();
    await pricing.close();
  });

  const post = async (query: string) => {
    const started = performance.now();
    const response = await router.app.inject({
      method: 'POST',
      url: '/graphql',
      payload: { query },
      headers: { 'content-type': 'application/json' },
    });
    return { status: response.statusCode, body: response.json() as { data?: any; errors?: any[] }, ms: performance.now() - started };
  };
  const circuit = async () => (await router.metrics.subgraphCircuitState.get()).values.find((v) => v.labels.subgraph === 'pricing')?.value;
  const opens = async () =>
    (await router.metrics.subgraphCircuitOpens.get()).values.find((v) => v.labels.subgraph === 'pricing')?.value ?? 0;
  const expectDegraded = (result: Awaited<ReturnType<typeof post>>) => {
    expect(result.status).toBe(200);
    expect(result.body.data.products).toEqual([
      { id: 'p1', name: 'Product 1', price: null },
      { id: 'p2', name: 'Product 2', price: null },
    ]);
    expect(result.body.errors).toHaveLength(1);
    expect(result.body.errors![0].extensions.code).toBe('SUBGRAPH_UNAVAILABLE');
    expect(JSON.stringify(result.body)).not.toMatch(/127\.0\.0\.1|localhost|http:|stack/);
  };

  it('sends a failed mutation exactly once (no retries)', async () => {
    const result = await post('mutation { setPrice(id: "p1", price: 5) { price } }');
    expect(result.body.errors).toHaveLength(1);
    expect(pricing.requests.filter((r) => r.query.startsWith('mutation'))).toHaveLength(1);
    // One 500 is below the threshold of two; a success now resets the streak.
    expect((await post(LISTING)).body.data.products[1].price).toBe(200);
    expect(await circuit()).toBe(0);
  });

  it('waits out the timeout, then opens and answers at once without reaching the subgraph, then closes on a probe', async () => {
    pricing.handle(stall);
    const before = pricing.requests.length;

    for (let i = 0; i < 2; i++) {
      const timedOut = await post(LISTING);
      expectDegraded(timedOut);
      expect(timedOut.ms).toBeGreaterThanOrEqual(TIMEOUT_MS * 0.9);
    }
    expect(pricing.requests.length).toBe(before + 2);
    expect(await circuit()).toBe(1);
    expect(await opens()).toBe(1);

    for (let i = 0; i < 3; i++) {
      const fast = await post(LISTING);
      expectDegraded(fast);
      expect(fast.body.errors![0]).toMatchObject({
        message: 'pricing is unavailable; some fields could not be resolved',
        extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'pricing' },
      });
      expect(fast.ms).toBeLessThan(TIMEOUT_MS / 2);
    }
    expect(pricing.requests.length).toBe(before + 2);

    pricing.handle(healthyPricing);
    await delay(COOLDOWN_MS + 100);
    const recovered = await post(LISTING);
    expect(recovered.body.errors).toBeUndefined();
    expect(recovered.body.data.products.map((p: { price: number }) => p.price)).toEqual([100, 200]);
    expect(pricing.requests.length).toBe(before + 3); // exactly one probe
    expect(await circuit()).toBe(0);
    expect((await post(LISTING)).body.errors).toBeUndefined();
    expect(await opens()).toBe(1);
  });
});
