import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { routerUrl } from '../setup/client.ts';

/** Persisted operations through the real stack, with the manifests the apps really ship. */
interface Manifest {
  operations: { id: string; name: string; type: string; body: string }[];
}
const manifest = (app: string): Manifest =>
  JSON.parse(readFileSync(new URL(`../../clients/${app}/__generated__/persisted-query-manifest.json`, import.meta.url), 'utf8'));
const idOf = (app: string, name: string) => manifest(app).operations.find((o) => o.name === name)!.id;

function getUrl(extensions: object, variables: object) {
  const url = new URL(routerUrl());
  url.searchParams.set('extensions', JSON.stringify(extensions));
  url.searchParams.set('variables', JSON.stringify(variables));
  return url;
}

async function post(body: object, client: string) {
  const response = await fetch(routerUrl(), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'apollographql-client-name': client },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

describe('persisted operations from the apps', () => {
  it('runs an ios screen by manifest id over GET, cacheable by a CDN, with 304 on a matching ETag', async () => {
    const url = getUrl({ persistedQuery: { version: 1, sha256Hash: idOf('ios', 'ProductScreen') } }, { id: 'p42', region: 'IN' });
    const first = await fetch(url, { headers: { 'apollographql-client-name': 'ios' } });
    expect(first.status).toBe(200);
    const body = (await first.json()) as any;
    expect(body.errors).toBeUndefined();
    expect(body.data.product.id).toBe('p42');
    expect(first.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    const etag = first.headers.get('etag');
    expect(etag).toBeTruthy();
    const again = await fetch(url, { headers: { 'apollographql-client-name': 'ios', 'if-none-match': etag! } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
  });

  it('refuses free-form and unknown operations from a safelisted app', async () => {
    const freeForm = await post({ query: '{ products(first: 100) { edges { node { id } } } }' }, 'ios');
    expect(freeForm.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    const unknown = await post({ extensions: { persistedQuery: { version: 1, sha256Hash: 'f'.repeat(64) } } }, 'android');
    expect(unknown.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    // Another app's id is not in this app's list.
    const foreign = await post({ extensions: { persistedQuery: { version: 1, sha256Hash: idOf('web', 'Categories') } } }, 'ios');
    expect(foreign.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');
  });

  it('registers and serves an automatic persisted query for the web app', async () => {
    const query = `{ product(id: "p7") { id name } }`;
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const extensions = { persistedQuery: { version: 1, sha256Hash } };
    const notYet = await post({ extensions }, 'web');
    expect(notYet.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    const registered = await post({ query, extensions }, 'web');
    expect(registered.body.data.product.id).toBe('p7');
    const byHash = await post({ extensions }, 'web');
    expect(byHash.body.data.product.id).toBe('p7');
    const mismatch = await post({ query: '{ product(id: "p8") { id } }', extensions }, 'web');
    expect(mismatch.status).toBe(400);
  });

  it('refuses a mutation over GET', async () => {
    const url = getUrl(
      { persistedQuery: { version: 1, sha256Hash: idOf('ios', 'SignIn') } },
      { email: 'user1@example.com', password: 'password' },
    );
    const response = await fetch(url, { headers: { 'apollographql-client-name': 'ios' } });
    expect(response.status).toBe(405);
  });
});
