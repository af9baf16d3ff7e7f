import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ADMIN_USER_ID } from '@shop/domain';
import { testCache } from '@shop/platform/testing';
import { SMALL_SEED } from '@shop/subgraph-kit';
import { asUser, ENTITIES_QUERY, gql, metricValue } from '@shop/subgraph-kit/testing';
import { readConfig } from '../src/config.ts';
import { buildServer } from '../src/server.ts';

/**
 * Checkout's side of pricing: the internal `quote` and the admin mutations. These tests write, so
 * every product they price is one of their own (`product(n)`: ids no seed and no other run uses),
 * priced here through setListPrice, and the promotions they need are their own too, created only
 * in ME under a name prefix (pricing.test.ts ignores them): on a shared Postgres database they pass
 * on every run and alongside the other file.
 */
const SECRET = 's3cret';
const TRUSTED = { 'x-router-secret': SECRET };
const ADMIN = asUser(ADMIN_USER_ID, ['admin'], SECRET);
const CUSTOMER = asUser('u5', [], SECRET);
// pricing.test.ts ignores promotions named so, which may appear while it runs on a shared database.
const TEST_PROMOTION_PREFIX = 'Checkout test';

let app: FastifyInstance;
let run = 0;
const RUN_BASE = 100_000_000 + Math.floor(Math.random() * 800_000_000);
const product = (n: number) => `p${RUN_BASE + n}`;
/** On the file's own 25% promotion in ME (PROMO_25), and on two more (15% and 45%): the best applies. */
const PROMOTED = product(10);
const DOUBLY_PROMOTED = product(15);
/** Never priced anywhere. */
const UNSOLD = product(999);
let PROMO_25: string;
const uniqueName = (what: string) => `${TEST_PROMOTION_PREFIX} ${what} ${Date.now()}-${++run}`;

const QUOTE = `query($region: Region!, $ids: [ID!]!) {
  quote(region: $region, productIds: $ids) { productId unitPrice { amount currency } listPrice { amount currency } promotionId } }`;
const SET_LIST_PRICE = `mutation($id: ID!, $region: Region!, $amount: String!) {
  setListPrice(productId: $id, region: $region, amount: $amount) {
    id price(region: $region) { amount currency } listPrice(region: $region) { amount currency }
    activePromotion(region: $region) { id discountPercent } } }`;
const PROMOTION_FIELDS = 'id name region discountPercent startsAt endsAt active';
const CREATE_PROMOTION = `mutation($input: CreatePromotionInput!) { createPromotion(input: $input) { ${PROMOTION_FIELDS} } }`;
const END_PROMOTION = `mutation($id: ID!) { endPromotion(id: $id) { ${PROMOTION_FIELDS} } }`;
const PRICES = (region: string) =>
  ENTITIES_QUERY(`... on Product { id price(region: ${region}) { amount currency }
  listPrice(region: ${region}) { amount currency } activePromotion(region: ${region}) { id discountPercent } }`);

const codeOf = (res: { errors?: { extensions?: { code?: string } }[] }) => res.errors?.[0]?.extensions?.code;

async function setListPrice(id: string, region: string, amount: string) {
  const res = await gql(app, SET_LIST_PRICE, { id, region, amount }, ADMIN);
  expect(res.errors).toBeUndefined();
  return res.data!.setListPrice;
}

async function prices(region: string, ids: string[]) {
  const res = await gql(app, PRICES(region), { representations: ids.map((id) => ({ __typename: 'Product', id })) });
  expect(res.errors).toBeUndefined();
  return Object.fromEntries(res.data!._entities.map((p: any) => [p.id, p]));
}

async function createPromotion(input: Record<string, unknown>) {
  const res = await gql(app, CREATE_PROMOTION, { input }, ADMIN);
  expect(res.errors).toBeUndefined();
  return res.data!.createPromotion;
}

const IN_TEN_YEARS = new Date(Date.now() + 10 * 365 * 86_400_000).toISOString();

/** Memory, or Redis under a prefix of this file's own when the run sets REDIS_URL. */
const cache = testCache();
beforeAll(async () => {
  app = await buildServer({
    config: readConfig({ ROUTER_SECRET: SECRET, PRICING_DATABASE_URL: process.env.PRICING_DATABASE_URL, ...cache.env }),
    seedSize: SMALL_SEED,
  });
  // A run that died half-way on a persistent database may have left a test promotion running.
  const res = await gql(app, '{ promotions(region: ME) { id name } }');
  for (const p of res.data!.promotions) {
    if (p.name.startsWith(TEST_PROMOTION_PREFIX)) await gql(app, END_PROMOTION, { id: p.id }, ADMIN);
  }
  const running = (discountPercent: number, productIds: string[]) =>
    createPromotion({ name: uniqueName(`${discountPercent} off`), region: 'ME', discountPercent, endsAt: IN_TEN_YEARS, productIds });
  PROMO_25 = (await running(25, [PROMOTED])).id;
  for (const discount of [15, 45]) fixtures.push((await running(discount, [DOUBLY_PROMOTED])).id);
  fixtures.push(PROMO_25);
});
const fixtures: string[] = [];
afterAll(async () => {
  for (const id of fixtures) await gql(app, END_PROMOTION, { id }, ADMIN);
  await app?.close();
  await cache.cleanup();
});

describe('quote (internal, for checkout)', () => {
  it('answers what Product.price and listPrice say, once per distinct id, in request order', async () => {
    // PROMOTED is on the file's own 25% promotion; the others on none; UNSOLD is not sold anywhere.
    for (const [id, amount] of [
      [PROMOTED, '80.00'],
      [product(2), '20.00'],
      [product(1), '10.00'],
      [product(5), '50.00'],
    ]) {
      await setListPrice(id!, 'ME', amount!);
    }
    const ids = [PROMOTED, product(2), UNSOLD, product(1), PROMOTED, product(5)];
    const res = await gql(app, QUOTE, { region: 'ME', ids }, TRUSTED);
    expect(res.errors).toBeUndefined();
    const quotes = res.data!.quote;
    expect(quotes.map((q: any) => q.productId)).toEqual([PROMOTED, product(2), UNSOLD, product(1), product(5)]);

    const expected = await prices('ME', [PROMOTED, product(2), product(1), product(5)]);
    for (const quote of quotes.filter((q: any) => q.productId !== UNSOLD)) {
      const priced = expected[quote.productId];
      expect(quote.unitPrice).toEqual(priced.price);
      expect(quote.listPrice).toEqual(priced.listPrice);
      expect(quote.promotionId).toBe(priced.activePromotion?.id ?? null);
      expect(quote.unitPrice.currency).toBe('AED');
    }
    expect(quotes[0].promotionId).toBe(PROMO_25);
    expect(quotes[0].unitPrice).toEqual({ amount: '60.00', currency: 'AED' });
    expect(quotes[1].promotionId).toBeNull();
    expect(quotes[1].unitPrice).toEqual(quotes[1].listPrice);
    expect(quotes[2]).toEqual({ productId: UNSOLD, unitPrice: null, listPrice: null, promotionId: null });
  });

  it('runs a fixed number of statements however many products are quoted', async () => {
    const statements = async (n: number) => {
      const before = await metricValue(app, 'db_queries_total');
      const ids = Array.from({ length: n }, (_, i) => product(100 + i));
      const res = await gql(app, QUOTE, { region: 'US', ids }, TRUSTED);
      expect(res.errors).toBeUndefined();
      expect(res.data!.quote).toHaveLength(n);
      return (await metricValue(app, 'db_queries_total')) - before;
    };
    // List prices and best promotions: one statement for both.
    expect(await statements(1)).toBe(1);
    expect(await statements(50)).toBe(1);
  });

  it.each([
    ['without the service secret', {}],
    ['with a wrong secret', { 'x-router-secret': 'wrong' }],
    ['for an admin without the secret', asUser(ADMIN_USER_ID, ['admin'], null)],
    ['for an admin with a wrong secret', asUser(ADMIN_USER_ID, ['admin'], 'wrong')],
  ])('is refused %s', async (_name, headers) => {
    const res = await gql(app, QUOTE, { region: 'IN', ids: [product(1)] }, headers);
    expect(codeOf(res)).toBe('FORBIDDEN');
    expect(res.data ?? null).toBeNull();
  });

  it.each([
    ['no ids', []],
    ['more than 50 ids', Array.from({ length: 51 }, (_, i) => `p${i + 1}`)],
    ['a malformed id', [product(1), 'x1']],
    ['product number zero', ['p0']],
    ['an empty id', ['']],
  ])('rejects %s as BAD_USER_INPUT', async (_name, ids) => {
    const res = await gql(app, QUOTE, { region: 'IN', ids }, TRUSTED);
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
  });
});

describe('setListPrice (admin)', () => {
  it('sets the list price exactly, and price applies the active promotion rounding half up', async () => {
    // PROMOTED is on the file's own 25% promotion in ME: 1234.50 × 0.75 = 925.875 → 925.88.
    const promoted = await setListPrice(PROMOTED, 'ME', '1234.50');
    expect(promoted).toEqual({
      id: PROMOTED,
      listPrice: { amount: '1234.50', currency: 'AED' },
      price: { amount: '925.88', currency: 'AED' },
      activePromotion: { id: PROMO_25, discountPercent: 25 },
    });
    const stored = await prices('ME', [PROMOTED]);
    expect(stored[PROMOTED].listPrice).toEqual({ amount: '1234.50', currency: 'AED' });
    expect(stored[PROMOTED].price).toEqual({ amount: '925.88', currency: 'AED' });
    const quote = await gql(app, QUOTE, { region: 'ME', ids: [PROMOTED] }, TRUSTED);
    expect(quote.data!.quote[0]).toEqual({
      productId: PROMOTED,
      unitPrice: { amount: '925.88', currency: 'AED' },
      listPrice: { amount: '1234.50', currency: 'AED' },
      promotionId: PROMO_25,
    });
  });

  it('normalizes amounts to two places and accepts the largest one', async () => {
    // A product of the file's own has no promotion: price is the list price.
    for (const [amount, stored] of [
      ['5', '5.00'],
      ['0.5', '0.50'],
      ['7.1', '7.10'],
      ['0012.30', '12.30'],
      ['0.01', '0.01'],
      ['9999999999.99', '9999999999.99'],
    ]) {
      const priced = await setListPrice(product(11), 'US', amount!);
      expect(priced.listPrice).toEqual({ amount: stored, currency: 'USD' });
      expect(priced.price).toEqual({ amount: stored, currency: 'USD' });
    }
  });

  it('creates a price for a product that had none in the region', async () => {
    const id = product(499);
    expect((await prices('SEA', [id]))[id].listPrice).toBeNull();
    const priced = await setListPrice(id, 'SEA', '10.00');
    expect(priced.listPrice).toEqual({ amount: '10.00', currency: 'SGD' });
  });

  it('returns fresh prices for each of several writes in one operation', async () => {
    const res = await gql(
      app,
      `mutation($id: ID!) {
      a: setListPrice(productId: $id, region: ME, amount: "100.00") { listPrice(region: ME) { amount } }
      b: setListPrice(productId: $id, region: ME, amount: "200.50") { listPrice(region: ME) { amount } price(region: ME) { amount } } }`,
      { id: product(16) },
      ADMIN,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({
      a: { listPrice: { amount: '100.00' } },
      b: { listPrice: { amount: '200.50' }, price: { amount: '200.50' } },
    });
  });

  it('is for admins only', async () => {
    await setListPrice(product(13), 'US', '42.00');
    const customer = await gql(app, SET_LIST_PRICE, { id: product(13), region: 'US', amount: '1.00' }, CUSTOMER);
    expect(codeOf(customer)).toBe('FORBIDDEN');
    for (const headers of [{}, TRUSTED, asUser(ADMIN_USER_ID, ['admin'], null), asUser(ADMIN_USER_ID, ['admin'], 'wrong')]) {
      expect(codeOf(await gql(app, SET_LIST_PRICE, { id: product(13), region: 'US', amount: '1.00' }, headers))).toBe('UNAUTHENTICATED');
    }
    expect((await prices('US', [product(13)]))[product(13)].listPrice.amount).toBe('42.00');
  });

  it.each(['-1', '1.999', 'abc', '0', '0.00', '', ' 1.00', '1.', '.5', '1e3', '1,00', '10000000000.00', '99999999999999999999999'])(
    'rejects the amount "%s" as BAD_USER_INPUT and changes nothing',
    async (amount) => {
      await setListPrice(product(14), 'US', '17.25');
      const res = await gql(app, SET_LIST_PRICE, { id: product(14), region: 'US', amount }, ADMIN);
      expect(codeOf(res)).toBe('BAD_USER_INPUT');
      expect((await prices('US', [product(14)]))[product(14)].listPrice.amount).toBe('17.25');
    },
  );

  it.each(['x1', 'p0', '', 'p01', 'P1'])('rejects the product id "%s" as BAD_USER_INPUT', async (id) => {
    const res = await gql(app, SET_LIST_PRICE, { id, region: 'US', amount: '1.00' }, ADMIN);
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
  });
});

describe('createPromotion and endPromotion (admin)', () => {
  it('lowers the price of its products while it runs, and ending it restores them', async () => {
    // In ME DOUBLY_PROMOTED is on two of the file's own promotions (15% and 45%); the other two on none.
    await setListPrice(DOUBLY_PROMOTED, 'ME', '100.00');
    await setListPrice(product(30), 'ME', '200.00');
    await setListPrice(product(31), 'ME', '99.99');
    const before = await prices('ME', [DOUBLY_PROMOTED, product(30), product(31)]);
    expect(before[DOUBLY_PROMOTED].price.amount).toBe('55.00');
    expect(before[product(30)].price.amount).toBe('200.00');
    expect(before[product(31)].price.amount).toBe('99.99');

    const name = uniqueName('80 off');
    const promotion = await createPromotion({
      name,
      region: 'ME',
      discountPercent: 80,
      endsAt: IN_TEN_YEARS,
      productIds: [product(30), DOUBLY_PROMOTED, product(31), product(30)],
    });
    expect(promotion).toMatchObject({ name, region: 'ME', discountPercent: 80, active: true, endsAt: IN_TEN_YEARS });
    expect(promotion.id).toMatch(/^promo\d+$/);
    expect(Number(promotion.id.slice(5))).toBeGreaterThan(24);
    expect(Date.parse(promotion.startsAt)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(promotion.startsAt)).toBeGreaterThan(Date.now() - 60_000);

    const during = await prices('ME', [DOUBLY_PROMOTED, product(30), product(31)]);
    expect(during[DOUBLY_PROMOTED].price).toEqual({ amount: '20.00', currency: 'AED' });
    expect(during[product(30)].price).toEqual({ amount: '40.00', currency: 'AED' });
    // 99.99 × 0.2 = 19.998 → 20.00
    expect(during[product(31)].price).toEqual({ amount: '20.00', currency: 'AED' });
    for (const id of [DOUBLY_PROMOTED, product(30), product(31)]) {
      expect(during[id].activePromotion).toEqual({ id: promotion.id, discountPercent: 80 });
      expect(during[id].listPrice).toEqual(before[id].listPrice);
    }
    const quote = await gql(app, QUOTE, { region: 'ME', ids: [product(30), DOUBLY_PROMOTED] }, TRUSTED);
    expect(quote.data!.quote.map((q: any) => [q.unitPrice.amount, q.promotionId])).toEqual([
      ['40.00', promotion.id],
      ['20.00', promotion.id],
    ]);
    // It only applies in its own region.
    expect((await prices('SEA', [product(30)]))[product(30)].activePromotion?.id).not.toBe(promotion.id);
    const listed = await gql(app, '{ promotions(region: ME) { id name active } }');
    expect(listed.data!.promotions).toContainEqual({ id: promotion.id, name, active: true });
    const entity = await gql(app, ENTITIES_QUERY(`... on Promotion { ${PROMOTION_FIELDS} }`), {
      representations: [{ __typename: 'Promotion', id: promotion.id }],
    });
    expect(entity.data!._entities[0]).toEqual({ __typename: 'Promotion', ...promotion });

    const ended = await gql(app, END_PROMOTION, { id: promotion.id }, ADMIN);
    expect(ended.errors).toBeUndefined();
    const endedPromotion = ended.data!.endPromotion;
    expect(endedPromotion).toMatchObject({ id: promotion.id, name, startsAt: promotion.startsAt, active: false });
    expect(Date.parse(endedPromotion.endsAt)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(endedPromotion.endsAt)).toBeGreaterThanOrEqual(Date.parse(promotion.startsAt));

    const after = await prices('ME', [DOUBLY_PROMOTED, product(30), product(31)]);
    expect(after).toEqual(before);

    // Ending it again changes nothing and returns it as it is.
    const again = await gql(app, END_PROMOTION, { id: promotion.id }, ADMIN);
    expect(again.errors).toBeUndefined();
    expect(again.data!.endPromotion).toEqual(endedPromotion);
  });

  it('a promotion that has not started does not change prices; ending it keeps start before end', async () => {
    await setListPrice(product(37), 'ME', '50.00');
    const startsAt = new Date(Date.now() + 86_400_000).toISOString();
    const endsAt = new Date(Date.now() + 2 * 86_400_000).toISOString();
    const promotion = await createPromotion({
      name: uniqueName('scheduled'),
      region: 'ME',
      discountPercent: 90,
      startsAt,
      endsAt,
      productIds: [product(37)],
    });
    expect(promotion).toMatchObject({ startsAt, endsAt, active: false });
    expect((await prices('ME', [product(37)]))[product(37)].price.amount).toBe('50.00');

    const ended = (await gql(app, END_PROMOTION, { id: promotion.id }, ADMIN)).data!.endPromotion;
    expect(ended.active).toBe(false);
    expect(Date.parse(ended.endsAt)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(ended.startsAt)).toBeLessThan(Date.parse(ended.endsAt));
    expect((await prices('ME', [product(37)]))[product(37)].price.amount).toBe('50.00');
  });

  it('accepts timestamps with an offset and without seconds', async () => {
    const promotion = await createPromotion({
      name: uniqueName('offset'),
      region: 'ME',
      discountPercent: 1,
      startsAt: '2020-01-01T05:30+05:30',
      endsAt: '2020-01-02T00:00:00.000Z',
      productIds: [product(33)],
    });
    expect(promotion).toMatchObject({ startsAt: '2020-01-01T00:00:00.000Z', endsAt: '2020-01-02T00:00:00.000Z', active: false });
  });

  it('answers NOT_FOUND for an unknown promotion', async () => {
    const res = await gql(app, END_PROMOTION, { id: 'promo999999' }, ADMIN);
    expect(codeOf(res)).toBe('NOT_FOUND');
  });

  it('is for admins only', async () => {
    const input = { name: uniqueName('refused'), region: 'ME', discountPercent: 50, endsAt: IN_TEN_YEARS, productIds: [product(34)] };
    expect(codeOf(await gql(app, CREATE_PROMOTION, { input }, CUSTOMER))).toBe('FORBIDDEN');
    expect(codeOf(await gql(app, CREATE_PROMOTION, { input }, TRUSTED))).toBe('UNAUTHENTICATED');
    expect(codeOf(await gql(app, END_PROMOTION, { id: 'promo1' }, CUSTOMER))).toBe('FORBIDDEN');
    expect(codeOf(await gql(app, END_PROMOTION, { id: 'promo1' }, {}))).toBe('UNAUTHENTICATED');
    const listed = await gql(app, '{ promotions(region: ME) { name } }');
    expect(listed.data!.promotions.map((p: any) => p.name)).not.toContain(input.name);
    const seeded = await gql(app, ENTITIES_QUERY('... on Promotion { id active }'), {
      representations: [{ __typename: 'Promotion', id: 'promo1' }],
    });
    expect(seeded.data!._entities[0]).toEqual({ __typename: 'Promotion', id: 'promo1', active: true });
  });

  const valid = () => ({ name: uniqueName('invalid'), region: 'ME', discountPercent: 50, endsAt: IN_TEN_YEARS, productIds: [product(35)] });
  it.each<[string, Record<string, unknown>]>([
    ['an empty name', { name: '' }],
    ['a blank name', { name: '   ' }],
    ['a name over 100 characters', { name: 'x'.repeat(101) }],
    ['a discount of 0', { discountPercent: 0 }],
    ['a discount of 91', { discountPercent: 91 }],
    ['a start that is not a timestamp', { startsAt: 'yesterday' }],
    ['a start on 30 February', { startsAt: '2030-02-30T00:00:00Z' }],
    ['a start without an offset', { startsAt: '2030-01-01T00:00:00' }],
    ['an end that is not a timestamp', { endsAt: '2030-13-01T00:00:00Z' }],
    ['an end before the start', { startsAt: '2030-01-02T00:00:00Z', endsAt: '2030-01-01T00:00:00Z' }],
    ['an end equal to the start', { startsAt: '2030-01-01T00:00:00Z', endsAt: '2030-01-01T00:00:00Z' }],
    ['an end in the past without a start', { endsAt: '2020-01-01T00:00:00Z' }],
    ['no products', { productIds: [] }],
    ['more than 1000 products', { productIds: Array.from({ length: 1001 }, (_, i) => `p${i + 1}`) }],
    ['a malformed product id', { productIds: [product(35), 'nope'] }],
  ])('rejects %s as BAD_USER_INPUT and creates nothing', async (_name, change) => {
    const input = { ...valid(), ...change };
    const res = await gql(app, CREATE_PROMOTION, { input }, ADMIN);
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
    const listed = await gql(app, '{ promotions(region: ME, includeExpired: true) { name } }');
    expect(listed.data!.promotions.map((p: any) => p.name)).not.toContain(input.name);
  });
});
