import { describe, expect, it } from 'vitest';
import { stableJson, tagsOf } from '../src/cache/keys.ts';

/** Nested `levels` deep: `[[[…]]]` or `{"a":{"a":…}}`, built without recursion. */
function nested(levels: number, kind: 'array' | 'object', leaf: unknown = 1): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = kind === 'array' ? [value] : { a: value };
  return value;
}

describe('stableJson', () => {
  it('writes JSON with object keys sorted at every level', () => {
    expect(stableJson({ b: 1, a: { d: [3, { z: null, y: 'x' }], c: true } })).toBe('{"a":{"c":true,"d":[3,{"y":"x","z":null}]},"b":1}');
    expect(stableJson({ b: 1, a: 2 })).toBe(stableJson({ a: 2, b: 1 }));
    expect(stableJson([])).toBe('[]');
    expect(stableJson({})).toBe('{}');
    expect(stableJson([[], {}, [[]]])).toBe('[[],{},[[]]]');
    expect(stableJson('a"b')).toBe('"a\\"b"');
    expect(stableJson({ 'k"': 1 })).toBe('{"k\\"":1}');
    // As JSON.stringify does: undefined properties left out, undefined array items null.
    expect(stableJson({ a: undefined, b: [undefined, 2] })).toBe('{"b":[null,2]}');
    expect(stableJson(undefined)).toBe('null');
    const value = { list: [{ id: 'p1', n: 1.5 }, 'x', false], nested: { deeper: { deepest: [1, [2, [3]]] } } };
    expect(JSON.parse(stableJson(value))).toEqual(value);
  });

  it('does not overflow the stack on nesting a client chose (F6: 5,000 levels and far more)', () => {
    for (const kind of ['array', 'object'] as const) {
      const deep = nested(100_000, kind);
      const text = stableJson(deep);
      expect(text.length).toBeGreaterThan(200_000);
      expect(text.startsWith(kind === 'array' ? '[[[' : '{"a":{"a":')).toBe(true);
    }
    expect(stableJson(nested(5_000, 'array'))).toBe(`${'['.repeat(5_000)}1${']'.repeat(5_000)}`);
  });
});

describe('tagsOf', () => {
  it('collects Type:id of every object with both, at any depth', () => {
    const data = {
      products: [
        { __typename: 'Product', id: 'p1', category: { __typename: 'Category', id: 7 } },
        { __typename: 'Product', name: 'no id' },
      ],
    };
    expect([...tagsOf(data)].sort()).toEqual(['Category:7', 'Product:p1']);
  });

  it('does not overflow the stack on deep data', () => {
    const deep = nested(100_000, 'object', { __typename: 'Product', id: 'p9' });
    expect([...tagsOf(deep)]).toEqual(['Product:p9']);
    expect([...tagsOf(nested(100_000, 'array', { __typename: 'Product', id: 'p8' }))]).toEqual(['Product:p8']);
  });
});

describe('tagsOf with collections', () => {
  const page = {
    products: [
      { __typename: 'Product', id: 'p1', brand: { __typename: 'Brand', id: 'b1' } },
      { __typename: 'Product', id: 'p2', brand: null },
    ],
    featured: { __typename: 'Promotion', id: 'promo1' },
  };

  it('adds the bare type of every entity inside a list, at any depth below it, and not of one outside a list', () => {
    expect([...tagsOf(page, new Set(), { collections: true })].sort()).toEqual([
      'Brand',
      'Brand:b1',
      'Product',
      'Product:p1',
      'Product:p2',
      'Promotion:promo1',
    ]);
    // A single entity (a root field returning one product) names only itself.
    expect([...tagsOf({ product: { __typename: 'Product', id: 'p1' } }, new Set(), { collections: true })]).toEqual(['Product:p1']);
    // Nested lists count, and an object without an id adds no bare type.
    expect(
      [...tagsOf({ rows: [[{ __typename: 'Review', id: 'r1' }], [{ __typename: 'Review' }]] }, new Set(), { collections: true })].sort(),
    ).toEqual(['Review', 'Review:r1']);
  });

  it('adds no bare types without collections (what `_entities` answers are tagged with)', () => {
    expect([...tagsOf(page)].sort()).toEqual(['Brand:b1', 'Product:p1', 'Product:p2', 'Promotion:promo1']);
    expect([...tagsOf({ _entities: [{ __typename: 'Product', id: 'p1', price: 1 }] })]).toEqual(['Product:p1']);
  });

  it('does not overflow the stack on deep lists', () => {
    const deep = nested(100_000, 'array', { __typename: 'Product', id: 'p7' });
    expect([...tagsOf(deep, new Set(), { collections: true })].sort()).toEqual(['Product', 'Product:p7']);
  });
});
