import { describe, expect, it } from 'vitest';
import { query, routerUrl } from '../setup/client.ts';

/** Nothing a client sends may produce a 500, a stack trace, SQL text or an internal URL. */
function expectNoLeaks(body: unknown) {
  const text = JSON.stringify(body);
  expect(text).not.toMatch(/stacktrace|\bat \w+ \(|SELECT |INSERT |FROM \w+\.\w+|127\.0\.0\.1|localhost:\d+|ECONNREFUSED/i);
}

describe('bad input gets a clear coded error', () => {
  it.each([
    ['first: 0', '{ products(first: 0) { totalCount } }'],
    ['first above 100', '{ products(first: 101) { totalCount } }'],
    ['a negative first in a category', '{ category(slug: "electronics-essentials") { products(first: -1) { totalCount } } }'],
    ['a malformed cursor', '{ products(after: "%%%not-a-cursor") { totalCount } }'],
    ['a cursor from another list', `{ products(after: "${Buffer.from('search:1').toString('base64url')}") { totalCount } }`],
    ['an invalid product id', '{ product(id: "../../etc/passwd") { id } }'],
    ['an invalid order id', '{ order(id: "1; DROP TABLE orders") { id } }'],
  ])('%s → BAD_USER_INPUT', async (_name, document) => {
    const result = await query(document, {}, { token: undefined });
    expect(result.status).toBeLessThan(500);
    const codes = result.errors?.map((e) => e.extensions?.code);
    // order(id) needs a signed-in user first; either way the answer is a client error with a code.
    expect(codes?.[0]).toMatch(/^(BAD_USER_INPUT|UNAUTHENTICATED)$/);
    if (!document.includes('order(')) expect(codes?.[0]).toBe('BAD_USER_INPUT');
    expectNoLeaks(result);
  });

  it('rejects an unknown region literal as a validation error with 400', async () => {
    const result = await query('{ product(id: "p1") { price(region: MARS) { amount } } }');
    expect(result.status).toBe(400);
    expect(result.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expectNoLeaks(result);
  });

  it('rejects an unknown region in variables with BAD_USER_INPUT', async () => {
    const result = await query('query($r: Region!) { product(id: "p1") { price(region: $r) { amount } } }', { r: 'MARS' });
    expect(result.status).toBe(400);
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expectNoLeaks(result);
  });

  it.each([
    ['unparsable JSON', '{"query": "{ products { totalCount } "', 'application/json'],
    ['an empty body', '', 'application/json'],
    ['a JSON array of garbage', '[1, 2, 3]', 'application/json'],
    ['no query at all', '{"variables": {}}', 'application/json'],
    ['a query that is not a string', '{"query": 42}', 'application/json'],
  ])('answers %s with 400 and a coded error', async (_name, body, contentType) => {
    const response = await fetch(routerUrl(), { method: 'POST', headers: { 'content-type': contentType }, body });
    expect(response.status).toBe(400);
    const json = (await response.json()) as { errors: { extensions: { code: string } }[] };
    expect(json.errors[0]!.extensions.code).toMatch(/^(BAD_REQUEST|BAD_USER_INPUT|GRAPHQL_PARSE_FAILED)$/);
    expectNoLeaks(json);
  });

  it('answers a syntax error with 400 GRAPHQL_PARSE_FAILED', async () => {
    const result = await query('{ products(first: 3) { edges { node { id }');
    expect(result.status).toBe(400);
    expect(result.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  });
});
