import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ADMIN_USER_ID } from '@shop/domain';
import { buildServer as buildSandbox, readConfig as readSandboxConfig } from '@shop/payment-sandbox';
import { SMALL_SEED } from '@shop/subgraph-kit';
import { asUser, gql } from '@shop/subgraph-kit/testing';
import { paymentKey } from '../src/checkout.ts';
import { readConfig } from '../src/config.ts';
import { buildServer } from '../src/server.ts';
import { type FakeSiblings, fakeSiblings, freshUser, ordersEnv } from './support.ts';

/**
 * Orders wired as in production: the sandbox adapter behind withResilience (timeout, retries with
 * the same key, breaker), built by buildServer from PAYMENT_* settings, against the real payment
 * sandbox on a free port. The outcomes themselves are checkout-payments.test.ts's; this file
 * shows the wiring carries them and counts payment_calls_total.
 */
const ADMIN = asUser(ADMIN_USER_ID, ['admin']);
let sandbox: FastifyInstance;
let sandboxUrl: string;
let siblings: FakeSiblings;
const apps: FastifyInstance[] = [];

async function orders(env: Record<string, string>) {
  const app = await buildServer({
    config: readConfig({
      ...ordersEnv(siblings.url),
      PAYMENT_PROVIDER_URL: sandboxUrl,
      PAYMENT_TIMEOUT_MS: '400',
      PAYMENT_RETRIES: '0',
      LOG_LEVEL: 'silent',
      ...env,
    }),
    seedSize: SMALL_SEED,
  });
  apps.push(app);
  return app;
}

let app: FastifyInstance;
beforeAll(async () => {
  // A charge that "times out" holds its answer far longer than orders waits for one attempt.
  sandbox = await buildSandbox({ config: readSandboxConfig({ PORT: '0', LOG_LEVEL: 'silent', SANDBOX_TIMEOUT_AFTER_CHARGE_MS: '5000' }) });
  await sandbox.listen({ port: 0, host: '127.0.0.1' });
  sandboxUrl = `http://127.0.0.1:${(sandbox.server.address() as AddressInfo).port}`;
  siblings = await fakeSiblings();
  app = await orders({});
});
afterAll(async () => {
  for (const a of apps) await a.close();
  await sandbox?.close();
  await siblings?.close();
});

const PLACE = 'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status paymentStatus } }';
const SHIP = 'mutation($id: ID!) { shipOrder(id: $id) { id status paymentStatus } }';
let n = 0;
const input = (paymentMethod: string) => ({
  idempotencyKey: `sandbox-${n++}`,
  region: 'IN',
  paymentMethod,
  lines: [{ productId: 'p4', quantity: 3 }],
});

/** What the sandbox holds for a checkout key (404: nothing). */
async function atProvider(userId: string, idempotencyKey: string) {
  const key = paymentKey(userId, idempotencyKey);
  const res = await sandbox.inject({ method: 'GET', url: `/v1/authorizations?idempotency_key=${encodeURIComponent(key)}` });
  return res.statusCode === 404 ? undefined : (res.json() as { id: string; status: string; amount: string; currency: string });
}

async function calls(target: FastifyInstance, operation: string, outcome: string): Promise<number> {
  const text = (await target.inject({ method: 'GET', url: '/metrics' })).body;
  const line = text
    .split('\n')
    .find((l) => l.startsWith('payment_calls_total{') && l.includes(`operation="${operation}"`) && l.includes(`outcome="${outcome}"`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('checkout against the payment sandbox', () => {
  it('authorises, then captures when the order ships; payment_calls_total counts both', async () => {
    const user = freshUser();
    const order = input('tok_visa');
    const placed = await gql(app, PLACE, { input: order }, asUser(user.userId));
    expect(placed.errors).toBeUndefined();
    expect(placed.data!.placeOrder).toMatchObject({ status: 'PLACED', paymentStatus: 'AUTHORISED' });
    expect(await atProvider(user.userId, order.idempotencyKey)).toMatchObject({ status: 'authorised', amount: '30.00', currency: 'INR' });

    const shipped = await gql(app, SHIP, { id: placed.data!.placeOrder.id }, ADMIN);
    expect(shipped.data!.shipOrder).toMatchObject({ status: 'SHIPPED', paymentStatus: 'CAPTURED' });
    expect(await atProvider(user.userId, order.idempotencyKey)).toMatchObject({ status: 'captured' });
    expect(await calls(app, 'authorize', 'authorised')).toBeGreaterThanOrEqual(1);
    expect(await calls(app, 'capture', 'ok')).toBeGreaterThanOrEqual(1);
  });

  it('a declined card: PAYMENT_DECLINED, no order', async () => {
    const user = freshUser();
    const res = await gql(app, PLACE, { input: input('tok_declined') }, asUser(user.userId));
    expect(res.data).toBeNull();
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'PAYMENT_DECLINED', reason: 'card_declined' });
    expect(await calls(app, 'authorize', 'declined')).toBeGreaterThanOrEqual(1);
  });

  it('a token the provider refuses outright: PAYMENT_DECLINED naming its reason, no order', async () => {
    const res = await gql(app, PLACE, { input: input('tok_nonsense') }, asUser(freshUser().userId));
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'PAYMENT_DECLINED', reason: 'invalid_token' });
  });

  it('charged, but the answer came too late: PAYMENT_UNAVAILABLE; the retry with the same key finds that one charge', async () => {
    const user = freshUser();
    const order = input('tok_timeout_after_charge');
    const first = await gql(app, PLACE, { input: order }, asUser(user.userId));
    expect(first.errors?.[0]?.extensions?.code).toBe('PAYMENT_UNAVAILABLE');
    const charge = await atProvider(user.userId, order.idempotencyKey);
    expect(charge).toMatchObject({ status: 'authorised' });

    // Should the sandbox still hold the key's answer back, the retry is unavailable too: retry (bounded) until it answers.
    let placed: { status: string } | undefined;
    for (let attempt = 0; attempt < 30 && !placed; attempt++) {
      const res = await gql<{ placeOrder: { status: string } }>(app, PLACE, { input: order }, asUser(user.userId));
      if (res.errors) expect(res.errors[0]?.extensions?.code).toBe('PAYMENT_UNAVAILABLE');
      placed = res.data?.placeOrder;
    }
    expect(placed).toMatchObject({ status: 'PLACED' });
    // Still the one authorisation the first attempt made.
    expect(await atProvider(user.userId, order.idempotencyKey)).toEqual(charge);
  });

  it('an unreachable provider: PAYMENT_UNAVAILABLE, counted as unavailable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const offline = await orders({ PAYMENT_PROVIDER_URL: `http://127.0.0.1:${port}` });
    const res = await gql(offline, PLACE, { input: input('tok_visa') }, asUser(freshUser().userId));
    expect(res.errors?.[0]?.extensions?.code).toBe('PAYMENT_UNAVAILABLE');
    expect(await calls(offline, 'authorize', 'unavailable')).toBe(1);
  });
});
