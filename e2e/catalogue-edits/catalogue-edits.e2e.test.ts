import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@shop/events/testing';
import { logIn, query } from '../setup/client.ts';
import { placeOrder, setStock, uniqueKey } from '../setup/shop.ts';

/** Admin catalogue edits through the router: each is an event, every cache layer drops what it touched. */
let admin: string;
let erin: { token: string; userId: string };

beforeAll(async () => {
  admin = (await logIn('admin@example.com', 'admin')).token;
  erin = await logIn('user43@example.com', 'password');
});

const unique = () => Math.random().toString(36).slice(2, 8).toUpperCase();
const search = async (text: string) => {
  const result = await query('query($q: String!) { searchProducts(query: $q, first: 5) { totalCount edges { node { id name } } } }', {
    q: text,
  });
  expect(result.errors).toBeUndefined();
  return result.data.searchProducts as { totalCount: number; edges: { node: { id: string; name: string } }[] };
};
const productView = async (id: string) => {
  const result = await query('query($id: ID!) { product(id: $id) { id name brand discontinued } }', { id });
  expect(result.errors).toBeUndefined();
  return result.data.product as { id: string; name: string; brand: string; discontinued: boolean };
};

describe('catalogue edits', () => {
  it('createProduct: admin only, validated, and the next search finds it', async () => {
    const categories = await query('{ categories { id } }');
    const categoryId = categories.data.categories[0].id as string;
    const word = `Zephyrkettle${unique().toLowerCase()}`;
    const input = {
      sku: `E2E-${unique()}`,
      name: `${word} steel kettle`,
      brand: 'Acme',
      categoryId,
      imageUrl: 'https://img.example.com/k.png',
      weightGrams: 900,
    };
    // Cached (empty) before the product exists: the create must drop it.
    expect((await search(word)).totalCount).toBe(0);
    const refused = await query(
      'mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }',
      { input },
      { token: erin.token },
    );
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const bad = await query(
      'mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }',
      { input: { ...input, imageUrl: 'http://insecure.example.com/x.png' } },
      { token: admin },
    );
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const created = await query(
      'mutation($input: CreateProductInput!) { createProduct(input: $input) { id name } }',
      { input },
      { token: admin },
    );
    expect(created.errors).toBeUndefined();
    const id = created.data.createProduct.id as string;
    expect((await search(word)).edges.map((e) => e.node.id)).toEqual([id]);
    expect(await productView(id)).toMatchObject({ name: input.name, discontinued: false });
  });

  it('updateProduct: the product page and search show the edit on the next query, although both were cached', async () => {
    const before = await productView('p38101');
    await search(before.name.split(' ')[0]!);
    const word = `Quillbrook${unique().toLowerCase()}`;
    const updated = await query(
      'mutation($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { id name } }',
      { id: 'p38101', input: { name: `${word} edition`, brand: 'Northwind' } },
      { token: admin },
    );
    expect(updated.errors).toBeUndefined();
    expect(await productView('p38101')).toMatchObject({ name: `${word} edition`, brand: 'Northwind' });
    expect((await search(word)).edges.map((e) => e.node.id)).toEqual(['p38101']);
  });

  it('discontinueProduct: it leaves search, stays resolvable, and can no longer be ordered', async () => {
    await setStock(admin, 'p38102', 5);
    const name = (await productView('p38102')).name;
    const word = `Marrowind${unique().toLowerCase()}`;
    await query(
      'mutation($input: UpdateProductInput!) { updateProduct(id: "p38102", input: $input) { id } }',
      { input: { name: `${word} ${name}` } },
      { token: admin },
    );
    expect((await search(word)).totalCount).toBe(1);
    const discontinued = await query('mutation { discontinueProduct(id: "p38102") { id discontinued } }', {}, { token: admin });
    expect(discontinued.errors).toBeUndefined();
    expect(discontinued.data.discontinueProduct).toEqual({ id: 'p38102', discontinued: true });
    expect((await search(word)).totalCount).toBe(0);
    expect(await productView('p38102')).toMatchObject({ id: 'p38102', discontinued: true });
    // Pricing hears product.discontinued and stops quoting it: checkout refuses the line.
    let refusal: string | undefined;
    await waitFor(
      async () => {
        const attempt = await placeOrder(erin.token, uniqueKey('discontinued'), [{ productId: 'p38102', quantity: 1 }]);
        if (attempt.data?.placeOrder?.id) {
          // Placed before pricing heard the event: undo it and try again.
          await query('mutation($id: ID!) { cancelOrder(id: $id) { id } }', { id: attempt.data.placeOrder.id }, { token: erin.token });
          return false;
        }
        refusal = attempt.errors?.[0]?.extensions?.code;
        return true;
      },
      { timeoutMs: 10_000, message: 'a discontinued product could still be ordered' },
    );
    expect(refusal).toBe('BAD_USER_INPUT');
  });
});
