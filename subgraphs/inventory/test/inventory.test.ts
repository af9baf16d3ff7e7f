import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { formatCents } from '@shop/domain';
import { testCache } from '@shop/platform/testing';
import { relayOf, SMALL_SEED } from '@shop/subgraph-kit';
import { ENTITIES_QUERY, gql, metricValue } from '@shop/subgraph-kit/testing';
import { readConfig } from '../src/config.ts';
import { buildServer } from '../src/server.ts';
import { shippingCostMinor } from '../src/shipping.ts';

let app: FastifyInstance;

/** Memory, or Redis under a prefix of this file's own when the run sets REDIS_URL. */
const cache = testCache();
beforeAll(async () => {
  app = await buildServer({
    config: readConfig({ INVENTORY_DATABASE_URL: process.env.INVENTORY_DATABASE_URL, ...cache.env }),
    seedSize: SMALL_SEED,
  });
  // These cases count statements and invalidations: the outbox relay's poll (a statement a second)
  // and this process hearing its own events back from the stream would add to them at random. The
  // events themselves are events.test.ts's business.
  await relayOf(app).stop();
});
afterAll(async () => {
  await app?.close();
  await cache.cleanup();
});

const STOCK_FIELDS = 'available inStock warehouses { warehouse { id city region } available reserved }';
const noInternals = (res: unknown) => expect(JSON.stringify(res)).not.toMatch(/SELECT|inventory\.|stack|\bat /);

describe('inventory subgraph', () => {
  it('resolves Product.stock for a region and across all warehouses through _entities', async () => {
    const res = await gql(
      app,
      ENTITIES_QUERY(`... on Product { id inIndia: stock(region: IN) { ${STOCK_FIELDS} } all: stock { ${STOCK_FIELDS} } }`),
      {
        representations: [{ __typename: 'Product', id: 'p1' }],
      },
    );
    expect(res.errors).toBeUndefined();
    const [p1] = res.data!._entities;
    // Seed rule: p1 sits in Delhi (IN), Singapore (SEA), Riyadh and Dubai (ME) and Newark (US).
    expect(p1.inIndia).toEqual({
      available: 38,
      inStock: true,
      warehouses: [{ warehouse: { id: 'w2', city: 'Delhi', region: 'IN' }, available: 38, reserved: 3 }],
    });
    expect(p1.all.available).toBe(38 + 49 + 60 + 113 + 71);
    expect(p1.all.inStock).toBe(true);
    expect(p1.all.warehouses.map((w: any) => [w.warehouse.id, w.available])).toEqual([
      ['w2', 38],
      ['w3', 49],
      ['w5', 113],
      ['w6', 60],
      ['w7', 71],
    ]);
  });

  it('reports out-of-stock and unknown products as not in stock', async () => {
    const res = await gql(
      app,
      ENTITIES_QUERY(`... on Product { id us: stock(region: US) { available inStock } stock { ${STOCK_FIELDS} } }`),
      {
        representations: [
          { __typename: 'Product', id: 'p97' }, // out of stock everywhere
          { __typename: 'Product', id: 'p27' }, // out of stock in US only
          { __typename: 'Product', id: 'p999999' }, // no stock rows at all
          { __typename: 'Product', id: 'not-an-id' },
        ],
      },
    );
    expect(res.errors).toBeUndefined();
    const [everywhere, usOnly, unknown, malformed] = res.data!._entities;
    expect(everywhere.stock.available).toBe(0);
    expect(everywhere.stock.inStock).toBe(false);
    expect(everywhere.stock.warehouses.length).toBeGreaterThanOrEqual(4);
    for (const w of everywhere.stock.warehouses) expect(w.available).toBe(0);
    expect(usOnly.us).toEqual({ available: 0, inStock: false });
    expect(usOnly.stock.inStock).toBe(true);
    expect(unknown).toEqual({
      __typename: 'Product',
      id: 'p999999',
      us: { available: 0, inStock: false },
      stock: { available: 0, inStock: false, warehouses: [] },
    });
    expect(malformed).toBeNull();
  });

  it('keeps p1..p20 in stock in IN (the e2e listings rely on it)', async () => {
    const representations = Array.from({ length: 20 }, (_, i) => ({ __typename: 'Product', id: `p${i + 1}` }));
    const res = await gql(app, ENTITIES_QUERY('... on Product { id stock(region: IN) { inStock } }'), { representations });
    expect(res.data!._entities.filter((p: any) => p.stock.inStock)).toHaveLength(20);
  });

  it('estimates shipping from the weight the representation carries (@requires)', async () => {
    const res = await gql(
      app,
      ENTITIES_QUERY(`... on Product { id
        us: shippingEstimate(region: US) { minDays maxDays cost { amount currency } fromWarehouse { id city } }
        me: shippingEstimate(region: ME) { cost { amount currency } fromWarehouse { id } }
        in: shippingEstimate(region: IN) { cost { amount currency } }
        sea: shippingEstimate(region: SEA) { cost { amount currency } } }`),
      {
        representations: [
          { __typename: 'Product', id: 'p1', weightGrams: 1500 },
          { __typename: 'Product', id: 'p27', weightGrams: 1500 },
          { __typename: 'Product', id: 'p1', weightGrams: 1234 },
        ],
      },
    );
    expect(res.errors).toBeUndefined();
    const [p1, p27, odd] = res.data!._entities;
    // 5.00 USD + 1.20 USD/kg × 1.5 kg, from the only US warehouse holding p1.
    expect(p1.us).toEqual({
      minDays: 2,
      maxDays: 4,
      cost: { amount: '6.80', currency: 'USD' },
      fromWarehouse: { id: 'w7', city: 'Newark' },
    });
    // In ME p1 is in Dubai (113 units) and Riyadh (60): the fuller warehouse wins.
    expect(p1.me).toEqual({ cost: { amount: '16.00', currency: 'AED' }, fromWarehouse: { id: 'w5' } });
    expect(p1.in.cost).toEqual({ amount: '79.00', currency: 'INR' });
    expect(p1.sea.cost).toEqual({ amount: '6.25', currency: 'SGD' });
    // p27 has no US stock: it ships from another region, slower and at twice the tariff.
    expect(p27.us).toEqual({ minDays: 6, maxDays: 10, cost: { amount: '13.60', currency: 'USD' }, fromWarehouse: null });
    // 1.2 × 1.234 = 1.4808 USD, rounded up to the cent: 5.00 + 1.49.
    expect(odd.us.cost.amount).toBe('6.49');
  });

  it('computes costs in minor units without float error', () => {
    expect(formatCents(shippingCostMinor('SEA', 1, false))).toBe('4.01');
    expect(formatCents(shippingCostMinor('IN', 20_000, false))).toBe('449.00');
    expect(formatCents(shippingCostMinor('US', 333, true))).toBe('10.80');
  });

  it('resolves Warehouse through _entities and lists warehouses by region', async () => {
    const res = await gql(
      app,
      `${ENTITIES_QUERY('... on Warehouse { id code name city region }').replace(/}\s*$/, '')}
      all: warehouses { id region } sea: warehouses(region: SEA) { city } }`,
      {
        representations: [
          { __typename: 'Warehouse', id: 'w1' },
          { __typename: 'Warehouse', id: 'w8' },
          { __typename: 'Warehouse', id: 'w999' },
        ],
      },
    );
    expect(res.errors).toBeUndefined();
    const [mumbai, reno, missing] = res.data!._entities;
    expect(mumbai).toEqual({
      __typename: 'Warehouse',
      id: 'w1',
      code: 'BOM1',
      name: 'Mumbai Fulfilment Centre',
      city: 'Mumbai',
      region: 'IN',
    });
    expect(reno).toMatchObject({ id: 'w8', city: 'Reno', region: 'US' });
    expect(missing).toBeNull();
    expect(res.data!.all.length).toBeGreaterThanOrEqual(5);
    expect(new Set(res.data!.all.map((w: any) => w.region))).toEqual(new Set(['IN', 'SEA', 'ME', 'US']));
    expect(res.data!.sea.map((w: any) => w.city)).toEqual(['Singapore', 'Jakarta']);
  });

  it('batches _entities: the statement count does not grow with the number of representations', async () => {
    const selection = `... on Product { id stock(region: IN) { ${STOCK_FIELDS} } total: stock { available }
      shippingEstimate(region: US) { cost { amount } fromWarehouse { id name } } }
      ... on Warehouse { id city }`;
    const statements = async (call: () => Promise<unknown>) => {
      const before = await metricValue(app, 'db_queries_total');
      await call();
      return (await metricValue(app, 'db_queries_total')) - before;
    };
    // A scrape of /metrics sends statements of its own (the outbox gauge counts pending events): taken off.
    const scrape = await statements(async () => {});
    const run = async (n: number) => {
      const representations = [
        ...Array.from({ length: n }, (_, i) => ({ __typename: 'Product', id: `p${i + 1}`, weightGrams: 100 + i })),
        ...Array.from({ length: Math.min(n, 8) }, (_, i) => ({ __typename: 'Warehouse', id: `w${i + 1}` })),
      ];
      const res = await gql(app, ENTITIES_QUERY(selection), { representations });
      expect(res.errors).toBeUndefined();
      expect(res.data!._entities).toHaveLength(representations.length);
    };
    const five = (await statements(() => run(5))) - scrape;
    expect(five).toBe(2); // one for all stock rows, one for the warehouses asked for by key
    expect((await statements(() => run(100))) - scrape).toBe(five);
  });

  it.each([
    ['a missing weightGrams', { __typename: 'Product', id: 'p1' }],
    ['a negative weightGrams', { __typename: 'Product', id: 'p1', weightGrams: -5 }],
    ['a fractional weightGrams', { __typename: 'Product', id: 'p1', weightGrams: 10.5 }],
  ])('rejects shippingEstimate with %s with BAD_USER_INPUT, keeping the other fields', async (_name, representation) => {
    const res = await gql(
      app,
      ENTITIES_QUERY('... on Product { id stock(region: IN) { inStock } shippingEstimate(region: IN) { minDays } }'),
      {
        representations: [representation],
      },
    );
    expect(res.status).toBe(200);
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    // String() because graphql-jit (Mercurius) reports list indices as strings.
    expect(res.errors?.[0]?.path?.map(String)).toEqual(['_entities', '0', 'shippingEstimate']);
    expect(res.errors?.[0]?.message).toMatch(/weightGrams/);
    expect(res.data!._entities[0]).toMatchObject({ id: 'p1', stock: { inStock: true }, shippingEstimate: null });
    noInternals(res);
  });

  it('rejects an unknown region as a validation error', async () => {
    const res = await gql(app, 'query($r: Region) { warehouses(region: $r) { id } }', { r: 'MARS' });
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    noInternals(res);
  });
});
