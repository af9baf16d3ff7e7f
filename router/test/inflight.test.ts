import { describe, expect, it, vi } from 'vitest';
import { InFlight, subgraphFetches } from '../src/inflight.ts';
import type { Router } from '../src/server.ts';
import { EXPECTED_LISTING, metric, post, sharingFixture } from './support/sharing-fixture.ts';

/** A promise the test settles by hand. */
function gate<T = void>() {
  let open!: (value: T) => void;
  let fail!: (error: unknown) => void;
  const promise = new Promise<T>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

describe('InFlight', () => {
  it('runs identical work once while it is in flight, and again once it has settled', async () => {
    const inFlight = new InFlight<string>((value) => () => value);
    const started = gate<string>();
    const start = vi.fn(() => started.promise);
    const first = inFlight.run('k', start);
    const second = inFlight.run('k', start);
    const other = inFlight.run('other', async () => 'other');
    started.open('answer');
    expect(await first).toEqual({ value: 'answer', leader: true });
    expect(await second).toEqual({ value: 'answer', leader: false });
    expect(await other).toEqual({ value: 'other', leader: true });
    expect(start).toHaveBeenCalledTimes(1);
    expect(inFlight.size).toBe(0);

    await inFlight.run('k', start);
    expect(start).toHaveBeenCalledTimes(2);
  });

  it('hands every caller the failure, and keeps nothing of it', async () => {
    const inFlight = new InFlight<string>((value) => () => value);
    const started = gate<string>();
    const first = inFlight.run('k', () => started.promise);
    const second = inFlight.run('k', () => Promise.resolve('never called'));
    started.fail(new Error('fetch failed'));
    await expect(first).rejects.toThrow('fetch failed');
    await expect(second).rejects.toThrow('fetch failed');
    expect(await inFlight.run('k', async () => 'fresh')).toEqual({ value: 'fresh', leader: true });
  });

  it('after clear(), a caller starts afresh; those already waiting still get their answer', async () => {
    const inFlight = new InFlight<string>((value) => () => value);
    const old = gate<string>();
    const first = inFlight.run('k', () => old.promise);
    const joined = inFlight.run('k', () => Promise.resolve('never called'));
    inFlight.clear();
    const fresh = inFlight.run('k', async () => 'new');
    old.open('old');
    expect(await first).toEqual({ value: 'old', leader: true });
    expect(await joined).toEqual({ value: 'old', leader: false });
    expect(await fresh).toEqual({ value: 'new', leader: true });
  });

  it('gives each follower of a subgraph fetch its own copy, taken before the leader can change its own', async () => {
    const inFlight = subgraphFetches();
    const started = gate<{ response: { data: Record<string, unknown> }; cacheControl: string | null }>();
    const leader = inFlight.run('k', () => started.promise);
    const followers = [inFlight.run('k', () => started.promise), inFlight.run('k', () => started.promise)];
    started.open({ response: { data: { product: { id: 'p1', name: 'Mug' } } }, cacheControl: 'public, max-age=60' });
    const led = await leader;
    (led.value.response.data!.product as { name: string }).name = 'changed by the gateway';
    const [a, b] = await Promise.all(followers);
    expect(a!.value).toEqual({ response: { data: { product: { id: 'p1', name: 'Mug' } } }, cacheControl: 'public, max-age=60' });
    expect(a!.value.response).not.toBe(b!.value.response);
    expect(a!.value.response.data).not.toBe(led.value.response.data);
  });
});

/**
 * Subgraph fetch sharing on the real router over the tiny supergraph (entity cache off, as with
 * ROUTER_CACHE=false): the fakes' request logs show what reached them.
 */
describe('identical subgraph fetches in flight at once (SUBGRAPH_DEDUP)', () => {
  // Client requests are not shared here, so that every one reaches the data sources.
  const fixture = sharingFixture({ REQUEST_DEDUP: 'false' });
  const LISTING = { query: '{ products(first: 2) { id name price } }' };
  const EXPECTED = EXPECTED_LISTING;
  const dedupes = (target: Router, subgraph: string) => metric(target, 'subgraph_fetch_dedupes_total{', `subgraph="${subgraph}"`);

  it('sends one request per subgraph for five identical queries, and every client gets the whole answer', async () => {
    const target = await fixture.router();
    const responses = await Promise.all(Array.from({ length: 5 }, () => post(target, LISTING)));
    for (const response of responses) {
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual(EXPECTED);
    }
    expect(fixture.products().requests).toHaveLength(1);
    expect(fixture.pricing().requests).toHaveLength(1);
    expect(await dedupes(target, 'products')).toBe(4);
    expect(await dedupes(target, 'pricing')).toBe(4);
  });

  it("never shares one viewer's answer with another", async () => {
    const target = await fixture.router();
    const [alice, bob] = await Promise.all([fixture.sign('alice'), fixture.sign('bob')]);
    const [a1, b1, a2] = await Promise.all([
      post(target, { query: '{ me }' }, { authorization: `Bearer ${alice}` }),
      post(target, { query: '{ me }' }, { authorization: `Bearer ${bob}` }),
      post(target, { query: '{ me }' }, { authorization: `Bearer ${alice}` }),
    ]);
    expect(a1.json()).toEqual({ data: { me: 'alice' } });
    expect(b1.json()).toEqual({ data: { me: 'bob' } });
    expect(a2.json()).toEqual({ data: { me: 'alice' } });
    expect(fixture.products().requests).toHaveLength(2); // alice's two share one; bob has his own
  });

  it('sends every mutation, identical or not', async () => {
    const target = await fixture.router();
    const mutation = { query: 'mutation { setPrice(id: "p1", price: 5) { id price } }' };
    const responses = await Promise.all(Array.from({ length: 3 }, () => post(target, mutation)));
    for (const response of responses) expect(response.json()).toEqual({ data: { setPrice: { id: 'p1', price: 5 } } });
    expect(fixture.pricing().requests.filter((r) => r.query.startsWith('mutation'))).toHaveLength(3);
  });

  it('does not let a query that arrives after a mutation join a fetch that set off before it', async () => {
    const target = await fixture.router();
    const release = fixture.holdProducts();
    const before = post(target, LISTING);
    await vi.waitFor(() => expect(fixture.products().requests).toHaveLength(1));
    await post(target, { query: 'mutation { setPrice(id: "p1", price: 5) { id } }' });
    const after = post(target, LISTING);
    await vi.waitFor(() => expect(fixture.products().requests).toHaveLength(2));
    release();
    expect((await before).json()).toEqual(EXPECTED);
    expect((await after).json()).toEqual(EXPECTED);
  });

  it('sends each request with SUBGRAPH_DEDUP=false', async () => {
    const target = await fixture.router({ SUBGRAPH_DEDUP: 'false' });
    const responses = await Promise.all(Array.from({ length: 3 }, () => post(target, LISTING)));
    for (const response of responses) expect(response.json()).toEqual(EXPECTED);
    expect(fixture.products().requests).toHaveLength(3);
    expect(await dedupes(target, 'products')).toBe(0);
  });
});
