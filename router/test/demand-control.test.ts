import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { buildSchema, type DocumentNode, type GraphQLSchema, Kind, type OperationDefinitionNode, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  CostEstimateError,
  DemandMemo,
  estimateCost,
  MEMO_MAX_READ_CHARS,
  estimateDemand,
  readCostDirectives,
  type CostDirectives,
} from '../src/demand-control.ts';
import { DEFAULT_OPERATION_LIMITS } from '../src/limits.ts';
import { TINY_SUPERGRAPH } from './support/tiny-router.ts';

/**
 * The cost estimate itself: Apollo's documented examples, the repo's supergraph and every
 * operation the client apps ship (their persisted query manifests).
 */

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const { maxCost, maxResponseFields, costListSize } = DEFAULT_OPERATION_LIMITS;

function costOf(
  schema: GraphQLSchema,
  directives: CostDirectives,
  query: string,
  variables: Record<string, unknown> = {},
  listSize = costListSize,
) {
  const document: DocumentNode = parse(query);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  return estimateCost(schema, document, operation, variables, directives, { listSize });
}

function demandOf(
  schema: GraphQLSchema,
  directives: CostDirectives,
  query: string,
  variables: Record<string, unknown> = {},
  listSize = costListSize,
) {
  const document: DocumentNode = parse(query);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  return estimateDemand(schema, document, operation, variables, directives, { listSize });
}

describe('Apollo Router’s documented examples', () => {
  // https://www.apollographql.com/docs/graphos/routing/security/demand-control (Calculating cost).
  const sdl = (addressCost: string) => `
    extend schema @link(url: "https://specs.apollo.dev/cost/v0.1", import: ["@cost", "@listSize"])
    directive @link(url: String, as: String, import: [String]) repeatable on SCHEMA
    directive @cost(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR
    directive @listSize(
      assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true
    ) on FIELD_DEFINITION
    type Query {
      book(id: ID): Book
      bestsellers: [Book] @listSize(assumedSize: 5)
      newestAdditions(after: ID, limit: Int!): [Book] @listSize(slicingArguments: ["limit"])
    }
    type Book { title: String author: Author publisher: Publisher }
    type Author { name: String }
    type Publisher { name: String address: Address }
    type Address ${addressCost} { zipCode: Int! }
  `;
  const selection = '{ title author { name } publisher { name address { zipCode } } }';
  const plain = buildSchema(sdl(''));
  const weighted = buildSchema(sdl('@cost(weight: 5)'));

  it('objects 1, scalars 0: BookQuery costs 4', () => {
    expect(costOf(plain, readCostDirectives(sdl('')), `query BookQuery { book(id: 1) ${selection} }`)).toBe(4);
  });

  it('@cost on a type overrides its weight: 8', () => {
    expect(costOf(weighted, readCostDirectives(sdl('@cost(weight: 5)')), `{ book(id: 1) ${selection} }`)).toBe(8);
  });

  it('assumedSize multiplies the list: 40; a slicing argument: 24 for 3, 56 for 7', () => {
    const directives = readCostDirectives(sdl('@cost(weight: 5)'));
    expect(costOf(weighted, directives, `{ bestsellers ${selection} }`)).toBe(40);
    expect(costOf(weighted, directives, `{ newestAdditions(limit: 3) ${selection} }`)).toBe(24);
    expect(costOf(weighted, directives, `query($n: Int!) { newestAdditions(limit: $n) ${selection} }`, { n: 7 })).toBe(56);
  });

  it('a slicing argument left out, or sent as a variable that is not sent, counts its schema default', () => {
    const withDefault = sdl('').replace(
      'type Query {',
      'type Query {\n      page(first: Int = 7): [Book] @listSize(slicingArguments: ["first"])',
    );
    const schema = buildSchema(withDefault);
    const directives = readCostDirectives(withDefault);
    expect(costOf(schema, directives, '{ page { title } }')).toBe(7);
    expect(costOf(schema, directives, 'query($n: Int) { page(first: $n) { title } }')).toBe(7);
    expect(costOf(schema, directives, 'query($n: Int) { page(first: $n) { title } }', { n: 3 })).toBe(3);
  });

  it('a mutation costs 10 more', () => {
    const schema = buildSchema('type Query { a: Int } type Mutation { touch: Book } type Book { title: String }');
    expect(costOf(schema, readCostDirectives(undefined), 'mutation { touch { title } }')).toBe(11);
  });
});

describe('the shop supergraph', () => {
  const supergraph = read('schema/supergraph.graphql');
  const api = buildSchema(read('schema/api-schema.graphql'));
  const directives = readCostDirectives(supergraph);
  const cost = (query: string, variables: Record<string, unknown> = {}) => costOf(api, directives, query, variables);
  const responseFields = (query: string, variables: Record<string, unknown> = {}) => demandOf(api, directives, query, variables).fields;

  it('reads @cost and @listSize from the composed supergraph', () => {
    expect(directives.fields.get('Query.categories')).toEqual({ listSize: { assumedSize: 60, requireOneSlicingArgument: true } });
    expect(directives.fields.get('Category.products')?.listSize).toEqual({
      assumedSize: 20,
      slicingArguments: ['first'],
      sizedFields: ['edges'],
      requireOneSlicingArgument: false,
    });
    expect(directives.fields.get('Mutation.logIn')).toEqual({ weight: 1000 });
  });

  // F1: the page size counts whether it is a literal, a variable or left to the default.
  const F1 =
    'query($n: Int){ categories { products(first: $n) { edges { node { ' +
    'category { products(first: $n) { edges { node { id } } } } } } } } }';
  const f1Cost = (n: number) => 60 * (1 + 1 + n * (1 + 1 + (1 + 1 + n * (1 + 1))));

  it('F1: a variable page size multiplies like a literal one, and a missing one counts as assumedSize (20)', () => {
    expect(cost(F1, { n: 100 })).toBe(f1Cost(100)); // 1,224,120
    expect(cost(F1.replace('query($n: Int)', 'query').replace(/\$n/g, '100'))).toBe(f1Cost(100));
    expect(cost(F1.replace(/\(first: \$n\)/g, ''))).toBe(f1Cost(20)); // 52,920
    expect(cost(F1)).toBe(f1Cost(20));
    expect(cost(F1.replace('$n: Int', '$n: Int = 5'))).toBe(f1Cost(5));
    expect(cost(F1.replace('$n: Int', '$n: Int = 5'), { n: 30 })).toBe(f1Cost(30));
    for (const variables of [{ n: 100 }, {}]) expect(cost(F1, variables)).toBeGreaterThan(maxCost);
  });

  it('stays over the limit for absurd page sizes (Infinity times an empty page is not NaN)', () => {
    const query =
      'query($a: Int, $b: Int) { categories { products(first: $a) { edges { node { ' +
      'category { products(first: $b) { edges { node { id } } } } } } } } }';
    expect(cost(query, { a: 1e308, b: 0 })).toBeGreaterThan(maxCost);
    expect(cost(query, { a: 1e308, b: 1e308 })).toBe(Number.POSITIVE_INFINITY);
    expect(cost(query, { a: 0, b: 1e308 })).toBe(60 * 2); // each category and its empty connection
  });

  it('expands fragments wherever they are spread, and skips what @skip/@include leave out', () => {
    const inline = cost('{ categories { id products(first: 10) { edges { node { id category { id } } } } } }');
    expect(inline).toBe(60 * (1 + 1 + 10 * (1 + 1 + 1)));
    const spread = cost(
      '{ categories { ...C } } fragment C on Category { id products(first: 10) { ...P } } ' +
        'fragment P on ProductConnection { edges { node { id category { id } } } }',
    );
    expect(spread).toBe(inline);
    expect(cost('query($no: Boolean!) { categories @include(if: $no) { id } me @skip(if: true) { id } }', { no: false })).toBe(0);
  });

  it('keeps an estimate per operation for the values of the variables it read, and none that failed', () => {
    const memo = new DemandMemo();
    const query =
      'query($id: ID!, $n: Int, $more: Boolean!, $q: String!) { product(id: $id) { id } searchProducts(query: $q, first: $n) { edges { node { id } } } ' +
      'categories @include(if: $more) { id } }';
    const document = parse(query);
    const operation = document.definitions[0] as OperationDefinitionNode;
    const estimate = (variables: Record<string, unknown>, d: CostDirectives = directives) =>
      memo.estimate(api, document, operation, variables, d, { listSize: costListSize });
    const walk = (variables: Record<string, unknown>) =>
      estimateDemand(api, document, operation, variables, directives, { listSize: costListSize });

    const first = estimate({ id: 'p1', n: 5, more: false, q: 'lamp' });
    expect(first).toEqual(walk({ id: 'p1', n: 5, more: false, q: 'lamp' }));
    // id and the search text cost nothing whatever their value: the same estimate, not walked again.
    expect(estimate({ id: 'p2', n: 5, more: false, q: 'chair' })).toBe(first);
    // A page size or an @include condition changes it.
    const bigger = estimate({ id: 'p1', n: 50, more: false, q: 'lamp' });
    expect(bigger).toEqual(walk({ id: 'p1', n: 50, more: false }));
    expect(bigger.cost).toBeGreaterThan(first.cost);
    const withCategories = estimate({ id: 'p1', n: 5, more: true });
    expect(withCategories).toEqual(walk({ id: 'p1', n: 5, more: true }));
    expect(withCategories.cost).toBeGreaterThan(first.cost);
    expect(estimate({ id: 'p3', n: 50, more: false })).toBe(bigger);
    // The same text parsed again is another AST, and other cost directives (a new supergraph) start afresh.
    const other = parse(query).definitions[0] as OperationDefinitionNode;
    expect(memo.estimate(api, document, other, { id: 'p1', n: 5, more: false }, directives, { listSize: costListSize })).not.toBe(first);
    expect(estimate({ id: 'p1', n: 5, more: false }, readCostDirectives(supergraph))).not.toBe(first);
    // Large variable values read by the walk (an order's input object) are not kept: each is walked.
    const order = parse('mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }');
    const orderOperation = order.definitions[0] as OperationDefinitionNode;
    const lines = (n: number) => Array.from({ length: n }, (_, i) => ({ productId: `p${i}`, quantity: 1 }));
    const input = (n: number) => ({ idempotencyKey: 'k', region: 'IN', paymentMethod: 'tok_visa', lines: lines(n) });
    expect(JSON.stringify(input(20)).length).toBeGreaterThan(MEMO_MAX_READ_CHARS);
    const small = memo.estimate(api, order, orderOperation, { input: input(1) }, directives, { listSize: costListSize });
    expect(memo.estimate(api, order, orderOperation, { input: input(1) }, directives, { listSize: costListSize })).toBe(small);
    const large = memo.estimate(api, order, orderOperation, { input: input(20) }, directives, { listSize: costListSize });
    expect(large.cost).toBe(small.cost + 19);
    const again = memo.estimate(api, order, orderOperation, { input: input(20) }, directives, { listSize: costListSize });
    expect(again).toEqual(large);
    expect(again).not.toBe(large);
    // One that cannot be estimated throws every time.
    const fragments = Array.from({ length: 20 }, (_, i) => `fragment F${i + 1} on Query { ...F${i} ...F${i} }`).join(' ');
    const huge = parse(`{ ...F20 } fragment F0 on Query { __typename } ${fragments}`);
    const hugeOperation = huge.definitions[0] as OperationDefinitionNode;
    for (let i = 0; i < 2; i++) {
      expect(() => memo.estimate(api, huge, hugeOperation, {}, directives, { listSize: costListSize })).toThrow(CostEstimateError);
    }
  });

  it('charges sign-in, sign-up and checkout their @cost, plus 10 for a mutation', () => {
    expect(cost('mutation { logIn(email: "a", password: "b") { token user { id } } }')).toBe(10 + 1000 + 1);
    // 50 for placeOrder (in place of its Order's 1), 1 for total, 1 for the input object and 1 per line.
    const lines = Array.from({ length: 3 }, (_, i) => `{ productId: "p${i}", quantity: 1 }`).join(', ');
    expect(
      cost(
        `mutation { placeOrder(input: { idempotencyKey: "k", region: IN, paymentMethod: "tok_visa", lines: [${lines}] }) { id total { amount } } }`,
      ),
    ).toBe(10 + 50 + 1 + 1 + 3);
  });

  it('counts response fields: every field, leaves and __typename included, times the list sizes above it', () => {
    // categories 1; per category (60): id, products, totalCount, edges; per edge (60 × 10): node; per node: __typename, id, name.
    expect(responseFields('{ categories { id products(first: 10) { totalCount edges { node { __typename id name } } } } }')).toBe(
      1 + 60 * 4 + 600 * (1 + 3),
    );
    // The same page rules as the cost: a variable, its default, the schema's assumedSize.
    const page = 'query($n: Int) { categories { products(first: $n) { edges { node { id } } } } }';
    const pageFields = (n: number) => 1 + 60 * 2 + 60 * n * 2;
    expect(responseFields(page, { n: 5 })).toBe(pageFields(5));
    expect(responseFields(page.replace('$n: Int', '$n: Int = 7'))).toBe(pageFields(7));
    expect(responseFields(page)).toBe(pageFields(20));
    // Fragments expand; skipped fields count nothing.
    expect(responseFields('{ ...Q } fragment Q on Query { categories { id name @skip(if: true) } }')).toBe(1 + 60);
  });

  it(
    'counts aliased scalars under lists, which the cost prices at 0: ' +
      'the 10.6 MB operation costs 9,960 and is far over MAX_RESPONSE_FIELDS',
    () => {
      const aliases = Array.from({ length: 30 }, (_, i) => `d${i}:description`).join(' ');
      const fields = `id sku name description brand imageUrl weightGrams ${aliases}`;
      const query = `{ categories { products(first: 82) { edges { node { ${fields} } } } } }`;
      // 1 categories; 60 × (products, edges); 4,920 nodes, each 37 scalars.
      expect(demandOf(api, directives, query)).toEqual({ cost: 9_960, fields: 1 + 60 * 2 + 4_920 * (1 + 37) });
      expect(cost(query)).toBeLessThan(maxCost);
      expect(responseFields(query)).toBeGreaterThan(5 * maxResponseFields);
    },
  );

  it('refuses to estimate an operation that expands past the visit budget', () => {
    const fragments = Array.from({ length: 20 }, (_, i) => `fragment F${i + 1} on Query { ...F${i} ...F${i} }`).join(' ');
    expect(() => cost(`{ ...F20 } fragment F0 on Query { __typename } ${fragments}`)).toThrow(CostEstimateError);
  });

  it('every operation the client apps ship stays well under MAX_COST', () => {
    // Every app folder with a generated manifest (not src/, nor tool caches such as .turbo/).
    const apps = readdirSync(new URL('clients/', root), { withFileTypes: true }).filter(
      (d) => d.isDirectory() && existsSync(new URL(`clients/${d.name}/__generated__/persisted-query-manifest.json`, root)),
    );
    const costs: Record<string, number> = {};
    const fields: Record<string, number> = {};
    for (const app of apps) {
      const manifest = JSON.parse(read(`clients/${app.name}/__generated__/persisted-query-manifest.json`)) as {
        operations: { name: string; body: string }[];
      };
      // The apps send their page sizes through the operations' variable defaults.
      for (const { name, body } of manifest.operations) {
        costs[`${app.name} ${name}`] = cost(body);
        fields[`${app.name} ${name}`] = responseFields(body);
      }
    }
    expect(Object.keys(costs).length).toBeGreaterThanOrEqual(30);
    const [costliest, highest] = Object.entries(costs).sort((a, b) => b[1] - a[1])[0]!;
    expect(highest, costliest).toBeLessThanOrEqual(maxCost / 3);
    expect({ costliest, highest }).toEqual({ costliest: 'android OrderHistory', highest: 3_063 }); // quoted in limits.ts and the README
    const [largest, most] = Object.entries(fields).sort((a, b) => b[1] - a[1])[0]!;
    expect(most, largest).toBeLessThanOrEqual(maxResponseFields / 3);
    expect({ largest, most }).toEqual({ largest: 'ios MyOrders', most: 8_167 }); // quoted in limits.ts and the README
  });
});

describe('a supergraph without cost directives', () => {
  const sdl = readFileSync(TINY_SUPERGRAPH, 'utf8');
  const directives = readCostDirectives(sdl);

  it('has none, and lists count COST_LIST_SIZE', () => {
    expect(directives.fields.size + directives.types.size + directives.inputs.size).toBe(0);
    const api = buildSchema('type Query { products(first: Int): [Product!]! me: String } type Product { id: ID! name: String! }');
    expect(costOf(api, directives, '{ products(first: 50) { id name } me }')).toBe(costListSize);
    expect(costOf(api, directives, '{ products { id } }', {}, 3)).toBe(3);
  });
});
