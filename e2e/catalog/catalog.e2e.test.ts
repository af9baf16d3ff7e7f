import { describe, expect, it } from 'vitest';
import { query } from '../setup/client.ts';

const LISTING = /* GraphQL */ `
  query Listing($first: Int, $after: String) {
    products(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges {
        cursor
        node {
          id sku name brand weightGrams
          category { id slug name }
          price(region: IN) { amount currency }
          listPrice(region: IN) { amount currency }
          activePromotion(region: IN) { id name discountPercent active }
          stock(region: IN) { available inStock warehouses { warehouse { id region } available reserved } }
          shippingEstimate(region: IN) { minDays maxDays cost { amount currency } }
        }
      }
    }
  }
`;

const cents = (amount: string) => {
  expect(amount).toMatch(/^\d+\.\d{2}$/);
  return Math.round(Number(amount) * 100);
};

describe('listing page across all five subgraphs', () => {
  it('returns products with category, prices, promotion, stock and shipping from their owning subgraphs', async () => {
    const { status, data, errors } = await query(LISTING);
    expect(errors).toBeUndefined();
    expect(status).toBe(200);
    const { products } = data;
    expect(products.totalCount).toBe(40_000);
    expect(products.edges).toHaveLength(20); // default page size
    expect(products.pageInfo.hasNextPage).toBe(true);
    let promoted = 0;
    for (const { node } of products.edges) {
      expect(node.id).toMatch(/^p\d+$/);
      expect(node.category.slug).toMatch(/^[a-z-]+$/);
      expect(node.price.currency).toBe('INR');
      expect(node.listPrice.currency).toBe('INR');
      const price = cents(node.price.amount);
      const list = cents(node.listPrice.amount);
      if (node.activePromotion) {
        promoted++;
        expect(node.activePromotion.active).toBe(true);
        // price is the list price with the promotion applied, to the paisa
        expect(Math.abs(price - (list * (100 - node.activePromotion.discountPercent)) / 100)).toBeLessThanOrEqual(0.5);
        expect(price).toBeLessThan(list);
      } else {
        expect(price).toBe(list);
      }
      expect(node.stock.inStock).toBe(node.stock.available > 0);
      for (const w of node.stock.warehouses) expect(w.warehouse.region).toBe('IN');
      expect(node.stock.available).toBe(node.stock.warehouses.reduce((sum: number, w: any) => sum + w.available, 0));
      expect(node.shippingEstimate.cost.currency).toBe('INR');
      expect(node.shippingEstimate.minDays).toBeLessThanOrEqual(node.shippingEstimate.maxDays);
    }
    expect(promoted).toBeGreaterThan(0);
  });

  it('finds a product by sku, resolved through the second @key', async () => {
    const { data, errors } = await query(
      '{ product(sku: "SKU-000042") { id sku name price(region: US) { amount currency } stock(region: US) { inStock } } }',
    );
    expect(errors).toBeUndefined();
    expect(data.product).toMatchObject({ id: 'p42', sku: 'SKU-000042', price: { currency: 'USD' } });
  });

  it('searches with full-text search and prices the hits', async () => {
    const { data, errors } = await query(
      '{ searchProducts(query: "steel", first: 5) { totalCount edges { node { name price(region: ME) { currency } } } } }',
    );
    expect(errors).toBeUndefined();
    expect(data.searchProducts.totalCount).toBeGreaterThan(100);
    expect(data.searchProducts.edges).toHaveLength(5);
    for (const { node } of data.searchProducts.edges) {
      expect(node.name.toLowerCase()).toContain('steel');
      expect(node.price.currency).toBe('AED');
    }
  });

  it('pages through a category with a cursor round trip', async () => {
    const { data: cats } = await query('{ categories { slug } }');
    expect(cats.categories.length).toBeGreaterThanOrEqual(50);
    const slug = cats.categories[3].slug;
    const page = `query($slug: String!, $after: String) { category(slug: $slug) { name products(first: 5, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id category { slug } } } } } }`;
    const first = await query(page, { slug });
    expect(first.errors).toBeUndefined();
    const firstIds = first.data.category.products.edges.map((e: any) => e.node.id);
    expect(firstIds).toHaveLength(5);
    const after = first.data.category.products.pageInfo.endCursor;
    expect(after).toBe(first.data.category.products.edges[4].cursor);
    const second = await query(page, { slug, after });
    const secondIds = second.data.category.products.edges.map((e: any) => e.node.id);
    expect(secondIds).toHaveLength(5);
    expect(secondIds.filter((id: string) => firstIds.includes(id))).toEqual([]);
    for (const e of [...first.data.category.products.edges, ...second.data.category.products.edges])
      expect(e.node.category.slug).toBe(slug);
    const num = (id: string) => Number(id.slice(1));
    expect(num(secondIds[0])).toBeGreaterThan(num(firstIds[4]));
    expect(first.data.category.products.totalCount).toBe(second.data.category.products.totalCount);
  });

  it('lists promotions in a region, including expired ones when asked', async () => {
    const { data, errors } = await query('{ promotions(region: SEA, includeExpired: true) { id active discountPercent } }');
    expect(errors).toBeUndefined();
    expect(data.promotions.some((p: any) => p.active)).toBe(true);
    expect(data.promotions.some((p: any) => !p.active)).toBe(true);
  });
});
