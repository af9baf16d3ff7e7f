import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { logIn, query } from '../setup/client.ts';
import { Harness, rawSse } from './clients.ts';

/**
 * productUpdated over SSE (graphql-sse's client in both of its modes, and plain fetch where the
 * `id:` lines and `Last-Event-ID` resume are what is checked): admin writes through the stack's
 * router reach the subscribers with the new values.
 */
let admin: string;
let viewer: { token: string; userId: string };
let harness: Harness;

beforeAll(async () => {
  admin = (await logIn('admin@example.com', 'admin')).token;
  viewer = await logIn('user164@example.com', 'password');
});

beforeEach(async () => {
  harness = await Harness.start();
});

afterEach(async () => {
  await harness.close();
});

/** A list price no earlier run left behind: cents from the clock and chance. */
const freshAmount = () => `${100 + Math.floor(Math.random() * 800)}.${String(Date.now() % 100).padStart(2, '0')}`;

async function setListPrice(productId: string, amount: string) {
  const result = await query(
    'mutation($p: ID!, $a: String!) { setListPrice(productId: $p, region: IN, amount: $a) { id listPrice(region: IN) { amount } } }',
    { p: productId, a: amount },
    { token: admin },
  );
  expect(result.errors).toBeUndefined();
  expect(result.data.setListPrice.listPrice.amount).toBe(amount);
}

async function rename(productId: string, name: string) {
  const result = await query(
    'mutation($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { id name } }',
    { id: productId, input: { name } },
    { token: admin },
  );
  expect(result.errors).toBeUndefined();
  expect(result.data.updateProduct.name).toBe(name);
}

const PRICE_LIVE = 'subscription PriceLive($ids: [ID!]!) { productUpdated(ids: $ids) { id listPrice(region: IN) { amount currency } } }';

describe('graphql-sse', () => {
  it('distinct connections: a productUpdated subscriber gets the new list price after an admin sets it', async () => {
    const amount = freshAmount();
    const { subscribe } = harness.sse({ token: viewer.token });
    const live = subscribe({ query: PRICE_LIVE, variables: { ids: ['p39201'] } });
    await harness.ready({ productUpdated: 1 });
    await setListPrice('p39201', amount);
    const update = await live.until((r) => r.data?.productUpdated?.listPrice?.amount === amount);
    expect(update.errors).toBeUndefined();
    expect(update.data!.productUpdated).toEqual({ id: 'p39201', listPrice: { amount, currency: expect.any(String) } });
    expect(live.ended).toBe(false);
  });

  it('single connection: two operations on one stream, each gets the catalogue edit of its own product', async () => {
    const { subscribe } = harness.sse({ token: viewer.token, singleConnection: true });
    const document = 'subscription Names($ids: [ID!]!) { productUpdated(ids: $ids) { id name } }';
    const first = subscribe({ query: document, variables: { ids: ['p39202'] } });
    const second = subscribe({ query: document, variables: { ids: ['p39203'] } });
    await harness.ready({ productUpdated: 2 });
    const word = `Lumenfold${Math.random().toString(36).slice(2, 8)}`;
    await rename('p39202', `${word} kettle`);
    await rename('p39203', `${word} teapot`);
    expect((await first.until((r) => r.data?.productUpdated?.name === `${word} kettle`)).data!.productUpdated.id).toBe('p39202');
    expect((await second.until((r) => r.data?.productUpdated?.name === `${word} teapot`)).data!.productUpdated.id).toBe('p39203');
    // Each operation hears only its own product.
    expect(first.results.every((r) => r.data?.productUpdated?.id === 'p39202')).toBe(true);
    expect(second.results.every((r) => r.data?.productUpdated?.id === 'p39203')).toBe(true);
  });

  it('resume: a distinct stream reconnecting with Last-Event-ID first gets the change it missed, with a later id', async () => {
    const payload = { query: PRICE_LIVE, variables: { ids: ['p39204'] } };
    const stream = await rawSse(payload, { token: viewer.token });
    expect(stream.status).toBe(200);
    const seen = freshAmount();
    await setListPrice('p39204', seen);
    // The stream may carry other changes of the product first: the one that shows this price counts.
    let event = await stream.next();
    while (!event.data?.includes(`"${seen}"`)) event = await stream.next();
    expect(event.event).toBe('next');
    expect(event.id).toMatch(/^\d+$/);
    const seenId = Number(event.id);
    stream.abort();
    await harness.settled();

    let missed = freshAmount();
    while (missed === seen) missed = freshAmount();
    await setListPrice('p39204', missed);

    const resumed = await rawSse(payload, { token: viewer.token, lastEventId: String(seenId) });
    expect(resumed.status).toBe(200);
    const first = await resumed.next();
    expect(first.event).toBe('next');
    expect(JSON.parse(first.data!)).toEqual({
      data: { productUpdated: { id: 'p39204', listPrice: { amount: missed, currency: expect.any(String) } } },
    });
    expect(Number(first.id)).toBeGreaterThan(seenId);
    resumed.abort();
  });
});
