import { expect } from 'vitest';
import { query, type Result, type Send } from './client.ts';

/** Client-side helpers for checkout scenarios, all through the router's public API. */
export const PLACE_ORDER =
  'mutation Place($input: PlaceOrderInput!) {\n' +
  '  placeOrder(input: $input) { id status region lines { product { id } quantity unitPrice { amount currency } lineTotal { amount } } ' +
  'total { amount currency } }\n' +
  '}';

export interface Line {
  productId: string;
  quantity: number;
}

export function placeOrder(
  token: string,
  idempotencyKey: string,
  lines: Line[],
  region = 'IN',
  send: Send = query,
  paymentMethod = 'tok_visa',
): Promise<Result> {
  return send(PLACE_ORDER, { input: { idempotencyKey, region, paymentMethod, lines } }, { token });
}

export async function stockOf(productId: string, region = 'IN', send: Send = query) {
  const result = await send(
    'query($id: ID!, $region: Region) { product(id: $id) { stock(region: $region) { ' +
      'available warehouses { warehouse { id } available reserved } } } }',
    { id: productId, region },
  );
  expect(result.errors).toBeUndefined();
  const { available, warehouses } = result.data.product.stock as {
    available: number;
    warehouses: { warehouse: { id: string }; available: number; reserved: number }[];
  };
  return { available, reserved: warehouses.reduce((sum, w) => sum + w.reserved, 0), warehouses };
}

/** Makes exactly `units` available for the product in the region, all in its first warehouse there. */
export async function setStock(adminToken: string, productId: string, units: number, region = 'IN', send: Send = query) {
  const { warehouses } = await stockOf(productId, region, send);
  expect(warehouses.length).toBeGreaterThan(0);
  for (const [i, w] of warehouses.entries()) {
    const delta = (i === 0 ? units : 0) - w.available;
    if (delta === 0) continue;
    const result = await send(
      `mutation($p: ID!, $w: ID!, $d: Int!) { adjustStock(productId: $p, warehouseId: $w, delta: $d) { available } }`,
      { p: productId, w: w.warehouse.id, d: delta },
      { token: adminToken },
    );
    expect(result.errors).toBeUndefined();
  }
  expect((await stockOf(productId, region, send)).available).toBe(units);
}

export async function orderCount(token: string, send: Send = query): Promise<number> {
  const result = await send('{ me { orders { totalCount } } }', {}, { token });
  expect(result.errors).toBeUndefined();
  return result.data.me.orders.totalCount;
}

export const cents = (amount: string) => Math.round(Number(amount) * 100);
export const uniqueKey = (label: string) => `${label}-${Date.now()}-${Math.random().toString(36).slice(2, 10)}`;
