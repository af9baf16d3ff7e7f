import { readFileSync } from 'node:fs';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { logIn, query, routerUrl } from '../setup/client.ts';
import { placeOrder, setStock, stockOf, uniqueKey } from '../setup/shop.ts';
import { type Collected, Harness, type Result } from './clients.ts';

/**
 * The router's subscriptions through the real graphql-ws client (and graphql-sse where the same
 * refusal is checked on both): events of writes made through the stack's router reach the
 * subscribers, each answered across the subgraphs with the subscriber's identity.
 */
let admin: string;
let alice: { token: string; userId: string };
let bob: { token: string; userId: string };
let ivy: { token: string; userId: string };
let harness: Harness;

beforeAll(async () => {
  admin = (await logIn('admin@example.com', 'admin')).token;
  alice = await logIn('user161@example.com', 'password');
  bob = await logIn('user162@example.com', 'password');
  ivy = await logIn('user163@example.com', 'password');
});

beforeEach(async () => {
  harness = await Harness.start();
});

afterEach(async () => {
  await harness.close();
});

const ship = (id: string) => query('mutation($id: ID!) { shipOrder(id: $id) { id status } }', { id }, { token: admin });

async function placed(token: string, productId: string, quantity: number): Promise<{ id: string; status: string }> {
  const result = await placeOrder(token, uniqueKey('subs'), [{ productId, quantity }]);
  expect(result.errors).toBeUndefined();
  return result.data.placeOrder;
}

const codeOf = (result: Result | undefined) => result?.errors?.[0]?.extensions?.code;
const errorCodes = (collected: Collected) => (collected.error as Result['errors'])?.map((error) => error.extensions?.code);

describe('graphql-ws', () => {
  it('order updates across three subgraphs: myOrderUpdates sees PLACED then SHIPPED, orderUpdated sees SHIPPED with every field', async () => {
    await setStock(admin, 'p39200', 10);
    // Seed orders may hold reservations: what the order takes is checked against this baseline.
    const { available: before } = await stockOf('p39200');
    const { subscribe } = harness.ws({ token: alice.token });
    const mine = subscribe({ query: 'subscription Mine { myOrderUpdates { id status } }' });
    await harness.ready({ myOrderUpdates: 1 });

    const order = await placed(alice.token, 'p39200', 3);
    expect(order.status).toBe('PLACED');
    await mine.until((r) => r.data?.myOrderUpdates?.id === order.id && r.data.myOrderUpdates.status === 'PLACED');

    const one = subscribe({
      query:
        'subscription One($id: ID!) { orderUpdated(id: $id) { id status ' +
        'lines { quantity product { id name stock(region: IN) { available } } } } }',
      variables: { id: order.id },
    });
    await harness.ready({ myOrderUpdates: 1, orderUpdated: 1 });
    const { data: catalogue } = await query('query($id: ID!) { product(id: $id) { name } }', { id: 'p39200' });
    expect(typeof catalogue!.product.name).toBe('string');

    expect((await ship(order.id)).data?.shipOrder.status).toBe('SHIPPED');
    const shipped = await one.until((r) => r.data?.orderUpdated?.status === 'SHIPPED');
    expect(shipped.errors).toBeUndefined();
    expect(shipped.data!.orderUpdated).toEqual({
      id: order.id,
      status: 'SHIPPED', // orders
      lines: [{ quantity: 3, product: { id: 'p39200', name: catalogue!.product.name, stock: { available: before - 3 } } }], // products, inventory
    });
    await mine.until((r) => r.data?.myOrderUpdates?.id === order.id && r.data.myOrderUpdates.status === 'SHIPPED');
    // In the order the events happened: PLACED is not sent after SHIPPED.
    const statuses = mine.results.filter((r) => r.data?.myOrderUpdates?.id === order.id).map((r) => r.data!.myOrderUpdates.status);
    expect(statuses.indexOf('PLACED')).toBeLessThan(statuses.lastIndexOf('SHIPPED'));
    expect(one.results.every((r) => r.errors === undefined)).toBe(true);
  });

  it("someone else's order: FORBIDDEN at subscribe time, as a graphql-ws error and as an SSE next then complete", async () => {
    await setStock(admin, 'p39205', 5);
    const theirs = await placed(bob.token, 'p39205', 1);
    const document = 'subscription Peek($id: ID!) { orderUpdated(id: $id) { id status } }';

    const ws = harness.ws({ token: alice.token }).subscribe({ query: document, variables: { id: theirs.id } });
    await ws.end();
    expect(Array.isArray(ws.error)).toBe(true);
    expect(errorCodes(ws)).toEqual(['FORBIDDEN']);
    expect(ws.results).toEqual([]);

    const sse = harness.sse({ token: alice.token }).subscribe({ query: document, variables: { id: theirs.id } });
    await sse.end();
    expect(sse.error).toBeUndefined();
    expect(sse.completed).toBe(true);
    expect(sse.results).toHaveLength(1);
    expect(codeOf(sse.results[0])).toBe('FORBIDDEN');
    expect(sse.results[0]!.data ?? null).toBeNull();

    // Its owner is let in.
    const own = harness.ws({ token: bob.token }).subscribe({ query: document, variables: { id: theirs.id } });
    await harness.ready({ orderUpdated: 1 });
    expect(own.ended).toBe(false);
  });

  it('anonymous myOrderUpdates is UNAUTHENTICATED; a subscription POSTed to /graphql is a 400 BAD_REQUEST', async () => {
    const anonymous = harness.ws().subscribe({ query: 'subscription { myOrderUpdates { id status } }' });
    await anonymous.end();
    expect(errorCodes(anonymous)).toEqual(['UNAUTHENTICATED']);

    const sse = harness.sse().subscribe({ query: 'subscription { myOrderUpdates { id status } }' });
    await sse.end();
    expect(sse.completed).toBe(true);
    expect(codeOf(sse.results[0])).toBe('UNAUTHENTICATED');

    const response = await fetch(routerUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.token}` },
      body: JSON.stringify({ query: 'subscription { myOrderUpdates { id status } }' }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as Result;
    expect(codeOf(body)).toBe('BAD_REQUEST');
    expect(body.errors![0]!.message).toMatch(/WebSocket/);
  });

  it('persisted queries: the ios app subscribes by manifest id alone; a document outside its manifest is PERSISTED_QUERY_NOT_IN_LIST', async () => {
    const manifest = JSON.parse(
      readFileSync(new URL('../../clients/ios/__generated__/persisted-query-manifest.json', import.meta.url), 'utf8'),
    ) as { operations: { id: string; name: string; body: string }[] };
    const orderUpdates = manifest.operations.find((operation) => operation.name === 'OrderUpdates')!;
    const myOrderUpdates = manifest.operations.find((operation) => operation.name === 'MyOrderUpdates')!;
    expect(orderUpdates.body).toMatch(/orderUpdated\(id: \$id\)/);
    await setStock(admin, 'p39206', 5);
    const order = await placed(ivy.token, 'p39206', 1);

    // By id alone, no `query`: over SSE, where the request is the app's own JSON.
    const byId = harness.sse({ token: ivy.token, clientName: 'ios' }).subscribe({
      extensions: { persistedQuery: { version: 1, sha256Hash: orderUpdates.id } },
      variables: { id: order.id },
    });
    // Over graphql-ws, whose protocol needs a `query` string: the id with an empty one means "by id".
    const ios = harness.ws({ token: ivy.token, clientName: 'ios' });
    const wsById = ios.subscribe({
      query: '',
      extensions: { persistedQuery: { version: 1, sha256Hash: orderUpdates.id } },
      variables: { id: order.id },
    });
    // Or the id with its manifest document.
    const withBody = ios.subscribe({
      query: myOrderUpdates.body,
      extensions: { persistedQuery: { version: 1, sha256Hash: myOrderUpdates.id } },
    });
    await harness.ready({ orderUpdated: 2, myOrderUpdates: 1 });
    expect((await ship(order.id)).data?.shipOrder.status).toBe('SHIPPED');
    const shipped = await byId.until((r) => r.data?.orderUpdated?.status === 'SHIPPED');
    expect(shipped.errors).toBeUndefined();
    expect(shipped.data!.orderUpdated).toMatchObject({ id: order.id, paymentStatus: 'CAPTURED', shippedAt: expect.any(String) });
    expect((await withBody.until((r) => r.data?.myOrderUpdates?.status === 'SHIPPED')).data!.myOrderUpdates.id).toBe(order.id);
    expect((await wsById.until((r) => r.data?.orderUpdated?.status === 'SHIPPED')).data!.orderUpdated.id).toBe(order.id);

    // The same app with a document that is not in its manifest, on the same connection.
    const outside = ios.subscribe({ query: `subscription { orderUpdated(id: "${order.id}") { id } }` });
    await outside.end();
    expect(errorCodes(outside)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
    expect(withBody.ended).toBe(false);
  });
});
