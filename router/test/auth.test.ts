import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier, TOKEN_CACHE_MAX_CHARS, TOKEN_CACHE_TTL_MS, takeTokenCacheCounts } from '../src/auth.ts';
import { startIssuer } from './support/issuer.ts';

/** The router's token verification and the cache of verified tokens beside it (src/auth.ts), against a real JWKS endpoint. */
describe('token verification', () => {
  let issuer: Awaited<ReturnType<typeof startIssuer>>;
  beforeAll(async () => {
    issuer = await startIssuer();
  });
  afterAll(() => issuer.close());

  const codeOf = (promise: Promise<unknown>) =>
    promise.then(
      () => 'verified',
      (error: { extensions?: { code?: string }; message: string }) => `${error.extensions?.code}: ${error.message}`,
    );

  it('verifies a token once and answers its next requests from the cache', async () => {
    const verify = createTokenVerifier(issuer.jwksUrl);
    const token = await issuer.sign('alice');
    takeTokenCacheCounts();
    const first = await verify(`Bearer ${token}`);
    expect(first?.viewer).toEqual({ userId: 'alice', scopes: ['customer'] });
    expect(await verify(`bearer  ${token}`)).toEqual(first);
    expect(takeTokenCacheCounts()).toEqual({ hits: 1, misses: 1 });
    // One answer serves many requests: none can change it for the others.
    expect(() => first!.viewer.scopes.push('admin')).toThrow();
  });

  it('rejects a forged or malformed token every time, whatever was verified before', async () => {
    const verify = createTokenVerifier(issuer.jwksUrl);
    const token = await issuer.sign('bob');
    await verify(`Bearer ${token}`);
    const [header, payload, signature] = token.split('.');
    const forged = `${header}.${payload}.${signature!.slice(0, -4)}AAAA`;
    const otherSubject = `${header}.${Buffer.from(JSON.stringify({ sub: 'mallory' })).toString('base64url')}.${signature}`;
    takeTokenCacheCounts();
    for (let i = 0; i < 2; i++) {
      expect(await codeOf(verify(`Bearer ${forged}`))).toBe('UNAUTHENTICATED: Token is not valid');
      expect(await codeOf(verify(`Bearer ${otherSubject}`))).toBe('UNAUTHENTICATED: Token is not valid');
    }
    expect(takeTokenCacheCounts()).toEqual({ hits: 0, misses: 4 });
    expect(await codeOf(verify('Basic abc'))).toBe('UNAUTHENTICATED: Authorization header must be "Bearer <token>"');
    expect(await verify(undefined)).toBeNull();
  });

  it('ends a kept token at its expiry, and verifies it again once its entry has lived a minute', async () => {
    let clock = Date.now();
    const verify = createTokenVerifier(issuer.jwksUrl, { now: () => clock });
    const shortLived = await issuer.sign('carol', { expiresIn: '30s' });
    const longLived = await issuer.sign('dave', { expiresIn: '1h' });
    await verify(`Bearer ${shortLived}`);
    await verify(`Bearer ${longLived}`);
    takeTokenCacheCounts();

    clock += 31_000;
    expect(await codeOf(verify(`Bearer ${shortLived}`))).toBe('UNAUTHENTICATED: Token has expired; sign in again');
    expect((await verify(`Bearer ${longLived}`))?.viewer.userId).toBe('dave');
    expect(takeTokenCacheCounts()).toEqual({ hits: 1, misses: 0 });

    clock += TOKEN_CACHE_TTL_MS;
    expect((await verify(`Bearer ${longLived}`))?.viewer.userId).toBe('dave');
    expect(takeTokenCacheCounts()).toEqual({ hits: 0, misses: 1 });
  });

  it('holds at most maxEntries tokens, none longer than the bound, and none with maxEntries 0', async () => {
    const verify = createTokenVerifier(issuer.jwksUrl, { maxEntries: 2 });
    const tokens = await Promise.all(['u1', 'u2', 'u3'].map((sub) => issuer.sign(sub)));
    for (const token of tokens) await verify(`Bearer ${token}`);
    takeTokenCacheCounts();
    await verify(`Bearer ${tokens[2]}`);
    await verify(`Bearer ${tokens[0]}`); // the least recently used, pushed out by the third
    expect(takeTokenCacheCounts()).toEqual({ hits: 1, misses: 1 });

    const large = await issuer.sign('erin', { claims: { padding: 'x'.repeat(TOKEN_CACHE_MAX_CHARS) } });
    expect(large.length).toBeGreaterThan(TOKEN_CACHE_MAX_CHARS);
    for (let i = 0; i < 2; i++) expect((await verify(`Bearer ${large}`))?.viewer.userId).toBe('erin');
    expect(takeTokenCacheCounts()).toEqual({ hits: 0, misses: 2 });

    const uncached = createTokenVerifier(issuer.jwksUrl, { maxEntries: 0 });
    for (let i = 0; i < 2; i++) await uncached(`Bearer ${tokens[0]}`);
    expect(takeTokenCacheCounts()).toEqual({ hits: 0, misses: 2 });
  });
});
