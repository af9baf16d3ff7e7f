import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildRouter, type Router } from '@shop/router';
import { readConfig } from '@shop/router/config';
import { subgraphUrlEnv } from '@shop/registry';
import {
  countOutcome,
  hostileGenerator as generator,
  JSON_HEADERS,
  leakPattern,
  problemsOf,
  type HostileRequest as Spec,
  type Outcome,
  type OutcomeCounts,
} from '@shop/stack/hostile-requests';

/**
 * Hostile input (production hardening, point 8): ≥ 10,000 generated requests from a seeded PRNG
 * (a fixed seed unless HOSTILE_SEED gives another) against a router built in this worker process,
 * so its heap can be measured. Everything must be answered with a 4xx in GraphQL's error shape (or
 * a 200), never a 5xx, never a stack trace, internal URL or SQL; the process must see no uncaught
 * exception or unhandled rejection; and after GC the heap must be back near its baseline.
 *
 * The router runs on the shared e2e stack's subgraphs (inject('subgraphUrls')), with rate limiting
 * off (it would turn most of this into 429s) and its default limits otherwise.
 */
const TOTAL = 10_400;
const CONCURRENCY = 16;
/**
 * Fixed by default, so a failure in CI is the same failure on a laptop; HOSTILE_SEED picks another
 * mix (printed at the start either way, to replay it).
 */
const DEFAULT_SEED = 20_261_202;
const SEED = seedFrom(process.env.HOSTILE_SEED);

function seedFrom(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_SEED;
  const seed = Number(value);
  // mulberry32 takes a 32-bit unsigned seed; anything else would quietly become another seed.
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
    throw new Error(`HOSTILE_SEED must be an integer in [0, 2^32), got ${JSON.stringify(value)}`);
  }
  return seed;
}
/**
 * Memory, three ways (heapUsed after four forced GCs each time):
 *
 * 1. Over the mix. What the router may legitimately keep grows only with distinct documents that
 *    pass validation (bombs just under the limits, deep introspection, valid queries with odd
 *    names): Apollo Server's parsed-document LRU and the gateway's query-plan LRU, each bounded at
 *    30 MiB of its JSON-size estimate (an AST takes about twice that on the heap), plus the entity
 *    cache (ROUTER_CACHE_MAX_ENTRIES) and the APQ store (APQ_MAX_ENTRIES; this mix registers
 *    nothing, its hashes never match). Measured 65–76 MB over four seeds, from several hundred
 *    distinct bulky valid documents; the bound is the two 30 MiB LRUs at twice their estimate, so it holds for any seed
 *    and still catches a leak that kept request bodies (> 100 MB sent).
 * 2. Over a replay of the first REPLAY requests of the same mix: their documents are all cached
 *    by then, so growth here is kept per request. 8 MB over 2,600 requests is ~3 KB each.
 * 3. After the router is closed: back to the heap before it was built, within 16 MB, so nothing
 *    outlives it (listeners, timers, pools, the gateway and its caches). The "before" heap is
 *    taken after a first router was built, used once and closed, so modules loaded lazily on
 *    first use count on both sides. (Router.close() once left Apollo Server started, keeping
 *    ~80 MB alive; it now stops it after Fastify has drained.)
 */
const MIX_GROWTH_BOUND_MB = 128;
const REPLAY = 2_600;
const REPLAY_GROWTH_BOUND_MB = 8;
const CLOSED_GROWTH_BOUND_MB = 16;

// ---------------------------------------------------------------------------------------------
// The router under test, and what we look for in its answers

let router: Router | undefined;
let pool: Pool | undefined;
let heapAfterGc: () => number;
let heapBeforeRouter: number;
let origin: string;
const subgraphUrls = inject('subgraphUrls');
const troubles: string[] = [];
const onUncaught = (error: unknown) => troubles.push(`uncaughtException: ${String(error)}`);
const onUnhandled = (reason: unknown) => troubles.push(`unhandledRejection: ${String(reason)}`);

beforeAll(async () => {
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUnhandled);
  heapAfterGc = collectGarbage();
  const { REDIS_URL: _redis, ...inherited } = process.env;
  const routerConfig = () =>
    readConfig({
      ...inherited,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'fatal',
      RATE_LIMIT: 'false',
      ...subgraphUrlEnv(subgraphUrls),
    });
  // A first router, used once and closed: what stays after it is module state, not the router's.
  const warm = await buildRouter({ config: routerConfig() });
  await warm.app.inject({
    method: 'POST',
    url: '/graphql',
    headers: { 'content-type': 'application/json' },
    payload: { query: '{ product(id: "p1") { id name } }' },
  });
  await warm.close();
  heapBeforeRouter = heapAfterGc();
  router = await buildRouter({ config: routerConfig() });
  await router.app.listen({ port: 0, host: '127.0.0.1' });
  origin = `http://127.0.0.1:${(router.app.server.address() as AddressInfo).port}`;
  pool = new Pool(origin, { connections: CONCURRENCY, pipelining: 1, bodyTimeout: 30_000, headersTimeout: 30_000 });
});

afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUnhandled);
  await pool?.close();
  await router?.close();
});

async function send(spec: Spec): Promise<Outcome> {
  try {
    const response = await pool!.request({ method: spec.method, path: spec.path, headers: spec.headers, body: spec.body });
    return { status: response.statusCode, text: await response.body.text() };
  } catch (error) {
    return { status: 0, text: '', transport: `${(error as Error).name}: ${(error as Error).message}` };
  }
}

const SUBGRAPH_PORTS = Object.values(subgraphUrls).map((url) => new URL(url).port);
const LEAK = leakPattern(SUBGRAPH_PORTS);

async function run(specs: () => Spec | undefined, tallies: Map<string, OutcomeCounts>, failures: string[]) {
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let spec = specs(); spec; spec = specs()) {
        const outcome = await send(spec);
        const tally = tallies.get(spec.category) ?? { sent: 0, statuses: {}, codes: {} };
        tallies.set(spec.category, tally);
        countOutcome(tally, outcome);
        const problems = problemsOf(spec, outcome, LEAK);
        if (problems.length && failures.length < 50) {
          const body = typeof spec.body === 'string' ? spec.body : (spec.body?.toString('latin1') ?? '');
          failures.push(
            `[${spec.category}] ${spec.method} ${spec.path.slice(0, 120)} ${JSON.stringify(spec.headers).slice(0, 200)} ` +
              `body=${JSON.stringify(body.slice(0, 200))}(${body.length}) → ${outcome.status}: ${problems.join('; ')} ` +
              `:: ${outcome.text.slice(0, 300)}`,
          );
        } else if (problems.length) failures.push('…');
      }
    }),
  );
}

const MB = 1024 * 1024;
function collectGarbage(): () => number {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  return () => {
    for (let i = 0; i < 4; i++) gc();
    return process.memoryUsage().heapUsed;
  };
}

const TITLE = `answers ${TOTAL.toLocaleString('en')} generated hostile requests without a 5xx, a leak of internals, a crash or heap growth`;

describe('hostile input', () => {
  it(TITLE, async () => {
    const seedSource = SEED === DEFAULT_SEED ? 'the default' : 'from HOSTILE_SEED';
    console.log(`[hostile] seed ${SEED} (${seedSource}); replay with HOSTILE_SEED=${SEED}`);

    // Warm-up: valid queries, then a few of each hostile category from another seed (first-use
    // compilation and lazily loaded modules are not a leak), then the baseline.
    const warm = generator(SEED ^ 0x5bd1e995);
    const warmup = new Map<string, OutcomeCounts>();
    const warmupFailures: string[] = [];
    let left = 300;
    await run(() => (left-- > 0 ? warm.of('valid') : undefined), warmup, warmupFailures);
    const once = [...warm.categories].flatMap((name) => Array.from({ length: 5 }, () => name));
    await run(() => (once.length ? warm.of(once.pop()!) : undefined), warmup, warmupFailures);
    expect(warmupFailures).toEqual([]);
    const baseline = heapAfterGc();

    const gen = generator(SEED);
    const tallies = new Map<string, OutcomeCounts>();
    const failures: string[] = [];
    let remaining = TOTAL;
    let bytesSent = 0;
    const started = Date.now();
    await run(
      () => {
        if (remaining-- <= 0) return undefined;
        const spec = gen.next();
        bytesSent += spec.body?.length ?? 0;
        return spec;
      },
      tallies,
      failures,
    );
    const seconds = (Date.now() - started) / 1000;
    const afterMix = heapAfterGc();

    // The same first REPLAY requests again: every document they carry is already in the router's
    // caches, so whatever the heap gains now is kept per request, i.e. a leak.
    const replay = generator(SEED);
    const replayFailures: string[] = [];
    let replayLeft = REPLAY;
    await run(() => (replayLeft-- > 0 ? replay.next() : undefined), new Map(), replayFailures);
    const afterReplay = heapAfterGc();

    const rows = [...tallies.entries()].sort(([a], [b]) => a.localeCompare(b));
    const sent = rows.reduce((sum, [, t]) => sum + t.sent, 0);
    const fiveHundreds = rows.reduce(
      (sum, [, t]) =>
        sum +
        Object.entries(t.statuses)
          .filter(([s]) => Number(s) >= 500)
          .reduce((n, [, c]) => n + c, 0),
      0,
    );
    console.log(
      `[hostile] ${sent} requests (${(bytesSent / MB).toFixed(1)} MB of bodies) in ${seconds.toFixed(1)} s, ` +
        `${fiveHundreds} answered 5xx, ${failures.length} problems`,
    );
    // No answer, 200s included, may blame the server for the client's input: a NUL in a search
    // text once came back INTERNAL_SERVER_ERROR from products (Postgres refuses the byte); the
    // database layer now answers BAD_USER_INPUT for text it cannot store.
    const internalIn200 = rows.reduce((sum, [, t]) => sum + (t.codes.INTERNAL_SERVER_ERROR ?? 0), 0);
    console.log(`[hostile] INTERNAL_SERVER_ERROR in any answer: ${internalIn200}`);
    for (const [name, tally] of rows) {
      const codes = Object.entries(tally.codes)
        .sort(([, a], [, b]) => b - a)
        .map(([c, n]) => `${c} ${n}`)
        .join(', ');
      console.log(
        `[hostile]   ${name.padEnd(18)} ${String(tally.sent).padStart(5)}  statuses ${JSON.stringify(tally.statuses)}  codes ${codes}`,
      );
    }
    const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
    console.log(
      `[hostile] heap after GC: baseline ${mb(baseline)}, ` +
        `after the mix ${mb(afterMix)} (+${mb(afterMix - baseline)}, bound ${MIX_GROWTH_BOUND_MB} MB), ` +
        `after replaying ${REPLAY} of it ${mb(afterReplay)} (+${mb(afterReplay - afterMix)}, bound ${REPLAY_GROWTH_BOUND_MB} MB)`,
    );

    expect(sent).toBeGreaterThanOrEqual(10_000);
    expect(rows.map(([name]) => name).sort()).toEqual([...gen.categories].sort());
    for (const [, tally] of rows) expect(tally.sent).toBeGreaterThan(100);
    expect(fiveHundreds).toBe(0);
    expect(internalIn200).toBe(0);
    expect(failures).toEqual([]);
    expect(replayFailures).toEqual([]);
    expect(troubles).toEqual([]);
    expect((afterMix - baseline) / MB).toBeLessThan(MIX_GROWTH_BOUND_MB);
    expect((afterReplay - afterMix) / MB).toBeLessThan(REPLAY_GROWTH_BOUND_MB);

    // Still serving, and correctly.
    const check = await send({
      category: 'check',
      method: 'POST',
      path: '/graphql',
      headers: JSON_HEADERS,
      body: JSON.stringify({ query: '{ product(id: "p1") { id name price(region: IN) { currency } } }' }),
    });
    expect(check.status).toBe(200);
    expect(JSON.parse(check.text)).toEqual({ data: { product: { id: 'p1', name: expect.any(String), price: { currency: 'INR' } } } });
    const health = await send({ category: 'check', method: 'GET', path: '/health', headers: {} });
    expect(health.status).toBe(200);

    await pool?.close();
    await router?.close();
    pool = undefined;
    router = undefined;
    const closed = heapAfterGc();
    console.log(
      `[hostile] heap after closing the router: ${mb(closed)}, ` +
        `${mb(closed - heapBeforeRouter)} above the heap before it was built (bound ${CLOSED_GROWTH_BOUND_MB} MB)`,
    );
    expect((closed - heapBeforeRouter) / MB).toBeLessThan(CLOSED_GROWTH_BOUND_MB);
    // 25–70 s depending on the machine; the timeout only guards against a hang.
  }, 300_000);
});
