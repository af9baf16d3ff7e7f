import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.ts';
import { redactSubgraphError } from '../src/errors.ts';
import type { Router } from '../src/server.ts';
import { startFakeSubgraph, type FakeSubgraph } from './support/fake-subgraph.ts';
import { buildTinyRouter } from './support/tiny-router.ts';

/**
 * NODE_ENV=production: what a client can learn about the router's internals. Pricing answers
 * every entity fetch with two errors, one internal (SQL text and an internal URL in its message)
 * and one written for shoppers (a public code with extras).
 */
const INTERNAL_MESSAGE = 'relation "pricing.prices" does not exist (SELECT amount FROM pricing.prices) at http://10.0.0.7:4003/graphql';
const PUBLIC_MESSAGE = 'Price for p1 is not set in this currency';

let products: FakeSubgraph;
let pricing: FakeSubgraph;

beforeAll(async () => {
  products = await startFakeSubgraph(() => ({ body: { data: { products: [{ __typename: 'Product', id: 'p1', name: 'Kettle' }] } } }));
  pricing = await startFakeSubgraph(() => ({
    body: {
      data: { _entities: [null] },
      errors: [
        {
          message: INTERNAL_MESSAGE,
          path: ['_entities', 0, 'price'],
          extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['at query (/srv/pricing/src/repository.ts:42:7)'] },
        },
        { message: PUBLIC_MESSAGE, path: ['_entities', 0, 'price'], extensions: { code: 'BAD_USER_INPUT', productIds: ['p1'] } },
      ],
    },
  }));
});
afterAll(async () => {
  await products?.close();
  await pricing?.close();
});

const LISTING = '{ products { id name price } }';

async function post(router: Router, body: unknown, headers: Record<string, string> = {}) {
  return router.app.inject({
    method: 'POST',
    url: '/graphql',
    headers: { 'content-type': 'application/json', ...headers },
    payload: JSON.stringify(body),
  });
}

describe('production mode', () => {
  let router: Router;
  beforeAll(async () => {
    router = await buildTinyRouter({ products, pricing }, { NODE_ENV: 'production', ROUTER_SECRET: 'test-secret' });
  });
  afterAll(() => router?.close());

  it('redacts subgraph error messages, keeps their codes, and drops internal extensions', async () => {
    const response = await post(router, { query: LISTING });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.data.products[0]).toEqual({ id: 'p1', name: 'Kettle', price: null });
    expect(body.errors).toHaveLength(2);
    const [internal, shopper] = body.errors;
    expect(internal).toMatchObject({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(Object.keys(internal.extensions)).toEqual(['code']);
    // A message our subgraphs wrote for shoppers passes, with the extras meant for clients.
    expect(shopper).toMatchObject({ message: PUBLIC_MESSAGE, extensions: { code: 'BAD_USER_INPUT', productIds: ['p1'] } });
    expect(shopper.extensions.serviceName).toBeUndefined();
    expect(response.body).not.toMatch(/SELECT|pricing\.prices|10\.0\.0\.7|repository\.ts|stacktrace|serviceName/);
  });

  it('turns introspection off', async () => {
    const response = await post(router, { query: '{ __schema { types { name } } }' });
    expect(response.statusCode).toBe(400);
    expect(response.json().errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(response.body).toMatch(/introspection is not allowed/i);
  });

  it('serves no GraphQL IDE', async () => {
    const response = await router.app.inject({ method: 'GET', url: '/graphql', headers: { accept: 'text/html' } });
    expect(response.headers['content-type'] ?? '').not.toMatch(/text\/html/);
    expect(response.body).not.toMatch(/<html|sandbox|embeddable/i);
  });

  it('refuses a request a browser could send cross-site without a preflight (CSRF)', async () => {
    const response = await router.app.inject({ method: 'GET', url: `/graphql?query=${encodeURIComponent('{ products { id } }')}` });
    expect(response.statusCode).toBe(400);
    expect(response.json().errors[0].extensions.code).toBe('BAD_REQUEST');
    expect(response.body).toMatch(/CSRF/);
  });

  it('SUBGRAPH_ERROR_MESSAGES=none hides every subgraph message, public codes included', async () => {
    const strict = await buildTinyRouter(
      { products, pricing },
      { NODE_ENV: 'production', ROUTER_SECRET: 'test-secret', SUBGRAPH_ERROR_MESSAGES: 'none' },
    );
    try {
      const body = (await post(strict, { query: LISTING })).json();
      expect(body.errors.map((error: { message: string; extensions: object }) => [error.message, error.extensions])).toEqual([
        ['Internal server error', { code: 'INTERNAL_SERVER_ERROR' }],
        ['An error occurred while resolving this field', { code: 'BAD_USER_INPUT' }],
      ]);
    } finally {
      await strict.close();
    }
  });
});

describe('development mode', () => {
  let router: Router;
  beforeAll(async () => {
    router = await buildTinyRouter({ products, pricing });
  });
  afterAll(() => router?.close());

  it('shows subgraph errors as the subgraph wrote them', async () => {
    const body = (await post(router, { query: LISTING })).json();
    expect(body.errors[0]).toMatchObject({ extensions: { code: 'INTERNAL_SERVER_ERROR', serviceName: 'pricing' } });
    expect(body.errors[0].message).toContain('pricing.prices');
    // …except internal URLs, which never leave the router in any mode.
    expect(body.errors[0].message).toContain('at <internal URL>');
    expect(JSON.stringify(body)).not.toContain('10.0.0.7');
  });

  it('never passes on the URL and raw body the gateway attaches to a non-2xx subgraph answer', async () => {
    const failing = await startFakeSubgraph(() => {
      throw new Error('database exploded at postgres://pricing@10.0.0.9/shop');
    });
    const router502 = await buildTinyRouter({ products, pricing: failing });
    try {
      const body = (await post(router502, { query: LISTING })).json();
      expect(body.data.products[0].price).toBeNull();
      expect(body.errors[0].extensions.code).toBe('INTERNAL_SERVER_ERROR');
      expect(body.errors[0].extensions.response).toBeUndefined();
      expect(JSON.stringify(body)).not.toMatch(/127\.0\.0\.1|10\.0\.0\.9|exploded/);
    } finally {
      await router502.close();
      await failing.close();
    }
  });

  it('allows introspection and serves the landing page', async () => {
    const introspection = await post(router, { query: '{ __schema { queryType { name } } }' });
    expect(introspection.json().data.__schema.queryType.name).toBe('Query');
    const page = await router.app.inject({ method: 'GET', url: '/graphql', headers: { accept: 'text/html' } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
  });
});

describe('redactSubgraphError', () => {
  const relayed = { message: 'boom at http://10.0.0.7', extensions: { code: 'DOWNSTREAM_SERVICE_ERROR', serviceName: 'orders' } };

  it('leaves errors the router raised itself alone (no serviceName)', () => {
    const own = { message: 'Cannot query field "x" on type "Query".', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } };
    expect(redactSubgraphError(own, 'none')).toBe(own);
  });

  it('redacts unknown codes under public, and passes everything under all', () => {
    expect(redactSubgraphError(relayed, 'public')).toEqual({
      message: 'An error occurred while resolving this field',
      extensions: { code: 'DOWNSTREAM_SERVICE_ERROR' },
    });
    expect(redactSubgraphError(relayed, 'all')).toBe(relayed);
  });

  it('is the production default and can be chosen', () => {
    expect(readConfig({ NODE_ENV: 'production', ROUTER_SECRET: 's' }).subgraphErrorMessages).toBe('public');
    expect(readConfig({}).subgraphErrorMessages).toBe('all');
    expect(readConfig({ SUBGRAPH_ERROR_MESSAGES: 'none' }).subgraphErrorMessages).toBe('none');
    expect(() => readConfig({ SUBGRAPH_ERROR_MESSAGES: 'some' })).toThrow(/SUBGRAPH_ERROR_MESSAGES must be one of all, public, none/);
  });
});

describe('production mode, a subgraph that does not answer in time', () => {
  const TIMEOUT_MS = 300;
  let stalling: FakeSubgraph;
  let router: Router;
  const stalled: (() => void)[] = [];
  beforeAll(async () => {
    stalling = await startFakeSubgraph(() => new Promise((resolve) => stalled.push(() => resolve({ body: { data: null } }))));
    router = await buildTinyRouter(
      { products, pricing: stalling },
      { NODE_ENV: 'production', ROUTER_SECRET: 'test-secret', PRICING_TIMEOUT_MS: String(TIMEOUT_MS) },
    );
  });
  afterAll(async () => {
    for (const release of stalled) release();
    await router?.close();
    await stalling?.close();
  });

  it('answers 200 with the field null and SUBGRAPH_UNAVAILABLE naming the subgraph', async () => {
    const response = await post(router, { query: LISTING });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.data.products[0]).toEqual({ id: 'p1', name: 'Kettle', price: null });
    expect(body.errors).toEqual([
      expect.objectContaining({
        message: 'pricing is unavailable; some fields could not be resolved',
        extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'pricing' },
      }),
    ]);
    expect(response.body).not.toMatch(/127\.0\.0\.1|timeout|toJSON|stack/i);
  });

  it('names the subgraph whose circuit is open, too', async () => {
    const open = await buildTinyRouter(
      { products, pricing: stalling },
      { NODE_ENV: 'production', ROUTER_SECRET: 'test-secret', PRICING_TIMEOUT_MS: String(TIMEOUT_MS), BREAKER_FAILURE_THRESHOLD: '1' },
    );
    try {
      expect((await post(open, { query: LISTING })).statusCode).toBe(200); // times out, opens the circuit
      const fast = await post(open, { query: LISTING });
      expect(fast.statusCode).toBe(200);
      expect(fast.json().errors).toEqual([
        expect.objectContaining({
          message: 'pricing is unavailable; some fields could not be resolved',
          extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'pricing' },
        }),
      ]);
    } finally {
      await open.close();
    }
  });
});
