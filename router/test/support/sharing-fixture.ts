import { afterAll, afterEach, beforeAll } from 'vitest';
import type { Router } from '../../src/server.ts';
import { delay, representationsOf, startFakeSubgraph, type FakeSubgraph } from './fake-subgraph.ts';
import { startIssuer } from './issuer.ts';
import { buildTinyRouter } from './tiny-router.ts';

/**
 * The setup both in-flight sharing suites use (inflight.test.ts, request-dedup.test.ts): the tiny
 * supergraph's two fakes, slow enough (150 ms per query) that concurrent requests overlap, a JWKS
 * issuer, and routers closed after each test. Call inside a `describe`: it registers the hooks.
 *
 * products answers `products(first:)` (from a variable or the query text, default 2) and `me`
 * (the viewer the router sent); pricing answers `_entities` with price = 100 × the id's number,
 * and `setPrice` at once.
 */
export function sharingFixture(baseEnv: Record<string, string>) {
  let products!: FakeSubgraph;
  let pricing!: FakeSubgraph;
  let issuer!: Awaited<ReturnType<typeof startIssuer>>;
  let productsGate: Promise<void> | undefined;
  const routers: Router[] = [];

  beforeAll(async () => {
    issuer = await startIssuer();
    products = await startFakeSubgraph(async ({ query, headers, variables }) => {
      await (productsGate ?? delay(150));
      if (/\bme\b/.test(query)) return { body: { data: { me: headers['x-user-id'] ?? 'anonymous' } }, cacheControl: 'private, max-age=30' };
      const first = Number(variables.first ?? /first:\s*(\d+)/.exec(query)?.[1] ?? 2);
      return {
        body: {
          data: {
            products: Array.from({ length: first }, (_, i) => ({ __typename: 'Product', id: `p${i + 1}`, name: `Product ${i + 1}` })),
          },
        },
        cacheControl: 'public, max-age=60',
      };
    });
    pricing = await startFakeSubgraph(async (request) => {
      if (request.query.startsWith('mutation')) return { body: { data: { setPrice: { __typename: 'Product', id: 'p1', price: 5 } } } };
      await delay(150);
      return {
        body: { data: { _entities: representationsOf(request).map((r) => ({ price: Number(r.id.slice(1)) * 100 })) } },
        cacheControl: 'public, max-age=60',
      };
    });
  });
  afterEach(async () => {
    productsGate = undefined;
    products.requests.length = 0;
    pricing.requests.length = 0;
    await Promise.all(routers.splice(0).map((router) => router.close()));
  });
  afterAll(async () => {
    await products?.close();
    await pricing?.close();
    await issuer?.close();
  });

  return {
    products: () => products,
    pricing: () => pricing,
    sign: (sub: string) => issuer.sign(sub),
    /** products holds every answer until the returned function is called. */
    holdProducts(): () => void {
      let release!: () => void;
      productsGate = new Promise<void>((resolve) => (release = resolve));
      return release;
    },
    async router(env: Record<string, string> = {}): Promise<Router> {
      const built = await buildTinyRouter({ products, pricing }, { JWKS_URL: issuer.jwksUrl, ...baseEnv, ...env });
      routers.push(built);
      return built;
    },
  };
}

export const post = (target: Router, body: object, headers: Record<string, string> = {}) =>
  target.app.inject({
    method: 'POST',
    url: '/graphql',
    headers: { 'content-type': 'application/json', ...headers },
    payload: JSON.stringify(body),
  });

/** One series of a router metric (first line starting with `name` and containing every label). */
export async function metric(target: Router, name: string, labels = ''): Promise<number> {
  const text = (await target.app.inject({ method: 'GET', url: '/metrics' })).body;
  const line = text.split('\n').find((l) => l.startsWith(name) && labels.split(',').every((label) => l.includes(label)));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

export const EXPECTED_LISTING = {
  data: {
    products: [
      { id: 'p1', name: 'Product 1', price: 100 },
      { id: 'p2', name: 'Product 2', price: 200 },
    ],
  },
};
