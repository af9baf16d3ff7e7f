import { buildSubgraphSchema } from '@apollo/subgraph';
import type { FastifyInstance } from 'fastify';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CACHE_CONTROL_SDL, createInvalidationBus, createLogger, readCacheHints } from '@shop/platform';
import { ByteBudget, createServiceMetrics, createSubgraphServer, InvalidationLog } from '../src/index.ts';

/**
 * Issue 12, "Memory, in bytes": the subgraph cache layer's memory stores are bounded in bytes
 * together, and a value over the per-entry maximum is not stored. `blob(size)` answers a string of
 * `size` characters; each call of its resolver is counted, so a cache hit is a call not made.
 */
const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@inaccessible"])
  ${CACHE_CONTROL_SDL}
  type Query {
    blob(size: Int!, tag: String): String @cacheControl(maxAge: 600)
  }
`);

let calls = 0;
const schema = buildSubgraphSchema({
  typeDefs,
  resolvers: {
    Query: {
      blob: (_: unknown, { size, tag }: { size: number; tag?: string }) => {
        calls++;
        return `${tag ?? ''}${'b'.repeat(size)}`;
      },
    },
  } as never,
});

const logger = createLogger('bounds', 'fatal');
const metrics = createServiceMetrics('bounds', { defaults: false });
let app: FastifyInstance;

beforeAll(async () => {
  app = await createSubgraphServer({
    name: 'bounds',
    schema,
    metrics,
    logger,
    routerSecret: undefined,
    production: false,
    context: (viewer) => ({ viewer }),
    cacheHints: readCacheHints(typeDefs),
    // 100 KB for every memory store together; a value over 30 KB (15,000 characters) is not kept.
    cache: {
      bus: createInvalidationBus({ logger }),
      redisUrl: undefined,
      timeoutMs: 100,
      keyPrefix: 'bounds:',
      maxBytes: 100_000,
      maxEntryBytes: 30_000,
    },
  });
});
afterAll(() => app?.close());

async function blob(size: number, tag = ''): Promise<{ resolved: boolean }> {
  const before = calls;
  const response = await app.inject({ method: 'POST', url: '/graphql', payload: { query: `{ blob(size: ${size}, tag: "${tag}") }` } });
  expect(response.statusCode).toBe(200);
  expect(response.json().data.blob).toHaveLength(size + tag.length);
  return { resolved: calls > before };
}

const skipped = async () =>
  (await metrics.cache.skipped.get()).values.filter((v) => v.labels.reason === 'too_large').reduce((sum, v) => sum + v.value, 0);

describe('subgraph cache byte bounds', () => {
  it('does not store a value over the per-entry maximum, and counts it', async () => {
    const before = await skipped();
    expect(await blob(20_000)).toEqual({ resolved: true });
    expect(await blob(20_000)).toEqual({ resolved: true });
    expect(await skipped()).toBe(before + 2);
    // Under it, the second call is a hit.
    expect(await blob(5_000)).toEqual({ resolved: true });
    expect(await blob(5_000)).toEqual({ resolved: false });
  });

  it('drops the oldest entries once all stores together hold maxBytes', async () => {
    // Ten values of ~20 KB each: 200 KB written into a 100 KB budget (the count bound is 10,000).
    for (let i = 0; i < 10; i++) expect(await blob(10_000, `t${i}-`)).toEqual({ resolved: true });
    expect(await blob(10_000, 't9-')).toEqual({ resolved: false });
    expect(await blob(10_000, 't0-')).toEqual({ resolved: true });
  });
});

describe('ByteBudget', () => {
  it('keeps the sum under the bound, evicting the oldest written that has not expired', () => {
    const evicted: string[] = [];
    const budget = new ByteBudget(1_000, (store, reference) => evicted.push(`${store} ${reference}`));
    const refs = [0, 1, 2].map((i) => budget.admit('s', `k${i}`, 300, i === 0 ? 1 : 60_000, 0));
    expect(budget.bytes).toBe(900);
    // k0 has expired by now: it leaves the ledger without an eviction (its store drops it itself).
    budget.admit('s', 'k3', 300, 60_000, 10);
    expect([budget.bytes, evicted]).toEqual([900, []]);
    // k1 is live: dropped from its store through its reference.
    const k4 = budget.admit('s', 'k4', 300, 60_000, 10);
    expect([budget.bytes, evicted]).toEqual([900, [`s ${refs[1]}`]]);
    // Writing a key again moves it to the end and counts it once.
    expect(budget.admit('s', 'k4', 300, 60_000, 10)).toBe(k4);
    expect(budget.bytes).toBe(900);
  });
});

describe('InvalidationLog', () => {
  it('remembers at most maxTags tags, and treats a request older than what it forgot as touched', () => {
    const log = new InvalidationLog(60_000, 3);
    for (let i = 0; i < 10; i++) log.record([`Order:o${i}`], 100 + i);
    expect(log.size).toBe(3);
    // o0..o6 were forgotten (the last at 106): a request that began at 105 may have missed any of them.
    expect(log.touchedSince(['Product:p1'], 105)).toBe(true);
    // A request that began after the forgotten ones sees only what is remembered.
    expect(log.touchedSince(['Product:p1'], 107)).toBe(false);
    expect(log.touchedSince(['Order:o9'], 107)).toBe(true);
  });
});
