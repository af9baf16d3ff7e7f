import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { total } from './support/harness.ts';
import {
  codes,
  copyManifests,
  LISTING,
  manifestOf,
  NAMES,
  persisted,
  SET_PRICE,
  sha256,
  startRouter,
  type TestRouter,
} from './support/persisted.ts';

/** A document in no manifest, so every run registers it afresh. */
const FREE = 'query Free { products(first: 1) { id name } }';

describe('automatic persisted queries (in-memory store)', () => {
  let t: TestRouter;
  beforeAll(async () => {
    t = await startRouter({ SAFELIST_MODES: '*=allow' });
  });
  afterAll(() => t.close());

  it('POST: an unknown hash is not found, hash + query registers, the hash alone then runs', async () => {
    const hash = sha256(FREE);
    const missing = await t.post({ extensions: persisted(hash) }, 'web');
    expect(codes(missing)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);

    const registered = await t.post({ query: FREE, extensions: persisted(hash) }, 'web');
    expect(registered.body).toEqual({ data: { products: [{ id: 'p1', name: 'Product 1' }] } });

    const hit = await t.post({ extensions: persisted(hash) }, 'web');
    expect(hit.body).toEqual(registered.body);
    expect(await t.outcomes({ client: 'web', outcome: 'not_found' })).toBe(1);
    expect(await t.outcomes({ client: 'web', outcome: 'registered' })).toBe(1);
    expect(await t.outcomes({ client: 'web', outcome: 'hit' })).toBe(1);
  });

  it('GET: the same round trip with every field in the query string', async () => {
    const query = 'query FreeGet($first: Int) { products(first: $first) { name } }';
    const hash = sha256(query);
    const variables = { first: 2 };
    expect(codes(await t.get({ extensions: persisted(hash), variables }, 'android-beta'))).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    const registered = await t.get({ query, extensions: persisted(hash), variables }, 'android-beta');
    expect(registered.status).toBe(200);
    expect(registered.body.data.products).toEqual([{ name: 'Product 1' }, { name: 'Product 2' }]);
    const hit = await t.get({ extensions: persisted(hash), variables }, 'android-beta');
    expect(hit.body).toEqual(registered.body);
  });

  it('rejects a hash that does not match the query, and stores nothing under it', async () => {
    const wrong = sha256('something else');
    const mismatch = await t.post({ query: FREE, extensions: persisted(wrong) }, 'web');
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.errors?.[0]?.message).toMatch(/provided sha does not match query/);
    expect(codes(await t.post({ extensions: persisted(wrong) }, 'web'))).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
  });
});

describe('automatic persisted queries when the store is down', () => {
  let t: TestRouter;
  beforeAll(async () => {
    t = await startRouter({ SAFELIST_MODES: '*=allow', REDIS_URL: 'redis://127.0.0.1:1', CACHE_TIMEOUT_MS: '50' });
  });
  afterAll(() => t.close());

  it('fails open: a failed read is "not found", a failed write is ignored and the operation runs', async () => {
    const query = 'query DownStore { products(first: 1) { id } }';
    const hash = sha256(query);
    const started = performance.now();
    expect(codes(await t.post({ extensions: persisted(hash) }, 'web'))).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    const registered = await t.post({ query, extensions: persisted(hash) }, 'web');
    expect(registered.body).toEqual({ data: { products: [{ id: 'p1' }] } });
    // Nothing was stored, so the client is told to resend again rather than given an error.
    expect(codes(await t.post({ extensions: persisted(hash) }, 'web'))).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    expect(performance.now() - started).toBeLessThan(2_000);
    await vi.waitFor(async () => expect(await total(t.router.metrics.cacheErrors, { type: 'apq_write' })).toBeGreaterThanOrEqual(1));
    expect(await total(t.router.metrics.cacheErrors, { type: 'apq_read' })).toBeGreaterThanOrEqual(2);
  });
});

describe('trusted documents', () => {
  let t: TestRouter;
  beforeAll(async () => {
    t = await startRouter({ SAFELIST_MODES: 'web=log_unknown,partner=allow' }); // ios and android: safelist by default
  });
  afterAll(() => t.close());

  describe('safelist (ios)', () => {
    it('runs a manifest id from the manifest, with nothing in the APQ store', async () => {
      const reply = await t.post({ extensions: persisted(sha256(LISTING)), variables: { first: 2 } }, 'ios');
      expect(reply.body.errors).toBeUndefined();
      expect(reply.body.data.products).toEqual([
        { id: 'p1', name: 'Product 1', price: 100 },
        { id: 'p2', name: 'Product 2', price: 200 },
      ]);
      expect(await t.outcomes({ client: 'ios', outcome: 'hit' })).toBeGreaterThanOrEqual(1);
    });

    it('refuses a free-form operation, an unknown hash, and another app’s manifest id', async () => {
      for (const payload of [{ query: FREE }, { extensions: persisted(sha256(FREE)) }, { extensions: persisted(sha256(NAMES)) }]) {
        const reply = await t.post(payload, 'ios');
        expect(reply.status).toBe(400);
        expect(codes(reply)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
        expect(reply.headers['cache-control']).toBe('no-store');
      }
      expect(t.products.requests.some((r) => r.query.includes('first:1') || r.variables.first === 1)).toBe(false);
      expect(await t.outcomes({ client: 'ios', outcome: 'not_in_list' })).toBeGreaterThanOrEqual(3);
    });

    it('refuses to register a hash outside its manifest, and registers one inside it', async () => {
      const refused = await t.post({ query: FREE, extensions: persisted(sha256(FREE)) }, 'ios');
      expect(codes(refused)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
      // The refused registration stored nothing another client could use.
      expect(codes(await t.post({ extensions: persisted(sha256(FREE)) }, 'partner'))).toEqual(['PERSISTED_QUERY_NOT_FOUND']);

      const accepted = await t.post({ query: LISTING, extensions: persisted(sha256(LISTING)), variables: { first: 1 } }, 'ios');
      expect(accepted.body.data.products).toHaveLength(1);
    });

    it('runs a document sent in full when it is byte-identical to a manifest body', async () => {
      const reply = await t.post({ query: LISTING, variables: { first: 1 } }, 'ios');
      expect(reply.body.errors).toBeUndefined();
      expect(codes(await t.post({ query: `${LISTING} `, variables: { first: 1 } }, 'ios'))).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
    });

    it('refuses everything from android, whose manifest does not exist (never fails open)', async () => {
      for (const payload of [{ query: LISTING }, { extensions: persisted(sha256(LISTING)) }]) {
        expect(codes(await t.post(payload, 'android'))).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
      }
    });
  });

  it('log_unknown (web): runs an unknown operation, logs and counts it; a manifest operation is not counted', async () => {
    const unknown = async () => total(t.router.metrics.persistedQueryUnknown, { client: 'web' });
    const before = await unknown();
    expect((await t.post({ query: NAMES }, 'web')).body.data.products).toHaveLength(2);
    expect(await unknown()).toBe(before);
    const reply = await t.post({ query: FREE }, 'web');
    expect(reply.body).toEqual({ data: { products: [{ id: 'p1', name: 'Product 1' }] } });
    expect(await unknown()).toBe(before + 1);
    expect(await t.outcomes({ client: 'web', outcome: 'unknown_logged' })).toBe(1);
  });

  it('allow (partner, and clients that send no name in development): runs anything, uncounted', async () => {
    expect((await t.post({ query: FREE }, 'partner')).body.data.products).toHaveLength(1);
    expect((await t.post({ query: FREE })).body.data.products).toHaveLength(1);
    expect(await total(t.router.metrics.persistedQueryUnknown, { client: 'partner' })).toBe(0);
    expect(await total(t.router.metrics.persistedQueryUnknown, { client: 'unknown' })).toBe(0);
  });
});

describe('trusted documents without a manifests directory', () => {
  let t: TestRouter;
  beforeAll(async () => {
    t = await startRouter({ PERSISTED_QUERIES_DIR: '/nonexistent/clients' });
  });
  afterAll(() => t.close());

  it('refuses every safelisted request and still serves other clients', async () => {
    expect(codes(await t.post({ query: LISTING, variables: { first: 1 } }, 'ios'))).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
    expect((await t.post({ query: LISTING, variables: { first: 1 } }, 'web')).body.data.products).toHaveLength(1);
  });
});

describe('manifest reload', () => {
  let t: TestRouter;
  let manifests: Awaited<ReturnType<typeof copyManifests>>;
  beforeAll(async () => {
    manifests = await copyManifests();
    t = await startRouter({ PERSISTED_QUERIES_DIR: manifests.dir });
  });
  afterAll(async () => {
    await t.close();
    await manifests.remove();
  });

  it('picks up a new operation when the manifest changes, and keeps the last good set when it breaks', async () => {
    const iosManifest = join(manifests.dir, 'ios', '__generated__', 'persisted-query-manifest.json');
    const request = { extensions: persisted(sha256(FREE)) };
    expect(codes(await t.post(request, 'ios'))).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);

    await writeFile(iosManifest, manifestOf([{ name: 'Free', type: 'query', body: FREE }]));
    await vi.waitFor(async () => expect((await t.post(request, 'ios')).body.data?.products).toHaveLength(1), {
      timeout: 5_000,
      interval: 100,
    });
    // Listing is no longer in the manifest.
    expect(codes(await t.post({ extensions: persisted(sha256(LISTING)) }, 'ios'))).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);

    const loads = await total(t.router.metrics.persistedQueryManifestLoads);
    await writeFile(iosManifest, '{ "format": "apollo-persisted-query-manifest", "version": 1, "operations": [ {');
    await new Promise((resolve) => setTimeout(resolve, 500)); // past the debounce and the failed reload
    expect(await total(t.router.metrics.persistedQueryManifestLoads)).toBe(loads);
    expect((await t.post(request, 'ios')).body.data?.products).toHaveLength(1);
  });
});

describe('persisted queries over GET, for CDNs', () => {
  let t: TestRouter;
  beforeAll(async () => {
    t = await startRouter();
  });
  afterAll(() => t.close());

  const listing = { extensions: persisted(sha256(LISTING)), variables: { first: 2 } };

  it('answers with the computed Cache-Control and a strong ETag, and 304 when it matches', async () => {
    const first = await t.get(listing, 'ios');
    expect(first.status).toBe(200);
    expect(first.body.data.products).toHaveLength(2);
    expect(first.headers['cache-control']).toBe('public, max-age=60');
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[\w-]{43}"$/);

    const again = await t.get(listing, 'ios');
    expect(again.headers.etag).toBe(etag);

    const notModified = await t.get(listing, 'ios', { 'if-none-match': etag });
    expect(notModified.status).toBe(304);
    expect(notModified.raw).toBe('');
    expect(notModified.headers.etag).toBe(etag);

    const other = await t.get({ ...listing, variables: { first: 3 } }, 'ios', { 'if-none-match': etag });
    expect(other.status).toBe(200);
    expect(other.headers.etag).not.toBe(etag);
  });

  it('refuses a mutation over GET, persisted or not, without running it', async () => {
    const fetchesBefore = t.pricing.requests.length;
    const persistedMutation = await t.get({ extensions: persisted(sha256(SET_PRICE)), variables: { id: 'p1', price: 1 } }, 'ios');
    expect(persistedMutation.status).toBe(405);
    expect(codes(persistedMutation)).toEqual(['BAD_REQUEST']);
    const plain = await t.get({ query: 'mutation { setPrice(id: "p1", price: 1) { id } }' }, 'web');
    expect(plain.status).toBe(405);
    expect(t.pricing.requests.length).toBe(fetchesBefore);
  });

  it('blocks a GET that proves nothing against CSRF (no client name, no preflight header)', async () => {
    const blocked = await t.get(listing);
    expect(blocked.status).toBe(400);
    expect(blocked.body.errors?.[0]?.message).toMatch(/Cross-Site Request Forgery/);
  });

  it('adds no ETag to POST responses', async () => {
    const reply = await t.post({ query: LISTING, variables: { first: 1 } }, 'web');
    expect(reply.status).toBe(200);
    expect(reply.headers.etag).toBeUndefined();
  });
});
