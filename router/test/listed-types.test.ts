import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { ListedEntityTypes, MAX_DEPTH, readSupergraphTypes } from '../src/cache/listed-types.ts';

/**
 * The entity types an operation can list, from its document and the supergraph (src/cache/listed-types.ts):
 * what tags an empty listing or search with the bare type a product created carries.
 */
const SUPERGRAPH = readFileSync(fileURLToPath(new URL('../../schema/supergraph.graphql', import.meta.url)), 'utf8');

/** A small core supergraph with an interface, a union, a keyed interface and a non-entity list. */
const SHAPES = `
schema @link(url: "https://specs.apollo.dev/link/v1.0") @link(url: "https://specs.apollo.dev/join/v0.5", as: "j", for: EXECUTION) {
  query: Root
}
interface Node { id: ID! }
interface Reviewable @j__type(graph: A, key: "id") { id: ID! }
type Product implements Node & Reviewable @j__type(graph: A, key: "id") { id: ID! name: String! related: [Product!]! }
type Brand implements Node @j__type(graph: A, key: "id") { id: ID! name: String! }
type Tag { label: String! owner: Brand }
type Note implements Node { id: ID! }
union Hit = Product | Brand | Tag
type Root @j__type(graph: A) {
  nodes: [Node!]!
  search: [Hit!]!
  tags: [Tag!]!
  product(id: ID!): Product
  reviewables: [Reviewable]
  matrix: [[Brand]]
}
`;

const sorted = (types: readonly string[]) => [...types].sort();

describe('ListedEntityTypes on the shop supergraph', () => {
  const listed = new ListedEntityTypes(SUPERGRAPH);

  it('tags a search or a listing with the bare entity type below its list, whatever the data would hold', () => {
    expect(listed.of('query S($q: String!) { searchProducts(query: $q) { totalCount edges { node { id } } } }')).toEqual(['Product']);
    expect(listed.of('{ products(first: 5) { edges { cursor node { name } } } }')).toEqual(['Product']);
    // A category is no list, but its page is; the categories listing is one too.
    expect(listed.of('{ category(slug: "x") { name products { edges { node { id } } } } }')).toEqual(['Product']);
    expect(sorted(listed.of('{ categories { id products { edges { node { id category { id } } } } } }'))).toEqual(['Category', 'Product']);
  });

  it('gives nothing for a single entity (its own Type:id drops it) nor for a list selected without entities', () => {
    expect(listed.of('query D($id: ID!) { product(id: $id) { id name price(region: US) { amount } category { name } } }')).toEqual([]);
    expect(listed.of('{ searchProducts(query: "x") { totalCount } }')).toEqual([]);
    expect(listed.of('{ __typename }')).toEqual([]);
  });

  it('follows named fragments and inline fragments, and picks the operation by name', () => {
    const document = `
      query Single { product(id: "p1") { ...Card } }
      query Page { products { ...Edges } }
      fragment Edges on ProductConnection { edges { node { ... on Product { ...Card } } } }
      fragment Card on Product { id name category { id } }`;
    expect(sorted(listed.of(document, 'Page'))).toEqual(['Category', 'Product']);
    expect(listed.of(document, 'Single')).toEqual([]);
    // Several operations and no name: not one this can choose.
    expect(listed.of(document)).toEqual([]);
    expect(listed.of(document, 'Missing')).toEqual([]);
  });

  it('reads a planner fetch (subgraph text, aliases, __typename) against the same types', () => {
    const fetch = 'query Listing__products__0($first:Int){p:products(first:$first){edges{node{__typename id name}}}}';
    expect(listed.of(fetch, undefined, parse(fetch))).toEqual(['Product']);
  });

  it('answers nothing for a document that does not parse, or before any supergraph', () => {
    expect(listed.of('{ products { ')).toEqual([]);
    expect(new ListedEntityTypes().of('{ products { edges { node { id } } } }')).toEqual([]);
  });
});

describe('ListedEntityTypes on abstract types', () => {
  const listed = new ListedEntityTypes(SHAPES);

  it('tags every entity a listed interface or union can be, and keyed interfaces themselves', () => {
    expect(sorted(listed.of('{ nodes { id } }'))).toEqual(['Brand', 'Product']);
    expect(sorted(listed.of('{ search { ... on Tag { label } } }'))).toEqual(['Brand', 'Product']);
    expect(sorted(listed.of('{ reviewables { id } }'))).toEqual(['Product', 'Reviewable']);
    expect(listed.of('{ matrix { id } }')).toEqual(['Brand']);
  });

  it('tags entities below a list of non-entities, and lists below a single entity', () => {
    expect(listed.of('{ tags { label } }')).toEqual([]);
    expect(listed.of('{ tags { owner { id } } }')).toEqual(['Brand']);
    expect(listed.of('{ product(id: "p1") { name } }')).toEqual([]);
    expect(listed.of('{ product(id: "p1") { related { id } } }')).toEqual(['Product']);
  });

  it('expands a fragment cycle once and stops past the depth bound with every entity type', () => {
    const cycle = '{ product(id: "p") { ...A } } fragment A on Product { related { ...B } } fragment B on Product { ...A id }';
    expect(listed.of(cycle)).toEqual(['Product']);
    let deep = '{ name }';
    for (let i = 0; i <= MAX_DEPTH; i++) deep = `{ ... on Product ${deep} }`;
    // Nothing listed as far as it read, but it could not read it all: it assumes the worst.
    expect(sorted(listed.of(`{ product(id: "p") ${deep} }`))).toEqual(sorted(readSupergraphTypes(SHAPES).allEntities));
    expect(sorted(readSupergraphTypes(SHAPES).allEntities)).toEqual(['Brand', 'Product', 'Reviewable']);
  });
});

describe('ListedEntityTypes memo', () => {
  it('reads each document once, holds at most maxEntries of them, least recently used out first', () => {
    const listed = new ListedEntityTypes(SUPERGRAPH, { maxEntries: 3 });
    const page = '{ products { edges { node { id } } } }';
    const first = listed.of(page);
    expect(listed.of(page)).toBe(first); // remembered, not read again
    for (let i = 0; i < 10; i++) listed.of(`query Q${i} { products(first: ${i}) { edges { node { id } } } }`);
    expect(listed.size).toBe(3);
    expect(listed.of(page)).not.toBe(first); // pushed out by the later documents, read again
    expect(listed.of(page)).toEqual(['Product']);
  });

  it('is bounded in bytes too: a document over the bound is answered but not remembered', () => {
    const listed = new ListedEntityTypes(SUPERGRAPH, { maxBytes: 4_096 });
    const large = `{ products { edges { node { id } } } } # ${'x'.repeat(8_192)}`;
    expect(listed.of(large)).toEqual(['Product']);
    expect(listed.size).toBe(0);
  });

  it('forgets every document when the supergraph changes, and reads them against the new one', () => {
    const listed = new ListedEntityTypes(SHAPES);
    const nodes = '{ nodes { id } }';
    expect(sorted(listed.of(nodes))).toEqual(['Brand', 'Product']);
    listed.of('{ search { __typename } }');
    expect(listed.size).toBe(2);
    // The new supergraph keys Note and no longer Brand.
    listed.setSupergraph(
      SHAPES.replace('type Brand implements Node @j__type(graph: A, key: "id")', 'type Brand implements Node').replace(
        'type Note implements Node',
        'type Note implements Node @j__type(graph: A, key: "id")',
      ),
    );
    expect(listed.size).toBe(0);
    expect(sorted(listed.of(nodes))).toEqual(['Note', 'Product']);
  });
});
