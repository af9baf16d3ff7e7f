import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseOf, SMALL_SEED } from '@shop/subgraph-kit';
import { startStack, type Stack } from '@shop/stack';
import { clientFor, logIn, type Send } from '../setup/client.ts';
import { orderCount, placeOrder, setStock, stockOf, uniqueKey } from '../setup/shop.ts';

/**
 * Checkout under partial failure. These scenarios stop subgraphs and break writes, so they run on
 * a stack of their own (small seed), not the shared one.
 */
let stack: Stack;
let send: Send;
let admin: string;
let user: string;

beforeAll(async () => {
  // RATE_LIMIT=false: all traffic comes from 127.0.0.1, and the per-IP limit is not under test here.
  stack = await startStack({ env: { ...process.env, LOG_LEVEL: 'fatal', RATE_LIMIT: 'false' }, freePorts: true, seedSize: SMALL_SEED });
  send = clientFor(() => stack.routerUrl);
  admin = (await logIn('admin@example.com', 'admin', send)).token;
  user = (await logIn('user3@example.com', 'password', send)).token;
});
afterAll(() => stack?.close());

describe('checkout under partial failure', () => {
  it('releases the reservation when the order write fails after reserving, and the key can be retried', async () => {
    await setStock(admin, 'p471', 6, 'IN', send);
    const before = await stockOf('p471', 'IN', send);
    const ordersBefore = await orderCount(user, send);
    const key = uniqueKey('write-fails');
    // A real failure at the database, after inventory has reserved: the order insert violates a constraint.
    const db = databaseOf(stack.subgraphs.orders);
    await db.exec(`ALTER TABLE orders.orders ADD CONSTRAINT e2e_refuse_key CHECK (idempotency_key IS DISTINCT FROM '${key}')`);
    try {
      const failed = await placeOrder(user, key, [{ productId: 'p471', quantity: 4 }], 'IN', send);
      expect(failed.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(JSON.stringify(failed)).not.toMatch(/e2e_refuse_key|INSERT|orders\.orders/);
    } finally {
      await db.exec('ALTER TABLE orders.orders DROP CONSTRAINT e2e_refuse_key');
    }
    const after = await stockOf('p471', 'IN', send);
    expect(after.available).toBe(before.available);
    expect(after.reserved).toBe(before.reserved);
    expect(await orderCount(user, send)).toBe(ordersBefore);

    const retried = await placeOrder(user, key, [{ productId: 'p471', quantity: 4 }], 'IN', send);
    expect(retried.errors).toBeUndefined();
    expect((await stockOf('p471', 'IN', send)).available).toBe(before.available - 4);
  });

  it('fails with DEPENDENCY_UNAVAILABLE and leaves nothing behind when pricing is down', async () => {
    await setStock(admin, 'p472', 5, 'IN', send);
    const ordersBefore = await orderCount(user, send);
    await stack.stop('pricing');
    try {
      const result = await placeOrder(user, uniqueKey('pricing-down'), [{ productId: 'p472', quantity: 1 }], 'IN', send);
      expect(result.errors?.[0]?.extensions?.code).toBe('DEPENDENCY_UNAVAILABLE');
      expect(JSON.stringify(result)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED/);
      const stock = await stockOf('p472', 'IN', send);
      expect(stock.available).toBe(5);
      expect(await orderCount(user, send)).toBe(ordersBefore);
    } finally {
      await stack.start('pricing');
    }
  });

  it('degrades one field, not the page, when a subgraph is down: a listing still answers with price null', async () => {
    await stack.stop('pricing');
    try {
      const response = await fetch(stack.routerUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ products(first: 3) { edges { node { id name price(region: IN) { amount } } } } }' }),
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as any;
      expect(body.data.products.edges).toHaveLength(3);
      for (const { node } of body.data.products.edges) {
        expect(node.name).toEqual(expect.any(String));
        expect(node.price).toBeNull();
      }
      expect(body.errors).toHaveLength(1);
      expect(body.errors[0].extensions.code).toBe('SUBGRAPH_UNAVAILABLE');
      expect(JSON.stringify(body)).not.toMatch(/127\.0\.0\.1|localhost|ECONNREFUSED|stack/);
    } finally {
      await stack.start('pricing');
    }
  });

  it('fails with DEPENDENCY_UNAVAILABLE when inventory is down, and a retry after it returns orders once', async () => {
    await setStock(admin, 'p473', 5, 'IN', send);
    const ordersBefore = await orderCount(user, send);
    const key = uniqueKey('inventory-down');
    await stack.stop('inventory');
    try {
      const result = await placeOrder(user, key, [{ productId: 'p473', quantity: 2 }], 'IN', send);
      expect(result.errors?.[0]?.extensions?.code).toBe('DEPENDENCY_UNAVAILABLE');
      expect(await orderCount(user, send)).toBe(ordersBefore);
    } finally {
      await stack.start('inventory');
    }
    expect((await stockOf('p473', 'IN', send)).available).toBe(5);
    const retried = await placeOrder(user, key, [{ productId: 'p473', quantity: 2 }], 'IN', send);
    expect(retried.errors).toBeUndefined();
    expect((await stockOf('p473', 'IN', send)).available).toBe(3);
    expect(await orderCount(user, send)).toBe(ordersBefore + 1);
  });
});
