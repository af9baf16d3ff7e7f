/**
 * The request streams: for each scenario, a seeded generator of requests and the check that tells
 * a right response from a wrong one. The same seed gives every gateway the same stream.
 *
 * `listing` (20 products with price, stock and category; page by Zipf over every page of the
 * catalogue, so the cache-on router meets pages it has not seen), `detail` (product page,
 * Zipf over all product ids), `history` (signed-in order history, Zipf over the history
 * customers), `search` (the web client's SearchProducts for a term of real product names, Zipf over
 * the terms in a seeded shuffle, so popular terms are not all alike), `checkout` (10% placeOrder, 50% detail, 30% listing, 10% history), and `direct` (a
 * product query sent straight to the products subgraph).
 */
import { randomUUID } from 'node:crypto';
import type { SeedSize } from '@shop/subgraph-kit';
import { clientOperation } from '../graphql.ts';
import { rng, zipf } from '../workload.ts';
import type { Fixtures } from './fixtures.ts';

export const SCENARIOS = ['listing', 'search', 'detail', 'history', 'checkout', 'direct'] as const;
export type Scenario = (typeof SCENARIOS)[number];

const LISTING = clientOperation('ProductListing');
const DETAIL = clientOperation('ProductById');
const HISTORY = clientOperation('OrderHistory');
const SEARCH = clientOperation('SearchProducts');
const PLACE_ORDER = clientOperation('PlaceOrder');
const DIRECT = 'query DirectProduct($id: ID!) { product(id: $id) { id sku name brand description imageUrl } }';

/** One request to send and how to tell its response is right. */
export interface Call {
  body: string;
  token?: string | undefined;
  check: (data: any) => boolean;
}

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null;
const isMoney = (v: unknown) =>
  v === null || (isObject(v) && typeof v.amount === 'string' && Number.isFinite(Number(v.amount)) && typeof v.currency === 'string');

export function generator(scenario: Scenario, fixtures: Fixtures, size: SeedSize, seed = 42): () => Call {
  const random = rng(seed);
  // Every page of the catalogue can be asked for (2,000 at the full seed); Zipf puts about an eighth
  // of the requests on the first page and a third on the first ten, as a shop's grid is browsed.
  const pages = Math.floor(size.products / 20);
  const page = zipf(pages, random);
  const product = zipf(size.products, random);
  const historyUser = zipf(fixtures.historyUsers.length, random);
  // Rank by a seeded shuffle: the most searched term is then any word or phrase, not the first alphabetically.
  // Its own PRNG, so the other scenarios' streams are what they were before search existed.
  const shuffle = rng(seed + 1);
  const terms = [...fixtures.searchTerms];
  for (let i = terms.length - 1; i > 0; i--) {
    const j = Math.floor(shuffle() * (i + 1));
    [terms[i], terms[j]] = [terms[j]!, terms[i]!];
  }
  const term = zipf(terms.length, random);

  const listing = (): Call => {
    const p = page();
    const after = p === 1 ? null : Buffer.from(`product:${(p - 1) * 20}`).toString('base64url');
    return {
      body: JSON.stringify({ query: LISTING, variables: { region: 'IN', first: 20, after } }),
      check: (data) =>
        Array.isArray(data?.products?.edges) &&
        data.products.edges.length === 20 &&
        data.products.edges.every(
          ({ node }: any) =>
            typeof node?.id === 'string' &&
            typeof node.category?.name === 'string' &&
            isMoney(node.price) &&
            typeof node.stock?.inStock === 'boolean',
        ),
    };
  };
  const search = (): Call => {
    const query = terms[term() - 1]!;
    return {
      body: JSON.stringify({ query: SEARCH, variables: { query, region: 'IN', first: 24 } }),
      // Every term is taken from a product name, so each has at least one match.
      check: (data) => {
        const result = data?.searchProducts;
        return (
          Array.isArray(result?.edges) &&
          result.edges.length >= 1 &&
          result.edges.length <= 24 &&
          typeof result.totalCount === 'number' &&
          result.totalCount >= result.edges.length &&
          result.edges.every(
            ({ node }: any) =>
              typeof node?.id === 'string' &&
              typeof node.name === 'string' &&
              isMoney(node.price) &&
              typeof node.stock?.inStock === 'boolean',
          )
        );
      },
    };
  };
  const detail = (): Call => {
    const id = `p${product()}`;
    return {
      body: JSON.stringify({ query: DETAIL, variables: { id, region: 'IN' } }),
      check: (data) =>
        data?.product?.id === id &&
        typeof data.product.name === 'string' &&
        isMoney(data.product.price) &&
        typeof data.product.stock?.available === 'number',
    };
  };
  const history = (): Call => {
    const user = fixtures.historyUsers[historyUser() - 1]!;
    return {
      body: JSON.stringify({ query: HISTORY, variables: { first: 10 } }),
      token: user.token,
      check: (data) => data?.me?.id === user.userId && Array.isArray(data.me.orders?.edges),
    };
  };
  const placeOrder = (): Call => {
    const user = fixtures.checkoutUsers[Math.floor(random() * fixtures.checkoutUsers.length)]!;
    const pool = fixtures.checkoutProducts;
    const first = Math.floor(random() * pool.length);
    const ids =
      random() < 0.5 ? [pool[first]!] : [pool[first]!, pool[(first + 1 + Math.floor(random() * (pool.length - 1))) % pool.length]!];
    const lines = ids.sort().map((productId) => ({ productId, quantity: 1 }));
    return {
      body: JSON.stringify({
        query: PLACE_ORDER,
        variables: { input: { idempotencyKey: `bench-${randomUUID()}`, region: 'IN', paymentMethod: 'tok_visa', lines } },
      }),
      token: user.token,
      check: (data) => typeof data?.placeOrder?.id === 'string' && data.placeOrder.lines?.length === lines.length,
    };
  };
  const direct = (): Call => {
    const id = `p${product()}`;
    return { body: JSON.stringify({ query: DIRECT, variables: { id } }), check: (data) => data?.product?.id === id };
  };

  switch (scenario) {
    case 'listing':
      return listing;
    case 'search':
      return search;
    case 'detail':
      return detail;
    case 'history':
      return history;
    case 'direct':
      return direct;
    case 'checkout':
      return () => {
        const r = random();
        return r < 0.1 ? placeOrder() : r < 0.6 ? detail() : r < 0.9 ? listing() : history();
      };
  }
}
