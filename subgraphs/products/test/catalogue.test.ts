import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ADMIN_USER_ID } from '@shop/domain';
import { testCache } from '@shop/platform/testing';
import { databaseOf, SMALL_SEED } from '@shop/subgraph-kit';
import { asUser, ENTITIES_QUERY, gql, TEST_ROUTER_SECRET } from '@shop/subgraph-kit/testing';
import { readConfig } from '../src/config.ts';
import { buildServer } from '../src/server.ts';

/**
 * Catalogue edits: createProduct, updateProduct, discontinueProduct. Every product here is this
 * run's own (its SKU starts with RUN) and is discontinued by the end, so on a shared Postgres
 * database the seeded listings other files count are what they were; the search words are the
 * run's own too, so the counts asserted here are exact.
 */
const ADMIN = asUser(ADMIN_USER_ID, ['admin']);
const CUSTOMER = asUser('u5');
const TAG = randomBytes(4).toString('hex').toUpperCase();
const RUN = `CATTEST-${TAG}`;
/** A made-up word only this run's products contain. */
const word = (what: string) => `zq${what}${TAG.toLowerCase()}`;
let serial = 0;
const sku = () => `${RUN}-${++serial}`;

const FIELDS = 'id sku name description brand category { id } imageUrl weightGrams discontinued discontinuedAt';
const CREATE = `mutation($input: CreateProductInput!) { createProduct(input: $input) { ${FIELDS} } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { ${FIELDS} } }`;
const DISCONTINUE = `mutation($id: ID!) { discontinueProduct(id: $id) { ${FIELDS} } }`;
const SEARCH = `query($q: String!) { searchProducts(query: $q, first: 10) { totalCount edges { node { id name } } } }`;
const TOTAL = '{ products(first: 1) { totalCount } }';

const input = (overrides: Record<string, unknown> = {}) => ({
  sku: sku(),
  name: `Test ${word('kettle')} kettle`,
  description: 'Boils water.\nTwice as fast.',
  brand: 'Acme',
  categoryId: 'c3',
  imageUrl: 'https://img.shop.example/products/new.jpg',
  weightGrams: 1200,
  ...overrides,
});

const codeOf = (res: { errors?: { extensions?: { code?: string } }[] }) => res.errors?.[0]?.extensions?.code;

let app: FastifyInstance;
const cache = testCache();
const created: string[] = [];

beforeAll(async () => {
  app = await buildServer({
    config: readConfig({ ROUTER_SECRET: TEST_ROUTER_SECRET, PRODUCTS_DATABASE_URL: process.env.PRODUCTS_DATABASE_URL, ...cache.env }),
    seedSize: SMALL_SEED,
  });
});
afterAll(async () => {
  for (const id of created) await gql(app, DISCONTINUE, { id }, ADMIN);
  await app?.close();
  await cache.cleanup();
});

async function create(overrides: Record<string, unknown> = {}) {
  const res = await gql(app, CREATE, { input: input(overrides) }, ADMIN);
  expect(res.errors).toBeUndefined();
  const product = res.data!.createProduct;
  created.push(product.id);
  return product;
}

interface OutboxRow {
  type: string;
  data: Record<string, unknown>;
  tags: string[];
}
const eventsOf = (id: string) =>
  databaseOf(app).query<OutboxRow>('SELECT type, data, tags FROM products.outbox WHERE aggregate_id = $1 ORDER BY position', [id]);
const outboxSize = async () => (await databaseOf(app).query<{ n: number }>('SELECT count(*)::int AS n FROM products.outbox'))[0]!.n;
const total = async () => (await gql(app, TOTAL)).data!.products.totalCount as number;
const searchIds = async (q: string) => {
  const res = await gql(app, SEARCH, { q });
  expect(res.errors).toBeUndefined();
  return res.data!.searchProducts.edges.map((e: { node: { id: string } }) => e.node.id) as string[];
};

describe('createProduct', () => {
  it('adds a product numbered after the seed, lists it, and queues product.created with its tags', async () => {
    const before = await total();
    const product = await create();
    expect(product).toMatchObject({
      sku: `${RUN}-${serial}`,
      name: `Test ${word('kettle')} kettle`,
      description: 'Boils water.\nTwice as fast.',
      brand: 'Acme',
      category: { id: 'c3' },
      weightGrams: 1200,
      discontinued: false,
      discontinuedAt: null,
    });
    expect(Number(product.id.slice(1))).toBeGreaterThan(1_000_000);
    expect(product.id).toMatch(/^p[1-9]\d*$/);

    const bySku = await gql(app, 'query($sku: String!) { product(sku: $sku) { id } }', { sku: product.sku });
    expect(bySku.data!.product.id).toBe(product.id);
    expect(await total()).toBe(before + 1);
    expect(await searchIds(word('kettle'))).toEqual([product.id]);

    expect(await eventsOf(product.id)).toEqual([
      {
        type: 'product.created',
        data: { productId: product.id, sku: product.sku, name: product.name, categoryId: 'c3', brand: 'Acme' },
        tags: [`Product:${product.id}`, 'Product', 'Category:c3'],
      },
    ]);
  });

  it('trims text and defaults the description to empty', async () => {
    const { description: _omitted, ...rest } = input({ name: '  Spaced name  ', brand: ' Globex ' });
    const res = await gql(app, CREATE, { input: rest }, ADMIN);
    expect(res.errors).toBeUndefined();
    created.push(res.data!.createProduct.id);
    expect(res.data!.createProduct).toMatchObject({ name: 'Spaced name', brand: 'Globex', description: '' });
  });

  it('refuses a SKU in use with BAD_USER_INPUT naming the field, and writes nothing', async () => {
    const first = await create();
    const size = await outboxSize();
    const res = await gql(app, CREATE, { input: input({ sku: first.sku }) }, ADMIN);
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0]!.extensions).toMatchObject({ field: 'sku' });
    expect(res.errors![0]!.message).toContain('already in use');
    // A seeded SKU too.
    expect(codeOf(await gql(app, CREATE, { input: input({ sku: 'SKU-000001' }) }, ADMIN))).toBe('BAD_USER_INPUT');
    expect(await outboxSize()).toBe(size);
  });

  it.each([
    ['an empty name', { name: '   ' }, 'name'],
    ['a name of 201 characters', { name: 'x'.repeat(201) }, 'name'],
    ['a control character in the name', { name: 'bad\u0000name' }, 'name'],
    ['a description of 5001 characters', { description: 'x'.repeat(5001) }, 'description'],
    ['an empty brand', { brand: '' }, 'brand'],
    ['a lower-case SKU', { sku: 'cattest-lower' }, 'sku'],
    ['a SKU of two characters', { sku: 'AB' }, 'sku'],
    ['a SKU with a double hyphen', { sku: 'AB--CD' }, 'sku'],
    ['a SKU of 41 characters', { sku: 'A'.repeat(41) }, 'sku'],
    ['a weight of 0 g', { weightGrams: 0 }, 'weightGrams'],
    ['a weight of 1000001 g', { weightGrams: 1_000_001 }, 'weightGrams'],
    ['an http image URL', { imageUrl: 'http://img.shop.example/a.jpg' }, 'imageUrl'],
    ['a javascript: image URL', { imageUrl: 'javascript:alert(1)' }, 'imageUrl'],
    ['a relative image URL', { imageUrl: '/a.jpg' }, 'imageUrl'],
    ['an image URL with credentials', { imageUrl: 'https://user:pw@img.shop.example/a.jpg' }, 'imageUrl'],
    ['an image URL of 2049 characters', { imageUrl: `https://img.shop.example/${'a'.repeat(2049 - 25)}` }, 'imageUrl'],
    ['an unknown category', { categoryId: 'c999999' }, 'categoryId'],
  ])('refuses %s with BAD_USER_INPUT', async (_name, overrides, field) => {
    const size = await outboxSize();
    const res = await gql(app, CREATE, { input: input(overrides) }, ADMIN);
    expect(res.status).toBe(200);
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0]!.extensions).toMatchObject({ field });
    expect(JSON.stringify(res)).not.toMatch(/SELECT|INSERT|stack/);
    expect(await outboxSize()).toBe(size);
  });

  it('accepts the bounds themselves', async () => {
    const product = await create({
      name: 'n'.repeat(200),
      description: 'd'.repeat(5000),
      weightGrams: 1_000_000,
      imageUrl: `https://img.shop.example/${'a'.repeat(2048 - 25)}`,
    });
    expect(product.weightGrams).toBe(1_000_000);
    expect(product.imageUrl).toHaveLength(2048);
  });
});

describe('admin only', () => {
  it.each([
    ['signed out', {}, 'UNAUTHENTICATED'],
    ['a customer', CUSTOMER, 'FORBIDDEN'],
  ])('refuses every catalogue mutation %s, changing nothing', async (_who, headers, code) => {
    const size = await outboxSize();
    expect(codeOf(await gql(app, CREATE, { input: input() }, headers))).toBe(code);
    expect(codeOf(await gql(app, UPDATE, { id: 'p1', input: { name: 'Hijacked' } }, headers))).toBe(code);
    expect(codeOf(await gql(app, DISCONTINUE, { id: 'p1' }, headers))).toBe(code);
    const p1 = await gql(app, '{ product(id: "p1") { name discontinued } }');
    expect(p1.data!.product).toMatchObject({ discontinued: false });
    expect(p1.data!.product.name).not.toBe('Hijacked');
    expect(await outboxSize()).toBe(size);
  });

  it('believes no admin scope sent without the router secret', async () => {
    const res = await gql(app, CREATE, { input: input() }, asUser(ADMIN_USER_ID, ['admin'], null));
    expect(codeOf(res)).toBe('UNAUTHENTICATED');
  });
});

describe('updateProduct', () => {
  it('finds the edited product with a search that found nothing before the edit', async () => {
    const product = await create();
    expect(await searchIds(word('later'))).toEqual([]);
    expect(await searchIds(word('later'))).toEqual([]);
    await gql(app, UPDATE, { id: product.id, input: { name: `Mug ${word('later')}` } }, ADMIN);
    expect(await searchIds(word('later'))).toEqual([product.id]);
  });

  it('changes the given fields; search reflects the edit on the next query, through the cache', async () => {
    const product = await create({ name: `Lamp ${word('before')}` });
    // Cached now: the repeat below must not be served from it.
    expect(await searchIds(word('before'))).toEqual([product.id]);
    expect(await searchIds(word('before'))).toEqual([product.id]);

    const res = await gql(app, UPDATE, { id: product.id, input: { name: `Lamp ${word('after')}`, weightGrams: 900 } }, ADMIN);
    expect(res.errors).toBeUndefined();
    expect(res.data!.updateProduct).toMatchObject({ id: product.id, name: `Lamp ${word('after')}`, weightGrams: 900, brand: 'Acme' });

    expect(await searchIds(word('before'))).toEqual([]);
    expect(await searchIds(word('after'))).toEqual([product.id]);
    const read = await gql(app, 'query($id: ID!) { product(id: $id) { name weightGrams } }', { id: product.id });
    expect(read.data!.product).toEqual({ name: `Lamp ${word('after')}`, weightGrams: 900 });

    const [, updated] = await eventsOf(product.id);
    expect(updated).toEqual({
      type: 'product.updated',
      data: { productId: product.id, changed: ['name', 'weightGrams'] },
      tags: [`Product:${product.id}`, 'Product'],
    });
  });

  it('finds a description or brand edit by search too', async () => {
    const product = await create();
    await gql(app, UPDATE, { id: product.id, input: { description: `Now with ${word('desc')}.` } }, ADMIN);
    expect(await searchIds(word('desc'))).toEqual([product.id]);
    await gql(app, UPDATE, { id: product.id, input: { brand: `Brand${word('brand')}` } }, ADMIN);
    expect(await searchIds(`Brand${word('brand')}`)).toEqual([product.id]);
  });

  it('tags any edit of a product on sale with the bare type too (entries that showed it without its id carry only that)', async () => {
    const product = await create();
    await gql(app, UPDATE, { id: product.id, input: { weightGrams: 5, imageUrl: 'https://img.shop.example/b.png' } }, ADMIN);
    expect((await eventsOf(product.id)).at(-1)).toEqual({
      type: 'product.updated',
      data: { productId: product.id, changed: ['imageUrl', 'weightGrams'] },
      tags: [`Product:${product.id}`, 'Product'],
    });
  });

  it('moves a product between categories, tagging both', async () => {
    const product = await create({ categoryId: 'c3' });
    const page = `query($slug: String!) { category(slug: $slug) { id products(first: 100, after: null) { totalCount } } }`;
    const slugOf = async (id: string) =>
      ((await gql(app, '{ categories { id slug } }')).data!.categories as { id: string; slug: string }[]).find((c) => c.id === id)!.slug;
    const [from, to] = [await slugOf('c3'), await slugOf('c4')];
    const counts = async () => [
      (await gql(app, page, { slug: from })).data!.category.products.totalCount,
      (await gql(app, page, { slug: to })).data!.category.products.totalCount,
    ];
    const [fromBefore, toBefore] = await counts();
    const res = await gql(app, UPDATE, { id: product.id, input: { categoryId: 'c4' } }, ADMIN);
    expect(res.data!.updateProduct.category).toEqual({ id: 'c4' });
    expect(await counts()).toEqual([fromBefore - 1, toBefore + 1]);
    expect((await eventsOf(product.id)).at(-1)).toEqual({
      type: 'product.updated',
      data: { productId: product.id, changed: ['categoryId'] },
      tags: [`Product:${product.id}`, 'Product', 'Category:c3', 'Category:c4'],
    });
  });

  it('changes nothing and announces nothing when the edit sets what the product has', async () => {
    const product = await create();
    const size = await outboxSize();
    const res = await gql(app, UPDATE, { id: product.id, input: { name: product.name, weightGrams: product.weightGrams } }, ADMIN);
    expect(res.errors).toBeUndefined();
    expect(res.data!.updateProduct).toEqual(product);
    expect(await outboxSize()).toBe(size);
  });

  it.each([
    ['no field', {}, 'BAD_USER_INPUT'],
    ['a null name', { name: null }, 'BAD_USER_INPUT'],
    ['an empty name', { name: '' }, 'BAD_USER_INPUT'],
    ['a weight of 0 g', { weightGrams: 0 }, 'BAD_USER_INPUT'],
    ['an http image URL', { imageUrl: 'http://x.example/a.jpg' }, 'BAD_USER_INPUT'],
    ['an unknown category', { categoryId: 'c999999' }, 'BAD_USER_INPUT'],
  ])('refuses %s', async (_name, change, code) => {
    const product = await create();
    const size = await outboxSize();
    expect(codeOf(await gql(app, UPDATE, { id: product.id, input: change }, ADMIN))).toBe(code);
    expect(await outboxSize()).toBe(size);
  });

  it('answers NOT_FOUND for an unknown product and BAD_USER_INPUT for a malformed id', async () => {
    expect(codeOf(await gql(app, UPDATE, { id: 'p999999999', input: { name: 'x' } }, ADMIN))).toBe('NOT_FOUND');
    expect(codeOf(await gql(app, UPDATE, { id: 'DROP', input: { name: 'x' } }, ADMIN))).toBe('BAD_USER_INPUT');
  });
});

describe('discontinueProduct', () => {
  it('hides the product from listings and search but keeps it resolvable; once', async () => {
    const product = await create({ name: `Drone ${word('gone')}`, categoryId: 'c5' });
    const before = await total();
    expect(await searchIds(word('gone'))).toEqual([product.id]);

    const res = await gql(app, DISCONTINUE, { id: product.id }, ADMIN);
    expect(res.errors).toBeUndefined();
    const discontinued = res.data!.discontinueProduct;
    expect(discontinued).toMatchObject({ id: product.id, discontinued: true });
    expect(Date.parse(discontinued.discontinuedAt)).toBeGreaterThan(Date.parse('2020-01-01'));

    expect(await total()).toBe(before - 1);
    expect(await searchIds(word('gone'))).toEqual([]);
    const brandPage = await gql(app, '{ products(filter: { brand: "Acme" }, first: 100, after: null) { edges { node { id } } } }');
    expect(brandPage.data!.products.edges.map((e: any) => e.node.id)).not.toContain(product.id);

    // Still there by id, by sku and as an entity, for the orders that bought it.
    const byId = await gql(app, 'query($id: ID!) { product(id: $id) { id discontinued } }', { id: product.id });
    expect(byId.data!.product).toEqual({ id: product.id, discontinued: true });
    const entities = await gql(app, ENTITIES_QUERY('... on Product { id name discontinued }'), {
      representations: [{ __typename: 'Product', sku: product.sku }],
    });
    expect(entities.data!._entities).toEqual([{ __typename: 'Product', id: product.id, name: product.name, discontinued: true }]);

    const again = await gql(app, DISCONTINUE, { id: product.id }, ADMIN);
    expect(again.data!.discontinueProduct).toEqual(discontinued);
    expect((await eventsOf(product.id)).filter((e) => e.type === 'product.discontinued')).toEqual([
      { type: 'product.discontinued', data: { productId: product.id }, tags: [`Product:${product.id}`, 'Product', 'Category:c5'] },
    ]);
  });

  it('answers NOT_FOUND for an unknown product', async () => {
    expect(codeOf(await gql(app, DISCONTINUE, { id: 'p999999999' }, ADMIN))).toBe('NOT_FOUND');
  });
});

describe('listing totals (category_count, kept by triggers)', () => {
  // What every listing total is read from, against the products themselves.
  const kept = async () =>
    Object.fromEntries(
      (
        await databaseOf(app).query<{ id: string; n: number }>(
          'SELECT category_id AS id, on_sale AS n FROM products.category_count WHERE on_sale > 0',
        )
      ).map((r) => [r.id, r.n]),
    );
  const counted = async () =>
    Object.fromEntries(
      (
        await databaseOf(app).query<{ id: string; n: number }>(
          'SELECT category_id AS id, count(*)::int AS n FROM products.product WHERE discontinued_at IS NULL GROUP BY category_id',
        )
      ).map((r) => [r.id, r.n]),
    );

  it('matches a count of the products on sale after creates, moves and discontinuations, through the API and in SQL', async () => {
    expect(await kept()).toEqual(await counted());
    const a = await create({ categoryId: 'c1' });
    const b = await create({ categoryId: 'c2' });
    await gql(app, UPDATE, { id: a.id, input: { categoryId: 'c2' } }, ADMIN);
    await gql(app, DISCONTINUE, { id: b.id }, ADMIN);
    expect(await kept()).toEqual(await counted());
    // One statement changing several rows at once (the triggers are per statement): on sale and not.
    const c = await create({ categoryId: 'c3' });
    await databaseOf(app).query("UPDATE products.product SET category_id = 'c5' WHERE id = ANY($1::text[])", [[a.id, b.id, c.id]]);
    expect(await kept()).toEqual(await counted());
    await databaseOf(app).query('DELETE FROM products.product WHERE id = ANY($1::text[])', [[c.id]]);
    expect(await kept()).toEqual(await counted());
    // The unfiltered grid's total is their sum.
    expect(await total()).toBe(Object.values(await counted()).reduce((x, y) => x + y, 0));
  });

  it('keeps the count a failed write leaves: a write that is rolled back changes nothing', async () => {
    const before = await kept();
    await expect(
      databaseOf(app).transaction(async (tx) => {
        await tx.query("UPDATE products.product SET discontinued_at = now() WHERE category_id = 'c1'");
        throw new Error('abandoned');
      }),
    ).rejects.toThrow('abandoned');
    expect(await kept()).toEqual(before);
    expect(await kept()).toEqual(await counted());
  });

  it('gives the brand-filtered total by counting, and a category and brand together', async () => {
    const [row] = await databaseOf(app).query<{ brand: string; slug: string; id: string }>(
      `SELECT p.brand, c.slug, c.id FROM products.product p JOIN products.category c ON c.id = p.category_id
       WHERE p.discontinued_at IS NULL ORDER BY p.n LIMIT 1`,
    );
    const byBrand = await databaseOf(app).query<{ n: number }>(
      'SELECT count(*)::int AS n FROM products.product WHERE discontinued_at IS NULL AND brand = $1',
      [row!.brand],
    );
    const both = await databaseOf(app).query<{ n: number }>(
      'SELECT count(*)::int AS n FROM products.product WHERE discontinued_at IS NULL AND brand = $1 AND category_id = $2',
      [row!.brand, row!.id],
    );
    const listing = 'query($f: ProductFilter) { products(filter: $f, first: 1) { totalCount } }';
    expect((await gql(app, listing, { f: { brand: row!.brand } })).data!.products.totalCount).toBe(byBrand[0]!.n);
    expect((await gql(app, listing, { f: { brand: row!.brand, categorySlug: row!.slug } })).data!.products.totalCount).toBe(both[0]!.n);
    expect((await gql(app, listing, { f: { categorySlug: row!.slug } })).data!.products.totalCount).toBe((await counted())[row!.id]);
    expect((await gql(app, listing, { f: { categorySlug: 'no-such-category' } })).data!.products.totalCount).toBe(0);
  });
});
