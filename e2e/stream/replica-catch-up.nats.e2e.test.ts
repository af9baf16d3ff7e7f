import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@shop/events/testing';
import { subgraphUrlEnv } from '@shop/registry';
import { buildRouter, type Router } from '@shop/router';
import { readConfig } from '@shop/router/config';
import { clientFor, counter, logIn, metricsUrlOf, type Send } from '../setup/client.ts';
import { startStreamWorld, type StreamWorld, type TcpProxy, tcpProxy } from './support.ts';

/**
 * A router replica cut off from the stream while a price changes (issue 14, point 5): router A (the
 * stack's) and router B (a second instance over the same subgraphs, its caches in its own memory,
 * its NATS connection through a proxy the test cuts). B caches a price; B is cut off; the admin
 * changes the list price through A; B still answers the old price from its cache (it heard
 * nothing); the proxy is restored; B catches up from its last stream position and answers the new
 * price well before the field's 60 s TTL could have expired the entry.
 */
const PRICE_TTL_MS = 60_000;
const PRICE = 'query($id: ID!) { product(id: $id) { id price(region: IN) { amount } listPrice(region: IN) { amount } } }';

let world: StreamWorld;
let proxy: TcpProxy;
let routerB: Router;
let sendA: Send;
let sendB: Send;
let urlB: string;
let admin: string;

beforeAll(async () => {
  world = await startStreamWorld('replica');
  sendA = clientFor(() => world.stack.routerUrl);
  proxy = await tcpProxy({ host: '127.0.0.1', port: world.nats.port });
  // B: the same configuration as A but its stream through the proxy and no Redis, so every cache
  // it has (response and entity) is its own memory and can only be invalidated by what B hears.
  const { REDIS_URL: _shared, ...env } = world.env;
  routerB = await buildRouter({
    config: readConfig({
      ...env,
      PORT: '0',
      NATS_URL: proxy.url('nats'),
      CACHE_STATUS_HEADER: 'true',
      ...subgraphUrlEnv(world.stack.subgraphUrls),
    }),
  });
  await routerB.app.listen({ port: 0, host: '127.0.0.1' });
  urlB = `http://127.0.0.1:${(routerB.app.server.address() as AddressInfo).port}/graphql`;
  sendB = clientFor(() => urlB);
  admin = (await logIn('admin@example.com', 'admin', sendA)).token;
});

afterAll(async () => {
  await routerB?.close();
  await proxy?.close();
  await world?.close();
});

/** B's answer for the product's price, and which of B's caches answered. */
async function priceOnB(id: string): Promise<{ amount: string; cacheStatus: string }> {
  const result = await sendB(PRICE, { id });
  expect(result.errors).toBeUndefined();
  return { amount: result.data.product.price.amount, cacheStatus: result.headers.get('cache-status') ?? '' };
}

const cachedOnB = (cacheStatus: string) => /router-response; hit|router-entity; hit/.test(cacheStatus);

describe('a router replica disconnected from the stream while a price changes', () => {
  it('serves the new price after it reconnects, long before the TTL', async () => {
    // Two products with no promotion in IN (price = list price): one whose price changes, one that does not.
    const candidates: { id: string; amount: string }[] = [];
    for (let n = 201; n < 260 && candidates.length < 2; n++) {
      const result = await sendA(PRICE, { id: `p${n}` });
      expect(result.errors).toBeUndefined();
      const product = result.data.product as { price: { amount: string } | null; listPrice: { amount: string } | null } | null;
      if (product?.price && product.listPrice && product.price.amount === product.listPrice.amount) {
        candidates.push({ id: `p${n}`, amount: product.price.amount });
      }
    }
    expect(candidates).toHaveLength(2);
    const [{ id: productId, amount: oldAmount }, other] = candidates as [{ id: string; amount: string }, { id: string; amount: string }];
    const newAmount = (Number(oldAmount) + 7.25).toFixed(2);

    // B caches the price: the second read is answered by B's own cache.
    expect((await priceOnB(productId)).amount).toBe(oldAmount);
    const cachedAt = Date.now();
    const second = await priceOnB(productId);
    expect(second.amount).toBe(oldAmount);
    expect(cachedOnB(second.cacheStatus)).toBe(true);
    expect((await priceOnB(other.id)).amount).toBe(other.amount);
    const gapsBefore = await counter(metricsUrlOf(urlB), 'events_follow_gaps_total');

    proxy.cut();
    const changed = await sendA(
      'mutation($p: ID!, $a: String!) { setListPrice(productId: $p, region: IN, amount: $a) { id listPrice(region: IN) { amount } } }',
      { p: productId, a: newAmount },
      { token: admin },
    );
    expect(changed.errors).toBeUndefined();
    expect(changed.data.setListPrice.listPrice.amount).toBe(newAmount);
    // A is on the stream: it hears the price.changed event and answers the new price.
    await waitFor(async () => (await sendA(PRICE, { id: productId })).data?.product?.price?.amount === newAmount, {
      timeoutMs: 10_000,
      intervalMs: 100,
      message: 'router A did not serve the new price',
    });
    // B heard nothing: it keeps answering the old price from its cache while it is cut off, and is
    // trying to reconnect (the proxy turns its attempts away).
    await waitFor(() => proxy.refused() > 0, { timeoutMs: 10_000, message: 'router B did not try to reconnect to NATS' });
    for (let i = 0; i < 5; i++) {
      const stale = await priceOnB(productId);
      expect(stale.amount).toBe(oldAmount);
      expect(cachedOnB(stale.cacheStatus)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }

    proxy.restore();
    const restored = Date.now();
    // B reconnects, resumes after its last position, hears price.changed and drops the entry.
    await waitFor(async () => (await priceOnB(productId)).amount === newAmount, {
      timeoutMs: 30_000,
      intervalMs: 100,
      message: 'router B did not serve the new price after reconnecting',
    });
    const servedNewAt = Date.now();
    // Before the TTL: the entry cached at `cachedAt` could not have expired on its own yet.
    expect(servedNewAt - cachedAt).toBeLessThan(PRICE_TTL_MS);
    // B caught up from its position rather than dropping everything: no gap, and the other
    // product's cached price is still a hit.
    expect(await counter(metricsUrlOf(urlB), 'events_follow_gaps_total')).toBe(gapsBefore);
    const untouched = await priceOnB(other.id);
    expect(untouched.amount).toBe(other.amount);
    expect(cachedOnB(untouched.cacheStatus)).toBe(true);
    process.stderr.write(
      `[e2e-nats] replica: B served the new price ${servedNewAt - restored} ms after the proxy was restored ` +
        `(${servedNewAt - cachedAt} ms after caching; TTL ${PRICE_TTL_MS} ms)\n`,
    );
  });
});
