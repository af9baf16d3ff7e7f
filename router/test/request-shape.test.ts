import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.ts';
import { DEFAULT_MAX_INPUT_DEPTH, nestsDeeperThan, textNestsDeeperThan, valueNestsDeeperThan } from '../src/request-shape.ts';
import type { Router } from '../src/server.ts';
import { representationsOf, startFakeSubgraph, type FakeSubgraph } from './support/fake-subgraph.ts';
import { buildTinyRouter } from './support/tiny-router.ts';

/**
 * F6: `{"query":"{ __typename }","variables":{"x":[[[ …5000 levels… ]]]}}` (10 KB) was a 500, the
 * response cache's key overflowing the stack. Deep `variables` and `extensions` are refused with
 * 400 BAD_REQUEST before the response cache, request sharing and Apollo, over POST and GET alike.
 */
const deepText = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`;
const deep = (levels: number) => JSON.parse(deepText(levels)) as unknown;
/** JSON text of an object whose `key` holds `levels` of nesting (JSON.stringify itself overflows on these). */
const holding = (levels: number, key = 'x', rest = '') => `{${rest}"${key}":${deepText(levels)}}`;

let products: FakeSubgraph;
let pricing: FakeSubgraph;
let router: Router;
beforeAll(async () => {
  products = await startFakeSubgraph(() => ({
    body: { data: { products: [{ __typename: 'Product', id: 'p1', name: 'Kettle' }] } },
    cacheControl: 'public, max-age=60',
  }));
  pricing = await startFakeSubgraph((request) => ({ body: { data: { _entities: representationsOf(request).map(() => ({ price: 1 })) } } }));
  // Production, with the entity and response caches and request sharing on, as deployed.
  router = await buildTinyRouter({ products, pricing }, { NODE_ENV: 'production', ROUTER_SECRET: 'test-secret', ROUTER_CACHE: 'true' });
});
afterAll(async () => {
  await router?.close();
  await products?.close();
  await pricing?.close();
});

const post = (payload: unknown) =>
  router.app.inject({
    method: 'POST',
    url: '/graphql',
    headers: { 'content-type': 'application/json' },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
const get = (fields: Record<string, string>) =>
  router.app.inject({ method: 'GET', url: `/graphql?${new URLSearchParams(fields)}`, headers: { 'apollo-require-preflight': 'true' } });

function expectRefused(response: Awaited<ReturnType<typeof post>>, field: string) {
  expect(response.statusCode).toBe(400);
  expect(response.json()).toEqual({
    errors: [{ message: `Request ${field} nest deeper than ${DEFAULT_MAX_INPUT_DEPTH} levels`, extensions: { code: 'BAD_REQUEST' } }],
  });
}

describe('deeply nested variables and extensions (production)', () => {
  it('refuses 5,000 levels of variables over POST with 400 BAD_REQUEST, not a 500', async () => {
    const fetches = products.requests.length;
    expectRefused(await post(`{"query":"{ __typename }","variables":${holding(5_000)}}`), 'variables');
    expectRefused(await post(`{"query":"{ products { id name } }","variables":${holding(100_000)}}`), 'variables');
    expect(products.requests.length).toBe(fetches);
  });

  it('refuses them over GET (JSON text in the query string)', async () => {
    expectRefused(await get({ query: '{ __typename }', variables: holding(5_000) }), 'variables');
    // Brackets inside strings are data, not nesting.
    const inString = await get({ query: '{ __typename }', variables: JSON.stringify({ x: deepText(5_000) }) });
    expect(inString.statusCode).toBe(200);
  });

  it('measures GET fields as Apollo decodes them, even with a malformed escape beside the nesting', async () => {
    // Fastify's query parser leaves a field undecoded when one escape in it is bad (%FF), which hid
    // the brackets; Apollo decodes the same text leniently and saw 5,000 levels.
    const variables = encodeURIComponent(holding(5_000)).replace(/%7D$/, '%2C%22y%22%3A%22%FF%22%7D');
    const response = await router.app.inject({
      method: 'GET',
      url: `/graphql?query=%7B__typename%7D&variables=${variables}`,
      headers: { 'apollo-require-preflight': 'true' },
    });
    expectRefused(response, 'variables');
  });

  it('refuses deep extensions too, over POST and GET', async () => {
    const extensions = holding(5_000, 'junk', '"persistedQuery":{"version":1,"sha256Hash":"x"},');
    expectRefused(await post(`{"query":"{ __typename }","extensions":${extensions}}`), 'extensions');
    expectRefused(await get({ query: '{ __typename }', extensions }), 'extensions');
  });

  it('answers variables at the limit as usual', async () => {
    // The variables object is level 1: x holds the other 31.
    const atLimit = { x: deep(DEFAULT_MAX_INPUT_DEPTH - 1) };
    const answer = await post({ query: '{ __typename }', variables: atLimit });
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toEqual({ data: { __typename: 'Query' } });
    expect((await get({ query: '{ __typename }', variables: JSON.stringify(atLimit) })).statusCode).toBe(200);
    expectRefused(await post({ query: '{ __typename }', variables: { x: deep(DEFAULT_MAX_INPUT_DEPTH) } }), 'variables');
  });

  it('takes its bound from MAX_INPUT_DEPTH', () => {
    expect(readConfig({}).maxInputDepth).toBe(32);
    expect(readConfig({ MAX_INPUT_DEPTH: '4' }).maxInputDepth).toBe(4);
    expect(() => readConfig({ MAX_INPUT_DEPTH: '0' })).toThrow(/MAX_INPUT_DEPTH/);
  });
});

describe('nesting measures', () => {
  it('count arrays and objects, the outermost as level 1, without recursion', () => {
    expect(valueNestsDeeperThan({ x: [[1]] }, 3)).toBe(false);
    expect(valueNestsDeeperThan({ x: [[1]] }, 2)).toBe(true);
    expect(valueNestsDeeperThan({ a: 1, b: 'x', c: null }, 1)).toBe(false);
    expect(valueNestsDeeperThan('scalar', 0)).toBe(false);
    expect(valueNestsDeeperThan(deep(1_000_000), 32)).toBe(true);
    expect(textNestsDeeperThan('{"x":[[1]]}', 3)).toBe(false);
    expect(textNestsDeeperThan('{"x":[[1]]}', 2)).toBe(true);
    expect(textNestsDeeperThan('{"x":"[[[[\\"[[["}', 1)).toBe(false);
    expect(textNestsDeeperThan(deepText(1_000_000), 32)).toBe(true);
    expect(nestsDeeperThan(['{"a":1}', deepText(40)], 32)).toBe(true);
  });
});
