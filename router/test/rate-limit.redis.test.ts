import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Router } from '../src/server.ts';
import { representationsOf, startFakeSubgraph, type FakeSubgraph } from './support/fake-subgraph.ts';
import { deleteKeys, testPrefix, total } from './support/harness.ts';
import { startIssuer } from './support/issuer.ts';
import { buildTinyRouter } from './support/tiny-router.ts';
import { type RedisClusterProcess, redisProxy, type RedisProxy, requireTestRedis, startRedisCluster } from '@shop/platform/testing';

/**
 * The rate limit on Redis: replicas share one count per client, and a Redis that is down or
 * paused lets requests through (fail open), counted in cache_errors_total{type="rate_limit"}.
 * Real-services tier only (REDIS_URL); the memory-store cases are in rate-limit.test.ts.
 */
const testRedis = requireTestRedis();
/** A router's Redis variables: the tier's Redis (a single one or a cluster), or another address of the same kind. */
type RedisEnv = { REDIS_URL: string; REDIS_CLUSTER: string };
const REDIS = testRedis.env;

const MAX = 4;
const CACHE_TIMEOUT_MS = 100;
/** A request answered this fast did not wait on a hung Redis beyond the cache timeout. */
const PROMPT_MS = 1_000;

let products: FakeSubgraph;
let pricing: FakeSubgraph;
const opened: Router[] = [];
const prefixes: string[] = [];
beforeAll(async () => {
  products = await startFakeSubgraph(() => ({ body: { data: { me: null } } }));
  pricing = await startFakeSubgraph((request) => ({ body: { data: { _entities: representationsOf(request).map(() => ({ price: 1 })) } } }));
});
afterEach(async () => {
  for (const router of opened.splice(0)) await router.close();
});
afterAll(async () => {
  for (const prefix of prefixes) await deleteKeys(testRedis.target, prefix);
  await products?.close();
  await pricing?.close();
});

async function routerOn(redis: RedisEnv, prefix: string, env: Record<string, string> = {}): Promise<Router> {
  const router = await buildTinyRouter(
    { products, pricing },
    { ...redis, CACHE_KEY_PREFIX: prefix, CACHE_TIMEOUT_MS: String(CACHE_TIMEOUT_MS), RATE_LIMIT_MAX: String(MAX), ...env },
  );
  opened.push(router);
  return router;
}

const ask = (router: Router, ip: string) =>
  router.app.inject({
    method: 'POST',
    url: '/graphql',
    remoteAddress: ip,
    headers: { 'content-type': 'application/json' },
    payload: '{"query":"{ me }"}',
  });

/** Answered (not refused, not failed), within PROMPT_MS. */
async function answered(router: Router, ip: string) {
  const started = performance.now();
  const response = await ask(router, ip);
  expect(response.statusCode).toBe(200);
  expect(response.json()).toEqual({ data: { me: null } });
  expect(performance.now() - started).toBeLessThan(PROMPT_MS);
  return response;
}

const rateLimitErrors = (router: Router) => total(router.metrics.cacheErrors, { layer: 'router', type: 'rate_limit' });

/** Waits until the router's limiter counts in Redis (its client connects in the background). */
const countingInRedis = (router: Router, ip: string) =>
  vi.waitFor(async () => expect((await ask(router, ip)).headers['x-ratelimit-limit']).toBe(String(MAX)), {
    timeout: 10_000,
    interval: 100,
  });

/**
 * While `redis` is paused requests go through uncounted within the cache timeout; once it answers
 * again counting resumes by itself, and a fresh client is limited at MAX again.
 */
async function pausedThenLimiting(redis: RedisEnv, { pause, resume }: { pause(): void; resume(): void }) {
  const prefix = testPrefix();
  prefixes.push(prefix);
  const router = await routerOn(redis, prefix);
  const ip = '203.0.113.12';
  await countingInRedis(router, '203.0.113.96');

  pause();
  try {
    const errorsBefore = await rateLimitErrors(router);
    for (let i = 0; i < MAX * 2; i++) {
      const response = await answered(router, ip);
      expect(response.headers['x-ratelimit-limit']).toBeUndefined(); // not counted
    }
    expect(await rateLimitErrors(router)).toBeGreaterThanOrEqual(errorsBefore + MAX * 2);
  } finally {
    resume();
  }

  // (The paused commands, delivered late on resume, landed on the first client's key, not this one's.)
  const fresh = '203.0.113.13';
  await countingInRedis(router, '203.0.113.95');
  const codes: number[] = [];
  for (let i = 0; i <= MAX; i++) codes.push((await ask(router, fresh)).statusCode);
  expect(codes).toEqual([...Array(MAX).fill(200), 429]);
}

describe('rate limit on Redis', () => {
  it('shares one count per client across routers, under the deployment key prefix', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const [a, b] = await Promise.all([routerOn(REDIS, prefix), routerOn(REDIS, prefix)]);
    const ip = '203.0.113.10';
    await countingInRedis(a, '203.0.113.99');
    await countingInRedis(b, '203.0.113.98');
    // (Requests before a client connected failed open and were counted; none may fail from here.)
    const errorsBefore = (await rateLimitErrors(a)) + (await rateLimitErrors(b));

    // Alternating between the two replicas: MAX in all are answered, the next is refused by either.
    const codes: number[] = [];
    for (let i = 0; i < MAX; i++) codes.push((await ask(i % 2 ? b : a, ip)).statusCode);
    expect(codes).toEqual(Array(MAX).fill(200));
    const refusedByA = await ask(a, ip);
    const refusedByB = await ask(b, ip);
    expect([refusedByA.statusCode, refusedByB.statusCode]).toEqual([429, 429]);
    expect(refusedByB.json().errors[0].extensions.code).toBe('RATE_LIMITED');
    expect(Number(refusedByB.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    const redis = testRedis.client();
    try {
      expect(await redis.get(`${prefix}ratelimit:ip:${ip}`)).toBe(String(MAX + 2));
    } finally {
      redis.disconnect();
    }
    // A router on another prefix (another deployment or test run on this Redis) counts apart.
    const otherPrefix = testPrefix();
    prefixes.push(otherPrefix);
    const other = await routerOn(REDIS, otherPrefix);
    await countingInRedis(other, '203.0.113.97');
    expect((await ask(other, ip)).statusCode).toBe(200);
    expect((await rateLimitErrors(a)) + (await rateLimitErrors(b))).toBe(errorsBefore);
  });

  it('shares the IP ceiling across routers too', async () => {
    const issuer = await startIssuer();
    try {
      const prefix = testPrefix();
      prefixes.push(prefix);
      const env = { JWKS_URL: issuer.jwksUrl, RATE_LIMIT_IP_MAX: String(MAX + 2) };
      const [a, b] = await Promise.all([routerOn(REDIS, prefix, env), routerOn(REDIS, prefix, env)]);
      await countingInRedis(a, '203.0.113.96');
      await countingInRedis(b, '203.0.113.95');
      const ip = '203.0.113.12';
      const [first, second] = await Promise.all([issuer.sign('first'), issuer.sign('second')]);
      const signedIn = (router: Router, token: string) =>
        router.app.inject({
          method: 'POST',
          url: '/graphql',
          remoteAddress: ip,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          payload: '{"query":"{ me }"}',
        });
      const codes: number[] = [];
      for (let i = 0; i < MAX; i++) codes.push((await signedIn(i % 2 ? b : a, first)).statusCode);
      // The second user's own bucket is fresh; the address has 2 left, counted in Redis by both routers.
      for (let i = 0; i < 3; i++) codes.push((await signedIn(i % 2 ? a : b, second)).statusCode);
      expect(codes).toEqual([...Array(MAX + 2).fill(200), 429]);
      const redis = testRedis.client();
      try {
        const keys = await testRedis.scan(`${prefix}ratelimit:*ip-all:${ip}`);
        expect(keys).toHaveLength(1);
        expect(await redis.get(keys[0]!)).toBe(String(MAX + 3));
      } finally {
        redis.disconnect();
      }
    } finally {
      await issuer.close();
    }
  });

  it('lets requests through when Redis is unreachable, and counts the failures', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const prefix = testPrefix();
    // On a cluster run, a cluster whose one seed never answers: the client is never ready.
    const router = await routerOn({ ...REDIS, REDIS_URL: `redis://127.0.0.1:${closedPort}` }, prefix);
    const ip = '203.0.113.11';
    for (let i = 0; i < MAX * 2; i++) await answered(router, ip);
    expect(await rateLimitErrors(router)).toBe(MAX * 2);
    expect(await total(router.metrics.rateLimitRejections)).toBe(0);
  });

  // Single Redis only (the `unit-redis` project): the proxy stands in front of one node, and a
  // cluster client learns every node's own address from the cluster and would go around it.
  if (!testRedis.cluster)
    describe('through a proxy to the real Redis', () => {
      let proxy: RedisProxy;
      beforeAll(async () => {
        proxy = await redisProxy(testRedis.target);
      });
      afterAll(() => proxy?.close());

      it('lets requests through within the cache timeout while Redis is paused, then limits again', () =>
        pausedThenLimiting({ ...REDIS, REDIS_URL: proxy.url }, proxy));
    });

  // Cluster only (the `unit-redis-cluster` project, which has redis-server): in place of the proxy,
  // a cluster of this file's own whose every node is stopped and continued (SIGSTOP / SIGCONT).
  if (testRedis.cluster)
    describe('on a Redis Cluster of its own', () => {
      let cluster: RedisClusterProcess;
      beforeAll(async () => {
        cluster = await startRedisCluster(3);
      });
      afterAll(() => cluster?.close());

      it('lets requests through within the cache timeout while the cluster is paused, then limits again', () =>
        pausedThenLimiting(cluster.env, cluster));
    });
});
