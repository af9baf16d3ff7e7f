import { describe, expect, it } from 'vitest';
import { takeOperationCacheCounts } from '../src/operation-cache.ts';
import { EXPECTED_LISTING, post, sharingFixture } from './support/sharing-fixture.ts';

/**
 * The gateway's per-request `Operation`, kept beside the parsed document (src/operation-cache.ts),
 * on the real router over the tiny supergraph with every cache and in-flight sharing off, so each
 * request is planned from the cache and executed.
 */
describe('the operation the gateway executes, built once per document', () => {
  const fixture = sharingFixture({ SUBGRAPH_DEDUP: 'false', REQUEST_DEDUP: 'false' });
  const LISTING = 'query Listing($first: Int) { products(first: $first) { id name price } }';
  const WITH_FRAGMENT = 'query Listing($first: Int) { products(first: $first) { ...Card } } fragment Card on Product { id name price }';

  it('reuses it for the same query text, whatever the variables, and builds one for a new text or fragment', async () => {
    const target = await fixture.router();
    takeOperationCacheCounts();
    expect((await post(target, { query: LISTING, variables: { first: 2 } })).json()).toEqual(EXPECTED_LISTING);
    expect(takeOperationCacheCounts()).toEqual({ built: 1, reused: 0 });

    expect((await post(target, { query: LISTING, variables: { first: 2 } })).json()).toEqual(EXPECTED_LISTING);
    expect((await post(target, { query: LISTING, variables: { first: 1 } })).json()).toEqual({
      data: { products: [{ id: 'p1', name: 'Product 1', price: 100 }] },
    });
    expect(takeOperationCacheCounts()).toEqual({ built: 0, reused: 2 });

    // Another document (here the same selection through a fragment) is an operation of its own.
    for (let i = 0; i < 2; i++) {
      expect((await post(target, { query: WITH_FRAGMENT, variables: { first: 2 } })).json()).toEqual(EXPECTED_LISTING);
    }
    expect(takeOperationCacheCounts()).toEqual({ built: 1, reused: 1 });
  });

  it('keeps nothing for a request that fails before execution', async () => {
    const target = await fixture.router();
    takeOperationCacheCounts();
    const response = await post(target, { query: '{ products(first: 1) { id nope } }' });
    expect(response.json().errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(takeOperationCacheCounts()).toEqual({ built: 0, reused: 0 });
  });
});
