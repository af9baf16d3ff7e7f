import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from '../../src/persisted/manifests.ts';
import type { Router } from '../../src/server.ts';
import { representationsOf, startFakeSubgraph, type FakeSubgraph, type ReceivedRequest } from './fake-subgraph.ts';
import { total } from './harness.ts';
import { buildTinyRouter } from './tiny-router.ts';

/**
 * Shared by the persisted-query tests: a real router (gateway, Apollo APQ, the safelist plugin)
 * over test/fixtures/tiny-supergraph.graphql, with fake subgraphs and the manifests in
 * test/fixtures/manifests (ios: Listing, SetPrice; web: Names).
 */
export const MANIFESTS = fileURLToPath(new URL('../fixtures/manifests', import.meta.url));

export const LISTING =
  'query Listing($first: Int) {\n  products(first: $first) {\n    ...ProductCard\n  }\n}\n\n' +
  'fragment ProductCard on Product {\n  id\n  name\n  price\n}';
export const SET_PRICE = 'mutation SetPrice($id: ID!, $price: Int!) {\n  setPrice(id: $id, price: $price) {\n    id\n    price\n  }\n}';
export const NAMES = 'query Names {\n  products(first: 2) {\n    id\n    name\n  }\n}';
export { sha256 };

export const persisted = (hash: string) => ({ persistedQuery: { version: 1, sha256Hash: hash } });

function productsSubgraph(request: ReceivedRequest) {
  const first = Number(/first:(\d+)/.exec(request.query)?.[1] ?? request.variables.first ?? 2);
  const products = Array.from({ length: first }, (_, i) => ({ __typename: 'Product', id: `p${i + 1}`, name: `Product ${i + 1}` }));
  return { body: { data: { products } }, cacheControl: 'public, max-age=600' };
}

function pricingSubgraph(request: ReceivedRequest) {
  if (request.query.startsWith('mutation')) {
    return {
      body: { data: { setPrice: { __typename: 'Product', id: request.variables.id ?? 'p1', price: request.variables.price ?? 5 } } },
      cacheControl: 'no-store',
    };
  }
  const _entities = representationsOf(request).map((r) => ({ price: Number(r.id.slice(1)) * 100 }));
  return { body: { data: { _entities } }, cacheControl: 'public, max-age=60' };
}

export interface Reply {
  status: number;
  body: { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
  headers: Record<string, string | string[] | number | undefined>;
  raw: string;
}

export interface TestRouter {
  router: Router;
  products: FakeSubgraph;
  pricing: FakeSubgraph;
  post(payload: Record<string, unknown>, client?: string): Promise<Reply>;
  /** A GET the way an Apollo client sends a persisted query: every field JSON in the query string. */
  get(payload: Record<string, unknown>, client?: string, headers?: Record<string, string>): Promise<Reply>;
  outcomes(labels: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export async function startRouter(env: Record<string, string> = {}): Promise<TestRouter> {
  const products = await startFakeSubgraph(productsSubgraph);
  const pricing = await startFakeSubgraph(pricingSubgraph);
  // The entity cache stays off: it would answer repeated queries itself; these tests are about the documents.
  const router = await buildTinyRouter({ products, pricing }, { PERSISTED_QUERIES_DIR: MANIFESTS, ...env });
  const reply = (response: Awaited<ReturnType<Router['app']['inject']>>): Reply => ({
    status: response.statusCode,
    body: response.body ? response.json() : {},
    headers: response.headers,
    raw: response.body,
  });
  return {
    router,
    products,
    pricing,
    async post(payload, client) {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        ...(client ? { 'apollographql-client-name': client } : {}),
      };
      return reply(await router.app.inject({ method: 'POST', url: '/graphql', payload, headers }));
    },
    async get(payload, client, headers = {}) {
      const query = Object.fromEntries(
        Object.entries(payload).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]),
      );
      const url = `/graphql?${new URLSearchParams(query)}`;
      return reply(
        await router.app.inject({
          method: 'GET',
          url,
          headers: { ...(client ? { 'apollographql-client-name': client } : {}), ...headers },
        }),
      );
    },
    outcomes: (labels) => total(router.metrics.persistedQueryRequests, labels),
    async close() {
      await router.close();
      await products.close();
      await pricing.close();
    },
  };
}

/** A private copy of the manifests fixture, for tests that rewrite it. */
export async function copyManifests(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'manifests-'));
  await cp(MANIFESTS, dir, { recursive: true });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export const manifestOf = (operations: { name: string; type: string; body: string }[]) =>
  JSON.stringify({
    format: 'apollo-persisted-query-manifest',
    version: 1,
    operations: operations.map((op) => ({ id: sha256(op.body), ...op })),
  });

export const codes = (reply: Reply) => reply.body.errors?.map((error) => error.extensions?.code);
