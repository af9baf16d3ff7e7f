import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { testCache } from '@shop/platform/testing';
import { SMALL_SEED } from '@shop/subgraph-kit';
import { asUser, ENTITIES_QUERY, gql } from '@shop/subgraph-kit/testing';
import { readConfig } from '../src/config.ts';
import { buildServer } from '../src/server.ts';

/**
 * Reservations and stock adjustments, on products of the file's own: ids no seed and no other run
 * uses (`product(n)`), stocked here through adjustStock, so no other test's writes can move the
 * levels it counts and the file passes on a persistent database run after run. Reservation ids
 * carry a per-run prefix for the same reason.
 */
let app: FastifyInstance;

const SECRET = 's3cret';
const INTERNAL = { 'x-router-secret': SECRET };
const ADMIN = asUser('u0', ['admin'], SECRET);
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
const rid = (name: string) => `${RUN}-${name}`;
const RUN_BASE = 100_000_000 + Math.floor(Math.random() * 800_000_000);
const product = (n: number) => `p${RUN_BASE + n}`;

/** Memory, or Redis under a prefix of this file's own when the run sets REDIS_URL. */
const cache = testCache();
beforeAll(async () => {
  app = await buildServer({
    config: readConfig({ ROUTER_SECRET: SECRET, INVENTORY_DATABASE_URL: process.env.INVENTORY_DATABASE_URL, ...cache.env }),
    seedSize: SMALL_SEED,
  });
});
afterAll(async () => {
  await app?.close();
  await cache.cleanup();
});

const RESERVATION_FIELDS = 'id region status lines { productId warehouseId quantity }';
const RESERVE = `mutation($id: ID!, $region: Region!, $lines: [ReserveLineInput!]!) {
  reserveStock(reservationId: $id, region: $region, lines: $lines) { ${RESERVATION_FIELDS} } }`;
const RELEASE = `mutation($id: ID!) { releaseStock(reservationId: $id) { ${RESERVATION_FIELDS} } }`;
const ADJUST = `mutation($p: ID!, $w: ID!, $d: Int!) {
  adjustStock(productId: $p, warehouseId: $w, delta: $d) { warehouse { id region } available reserved } }`;

type Line = { productId: string; quantity: number };
const reserve = (id: string, lines: Line[], region = 'IN', headers: Record<string, string> = INTERNAL) =>
  gql(app, RESERVE, { id, region, lines }, headers);
const release = (id: string, headers: Record<string, string> = INTERNAL) => gql(app, RELEASE, { id }, headers);
const adjust = (p: string, w: string, d: number, headers: Record<string, string> = ADMIN) => gql(app, ADJUST, { p, w, d }, headers);
const codeOf = (res: { errors?: { extensions?: { code?: string } }[] }) => res.errors?.[0]?.extensions?.code;

/** Per warehouse: available and reserved units of the product (warehouses without a row are absent). */
async function stockOf(productId: string): Promise<Map<string, { available: number; reserved: number }>> {
  const res = await gql(app, ENTITIES_QUERY('... on Product { stock { warehouses { warehouse { id } available reserved } } }'), {
    representations: [{ __typename: 'Product', id: productId }],
  });
  expect(res.errors).toBeUndefined();
  const rows = res.data!._entities[0].stock.warehouses as { warehouse: { id: string }; available: number; reserved: number }[];
  return new Map(rows.map((r) => [r.warehouse.id, { available: r.available, reserved: r.reserved }]));
}

async function regionAvailable(productId: string, region: string): Promise<number> {
  const query = `query($region: Region, $representations: [_Any!]!) {
    _entities(representations: $representations) { ... on Product { stock(region: $region) { available } } } }`;
  const res = await gql(app, query, { region, representations: [{ __typename: 'Product', id: productId }] });
  expect(res.errors).toBeUndefined();
  return res.data!._entities[0].stock.available;
}

/** Sets available units per warehouse through adjustStock, as an admin would. */
async function setAvailable(productId: string, targets: Record<string, number>): Promise<void> {
  const current = await stockOf(productId);
  for (const [warehouseId, target] of Object.entries(targets)) {
    const delta = target - (current.get(warehouseId)?.available ?? 0);
    if (delta === 0) continue;
    const res = await adjust(productId, warehouseId, delta);
    expect(res.errors).toBeUndefined();
    expect(res.data!.adjustStock.available).toBe(target);
  }
}

describe('reserveStock', () => {
  it('is internal: refused without the service secret or with a wrong one', async () => {
    await setAvailable(product(309), { w1: 5, w2: 0 });
    const lines = [{ productId: product(309), quantity: 1 }];
    for (const headers of [{}, { 'x-router-secret': 'wrong' }, asUser('u0', ['admin'], null), asUser('u0', ['admin'], 'wrong')]) {
      const reserved = await reserve(rid('refused'), lines, 'IN', headers);
      expect(codeOf(reserved)).toBe('FORBIDDEN');
      expect(reserved.data).toBeNull();
      expect(codeOf(await release(rid('refused'), headers))).toBe('FORBIDDEN');
    }
    expect((await stockOf(product(309))).get('w1')!.available).toBe(5);
    expect((await release(rid('refused'))).data!.releaseStock).toBeNull(); // nothing was created
  });

  it.each([
    ['an empty reservationId', '', [{ productId: product(309), quantity: 1 }], 'reservationId'],
    ['a reservationId with a space', 'a b', [{ productId: product(309), quantity: 1 }], 'reservationId'],
    ['a 101-character reservationId', 'x'.repeat(101), [{ productId: product(309), quantity: 1 }], 'reservationId'],
    ['no lines', 'ok', [], 'lines'],
    ['51 lines', 'ok', Array.from({ length: 51 }, (_, i) => ({ productId: `p${301 + i}`, quantity: 1 })), 'lines'],
    ['a zero quantity', 'ok', [{ productId: product(309), quantity: 0 }], 'lines.0.quantity'],
    ['a quantity of 100', 'ok', [{ productId: product(309), quantity: 100 }], 'lines.0.quantity'],
    [
      'a malformed product id',
      'ok',
      [
        { productId: product(309), quantity: 1 },
        { productId: 'x1', quantity: 1 },
      ],
      'lines.1.productId',
    ],
    [
      'a product twice',
      'ok',
      [
        { productId: product(309), quantity: 1 },
        { productId: product(309), quantity: 2 },
      ],
      'lines.1.productId',
    ],
  ])('rejects %s with BAD_USER_INPUT', async (_name, id, lines, field) => {
    const res = await reserve(id === 'ok' ? rid('invalid') : id, lines);
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0]!.extensions!.field).toBe(field);
  });

  it('reserves all lines or none: a short line names its product and nothing is reserved', async () => {
    await setAvailable(product(301), { w1: 5, w2: 0 });
    await setAvailable(product(302), { w1: 2, w2: 0 });
    await setAvailable(product(310), { w1: 0, w2: 0 });
    const before = await stockOf(product(301));

    const res = await reserve(rid('all-or-none'), [
      { productId: product(301), quantity: 3 },
      { productId: product(302), quantity: 5 },
      { productId: product(310), quantity: 1 },
    ]);
    expect(codeOf(res)).toBe('OUT_OF_STOCK');
    expect(res.errors![0]!.message).toBe(`Not enough stock for ${product(302)}, ${product(310)} in IN`);
    expect(res.errors![0]!.extensions!.productIds).toEqual([product(302), product(310)]);
    expect(res.data).toBeNull();
    expect(await stockOf(product(301))).toEqual(before);
    expect((await stockOf(product(302))).get('w1')!.available).toBe(2);
    // The reservation itself was rolled back too: the id is free, and works once stock is there.
    expect((await release(rid('all-or-none'))).data!.releaseStock).toBeNull();
    const retry = await reserve(rid('all-or-none'), [
      { productId: product(301), quantity: 3 },
      { productId: product(302), quantity: 2 },
    ]);
    expect(retry.errors).toBeUndefined();
    expect(retry.data!.reserveStock.status).toBe('HELD');
    expect(await regionAvailable(product(301), 'IN')).toBe(2);
    expect(await regionAvailable(product(302), 'IN')).toBe(0);
  });

  it("splits a line across the region's warehouses, fullest first, and stock shows it", async () => {
    await setAvailable(product(303), { w1: 3, w2: 5 });
    const before = await stockOf(product(303));
    expect(await regionAvailable(product(303), 'IN')).toBe(8);

    const res = await reserve(rid('split'), [{ productId: product(303), quantity: 7 }]);
    expect(res.errors).toBeUndefined();
    expect(res.data!.reserveStock).toEqual({
      id: rid('split'),
      region: 'IN',
      status: 'HELD',
      lines: [
        { productId: product(303), warehouseId: 'w1', quantity: 2 },
        { productId: product(303), warehouseId: 'w2', quantity: 5 },
      ],
    });
    const after = await stockOf(product(303));
    expect(after.get('w1')).toEqual({ available: 1, reserved: before.get('w1')!.reserved + 2 });
    expect(after.get('w2')).toEqual({ available: 0, reserved: before.get('w2')!.reserved + 5 });
    expect(await regionAvailable(product(303), 'IN')).toBe(1);
    // Other regions' warehouses are not touched.
    for (const [warehouseId, row] of before) if (warehouseId !== 'w1' && warehouseId !== 'w2') expect(after.get(warehouseId)).toEqual(row);
  });

  it("only uses the region's warehouses", async () => {
    await setAvailable(product(311), { w1: 0, w2: 0, w3: 50 });
    const res = await reserve(rid('other-region'), [{ productId: product(311), quantity: 1 }]);
    expect(codeOf(res)).toBe('OUT_OF_STOCK');
    expect((await stockOf(product(311))).get('w3')!.available).toBe(50);
  });

  it('is idempotent per reservationId: the same id returns the same reservation and takes stock once', async () => {
    await setAvailable(product(304), { w1: 10, w2: 0 });
    const first = await reserve(rid('idem'), [{ productId: product(304), quantity: 4 }]);
    expect(first.errors).toBeUndefined();
    const again = await reserve(rid('idem'), [{ productId: product(304), quantity: 4 }]);
    expect(again.data).toEqual(first.data);
    // Whatever the payload, an existing reservation comes back unchanged.
    const otherPayload = await reserve(rid('idem'), [{ productId: product(304), quantity: 1 }], 'US');
    expect(otherPayload.data).toEqual(first.data);
    expect((await stockOf(product(304))).get('w1')!.available).toBe(6);

    // Once released it stays released: reserving with its id again does not take stock.
    expect((await release(rid('idem'))).data!.releaseStock.status).toBe('RELEASED');
    const afterRelease = await reserve(rid('idem'), [{ productId: product(304), quantity: 4 }]);
    expect(afterRelease.data!.reserveStock).toEqual({ ...first.data!.reserveStock, status: 'RELEASED' });
    expect((await stockOf(product(304))).get('w1')!.available).toBe(10);
  });

  it('never oversells: 200 concurrent reservations of a 50-unit product give exactly 50', async () => {
    await setAvailable(product(305), { w1: 50, w2: 0 });
    const before = await stockOf(product(305));
    const ids = Array.from({ length: 200 }, (_, i) => rid(`rush-${i}`));
    const results = await Promise.all(ids.map((id) => reserve(id, [{ productId: product(305), quantity: 1 }])));

    const ok = results.filter((r) => r.errors === undefined);
    const codes = results.filter((r) => r.errors !== undefined).map(codeOf);
    expect(ok).toHaveLength(50);
    expect(codes).toEqual(Array(150).fill('OUT_OF_STOCK'));
    for (const r of ok) expect(r.data!.reserveStock.lines).toEqual([{ productId: product(305), warehouseId: 'w1', quantity: 1 }]);
    const after = await stockOf(product(305));
    expect(after.get('w1')).toEqual({ available: 0, reserved: before.get('w1')!.reserved + 50 });
    expect(after.get('w2')?.available ?? 0).toBe(0);
    expect(await regionAvailable(product(305), 'IN')).toBe(0);

    // Giving all of them back, concurrently too, restores the 50 exactly.
    const released = await Promise.all(ok.map((r) => release(r.data!.reserveStock.id)));
    for (const r of released) expect(r.data!.releaseStock.status).toBe('RELEASED');
    expect((await stockOf(product(305))).get('w1')).toEqual(before.get('w1'));
  });

  it('makes one reservation from 20 concurrent calls with the same id', async () => {
    await setAvailable(product(306), { w1: 10, w2: 0 });
    const results = await Promise.all(Array.from({ length: 20 }, () => reserve(rid('same'), [{ productId: product(306), quantity: 2 }])));
    for (const r of results) {
      expect(r.errors).toBeUndefined();
      expect(r.data!.reserveStock).toEqual({
        id: rid('same'),
        region: 'IN',
        status: 'HELD',
        lines: [{ productId: product(306), warehouseId: 'w1', quantity: 2 }],
      });
    }
    expect((await stockOf(product(306))).get('w1')!.available).toBe(8);
  });
});

describe('releaseStock', () => {
  it('gives a reservation back exactly once, however often it is released', async () => {
    await setAvailable(product(307), { w1: 4, w2: 4 });
    const before = await stockOf(product(307));
    const held = await reserve(rid('release'), [{ productId: product(307), quantity: 6 }]);
    expect(held.errors).toBeUndefined();
    expect(await regionAvailable(product(307), 'IN')).toBe(2);

    const first = await release(rid('release'));
    expect(first.errors).toBeUndefined();
    expect(first.data!.releaseStock).toEqual({ ...held.data!.reserveStock, status: 'RELEASED' });
    expect(await stockOf(product(307))).toEqual(before);

    const twice = await release(rid('release'));
    expect(twice.data).toEqual(first.data);
    expect(await stockOf(product(307))).toEqual(before);
  });

  it('releases once under concurrent releases', async () => {
    await setAvailable(product(312), { w1: 6, w2: 0 });
    const before = await stockOf(product(312));
    expect((await reserve(rid('release-race'), [{ productId: product(312), quantity: 5 }])).errors).toBeUndefined();
    const results = await Promise.all(Array.from({ length: 10 }, () => release(rid('release-race'))));
    for (const r of results) expect(r.data!.releaseStock.status).toBe('RELEASED');
    expect(await stockOf(product(312))).toEqual(before);
  });

  it('returns null for an unknown reservation', async () => {
    const res = await release(rid('never-made'));
    expect(res.errors).toBeUndefined();
    expect(res.data!.releaseStock).toBeNull();
  });
});

describe('adjustStock', () => {
  it('lets an admin add and remove available units in one warehouse', async () => {
    await setAvailable(product(308), { w3: 10 });
    const reserved = (await stockOf(product(308))).get('w3')!.reserved;
    const added = await adjust(product(308), 'w3', 5);
    expect(added.errors).toBeUndefined();
    expect(added.data!.adjustStock).toEqual({ warehouse: { id: 'w3', region: 'SEA' }, available: 15, reserved });
    const removed = await adjust(product(308), 'w3', -15);
    expect(removed.data!.adjustStock).toEqual({ warehouse: { id: 'w3', region: 'SEA' }, available: 0, reserved });
  });

  it('creates the stock row for a warehouse that had none', async () => {
    // A product of the file's own has no row anywhere until something adds stock.
    expect((await stockOf(product(313))).size).toBe(0);
    const res = await adjust(product(313), 'w8', 3);
    expect(res.errors).toBeUndefined();
    expect(res.data!.adjustStock).toMatchObject({ warehouse: { id: 'w8' }, available: 3, reserved: 0 });
    expect(await stockOf(product(313))).toEqual(new Map([['w8', { available: 3, reserved: 0 }]]));
  });

  it('never takes available below zero', async () => {
    await setAvailable(product(308), { w4: 7 });
    const before = await stockOf(product(308));
    const res = await adjust(product(308), 'w4', -8);
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0]!.message).toMatch(/would take available below zero/);
    expect(await stockOf(product(308))).toEqual(before);
    // A product with no row in the warehouse has nothing to remove.
    const none = await adjust(product(999), 'w4', -1);
    expect(codeOf(none)).toBe('BAD_USER_INPUT');
  });

  it('is for admins only', async () => {
    await setAvailable(product(308), { w5: 3 });
    const customer = await adjust(product(308), 'w5', 1, asUser('u5', [], SECRET));
    expect(codeOf(customer)).toBe('FORBIDDEN');
    expect(codeOf(await adjust(product(308), 'w5', 1, {}))).toBe('UNAUTHENTICATED');
    expect(codeOf(await adjust(product(308), 'w5', 1, INTERNAL))).toBe('UNAUTHENTICATED');
    // Identity headers without the router secret are not believed.
    expect(codeOf(await adjust(product(308), 'w5', 1, asUser('u0', ['admin'], null)))).toBe('UNAUTHENTICATED');
    expect((await stockOf(product(308))).get('w5')!.available).toBe(3);
  });

  it.each([
    ['an unknown warehouse', product(308), 'w999', 1, 'NOT_FOUND'],
    ['a malformed product id', 'nope', 'w1', 1, 'BAD_USER_INPUT'],
    ['a zero delta', product(308), 'w1', 0, 'BAD_USER_INPUT'],
    ['a delta above 100000', product(308), 'w1', 100_001, 'BAD_USER_INPUT'],
    ['a delta below -100000', product(308), 'w1', -100_001, 'BAD_USER_INPUT'],
  ])('rejects %s', async (_name, productId, warehouseId, delta, code) => {
    const res = await adjust(productId, warehouseId, delta);
    expect(codeOf(res)).toBe(code);
    expect(res.data).toBeNull();
  });
});
