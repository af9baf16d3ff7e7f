/**
 * `npm run bench:cache`: the catalog-browse workload with caching off, then on, on the same seeded
 * stack in one process. Reports the router cache hit ratio and SQL statements per request for
 * each, and the reduction. Figures go to bench/results/cache.md.
 *
 * Workload (seeded, so every run sends the same requests): listing pages (pages of 20 with price,
 * stock and category; page chosen by Zipf), product detail (Zipf over the 40,000 products), and
 * signed-in order history (Zipf over 200 customers).
 *
 *   --requests N   measured requests per configuration (default 4000)
 *   --warmup N     requests sent first and not measured with caching on, so its figures are a warm,
 *                  steady state (default 20000; a cache in production lives for hours, and the
 *                  catalog's long tail makes a short run mostly first visits). Caching off has
 *                  nothing to warm and is measured straight away.
 *   --quick        400 requests and no warm-up, for a smoke check
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FULL_SEED } from '@shop/subgraph-kit';
import { databaseUrlVar, SUBGRAPH_NAMES, type SubgraphName } from '@shop/registry';
import { startStack, type Stack } from '@shop/stack';
import { rng, zipf } from './workload.ts';

const { values } = parseArgs({
  options: { requests: { type: 'string' }, warmup: { type: 'string' }, quick: { type: 'boolean' }, concurrency: { type: 'string' } },
});
const REQUESTS = values.quick ? 400 : Number(values.requests ?? 4000);
const WARMUP = values.quick ? 0 : Number(values.warmup ?? 20000);
const CONCURRENCY = Number(values.concurrency ?? 16);

const LISTING = `query Listing($after: String) { products(first: 20, after: $after) { edges { node {
  id name category { name } price(region: IN) { amount currency } stock(region: IN) { available inStock } } } } }`;
const DETAIL = `query Detail($id: ID!) { product(id: $id) { id name description brand category { name }
  price(region: IN) { amount currency } listPrice(region: IN) { amount } activePromotion(region: IN) { name discountPercent }
  stock(region: IN) { available inStock } shippingEstimate(region: IN) { minDays maxDays cost { amount currency } } } }`;
const HISTORY = `query History { me { id orders(first: 5) { edges { node { id status total { amount currency }
  lines { quantity product { id name } } } } } } }`;

interface Request {
  query: string;
  variables: Record<string, unknown>;
  user?: number;
}

function workload(count: number): Request[] {
  const random = rng(42);
  const product = zipf(FULL_SEED.products, random);
  const page = zipf(100, random);
  const user = zipf(200, random);
  return Array.from({ length: count }, () => {
    const r = random();
    if (r < 0.3) {
      const p = page();
      return { query: LISTING, variables: { after: p === 1 ? null : Buffer.from(`product:${(p - 1) * 20}`).toString('base64url') } };
    }
    if (r < 0.9) return { query: DETAIL, variables: { id: `p${product()}` } };
    return { query: HISTORY, variables: {}, user: user() };
  });
}

async function metric(url: string, name: string, filter = ''): Promise<number> {
  const text = await (await fetch(url)).text();
  return text
    .split('\n')
    .filter((line) => (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && line.includes(filter))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

async function run(label: string, cache: boolean, responseCache = cache) {
  const stack: Stack = await startStack({
    // RATE_LIMIT=false: the bench sends hundreds of requests a second from one address, and measures the caches, not the limit.
    env: {
      ...process.env,
      LOG_LEVEL: 'fatal',
      ROUTER_CACHE: String(cache),
      SUBGRAPH_CACHE: String(cache),
      RESPONSE_CACHE: String(responseCache),
      RATE_LIMIT: 'false',
    },
    freePorts: true,
  });
  try {
    const tokens = new Map<number, string>();
    const tokenFor = async (n: number) => {
      if (!tokens.has(n)) {
        const res = await fetch(stack.routerUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: `mutation { logIn(email: "user${n}@example.com", password: "password") { token } }` }),
        });
        tokens.set(n, ((await res.json()) as any).data.logIn.token);
      }
      return tokens.get(n)!;
    };
    const warmup = cache ? WARMUP : 0;
    // The same stream for both configurations: the measured requests are the last REQUESTS of it.
    const stream = workload(WARMUP + REQUESTS).slice(WARMUP - warmup);
    for (const r of stream) if (r.user) await tokenFor(r.user);
    const send = async (batch: Request[]) => {
      let errors = 0;
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < batch.length) {
            const r = batch[next++]!;
            const res = await fetch(stack.routerUrl, {
              method: 'POST',
              headers: { 'content-type': 'application/json', ...(r.user ? { authorization: `Bearer ${tokens.get(r.user)}` } : {}) },
              body: JSON.stringify({ query: r.query, variables: r.variables }),
            });
            const body = (await res.json()) as { errors?: unknown[] };
            if (res.status !== 200 || body.errors) errors++;
          }
        }),
      );
      return errors;
    };
    await send(stream.slice(0, warmup));
    const requests = stream.slice(warmup);
    const metricsOf = (name: SubgraphName) => new URL('/metrics', stack.subgraphUrls[name]).toString();
    const routerMetrics = new URL('/metrics', stack.routerUrl).toString();
    const sql = async () =>
      (await Promise.all(SUBGRAPH_NAMES.map((s) => metric(metricsOf(s), 'db_queries_total')))).reduce((a, b) => a + b, 0);
    const sqlBefore = await sql();
    const byType = async (name: string) => {
      const text = await (await fetch(routerMetrics)).text();
      const counts: Record<string, number> = {};
      for (const line of text.split('\n')) {
        const match = new RegExp(`^${name}\\{[^}]*layer="router"[^}]*type="([^"]+)"[^}]*\\} (\\S+)`).exec(line);
        if (match) counts[match[1]!] = (counts[match[1]!] ?? 0) + Number(match[2]);
      }
      return counts;
    };
    const hitsByTypeBefore = await byType('cache_hits_total');
    const missesByTypeBefore = await byType('cache_misses_total');
    const started = process.hrtime.bigint();
    const errors = await send(requests);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const statements = (await sql()) - sqlBefore;
    // The hit ratio of the entity cache's lookups (entities and root fetches). Requests the
    // whole-response cache answered make no lookups there; its own ratio is printed with the rest.
    const fetchLevel = (counts: Record<string, number>, before: Record<string, number>) =>
      Object.entries(counts).reduce((sum, [type, n]) => (type === 'response' ? sum : sum + n - (before[type] ?? 0)), 0);
    const hits = fetchLevel(await byType('cache_hits_total'), hitsByTypeBefore);
    const misses = fetchLevel(await byType('cache_misses_total'), missesByTypeBefore);
    const result = {
      label,
      requests: requests.length,
      errors,
      seconds,
      rps: requests.length / seconds,
      sqlPerRequest: statements / requests.length,
      hitRatio: hits + misses > 0 ? hits / (hits + misses) : 0,
      responseHitRatio: responseRatio(
        await byType('cache_hits_total'),
        await byType('cache_misses_total'),
        hitsByTypeBefore,
        missesByTypeBefore,
      ),
    };
    if (cache) {
      const hitsByType = await byType('cache_hits_total');
      const missesByType = await byType('cache_misses_total');
      for (const type of Object.keys({ ...hitsByType, ...missesByType })) {
        const h = (hitsByType[type] ?? 0) - (hitsByTypeBefore[type] ?? 0);
        const m = (missesByType[type] ?? 0) - (missesByTypeBefore[type] ?? 0);
        console.log(`  ${type}: ${h} hits, ${m} misses (${((h / Math.max(1, h + m)) * 100).toFixed(1)}%)`);
      }
    }
    console.log(
      `${label}: ${result.requests} requests in ${seconds.toFixed(1)} s (${result.rps.toFixed(0)}/s), ${errors} errors, ` +
        `${result.sqlPerRequest.toFixed(2)} SQL/request, router hit ratio ${(result.hitRatio * 100).toFixed(1)}%`,
    );
    return result;
  } finally {
    await stack.close();
  }
}

/** Share of requests the whole-response cache answered. */
function responseRatio(
  hits: Record<string, number>,
  misses: Record<string, number>,
  hitsBefore: Record<string, number>,
  missesBefore: Record<string, number>,
): number {
  const h = (hits.response ?? 0) - (hitsBefore.response ?? 0);
  const m = (misses.response ?? 0) - (missesBefore.response ?? 0);
  return h + m > 0 ? h / (h + m) : 0;
}

const off = await run('cache off', false);
// The entity cache's own hit ratio is measured without the response cache in front of it, which
// would otherwise answer the repeated requests before they make any entity lookup.
const entityOnly = await run('cache on, no response cache', true, false);
const on = await run('cache on', true);
const reduction = 1 - on.sqlPerRequest / off.sqlPerRequest;
const storage = process.env.REDIS_URL ? 'Redis' : 'in-process memory';
const database = process.env[databaseUrlVar('products')] ? 'PostgreSQL' : 'PGlite';
const table = [
  `Catalog-browse workload: the same ${REQUESTS} requests measured in each run (caching on: after ${WARMUP} warm-up requests), ` +
    `at concurrency ${CONCURRENCY}; caches on ${storage}, data on ${database}; ` +
    '30% listing pages (Zipf over 100 pages), 60% product detail (Zipf over 40,000 products), ' +
    '10% signed-in order history (Zipf over 200 customers).',
  '',
  '| configuration | requests/s | SQL statements per request | requests answered by the response cache | entity cache hit ratio | errors |',
  '| --- | --- | --- | --- | --- | --- |',
  ...[off, entityOnly, on].map(
    (r) =>
      `| ${r.label} | ${r.rps.toFixed(0)} | ${r.sqlPerRequest.toFixed(2)} | ` +
      `${r === on ? `${(r.responseHitRatio * 100).toFixed(1)}%` : '—'} | ` +
      `${r === off ? '—' : `${(r.hitRatio * 100).toFixed(1)}%`} | ${r.errors} |`,
  ),
  '',
  `SQL statements per request ${(reduction * 100).toFixed(1)}% lower with caching on (goal ≥ 78%); ` +
    `entity cache hit ratio ${(entityOnly.hitRatio * 100).toFixed(1)}% (goal ≥ 92%); ` +
    `${(on.responseHitRatio * 100).toFixed(1)}% of requests answered whole by the response cache.`,
].join('\n');
console.log(`\n${table}`);
if (!values.quick) writeFileSync(new URL('../results/cache.md', import.meta.url), `${table}\n`);
if (off.errors || entityOnly.errors || on.errors) process.exitCode = 1;
