import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_OPERATION_LIMITS } from '../src/limits.ts';
import type { Router } from '../src/server.ts';
import { representationsOf, startFakeSubgraph, type ReceivedRequest } from './support/fake-subgraph.ts';
import { buildTinyRouter } from './support/tiny-router.ts';

/**
 * Operation limits as the router enforces them: a real gateway over the tiny two-subgraph
 * supergraph (test/fixtures/tiny-supergraph.graphql) with fake subgraphs. Every limit is checked
 * against its default, with a query just over it; nothing over a limit may reach a subgraph.
 */

function productsSubgraph({ query }: ReceivedRequest) {
  const data: Record<string, unknown> = {};
  if (/\bme\b/.test(query)) data.me = 'someone';
  if (/\bproduct\b/.test(query)) data.product = { __typename: 'Product', id: '1', name: 'Product 1' };
  if (/\bproducts\b/.test(query)) data.products = [1, 2].map((n) => ({ __typename: 'Product', id: `p${n}`, name: `Product ${n}` }));
  return { body: { data } };
}

function pricingSubgraph(request: ReceivedRequest) {
  return { body: { data: { _entities: representationsOf(request).map((_, i) => ({ price: (i + 1) * 100 })) } } };
}

/** `a { b { c } }` from ['a', 'b'] and 'c'. */
const nest = (fields: string[], inner: string) => fields.reduceRight((selection, field) => `${field} { ${selection} }`, inner);
const introspectionChain = (ofTypes: number) => ['__type(name: "Product")', 'fields', 'type', ...Array<string>(ofTypes).fill('ofType')];
/** `{ products { id } }` 2^levels times, through fragments that each spread the one below twice. */
const doubling = (levels: number) => {
  const fragments = Array.from({ length: levels }, (_, i) => `fragment F${i + 1} on Query { ...F${i} ...F${i} }`).join(' ');
  return `{ ...F${levels} } fragment F0 on Query { products { id } } ${fragments}`;
};

const { maxDepth, maxAliases, maxTokens, maxDirectives } = DEFAULT_OPERATION_LIMITS;
const BOMBS = {
  // __type (not __schema) counts: depth 16, everything else small.
  MAX_DEPTH_EXCEEDED: `{ ${nest(introspectionChain(maxDepth), 'name')} }`,
  MAX_ALIASES_EXCEEDED: `{ ${Array.from({ length: maxAliases + 1 }, (_, i) => `a${i}: me`).join(' ')} }`,
  MAX_DIRECTIVES_EXCEEDED: `{ ${'me @include(if: true) '.repeat(maxDirectives + 1)} }`,
  MAX_TOKENS_EXCEEDED: `{ ${'me '.repeat(maxTokens)} }`,
  // 112 tokens, but 1,024 lists of products, each COST_LIST_SIZE (10) long (the tiny supergraph
  // has no @listSize): 10,240. Fragments count wherever they are spread.
  MAX_COST_EXCEEDED: doubling(10),
};

async function startRouter(env: Record<string, string> = {}) {
  const products = await startFakeSubgraph(productsSubgraph);
  const pricing = await startFakeSubgraph(pricingSubgraph);
  const router = await buildTinyRouter({ products, pricing }, env);
  return {
    router,
    products,
    async close() {
      await router.close();
      await products.close();
      await pricing.close();
    },
  };
}

function post(router: Router, payload: unknown) {
  return router.app.inject({
    method: 'POST',
    url: '/graphql',
    headers: { 'content-type': 'application/json' },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
}

describe('operation limits (defaults)', () => {
  let running: Awaited<ReturnType<typeof startRouter>>;
  beforeAll(async () => {
    running = await startRouter();
  });
  afterAll(() => running.close());

  it('still answers a normal query', async () => {
    const response = await post(running.router, { query: '{ products(first: 2) { id name price } }' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      data: {
        products: [
          { id: 'p1', name: 'Product 1', price: 100 },
          { id: 'p2', name: 'Product 2', price: 200 },
        ],
      },
    });
  });

  it('answers queries right at every limit', async () => {
    // (Tokens at the limit are checked with a small MAX_TOKENS below: thousands of duplicate fields
    // trip graphql-js's own overlapping-fields budget, "Validation aborted.", before any limit here.)
    const atLimits = [
      `{ ${nest(introspectionChain(maxDepth - 4), 'name')} }`, // depth counts the leaf
      `{ ${Array.from({ length: maxAliases }, (_, i) => `a${i}: me`).join(' ')} }`,
      `{ ${'me @include(if: true) '.repeat(maxDirectives)} }`,
    ];
    for (const query of atLimits) {
      const response = await post(running.router, { query });
      expect(response.statusCode, response.body.slice(0, 300)).toBe(200);
      expect(response.json().errors, query.slice(0, 80)).toBeUndefined();
    }
  });

  it.each(Object.entries(BOMBS))('refuses an operation over the limit with 400 and %s, before any subgraph fetch', async (code, query) => {
    const before = running.products.requests.length;
    const response = await post(running.router, { query });
    expect(response.statusCode).toBe(400);
    const { errors, data } = response.json();
    expect(data).toBeUndefined();
    expect(errors.map((e: { extensions: { code: string } }) => e.extensions.code)).toEqual([code]);
    expect(errors[0].message).toMatch(/limit of \d+ exceeded/i);
    expect(running.products.requests.length).toBe(before);
  });

  it('refuses a body over 2 MB with 413 and PAYLOAD_TOO_LARGE', async () => {
    const response = await post(running.router, { query: 'query($pad: String) { me }', variables: { pad: 'x'.repeat(2.5 * 1024 * 1024) } });
    expect(response.statusCode).toBe(413);
    expect(response.json()).toEqual({
      errors: [{ message: expect.stringMatching(/larger than 2 MB/), extensions: { code: 'PAYLOAD_TOO_LARGE' } }],
    });
  });

  it('refuses HTTP batches (a JSON array body) with 400', async () => {
    const before = running.products.requests.length;
    const response = await post(running.router, [{ query: '{ me }' }, { query: '{ me }' }]);
    expect(response.statusCode).toBe(400);
    expect(response.json().errors[0].extensions.code).toBe('BAD_REQUEST');
    expect(running.products.requests.length).toBe(before);
  });

  it('suggests field names in development', async () => {
    const response = await post(running.router, { query: '{ produts { id } }' });
    expect(response.statusCode).toBe(400);
    expect(response.json().errors[0].message).toMatch(/Did you mean "products"/);
  });
});

describe('operation limits (configured, production)', () => {
  let running: Awaited<ReturnType<typeof startRouter>>;
  beforeAll(async () => {
    running = await startRouter({
      NODE_ENV: 'production',
      ROUTER_SECRET: 'test-secret',
      MAX_DEPTH: '2',
      MAX_ALIASES: '1',
      MAX_TOKENS: '20',
      MAX_DIRECTIVES: '1',
      MAX_COST: '8',
      COST_LIST_SIZE: '2',
    });
  });
  afterAll(() => running.close());

  it('hides field suggestions', async () => {
    const response = await post(running.router, { query: '{ produts { id } }' });
    expect(response.statusCode).toBe(400);
    const [error] = response.json().errors;
    expect(error.message).toMatch(/Cannot query field "produts"/);
    expect(error.message).not.toMatch(/Did you mean|products/);
  });

  it.each([
    ['MAX_DEPTH_EXCEEDED', '{ products { id } }', '{ __type(name: "Product") { fields { name } } }'],
    ['MAX_ALIASES_EXCEEDED', '{ a: me }', '{ a: me b: me }'],
    ['MAX_DIRECTIVES_EXCEEDED', '{ me @include(if: true) }', '{ me @include(if: true) me @skip(if: false) }'],
    // exactly 20 tokens, then 21
    [
      'MAX_TOKENS_EXCEEDED',
      '{ product(id: "1") { id name } me @include(if: true) }',
      '{ product(id: "1") { id name } me @include(if: true) me }',
    ],
    // cost 2 (a list of 2 products), then 11 (a mutation is 10, its Product 1)
    ['MAX_COST_EXCEEDED', '{ products { id name } }', 'mutation { setPrice(id: "1", price: 1) { id } }'],
  ])('takes its limits from the environment (%s)', async (code, allowed, refused) => {
    const ok = await post(running.router, { query: allowed });
    expect(ok.json().errors).toBeUndefined();
    expect(ok.statusCode).toBe(200);
    const response = await post(running.router, { query: refused });
    expect(response.statusCode).toBe(400);
    expect(response.json().errors.map((e: { extensions: { code: string } }) => e.extensions.code)).toContain(code);
  });
});
