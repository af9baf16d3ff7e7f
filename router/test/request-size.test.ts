import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MEMORY_BOUNDS, readConfig } from '../src/config.ts';
import { MAX_EXTENSIONS_BYTES } from '../src/request-size.ts';
import { total } from './support/harness.ts';
import { codes, persisted, sha256, startRouter, type TestRouter } from './support/persisted.ts';

/**
 * Issue 12 F3: a document-size cap on every query text (POST, GET, APQ registration), comments
 * counted, refused before parsing with 413 DOCUMENT_TOO_LARGE and nothing stored; and a cap on
 * the variables' JSON. In production mode, where F3 was found.
 */
const MAX = DEFAULT_MEMORY_BOUNDS.maxDocumentBytes;

/** `{ __typename }` behind a comment, `bytes` long in UTF-8 in all. */
function padded(bytes: number, char = 'x'): string {
  const tail = '\n{ __typename }';
  const width = Buffer.byteLength(char);
  const body = bytes - tail.length - 1;
  if (body % width) throw new Error('padding does not divide');
  return `#${char.repeat(body / width)}${tail}`;
}

describe('document and variables size caps (production)', () => {
  let t: TestRouter;
  beforeAll(async () => {
    t = await startRouter({ NODE_ENV: 'production', ROUTER_SECRET: 'test-secret', RATE_LIMIT: 'false', ROUTER_CACHE: 'true' });
  });
  afterAll(() => t.close());

  it('refuses an APQ registration of a 1.9 MB comment + { __typename }, and stores nothing', async () => {
    const query = padded(1_900_000);
    const hash = sha256(query);
    const registered = await t.post({ query, extensions: persisted(hash) }, 'web');
    expect(registered.status).toBe(413);
    expect(registered.body).toEqual({
      errors: [{ message: `Query document is larger than ${MAX} bytes`, extensions: { code: 'DOCUMENT_TOO_LARGE' } }],
    });
    // Never reached Apollo: neither registered nor parsed.
    expect(await t.outcomes({ client: 'web', outcome: 'registered' })).toBe(0);
    expect(codes(await t.post({ extensions: persisted(hash) }, 'web'))).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
  });

  it('counts comments and multi-byte characters as UTF-8 bytes of the raw text, up to the cap exactly', async () => {
    const atCap = await t.post({ query: padded(MAX) }, 'web');
    expect(atCap.status).toBe(200);
    expect(atCap.body).toEqual({ data: { __typename: 'Query' } });
    expect(codes(await t.post({ query: padded(MAX + 1) }, 'web'))).toEqual(['DOCUMENT_TOO_LARGE']);
    // Fewer characters than the cap, more bytes: "é" is two.
    const accented = padded(MAX + 2, 'é');
    expect(accented.length).toBeLessThan(MAX);
    const refused = await t.post({ query: accented }, 'web');
    expect(refused.status).toBe(413);
    expect(codes(refused)).toEqual(['DOCUMENT_TOO_LARGE']);
  });

  it('applies to GET and to a GET registration', async () => {
    const query = padded(MAX + 100);
    const plain = await t.get({ query }, 'web');
    expect(plain.status).toBe(413);
    expect(codes(plain)).toEqual(['DOCUMENT_TOO_LARGE']);
    const hash = sha256(query);
    const registration = await t.get({ query, extensions: persisted(hash) }, 'web');
    expect(registration.status).toBe(413);
    expect(codes(await t.get({ extensions: persisted(hash) }, 'web'))).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
  });

  it('refuses variables over the cap, POST and GET, and lets ordinary ones through', async () => {
    const big = { first: 1, note: 'n'.repeat(DEFAULT_MEMORY_BOUNDS.maxVariablesBytes) };
    const query = 'query Names($first: Int) { products(first: $first) { id } }';
    const post = await t.post({ query, variables: big }, 'web');
    expect(post.status).toBe(413);
    expect(post.body).toEqual({
      errors: [
        {
          message: `Variables are larger than ${DEFAULT_MEMORY_BOUNDS.maxVariablesBytes} bytes`,
          extensions: { code: 'VARIABLES_TOO_LARGE' },
        },
      ],
    });
    expect(codes(await t.get({ query, variables: big }, 'web'))).toEqual(['VARIABLES_TOO_LARGE']);
    const ordinary = await t.post({ query, variables: { first: 1 } }, 'web');
    expect(ordinary.status).toBe(200);
    expect(ordinary.body).toEqual({ data: { products: [{ id: 'p1' }] } });
  });

  it('refuses extensions over 4 KiB (1.9 MB of junk beside a query), POST and GET', async () => {
    const junk = { persistedQuery: undefined, note: 'n'.repeat(1_900_000) };
    const post = await t.post({ query: '{ __typename }', extensions: junk }, 'web');
    expect(post.status).toBe(413);
    expect(post.body).toEqual({
      errors: [{ message: `Extensions are larger than ${MAX_EXTENSIONS_BYTES} bytes`, extensions: { code: 'EXTENSIONS_TOO_LARGE' } }],
    });
    expect(codes(await t.get({ query: '{ __typename }', extensions: { note: 'n'.repeat(5_000) } }, 'web'))).toEqual([
      'EXTENSIONS_TOO_LARGE',
    ]);
    // A persisted-query hash is well inside it.
    const query = '{ __typename }';
    expect((await t.post({ query, extensions: persisted(sha256(query)) }, 'web')).status).toBe(200);
  });

  it('a refused request is never answered from, nor stored in, the response cache', async () => {
    const query = padded(MAX + 1);
    const hits = () => total(t.router.metrics.cacheHits, { type: 'response' });
    const misses = () => total(t.router.metrics.cacheMisses, { type: 'response' });
    const [hitsBefore, missesBefore] = [await hits(), await misses()];
    expect((await t.post({ query }, 'web')).status).toBe(413);
    expect((await t.post({ query }, 'web')).status).toBe(413);
    expect([await hits(), await misses()]).toEqual([hitsBefore, missesBefore]);
  });
});

describe('size and memory bound settings', () => {
  it('default to the documented values and refuse what is not a byte count', () => {
    const config = readConfig({});
    expect([
      config.maxDocumentBytes,
      config.maxVariablesBytes,
      config.cacheMaxBytes,
      config.responseCacheMaxBytes,
      config.apqMaxBytes,
      config.cacheMaxEntryBytes,
    ]).toEqual([32 * 1024, 64 * 1024, 64 * 1024 ** 2, 32 * 1024 ** 2, 8 * 1024 ** 2, 1024 ** 2]);
    // The old entry bounds still apply beside the byte bounds.
    expect(readConfig({ ROUTER_CACHE_MAX_ENTRIES: '7', RESPONSE_CACHE_MAX_ENTRIES: '8', APQ_MAX_ENTRIES: '9' })).toMatchObject({
      cacheMaxEntries: 7,
      responseCacheMaxEntries: 8,
      apqMaxEntries: 9,
    });
    expect(readConfig({ MAX_DOCUMENT_BYTES: '4096', RESPONSE_CACHE_MAX_BYTES: '1048576' })).toMatchObject({
      maxDocumentBytes: 4096,
      responseCacheMaxBytes: 1048576,
    });
    expect(() => readConfig({ MAX_DOCUMENT_BYTES: '32k' })).toThrow(/MAX_DOCUMENT_BYTES must be an integer/);
    expect(() => readConfig({ CACHE_MAX_ENTRY_BYTES: '0' })).toThrow(/CACHE_MAX_ENTRY_BYTES/);
    expect(() => readConfig({ MAX_VARIABLES_BYTES: String(2 * 1024 ** 2) })).toThrow(/MAX_VARIABLES_BYTES/);
    // lru-cache allocates entry slots up front: an entry bound cannot cost more than the bytes it guards.
    expect(() => readConfig({ ROUTER_CACHE_MAX_ENTRIES: '10000000' })).toThrow(
      /ROUTER_CACHE_MAX_ENTRIES must be an integer between 1 and 1000000/,
    );
  });
});
