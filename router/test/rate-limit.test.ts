import { generateKeyPair, SignJWT } from 'jose';
import type { FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_AUDIENCE as AUDIENCE, TOKEN_ISSUER as ISSUER } from '@shop/platform';
import { fastifyTrustProxy, viewerPerRequest } from '../src/rate-limit.ts';
import type { Router } from '../src/server.ts';
import { startFakeSubgraph, representationsOf, type FakeSubgraph } from './support/fake-subgraph.ts';
import { total } from './support/harness.ts';
import { startIssuer } from './support/issuer.ts';
import { buildTinyRouter } from './support/tiny-router.ts';

/**
 * The per-client rate limit on a real router (tiny supergraph, fake subgraphs, in-memory counts):
 * keyed by verified user else by IP, 429 in GraphQL's shape with Retry-After, never on /health.
 * Each test uses its own client addresses (inject's remoteAddress), so buckets do not carry over.
 */

const MAX = 3;

/** A token signed by a key the JWKS does not hold: anyone can mint these. */
async function forgedToken(sub: string): Promise<string> {
  const { privateKey } = await generateKeyPair('ES256');
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: 'test-key' })
    .setSubject(sub)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setExpirationTime('5m')
    .sign(privateKey);
}

let issuer: Awaited<ReturnType<typeof startIssuer>>;
let products: FakeSubgraph;
let pricing: FakeSubgraph;
beforeAll(async () => {
  issuer = await startIssuer();
  // `me` answers the x-user-id the router sent, so a test can see which viewer the context got.
  products = await startFakeSubgraph(({ query, headers }) => ({
    body: { data: /\bme\b/.test(query) ? { me: headers['x-user-id'] ?? null } : { products: [] } },
  }));
  pricing = await startFakeSubgraph((request) => ({ body: { data: { _entities: representationsOf(request).map(() => ({ price: 1 })) } } }));
});
afterAll(async () => {
  await products?.close();
  await pricing?.close();
  await issuer?.close();
});

const startRouter = (env: Record<string, string> = {}) =>
  buildTinyRouter({ products, pricing }, { JWKS_URL: issuer.jwksUrl, RATE_LIMIT_MAX: String(MAX), ...env });

function ask(router: Router, { ip, token, method = 'POST' }: { ip: string; token?: string; method?: 'GET' | 'POST' }) {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  if (method === 'GET') {
    return router.app.inject({
      method,
      url: '/graphql?query=%7B%20me%20%7D',
      remoteAddress: ip,
      headers: { ...headers, 'apollo-require-preflight': 'true' },
    });
  }
  return router.app.inject({ method, url: '/graphql', remoteAddress: ip, headers, payload: JSON.stringify({ query: '{ me }' }) });
}

/** Sends `n` requests one after another and returns their status codes. */
async function statuses(n: number, send: () => ReturnType<typeof ask>): Promise<number[]> {
  const codes: number[] = [];
  for (let i = 0; i < n; i++) codes.push((await send()).statusCode);
  return codes;
}

describe('rate limit (memory store)', () => {
  let router: Router;
  beforeAll(async () => {
    router = await startRouter();
  });
  afterAll(() => router?.close());

  it('answers 429 with Retry-After and code RATE_LIMITED past the limit, before any subgraph fetch', async () => {
    const ip = '198.51.100.1';
    const first = await ask(router, { ip });
    expect(first.statusCode).toBe(200);
    expect(first.headers['x-ratelimit-limit']).toBe(String(MAX));
    expect(first.headers['x-ratelimit-remaining']).toBe(String(MAX - 1));
    expect(await statuses(MAX - 1, () => ask(router, { ip }))).toEqual([200, 200]);

    const fetchesBefore = products.requests.length;
    const refused = await ask(router, { ip });
    expect(refused.statusCode).toBe(429);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(10); // the default 10 s window
    expect(refused.headers['x-ratelimit-remaining']).toBe('0');
    expect(refused.headers['cache-control']).toBe('no-store');
    expect(refused.json()).toEqual({
      errors: [
        { message: `Too many requests; retry in ${retryAfter} s`, extensions: { code: 'RATE_LIMITED', retryAfterSeconds: retryAfter } },
      ],
    });
    // GET counts against the same bucket.
    expect((await ask(router, { ip, method: 'GET' })).statusCode).toBe(429);
    expect(products.requests.length).toBe(fetchesBefore);
    expect(await total(router.metrics.rateLimitRejections, { kind: 'ip' })).toBeGreaterThanOrEqual(2);
  });

  it('never limits /health, /ready or /metrics, even for a client past its limit', async () => {
    const ip = '198.51.100.2';
    await statuses(MAX, () => ask(router, { ip }));
    expect((await ask(router, { ip })).statusCode).toBe(429);
    for (let i = 0; i < MAX * 3; i++) {
      const health = await router.app.inject({ method: 'GET', url: '/health', remoteAddress: ip });
      expect(health.statusCode).toBe(200);
      expect(health.headers['x-ratelimit-limit']).toBeUndefined();
    }
    expect((await router.app.inject({ method: 'GET', url: '/metrics', remoteAddress: ip })).statusCode).toBe(200);
    expect((await router.app.inject({ method: 'GET', url: '/ready', remoteAddress: ip })).headers['x-ratelimit-limit']).toBeUndefined();
  });

  it('gives each signed-in user a bucket of their own, apart from the anonymous bucket of their IP', async () => {
    const ip = '198.51.100.3';
    const [alice, bob] = await Promise.all([issuer.sign('alice'), issuer.sign('bob')]);
    const aliceAnswer = await ask(router, { ip, token: alice });
    expect(aliceAnswer.json()).toEqual({ data: { me: 'alice' } }); // the context got the verified viewer
    expect(await statuses(MAX - 1, () => ask(router, { ip, token: alice }))).toEqual([200, 200]);
    expect((await ask(router, { ip, token: alice })).statusCode).toBe(429);

    expect(await statuses(MAX, () => ask(router, { ip, token: bob }))).toEqual([200, 200, 200]);
    expect((await ask(router, { ip, token: bob })).statusCode).toBe(429);

    // Same address, no token: its own bucket, untouched by the users'.
    expect(await statuses(MAX, () => ask(router, { ip }))).toEqual([200, 200, 200]);
    expect((await ask(router, { ip })).statusCode).toBe(429);
    // …and a user's bucket is not the address's: alice from elsewhere is still limited.
    expect((await ask(router, { ip: '198.51.100.30', token: alice })).statusCode).toBe(429);
    expect(await total(router.metrics.rateLimitRejections, { kind: 'user' })).toBeGreaterThanOrEqual(3);
  });

  it('keys a forged, expired or malformed token by IP: new subjects do not buy new buckets', async () => {
    const ip = '198.51.100.4';
    // Each forged token has a fresh subject; all of them count against the one address.
    const forged = await statuses(MAX, async () => ask(router, { ip, token: await forgedToken(`mallory-${Math.random()}`) }));
    expect(forged).toEqual([401, 401, 401]);
    const next = await ask(router, { ip, token: await forgedToken('mallory-next') });
    expect(next.statusCode).toBe(429);
    expect(next.json().errors[0].extensions.code).toBe('RATE_LIMITED');
    // The same address without a token shares that bucket.
    expect((await ask(router, { ip })).statusCode).toBe(429);

    const other = '198.51.100.5';
    const expired = await issuer.sign('eve', { expiresIn: '-1m' });
    expect((await ask(router, { ip: other, token: expired })).json().errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect((await ask(router, { ip: other, token: 'not-a-jwt' })).statusCode).toBe(401);
    expect((await ask(router, { ip: other })).statusCode).toBe(200);
    expect((await ask(router, { ip: other })).statusCode).toBe(429);
    // A valid user from that exhausted address is not affected.
    expect((await ask(router, { ip: other, token: await issuer.sign('trent') })).statusCode).toBe(200);
  });

  it('does not limit CORS preflights or unknown routes', async () => {
    const ip = '198.51.100.6';
    await statuses(MAX + 1, () => ask(router, { ip }));
    const preflight = await router.app.inject({ method: 'OPTIONS', url: '/graphql', remoteAddress: ip });
    expect(preflight.statusCode).not.toBe(429);
    expect((await router.app.inject({ method: 'GET', url: '/nope', remoteAddress: ip })).statusCode).toBe(404);
  });
});

describe('IP ceiling (RATE_LIMIT_IP_MAX)', () => {
  it('bounds an address whoever is signed in (F8: self-registered accounts each brought RATE_LIMIT_MAX more)', async () => {
    const router = await startRouter({ RATE_LIMIT_IP_MAX: '5' });
    try {
      const ip = '198.51.100.40';
      const [first, second, third] = await Promise.all(['acct-1', 'acct-2', 'acct-3'].map((sub) => issuer.sign(sub)));
      expect(await statuses(MAX, () => ask(router, { ip, token: first! }))).toEqual([200, 200, 200]);
      // The second account has its own bucket of 3, but the address has only 2 left.
      expect(await statuses(3, () => ask(router, { ip, token: second! }))).toEqual([200, 200, 429]);
      const refused = await ask(router, { ip, token: third! });
      expect(refused.statusCode).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(refused.json().errors[0].extensions.code).toBe('RATE_LIMITED');
      expect((await ask(router, { ip })).statusCode).toBe(429);
      expect(await total(router.metrics.rateLimitRejections, { kind: 'ip_ceiling' })).toBe(3);
      // The same account from another address is within both of its limits.
      expect((await ask(router, { ip: '198.51.100.41', token: third! })).statusCode).toBe(200);
    } finally {
      await router.close();
    }
  });

  it('does not count what the per-client limit already refused', async () => {
    const router = await startRouter({ RATE_LIMIT_IP_MAX: '5' });
    try {
      const ip = '198.51.100.42';
      const [greedy, neighbour] = await Promise.all([issuer.sign('greedy'), issuer.sign('neighbour')]);
      expect(await statuses(MAX + 5, () => ask(router, { ip, token: greedy }))).toEqual([200, 200, 200, 429, 429, 429, 429, 429]);
      // Behind the same NAT, a neighbour still has the address's remaining 2.
      expect(await statuses(3, () => ask(router, { ip, token: neighbour }))).toEqual([200, 200, 429]);
    } finally {
      await router.close();
    }
  });

  it('defaults to 5 × RATE_LIMIT_MAX, so a few customers behind one address fit', async () => {
    const router = await startRouter();
    try {
      const ip = '198.51.100.43';
      const tokens = await Promise.all(Array.from({ length: 6 }, (_, i) => issuer.sign(`office-${i}`)));
      const answered = [];
      for (const token of tokens) answered.push(...(await statuses(MAX, () => ask(router, { ip, token }))));
      expect(answered.filter((status) => status === 200)).toHaveLength(5 * MAX);
      expect(answered.slice(0, 5 * MAX)).toEqual(Array(5 * MAX).fill(200));
    } finally {
      await router.close();
    }
  });
});

describe('rate limit configuration', () => {
  it('limits nobody with RATE_LIMIT=false', async () => {
    const router = await startRouter({ RATE_LIMIT: 'false' });
    try {
      const answers = await Promise.all(Array.from({ length: MAX * 4 }, () => ask(router, { ip: '198.51.100.7' })));
      expect(answers.map((a) => a.statusCode)).toEqual(Array(MAX * 4).fill(200));
      expect(answers[0]!.headers['x-ratelimit-limit']).toBeUndefined();
      expect(await total(router.metrics.rateLimitRejections)).toBe(0);
    } finally {
      await router.close();
    }
  });

  it('takes its window from RATE_LIMIT_WINDOW_MS: the bucket refills after it', async () => {
    const router = await startRouter({ RATE_LIMIT_MAX: '1', RATE_LIMIT_WINDOW_MS: '300' });
    try {
      const ip = '198.51.100.8';
      expect(await statuses(2, () => ask(router, { ip }))).toEqual([200, 429]);
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect((await ask(router, { ip })).statusCode).toBe(200);
    } finally {
      await router.close();
    }
  });

  it('keys clients by X-Forwarded-For only from a trusted proxy (TRUST_PROXY)', async () => {
    const router = await startRouter({ RATE_LIMIT_MAX: '1', TRUST_PROXY: '10.0.0.0/8' });
    try {
      const viaProxy = (client: string) =>
        router.app.inject({
          method: 'POST',
          url: '/graphql',
          remoteAddress: '10.1.2.3',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': client },
          payload: '{"query":"{ me }"}',
        });
      // Two clients behind one balancer: separate buckets.
      expect((await viaProxy('203.0.113.1')).statusCode).toBe(200);
      expect((await viaProxy('203.0.113.2')).statusCode).toBe(200);
      expect((await viaProxy('203.0.113.1')).statusCode).toBe(429);
      // An untrusted peer cannot pick its key by sending the header.
      const direct = (client: string) =>
        router.app.inject({
          method: 'POST',
          url: '/graphql',
          remoteAddress: '198.51.100.9',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': client },
          payload: '{"query":"{ me }"}',
        });
      expect((await direct('203.0.113.3')).statusCode).toBe(200);
      expect((await direct('203.0.113.4')).statusCode).toBe(429);
    } finally {
      await router.close();
    }
  });

  it('keys by the address one trusted hop away with TRUST_PROXY=1', async () => {
    const router = await startRouter({ RATE_LIMIT_MAX: '1', TRUST_PROXY: '1' });
    try {
      const via = (forwardedFor: string) =>
        router.app.inject({
          method: 'POST',
          url: '/graphql',
          remoteAddress: '172.16.0.1',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
          payload: '{"query":"{ me }"}',
        });
      expect((await via('203.0.113.5')).statusCode).toBe(200);
      // Only the nearest hop is trusted: whatever the client prepends, the balancer's entry is the key.
      expect((await via('1.1.1.1, 203.0.113.6')).statusCode).toBe(200);
      expect((await via('2.2.2.2, 203.0.113.6')).statusCode).toBe(429);
    } finally {
      await router.close();
    }
  });
});

describe('fastifyTrustProxy', () => {
  it('passes booleans and address lists to Fastify as they are, and turns a hop count into a trust function', () => {
    expect(fastifyTrustProxy(false)).toBe(false);
    expect(fastifyTrustProxy(['10.0.0.0/8'])).toEqual(['10.0.0.0/8']);
    // Fastify 5 trusts nothing for a bare number, so a count must become a function of the hop.
    const twoHops = fastifyTrustProxy(2) as (address: string, hop: number) => boolean;
    expect([0, 1, 2].map((hop) => twoHops('203.0.113.1', hop))).toEqual([true, true, false]);
  });
});

describe('viewerPerRequest', () => {
  it("verifies a request's token once, for the rate limit key and the GraphQL context alike", async () => {
    const calls: (string | undefined)[] = [];
    const viewerOf = viewerPerRequest(async (authorization) => {
      calls.push(authorization);
      if (authorization === 'Bearer bad') throw new Error('Token is not valid');
      return authorization ? { userId: 'u1', scopes: [] } : null;
    });
    const request = (authorization?: string) => ({ headers: authorization ? { authorization } : {} }) as FastifyRequest;
    const good = request('Bearer good');
    expect(await viewerOf(good)).toEqual({ userId: 'u1', scopes: [] });
    expect(await viewerOf(good)).toEqual({ userId: 'u1', scopes: [] });
    const bad = request('Bearer bad');
    await expect(viewerOf(bad)).rejects.toThrow('Token is not valid');
    await expect(viewerOf(bad)).rejects.toThrow('Token is not valid');
    expect(await viewerOf(request())).toBeNull();
    expect(calls).toEqual(['Bearer good', 'Bearer bad', undefined]);
  });
});
