import type { PGlite } from '@electric-sql/pglite';
import type { FastifyInstance } from 'fastify';
import { ADMIN_USER_ID } from '@shop/domain';
import type { Env } from '@shop/platform';
import { testCache } from '@shop/platform/testing';
import { openPglite, SMALL_SEED } from '@shop/subgraph-kit';
import { asUser, metricValue } from '@shop/subgraph-kit/testing';
import { readConfig } from '../src/config.ts';
import { buildServer } from '../src/server.ts';

/** Shared by caching.test.ts and caching.redis.test.ts. */
export const SECRET = 'caching-secret';
export const ADMIN = asUser(ADMIN_USER_ID, ['admin'], SECRET);

export type Replicas = Awaited<ReturnType<typeof startReplicas>>;

/**
 * Two servers on one database and one cache prefix, standing for two replicas: a write through
 * one must drop what the other has cached (over Redis pub/sub with REDIS_URL, in process
 * without). `build` makes more servers on the same database and cache; `close` closes the two,
 * the embedded database and the cache's keys (servers from `build` are the caller's to close).
 */
export async function startReplicas() {
  const cache = testCache();
  // Without a database URL the servers share one embedded database, as replicas share Postgres.
  const pglite: PGlite | undefined = process.env.PRICING_DATABASE_URL ? undefined : await openPglite();
  // Quiet: one test provokes an internal error on purpose (to see its response is not cacheable).
  const env = (more: Env = {}): Env => ({
    PRICING_DATABASE_URL: process.env.PRICING_DATABASE_URL,
    ROUTER_SECRET: SECRET,
    LOG_LEVEL: 'fatal',
    ...cache.env,
    ...more,
  });
  const build = (more: Env = {}) => buildServer({ config: readConfig(env(more)), pglite, seedSize: SMALL_SEED });

  const servers: FastifyInstance[] = [];
  const close = async () => {
    for (const server of servers) await server.close();
    await pglite?.close();
    await cache.cleanup();
  };
  try {
    servers.push(await build());
    servers.push(await build({ SEED: 'false' }));
  } catch (error) {
    await close();
    throw error;
  }
  const [app, replica] = servers as [FastifyInstance, FastifyInstance];
  return { cache, app, replica, build, close };
}

export async function post(
  server: FastifyInstance,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) {
  const response = await server.inject({ method: 'POST', url: '/graphql', payload: { query, variables }, headers });
  return {
    status: response.statusCode,
    cacheControl: response.headers['cache-control'],
    ...(response.json() as { data?: any; errors?: any[] }),
  };
}

/** SQL statements a call costs on a server. */
export async function statements(server: FastifyInstance, call: () => Promise<unknown>) {
  const before = await metricValue(server, 'db_queries_total');
  await call();
  return (await metricValue(server, 'db_queries_total')) - before;
}

export const PROMOTIONS = (region: string) => `{ promotions(region: ${region}) { id name discountPercent active } }`;

/**
 * A product id no seed and no other test run uses (p100000000 and up, past any seed), for a test
 * that writes prices: it creates the prices it reads through setListPrice instead of borrowing
 * seeded products, so test files sharing one database cannot write over each other's.
 */
const RUN_BASE = 100_000_000 + Math.floor(Math.random() * 800_000_000);
let made = 0;
export const newProductId = () => `p${RUN_BASE + made++}`;
