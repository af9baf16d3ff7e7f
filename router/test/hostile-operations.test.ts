import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readConfig } from '../src/config.ts';
import { everySubgraphAt } from './support/supergraph-env.ts';
import { COST_HEADER } from '../src/demand-control.ts';
import { DEFAULT_OPERATION_LIMITS } from '../src/limits.ts';
import { buildRouter, type Router } from '../src/server.ts';
import { startFakeSubgraph, type ReceivedRequest } from './support/fake-subgraph.ts';

/**
 * Hostile operations against the router over the repo's own supergraph (its @cost and @listSize),
 * every subgraph a fake that counts what reaches it: refused operations must fetch nothing.
 */

function answer({ query }: ReceivedRequest) {
  const data: Record<string, unknown> = {};
  if (/\bcategories\b/.test(query)) data.categories = [{ __typename: 'Category', id: 'c1', name: 'Kettles' }];
  if (/\bproduct\b/.test(query)) data.product = { __typename: 'Product', id: 'p1', name: 'Kettle' };
  return { body: { data } };
}

async function startRouter(env: Record<string, string>) {
  const subgraph = await startFakeSubgraph(answer);
  const router = await buildRouter({
    config: readConfig({
      PORT: '0',
      LOG_LEVEL: 'silent',
      ROUTER_CACHE: 'false',
      ...everySubgraphAt(subgraph.url),
      ...env,
    }),
  });
  return {
    router,
    subgraph,
    async close() {
      await router.close();
      await subgraph.close();
    },
  };
}

type Running = Awaited<ReturnType<typeof startRouter>>;

function post(router: Router, payload: unknown, headers: Record<string, string> = {}) {
  return router.app.inject({
    method: 'POST',
    url: '/graphql',
    headers: { 'content-type': 'application/json', ...headers },
    payload: JSON.stringify(payload),
  });
}

const codes = (body: { errors?: { extensions?: { code?: string } }[] }) => (body.errors ?? []).map((e) => e.extensions?.code);

const F1 =
  'query($n: Int){ categories { products(first: $n) { edges { node { category { products(first: $n) { edges { node { id } } } } } } } } }';

for (const mode of ['production', 'development'] as const) {
  describe(`demand control (${mode})`, () => {
    let running: Running;
    beforeAll(async () => {
      running = await startRouter(mode === 'production' ? { NODE_ENV: 'production', ROUTER_SECRET: 'test-secret' } : {});
    });
    afterAll(() => running?.close());

    it.each([
      ['first as a variable, n = 100', { query: F1, variables: { n: 100 } }],
      ['first as a variable, not sent (the default page)', { query: F1 }],
      ['first left out (the default page)', { query: F1.replace('query($n: Int)', 'query').replace(/\(first: \$n\)/g, '') }],
    ])('F1: refuses nested pages (%s) with 400 MAX_COST_EXCEEDED before any fetch', async (_, payload) => {
      const before = running.subgraph.requests.length;
      const response = await post(running.router, payload);
      expect(response.statusCode).toBe(400);
      const body = response.json();
      expect(body.data).toBeUndefined();
      expect(codes(body)).toEqual(['MAX_COST_EXCEEDED']);
      expect(body.errors[0].message).toMatch(new RegExp(`cost limit of ${DEFAULT_OPERATION_LIMITS.maxCost} exceeded`));
      expect(running.subgraph.requests.length).toBe(before);
    });

    it(
      'refuses 30 aliased scalars under 60 × 82 products (cost 9,960, a 10.6 MB answer) ' +
        'with 400 MAX_RESPONSE_FIELDS_EXCEEDED before any fetch',
      async () => {
        const aliases = Array.from({ length: 30 }, (_, i) => `d${i}:description`).join(' ');
        const fields = `id sku name description brand imageUrl weightGrams ${aliases}`;
        const query = `{ categories { products(first: 82) { edges { node { ${fields} } } } } }`;
        expect(Buffer.byteLength(query)).toBe(582); // the document as the review sent it
        const before = running.subgraph.requests.length;
        const response = await post(running.router, { query }, { [COST_HEADER]: '1' });
        expect(response.statusCode).toBe(400);
        const body = response.json();
        expect(body.data).toBeUndefined();
        expect(codes(body)).toEqual(['MAX_RESPONSE_FIELDS_EXCEEDED']);
        expect(body.errors[0].message).toBe(
          `Response field limit of ${DEFAULT_OPERATION_LIMITS.maxResponseFields} exceeded: estimated 187081.`,
        );
        expect(running.subgraph.requests.length).toBe(before);
      },
    );

    it(
      'answers an operation under the limit, with its estimate as a metric ' + '(and, asked for, as an extension in development only)',
      async () => {
        const response = await post(running.router, { query: 'query Menu { categories { id name } }' }, { [COST_HEADER]: '1' });
        expect(response.statusCode).toBe(200);
        const body = response.json();
        expect(body.data).toEqual({ categories: [{ id: 'c1', name: 'Kettles' }] });
        if (mode === 'development') expect(body.extensions).toEqual({ cost: { estimated: 60, max: DEFAULT_OPERATION_LIMITS.maxCost } });
        else expect(body.extensions).toBeUndefined();
        const { values } = await running.router.metrics.operationCost.get();
        const sum = values.find((v) => v.metricName === 'graphql_operation_estimated_cost_sum' && v.labels.operation === 'Menu');
        expect(sum?.value).toBe(60);
        // Not asked for: the response keeps its ordinary shape.
        expect((await post(running.router, { query: 'query Menu { categories { id name } }' })).json()).toEqual({ data: body.data });
      },
    );
  });
}

describe('suggestions and aliases (production)', () => {
  let running: Running;
  beforeAll(async () => {
    running = await startRouter({ NODE_ENV: 'production', ROUTER_SECRET: 'test-secret' });
  });
  afterAll(() => running?.close());

  it.each([
    [
      'an enum value (F10)',
      { query: '{ product(id:"p1") { price(region: INN) { amount } } }' },
      /Value "INN" does not exist in "Region" enum/,
    ],
    ['a field', { query: '{ product(id:"p1") { nme } }' }, /Cannot query field "nme" on type "Product"/],
    ['an argument', { query: '{ product(idd:"p1") { id } }' }, /Unknown argument "idd"/],
    ['a type', { query: 'query($r: Regon!) { product(id:"p1") { price(region: $r) { amount } } }' }, /Unknown type "Regon"/],
    [
      'an input field',
      { query: '{ products(filter: { categorySlg: "x" }) { totalCount } }' },
      /"categorySlg" is not defined by type "ProductFilter"/,
    ],
    [
      'a variable value',
      { query: 'query($r: Region!) { product(id:"p1") { price(region: $r) { amount } } }', variables: { r: 'INN' } },
      /Variable "\$r" got invalid value "INN"/,
    ],
  ])('F10: suggests nothing for a misspelt %s', async (_, payload, message) => {
    const before = running.subgraph.requests.length;
    const response = await post(running.router, payload);
    expect(response.statusCode).toBe(400);
    const [error, ...rest] = response.json().errors;
    expect(rest).toEqual([]);
    expect(error.message).toMatch(message);
    expect(error.message).not.toMatch(/did you mean|\b(IN|name|id|Region|categorySlug)\b\?|\[Suggestion/i);
    expect(running.subgraph.requests.length).toBe(before);
  });

  it('F11: counts `__typename` aliases, and an alias named `__typename`, toward MAX_ALIASES', async () => {
    const { maxAliases } = DEFAULT_OPERATION_LIMITS;
    const typenames = `{ ${Array.from({ length: 990 }, (_, i) => `t${i}: __typename`).join(' ')} }`;
    // maxAliases ordinary aliases, plus one named __typename on a real field: one over.
    const aliases = Array.from({ length: maxAliases }, (_, i) => `a${i}: product(id: "p${i}") { id }`).join(' ');
    const named = `{ __typename: product(id: "p1") { id } ${aliases} }`;
    for (const query of [typenames, named]) {
      const response = await post(running.router, { query });
      expect(response.statusCode, response.body.slice(0, 200)).toBe(400);
      expect(codes(response.json())).toEqual(['MAX_ALIASES_EXCEEDED']);
    }
    expect(running.subgraph.requests).toHaveLength(0);
  });
});

describe('demand control follows the supergraph', () => {
  const dir = mkdtempSync(join(tmpdir(), 'supergraph-'));
  const path = join(dir, 'supergraph.graphql');
  const sdl = readFileSync(new URL('../../schema/supergraph.graphql', import.meta.url), 'utf8');
  let running: Running;
  beforeAll(async () => {
    writeFileSync(path, sdl);
    running = await startRouter({ SUPERGRAPH_PATH: path });
  });
  afterAll(async () => {
    await running?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const estimate = async () =>
    (await post(running.router, { query: '{ categories { id } }' }, { [COST_HEADER]: '1' })).json().extensions?.cost?.estimated;

  it('reads @listSize again when the supergraph file changes', async () => {
    expect(await estimate()).toBe(60);
    const resized = sdl.replace(
      'categories: [Category!]! @join__field(graph: PRODUCTS) @listSize(assumedSize: 60)',
      'categories: [Category!]! @join__field(graph: PRODUCTS) @listSize(assumedSize: 600)',
    );
    expect(resized).not.toBe(sdl);
    writeFileSync(path, resized);
    await vi.waitFor(async () => expect(await estimate()).toBe(600), { timeout: 10_000, interval: 100 });
  });
});
