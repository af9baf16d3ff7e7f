import { createRequire } from 'node:module';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { resultShapers, takeCompiledPlans } from '../src/result-shaping.ts';
import { EXPECTED_LISTING, post, sharingFixture } from './support/sharing-fixture.ts';

/**
 * The compiled result shaping (src/result-shaping.ts) against the gateway's own `computeResponse`:
 * the same operations over the same merged subgraph results, well-formed and not (nulls in non-null
 * fields, unknown or abstract __typenames, invalid leaf values, wrong shapes), must give the same
 * data, the same errors (message, path, code) and the same exceptions.
 */
const gatewayRequire = createRequire(createRequire(import.meta.url).resolve('@apollo/gateway'));
const internals = gatewayRequire('@apollo/federation-internals') as {
  buildSchema(sdl: string): unknown;
  operationFromDocument(schema: unknown, document: unknown, options?: object): Operation;
};

interface NamedType {
  kind: string;
  name: string;
  possibleRuntimeTypes?(): NamedType[];
  types?(): NamedType[];
}
interface FieldType {
  kind: string;
  name?: string;
  ofType?: FieldType;
  possibleRuntimeTypes?(): NamedType[];
  types?(): NamedType[];
}
interface Selection {
  kind: string;
  element: { responseName?(): string; name?: string; definition?: { type: FieldType }; typeCondition?: NamedType };
  selectionSet?: { selections(): Selection[] };
}
interface Operation {
  selectionSet: { selections(): Selection[] };
}

const SDL = `
  scalar DateTime
  enum Status { OPEN CLOSED }
  interface Node { id: ID! }
  type Product implements Node {
    id: ID!
    name: String!
    price: Int
    rating: Float
    inStock: Boolean
    tags: [String!]
    status: Status
    created: DateTime
    related: [Product]
    reviews: [[Review!]]!
  }
  type Review implements Node { id: ID! stars: Int! author: User }
  type User implements Node { id: ID! email: String orders: [Order!]! }
  type Order { id: ID! total: Int! }
  union SearchResult = Product | User
  type Query {
    product(id: ID!): Product
    products: [Product!]!
    node(id: ID!): Node
    search(text: String!): [SearchResult!]
    me: User!
  }
`;

const OPERATIONS: { query: string; variables: Record<string, unknown>[] }[] = [
  {
    query: `query Listing { products { id name price tags status created inStock rating __typename } }`,
    variables: [{}],
  },
  {
    query: `query Aliases($id: ID!) {
      first: product(id: $id) { key: id title: name cost: price kind: __typename }
      second: product(id: $id) { id related { id name related { id } } reviews { stars author { email } } }
    }`,
    variables: [{ id: '1' }],
  },
  {
    query: `query Abstract {
      node(id: "1") { id __typename ... on Product { name price } ... on User { email orders { id total } } ...ReviewBits }
      search(text: "x") { ... on Product { id name } ... on Node { id } ... on User { email } t: __typename }
    }
    fragment ReviewBits on Review { stars author { id } }`,
    variables: [{}],
  },
  {
    query: `query Conditional($withPrice: Boolean!, $skipTags: Boolean = false, $withMe: Boolean = true) {
      products {
        id
        price @include(if: $withPrice)
        tags @skip(if: $skipTags)
        name @skip(if: false)
        status @include(if: false)
        ... on Product @include(if: $withPrice) { rating }
      }
      me @include(if: $withMe) { id email }
    }`,
    variables: [{ withPrice: true }, { withPrice: false, skipTags: true }, { withPrice: true, withMe: false }, { withPrice: 'yes' }, {}],
  },
  {
    query: `query Introspective { __typename me { id } __type(name: "Product") { name } s: __schema { queryType { name } } }`,
    variables: [{}],
  },
];

/** A small seeded generator, so a failure names a case that can be replayed. */
function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A merged subgraph result for a selection set: mostly well-formed, with every kind of fault mixed in. */
function generate(selections: Selection[], rand: () => number, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const typenames = ['Product', 'User', 'Review', 'Order', 'Node', 'SearchResult', 'Unknown'];
  if (rand() < 0.7) out.__typename = typenames[Math.floor(rand() * typenames.length)];
  else if (rand() < 0.03) out.__typename = 42;
  for (const selection of selections) {
    if (selection.kind !== 'FieldSelection') {
      Object.assign(out, generate(selection.selectionSet!.selections(), rand, depth + 1));
      continue;
    }
    const name = selection.element.responseName!();
    if (selection.element.name?.startsWith('__')) {
      if (rand() < 0.5) out[name] = typenames[Math.floor(rand() * typenames.length)];
      continue;
    }
    if (rand() < 0.04) continue; // missing
    out[name] = generateValue(selection.element.definition!.type, selection.selectionSet, rand, depth);
  }
  return out;
}

function generateValue(type: FieldType, selectionSet: Selection['selectionSet'], rand: () => number, depth: number): unknown {
  const r = rand();
  if (r < 0.06) return null;
  if (type.kind === 'NonNullType') return generateValue(type.ofType!, selectionSet, rand, depth);
  if (type.kind === 'ListType') {
    if (r < 0.08) return { not: 'a list' };
    const length = depth > 3 ? 0 : Math.floor(rand() * 3);
    return Array.from({ length }, () => generateValue(type.ofType!, selectionSet, rand, depth + 1));
  }
  if (selectionSet) {
    if (r < 0.08) return 'not an object';
    return generate(selectionSet.selections(), rand, depth + 1);
  }
  const wrong = r < 0.12;
  switch (type.name) {
    case 'ID':
      return wrong ? 1.5 : rand() < 0.5 ? String(Math.floor(rand() * 100)) : Math.floor(rand() * 100);
    case 'String':
      return wrong ? 7 : `s${Math.floor(rand() * 100)}`;
    case 'Int':
      return wrong ? '12' : rand() < 0.9 ? Math.floor(rand() * 1000) : 2.5;
    case 'Float':
      return wrong ? true : rand() * 10;
    case 'Boolean':
      return wrong ? 'true' : rand() < 0.5;
    case 'Status':
      return wrong ? 'PENDING' : rand() < 0.5 ? 'OPEN' : 'CLOSED';
    default:
      return wrong ? { any: 'thing' } : '2026-12-01T00:00:00Z';
  }
}

function outcome(shape: (args: never) => { data: unknown; errors: unknown[] }, args: object): unknown {
  try {
    const { data, errors } = shape(args as never);
    return {
      data: JSON.parse(JSON.stringify(data ?? null)),
      errors: (errors as { message: string; path?: unknown; extensions?: { code?: unknown } }[]).map((e) => ({
        message: e.message,
        path: e.path,
        code: e.extensions?.code,
      })),
    };
  } catch (error) {
    return { thrown: (error as Error).message };
  }
}

describe('compiled result shaping', () => {
  const shapers = resultShapers();

  it('is available against the installed gateway', () => {
    expect(shapers).toBeDefined();
    expect(shapers!.library).not.toBe(shapers!.compiled);
  });

  it('gives the same data, errors and exceptions as the gateway, over well-formed and faulty results', () => {
    const schema = internals.buildSchema(SDL);
    const introspectionHandling = (selection: Selection) => ({ introspected: selection.element.responseName!() });
    let faults = 0;
    let cases = 0;
    for (const [index, { query, variables: variableSets }] of OPERATIONS.entries()) {
      const operation = internals.operationFromDocument(schema, parse(query), { validate: false });
      for (const variables of variableSets) {
        for (let seed = 0; seed < 400; seed++) {
          const rand = random(seed * 31 + index);
          const input = generate(operation.selectionSet.selections(), rand);
          delete input.__typename;
          // Each shaper gets its own copy: the walk must not depend on (or change) what the other saw.
          const expected = outcome(shapers!.library, { operation, variables, input: structuredClone(input), introspectionHandling });
          const actual = outcome(shapers!.compiled, { operation, variables, input: structuredClone(input), introspectionHandling });
          expect(actual, `operation ${index}, variables ${JSON.stringify(variables)}, seed ${seed}`).toEqual(expected);
          const result = expected as { errors?: unknown[]; thrown?: string };
          if (result.thrown || result.errors?.length) faults++;
          cases++;
        }
      }
    }
    // The generator reaches the faulty paths, not only the happy one.
    expect(faults).toBeGreaterThan(cases / 4);
    expect(faults).toBeLessThan(cases);
  });

  it('passes through a missing result as the gateway does', () => {
    const schema = internals.buildSchema(SDL);
    const operation = internals.operationFromDocument(schema, parse('{ me { id } }'), { validate: false });
    for (const input of [undefined, null]) {
      const args = { operation, variables: {}, input, introspectionHandling: () => null };
      expect(shapers!.compiled(args as never)).toEqual(shapers!.library(args as never));
    }
  });
});

describe('compiled result shaping in the router', () => {
  const fixture = sharingFixture({ SUBGRAPH_DEDUP: 'false', REQUEST_DEDUP: 'false' });
  const LISTING = 'query ShapedListing($first: Int) { products(first: $first) { id name price } }';

  it('shapes the response, and compiles a document once whatever the variables', async () => {
    const target = await fixture.router();
    takeCompiledPlans();
    expect((await post(target, { query: LISTING, variables: { first: 2 } })).json()).toEqual(EXPECTED_LISTING);
    expect(takeCompiledPlans()).toBeGreaterThan(0);
    expect((await post(target, { query: LISTING, variables: { first: 1 } })).json()).toEqual({
      data: { products: [{ id: 'p1', name: 'Product 1', price: 100 }] },
    });
    expect(takeCompiledPlans()).toBe(0);
  });
});
