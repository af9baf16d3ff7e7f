import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { tagsOf } from '../src/cache/keys.ts';
import { ListedEntityTypes, MAX_DEPTH, readSupergraphTypes, VISIT_BUDGET } from '../src/cache/listed-types.ts';

/**
 * The tags of entities found where an operation's selection puts them (src/cache/entity-positions.ts,
 * through ListedEntityTypes.tagData): `Type:<id>` for an object without `__typename`, the bare type
 * where its position does not select `id`.
 */
const SUPERGRAPH = readFileSync(fileURLToPath(new URL('../../schema/supergraph.graphql', import.meta.url)), 'utf8');

/** A small core supergraph with an interface, a union, a keyed interface and a list of lists. */
const SHAPES = `
schema @link(url: "https://specs.apollo.dev/link/v1.0") @link(url: "https://specs.apollo.dev/join/v0.5", as: "j", for: EXECUTION) {
  query: Root
}
interface Node { id: ID! }
type Product implements Node @j__type(graph: A, key: "id") { id: ID! name: String! related: [Product!]! brand: Brand }
type Brand implements Node @j__type(graph: A, key: "id") { id: ID! name: String! }
type Tag { id: ID! label: String! owner: Brand }
union Hit = Product | Brand | Tag
type Root @j__type(graph: A) {
  nodes: [Node!]!
  search: [Hit!]!
  product(id: ID!): Product
  matrix: [[Brand]]
  tag: Tag
}
`;

const sorted = (tags: Iterable<string>) => [...tags].sort();

describe('entity positions on the shop supergraph', () => {
  const positions = new ListedEntityTypes(SUPERGRAPH);
  const tag = (source: string, data: unknown, operationName?: string) => sorted(positions.tagData(data, source, operationName));

  it('tags a single product without __typename by its id, and by its bare type where id is not selected', () => {
    const detail = 'query($id: ID!) { product(id: $id) { id name brand discontinued } }';
    const data = { product: { id: 'p3', name: 'Old', brand: 'Sterling', discontinued: false } };
    expect(tag(detail, data)).toEqual(['Product:p3']);
    expect([...tagsOf(data)]).toEqual([]); // what the data alone gives: why this exists
    expect(tag('query($id: ID!) { product(id: $id) { name } }', { product: { name: 'Old' } })).toEqual(['Product']);
    expect(tag(detail, { product: null })).toEqual([]); // not found: nothing shown
  });

  it('follows aliases: the data key is the alias, and so is the key of an aliased id', () => {
    const source = '{ first: product(id: "p1") { key: id name } second: product(id: "p2") { id } third: product(id: "p3") { name } }';
    const data = { first: { key: 'p1', name: 'A' }, second: { id: 'p2' }, third: { name: 'C' } };
    expect(tag(source, data)).toEqual(['Product', 'Product:p1', 'Product:p2']);
    // The key is the `id` field under whatever response key: a name aliased `id` is none, a stray `id` neither.
    expect(tag('{ product(id: "p1") { id: name } }', { product: { id: 'A name' } })).toEqual(['Product']);
    expect(tag('{ product(id: "p1") { name: id } }', { product: { name: 'p1', id: 'stray' } })).toEqual(['Product:p1']);
  });

  it('tags each node of a page, and nested entities of each (an order line’s product)', () => {
    const page = 'query P($first: Int) { products(first: $first) { totalCount edges { cursor node { id name category { id } } } } }';
    const data = {
      products: {
        totalCount: 2,
        edges: [
          { cursor: 'a', node: { id: 'p1', name: 'A', category: { id: 'c1' } } },
          { cursor: 'b', node: { id: 'p2', name: 'B', category: null } },
        ],
      },
    };
    expect(tag(page, data)).toEqual(['Category:c1', 'Product:p1', 'Product:p2']);
    const order = 'query($id: ID!) { order(id: $id) { id lines { quantity product { name } } } }';
    expect(
      tag(order, {
        order: {
          id: 'o1',
          lines: [
            { quantity: 1, product: { name: 'A' } },
            { quantity: 2, product: null },
          ],
        },
      }),
    ).toEqual(['Order:o1', 'Product']);
  });

  it('reads named and inline fragments at the position they are spread, and picks the operation by name', () => {
    const source = `
      query Single($id: ID!) { product(id: $id) { ...Card } }
      query Page { products { edges { node { ... on Product { ...Card } } } } }
      fragment Card on Product { pid: id name }`;
    expect(tag(source, { product: { pid: 'p1', name: 'A' } }, 'Single')).toEqual(['Product:p1']);
    expect(tag(source, { products: { edges: [{ node: { pid: 'p2', name: 'B' } }] } }, 'Page')).toEqual(['Product:p2']);
  });

  it('reads a planner fetch (subgraph text, __typename already there) to the same tags', () => {
    const fetch = 'query Detail__products__0($id:ID!){product(id:$id){__typename id name}}';
    const tags = positions.tagData({ product: { __typename: 'Product', id: 'p9', name: 'N' } }, fetch, undefined, parse(fetch));
    expect(sorted(tags)).toEqual(['Product:p9']);
  });

  it('tags nothing for a document that does not parse, one with no such operation, or before any supergraph', () => {
    const data = { product: { id: 'p1' } };
    expect(tag('{ product(id: "p1") { id ', data)).toEqual([]);
    expect(tag('query A { product(id: "p1") { id } }', data, 'B')).toEqual([]);
    expect(sorted(new ListedEntityTypes().tagData(data, '{ product(id: "p1") { id } }'))).toEqual([]);
  });
});

describe('entity positions on abstract types', () => {
  const positions = new ListedEntityTypes(SHAPES);
  const tag = (source: string, data: unknown) => sorted(positions.tagData(data, source));

  it('uses __typename where the data has it, else every entity type the position can be', () => {
    const source = '{ search { __typename ... on Product { id name } ... on Brand { name } ... on Tag { label } } }';
    const typed = {
      search: [
        { __typename: 'Product', id: 'p1', name: 'A' },
        { __typename: 'Brand', name: 'B' },
        { __typename: 'Tag', label: 'x' },
      ],
    };
    // A Brand without its id selected: every brand; a Tag is no entity.
    expect(tag(source, typed)).toEqual(['Brand', 'Product:p1']);
    const untyped = '{ search { ... on Product { id name } ... on Brand { name } } }';
    expect(tag(untyped, { search: [{ id: 'p1', name: 'A' }, { name: 'B' }] })).toEqual(['Brand', 'Product', 'Product:p1']);
  });

  it('takes an id selected on an interface as the key of every entity implementing it', () => {
    expect(tag('{ nodes { id } }', { nodes: [{ __typename: 'Brand', id: 'b1' }, { id: 'x' }] })).toEqual([
      'Brand:b1',
      'Brand:x',
      'Product:x',
    ]);
    expect(tag('{ product(id: "p") { ... on Node { id } } }', { product: { id: 'p' } })).toEqual(['Product:p']);
    // A non-entity's id names nothing; the entities below it still do.
    expect(tag('{ tag { id owner { id } } }', { tag: { id: 't1', owner: { id: 'b1' } } })).toEqual(['Brand:b1']);
  });

  it('walks lists of lists, and below an entity to the entities it shows', () => {
    expect(tag('{ matrix { id } }', { matrix: [[{ id: 'b1' }, null], [], [{ id: 'b2' }]] })).toEqual(['Brand:b1', 'Brand:b2']);
    const related = '{ product(id: "p1") { id related { name brand { id } } } }';
    expect(tag(related, { product: { id: 'p1', related: [{ name: 'R', brand: { id: 'b1' } }] } })).toEqual([
      'Brand:b1',
      'Product',
      'Product:p1',
    ]);
  });

  it('tags an entity whose id is skipped in the data by its bare type', () => {
    const source = 'query($with: Boolean!) { product(id: "p1") { id @include(if: $with) name } }';
    expect(tag(source, { product: { name: 'A' } })).toEqual(['Product']);
    expect(tag(source, { product: { id: 'p1', name: 'A' } })).toEqual(['Product:p1']);
  });
});

describe('entity positions are bounded', () => {
  const positions = new ListedEntityTypes(SHAPES);

  it('walks data deeper than any call stack without recursion, visiting only the paths the selection has', () => {
    // `related` nested 20 deep in the document (within its bounds); the data nests a list 100 000 deep below it.
    let selection = '{ id }';
    for (let i = 0; i < 20; i++) selection = `{ related ${selection} }`;
    const source = `{ product(id: "p0") ${selection} }`;
    let leaf: unknown = { id: 'deep' };
    for (let i = 0; i < 100_000; i++) leaf = [leaf];
    let data: Record<string, unknown> = { related: leaf };
    for (let i = 1; i < 20; i++) data = { related: [data] };
    const tags = positions.tagData({ product: data }, source);
    expect(sorted(tags)).toEqual(['Product', 'Product:deep']);
    // Paths the selection does not have are not walked: an unasked field holding an entity tags nothing.
    expect(sorted(positions.tagData({ product: { id: 'p1', other: { id: 'p2' } } }, '{ product(id: "p1") { id } }'))).toEqual([
      'Product:p1',
    ]);
  });

  it('answers every entity type, bare, for a document past the depth or visit bound', () => {
    let deep = '{ id }';
    for (let i = 0; i <= MAX_DEPTH; i++) deep = `{ ... on Product ${deep} }`;
    const all = sorted(readSupergraphTypes(SHAPES).allEntities);
    expect(sorted(positions.tagData({ product: { id: 'p1' } }, `{ product(id: "p1") ${deep} }`))).toEqual(all);
    // Fragments spread at many positions: each position reads them again, so the visit bound counts them all.
    const wide = Array.from({ length: 40 }, (_, i) => `r${i}: related { ...F }`).join(' ');
    const source = `{ product(id: "p") { ...F } } fragment F on Product { id ${wide} }`;
    const nested = new ListedEntityTypes(SHAPES, { maxEntries: 10 });
    expect(VISIT_BUDGET).toBeLessThan(40 ** 3);
    expect(sorted(nested.tagData({ product: { id: 'p' } }, source))).toEqual(all);
  });

  it('remembers each document once per supergraph, its positions counted in the byte bound', () => {
    const memo = new ListedEntityTypes(SHAPES, { maxBytes: 16_384 });
    const source = '{ product(id: "p1") { id } }';
    memo.tagData({ product: { id: 'p1' } }, source);
    expect(memo.size).toBe(1);
    expect(memo.of(source)).toEqual([]); // the same reading
    expect(memo.size).toBe(1);
    // A short text with 2^9 positions (each fragment spread twice at the position below): over the
    // bound by its positions, not its text. Answered, not remembered.
    const levels = Array.from(
      { length: 8 },
      (_, i) => `fragment F${i} on Product { id a: related { ...F${i + 1} } b: related { ...F${i + 1} } }`,
    );
    const doubling = `{ product(id: "p") { ...F0 } } ${levels.join(' ')} fragment F8 on Product { id }`;
    expect(doubling.length * 2).toBeLessThan(2_000);
    const data = { product: { id: 'p', a: [{ id: 'pa', b: [{ id: 'pab' }] }] } };
    expect(sorted(memo.tagData(data, doubling))).toEqual(['Product:p', 'Product:pa', 'Product:pab']);
    expect(memo.size).toBe(1);
    expect(sorted(new ListedEntityTypes(SHAPES).tagData(data, doubling))).toEqual(['Product:p', 'Product:pa', 'Product:pab']);
  });
});
