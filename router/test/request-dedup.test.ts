import { describe, expect, it, vi } from 'vitest';
import { EXPECTED_LISTING, metric, post, sharingFixture } from './support/sharing-fixture.ts';

/**
 * Identical client requests in flight at once (src/request-dedup.ts), on the real router over the
 * tiny supergraph with the entity cache off. Subgraph fetch sharing is off too (SUBGRAPH_DEDUP),
 * so the fakes' request logs count pipeline runs.
 */
describe('identical client requests in flight at once (REQUEST_DEDUP)', () => {
  const fixture = sharingFixture({ SUBGRAPH_DEDUP: 'false' });
  const LISTING = { query: 'query Listing($first: Int) { products(first: $first) { id name price } }', variables: { first: 2 } };
  const EXPECTED = EXPECTED_LISTING;

  it('runs five identical queries once and sends each client the same response', async () => {
    const target = await fixture.router();
    const responses = await Promise.all(Array.from({ length: 5 }, () => post(target, LISTING)));
    for (const response of responses) {
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual(EXPECTED);
      expect(response.headers['cache-control']).toBe('public, max-age=60');
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.body).toBe(responses[0]!.body);
    }
    expect(fixture.products().requests).toHaveLength(1);
    expect(fixture.pricing().requests).toHaveLength(1);
    expect(await metric(target, 'graphql_request_dedupes_total')).toBe(4);
    expect(await metric(target, 'graphql_requests_total', 'operation="Listing",status="ok"')).toBe(5);
  });

  it('keeps requests apart when variables, client name or viewer differ', async () => {
    const target = await fixture.router();
    const [alice, bob] = await Promise.all([fixture.sign('alice'), fixture.sign('bob')]);
    const responses = await Promise.all([
      post(target, LISTING),
      post(target, { ...LISTING, variables: { first: 1 } }),
      post(target, LISTING, { 'apollographql-client-name': 'admin' }),
      post(target, { query: '{ me }' }, { authorization: `Bearer ${alice}` }),
      post(target, { query: '{ me }' }, { authorization: `Bearer ${bob}` }),
      post(target, { query: '{ me }' }, { authorization: `Bearer ${alice}` }),
    ]);
    expect(responses[0]!.json()).toEqual(EXPECTED);
    expect(responses[1]!.json()).toEqual({ data: { products: [{ id: 'p1', name: 'Product 1', price: 100 }] } });
    expect(responses[2]!.json()).toEqual(EXPECTED);
    expect(responses.slice(3).map((r) => r.json())).toEqual([
      { data: { me: 'alice' } },
      { data: { me: 'bob' } },
      { data: { me: 'alice' } },
    ]);
    // Listing, first: 1, the admin client's listing, alice (twice, shared) and bob.
    expect(fixture.products().requests).toHaveLength(5);
  });

  it('runs every mutation, identical or not', async () => {
    const target = await fixture.router();
    const mutation = { query: 'mutation { setPrice(id: "p1", price: 5) { id price } }' };
    const responses = await Promise.all(Array.from({ length: 3 }, () => post(target, mutation)));
    for (const response of responses) expect(response.json()).toEqual({ data: { setPrice: { id: 'p1', price: 5 } } });
    expect(fixture.pricing().requests.filter((r) => r.query.startsWith('mutation'))).toHaveLength(3);
    expect(await metric(target, 'graphql_request_dedupes_total')).toBe(0);
  });

  it('does not let a query that arrives after a mutation join a run that started before it', async () => {
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

  it('runs each request through the pipeline when the first one fails validation', async () => {
    const target = await fixture.router();
    const responses = await Promise.all(Array.from({ length: 3 }, () => post(target, { query: '{ products(first: 2) { nope } }' })));
    for (const response of responses) {
      expect(response.statusCode).toBe(400);
      expect(response.json().errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    }
    expect(await metric(target, 'graphql_request_dedupes_total')).toBe(0);
  });

  it('runs each request with REQUEST_DEDUP=false', async () => {
    const target = await fixture.router({ REQUEST_DEDUP: 'false' });
    const responses = await Promise.all(Array.from({ length: 3 }, () => post(target, LISTING)));
    for (const response of responses) expect(response.json()).toEqual(EXPECTED);
    expect(fixture.products().requests).toHaveLength(3);
  });
});
