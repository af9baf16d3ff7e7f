import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse, type GraphQLObjectType, type GraphQLSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { CACHE_CONTROL_SDL, cacheControlHeader, operationPolicy, parseCacheControl, readCacheHints } from '@shop/platform';
import { cachedFields, InvalidationLog, stableStringify, tagsOf } from '../src/index.ts';

/** A small subgraph with every kind of hint: field, type, PRIVATE, none. */
const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@inaccessible"])
  ${CACHE_CONTROL_SDL}

  type Product @key(fields: "id") @cacheControl(maxAge: 600) {
    id: ID!
    name: String!
    price(region: String!): Int @cacheControl(maxAge: 30)
    reviews: [Review!]!
  }
  type Review @cacheControl(maxAge: 120) {
    id: ID!
    text: String!
  }
  type Account @key(fields: "id") @cacheControl(maxAge: 300, scope: PRIVATE) {
    id: ID!
    email: String!
    orders(first: Int): [Order!]! @cacheControl(maxAge: 60, scope: PRIVATE)
  }
  type Order @key(fields: "id") {
    id: ID!
  }
  type Query {
    product(id: ID!): Product @cacheControl(maxAge: 3600)
    products: [Product!]!
    health: String
    me: Account @cacheControl(maxAge: 60, scope: PRIVATE)
  }
  type Mutation {
    rename(id: ID!, name: String!): Product
  }
`);

const noop = () => null;
const schema: GraphQLSchema = buildSubgraphSchema({
  typeDefs,
  resolvers: {
    Query: { product: noop, products: noop, health: noop, me: noop },
    Mutation: { rename: noop },
    Product: { __resolveReference: noop, price: noop, reviews: noop },
    Account: { __resolveReference: noop, orders: noop },
    Order: { __resolveReference: noop },
  } as never,
});
const hints = readCacheHints(typeDefs);

const header = (query: string, operationName?: string) => cacheControlHeader(operationPolicy(schema, parse(query), hints, operationName));
const entities = (selection: string) => `query($r: [_Any!]!) { _entities(representations: $r) { ${selection} } }`;

describe('Cache-Control from @cacheControl hints', () => {
  it("uses a field's own hint over its return type's", () => {
    expect(header('{ product(id: "p1") { id name } }')).toBe('public, max-age=3600');
  });

  it("uses the return type's hint when the field has none", () => {
    expect(header('{ products { id name } }')).toBe('public, max-age=600');
    expect(header('{ product(id: "p1") { reviews { text } } }')).toBe('public, max-age=120');
  });

  it('takes the lowest maxAge among the selected fields', () => {
    expect(header('{ product(id: "p1") { name price(region: "IN") } }')).toBe('public, max-age=30');
    expect(header('{ products { id } product(id: "p1") { id } }')).toBe('public, max-age=600');
  });

  it('makes a root field without a hint not cacheable, and with it the whole response', () => {
    expect(header('{ health }')).toBe('no-store');
    expect(header('{ product(id: "p1") { id } health }')).toBe('no-store');
  });

  it('makes the response private when any field is PRIVATE', () => {
    expect(header('{ me { email } }')).toBe('private, max-age=60');
    expect(header('{ product(id: "p1") { name } me { id } }')).toBe('private, max-age=60');
  });

  it('never caches a mutation', () => {
    expect(header('mutation { rename(id: "p1", name: "x") { id name } }')).toBe('no-store');
  });

  it('reads _entities by the entity types and fields selected', () => {
    expect(header(entities('... on Product { name }'))).toBe('public, max-age=600');
    expect(header(entities('... on Product { price(region: "IN") }'))).toBe('public, max-age=30');
    expect(header(entities('... on Account { email }'))).toBe('private, max-age=300');
    expect(header(entities('... on Product { name } ... on Account { orders(first: 2) { id } }'))).toBe('private, max-age=60');
  });

  it('analyses the operation named in the request', () => {
    const document = 'query A { health } query B { product(id: "p1") { name } }';
    expect(header(document, 'A')).toBe('no-store');
    expect(header(document, 'B')).toBe('public, max-age=3600');
  });

  it('parses its own headers back (what the router reads)', () => {
    expect(parseCacheControl('public, max-age=30')).toEqual({ cacheable: true, maxAge: 30, scope: 'PUBLIC' });
    expect(parseCacheControl('private, max-age=60')).toEqual({ cacheable: true, maxAge: 60, scope: 'PRIVATE' });
    expect(parseCacheControl('no-store')).toEqual({ cacheable: false });
    expect(parseCacheControl(undefined)).toEqual({ cacheable: false });
  });
});

describe('subgraph cache policies generated from the hints', () => {
  it('caches hinted Query fields and argument-taking fields with a hint of their own, nothing else', () => {
    const fields = cachedFields(schema, hints).map((f) => `${f.type}.${f.field} ${f.ttl} ${f.scope} ${f.root ? 'root' : 'entity'}`);
    expect(fields.sort()).toEqual([
      // orders: own PRIVATE hint and arguments. (Account.email has no resolver of its own.)
      'Account.orders 60 PRIVATE entity',
      // price: own hint and arguments. reviews: only its type's hint, no arguments → not cached.
      'Product.price 30 PUBLIC entity',
      'Query.me 60 PRIVATE root',
      'Query.product 3600 PUBLIC root',
      // No field hint: its return type's. Query.health has none at all; Mutation is never cached.
      'Query.products 600 PUBLIC root',
    ]);
  });

  it('tags an entry with its parent entity and the entities in its value, and a Query list with the collection', () => {
    const type = (name: string) => schema.getType(name) as GraphQLObjectType;
    const entityTypes = new Set(['Product', 'Account', 'Order']);
    const products = type('Query').getFields().products!;
    const listing = tagsOf(
      schema,
      entityTypes,
      { parentType: type('Query'), returnType: products.type },
      undefined,
      [{ id: 'p1', reviews: [{ id: 'r1' }] }, { id: 'p2' }],
      { collections: true },
    );
    expect(listing.sort()).toEqual(['Product', 'Product:p1', 'Product:p2']);

    const orders = type('Account').getFields().orders!;
    const page = tagsOf(schema, entityTypes, { parentType: type('Account'), returnType: orders.type }, { id: 'a1' }, [
      { id: 'o1' },
      { id: 'o2' },
    ]);
    expect(page.sort()).toEqual(['Account:a1', 'Order:o1', 'Order:o2']);

    const price = type('Product').getFields().price!;
    expect(tagsOf(schema, entityTypes, { parentType: type('Product'), returnType: price.type }, { id: 'p42' }, 1299)).toEqual([
      'Product:p42',
    ]);
  });

  it('remembers recent invalidations, so an entry read before one is not stored after it', () => {
    const log = new InvalidationLog(1_000);
    log.record(['Product:p1'], 100);
    expect(log.touchedSince(['Product:p1'], 50)).toBe(true); // request began before the invalidation
    expect(log.touchedSince(['Product:p1'], 150)).toBe(false); // began after it: read fresh data
    expect(log.touchedSince(['Product:p2'], 50)).toBe(false);
    // Past the window the log forgets tags, and treats requests older than them as having seen one.
    log.record(['Product:p3'], 5_000);
    expect(log.touchedSince(['Product:p2'], 50)).toBe(true);
    expect(log.touchedSince(['Product:p2'], 4_000)).toBe(false);
  });

  it('keys equal arguments equally whatever their order', () => {
    expect(stableStringify({ arg: { b: 1, a: { d: 2, c: 3 } } })).toBe(stableStringify({ arg: { a: { c: 3, d: 2 }, b: 1 } }));
    expect(stableStringify({ arg: { a: 1 } })).not.toBe(stableStringify({ arg: { a: 2 } }));
  });
});
