/**
 * `npm run bench`: this router against a stock @apollo/gateway and Hive Gateway, on the same
 * subgraphs, the same CPU and the same request streams.
 *
 * - The five subgraphs start once, in their own child process (gateways/stack-server.ts): real
 *   Postgres for every subgraph with a `<NAME>_DATABASE_URL`, else one shared PGlite.
 * - Each gateway under test then runs in turn in its own child process, pinned with taskset to the
 *   last CPU; this process (autocannon, the load generator) and the subgraphs are pinned to the
 *   others. Gateway CPU and RSS come from /proc/<pid>/stat and /proc/<pid>/status.
 * - Gateways: `router-nodedup` (router/src/index.ts, NODE_ENV=production, ROUTER_CACHE=false,
 *   REQUEST_DEDUP=false, SUBGRAPH_DEDUP=false: the pipeline alone), `router` (the same with the
 *   default in-flight sharing), `router-cache` (the same with ROUTER_CACHE=true), `apollo` (gateways/apollo-stock.ts), `hive`
 *   (gateways/hive.ts).
 * - Scenarios: `listing` (20 products with price, stock and category; page by Zipf), `detail`
 *   (product page, Zipf over all product ids), `history` (signed-in order history, Zipf over 200
 *   customers), `checkout` (10% placeOrder, 50% detail, 30% listing, 10% history), and `direct`
 *   (a product query sent straight to the products subgraph: the ceiling no gateway can beat).
 * - Every response is checked: HTTP 200, no `errors`, the expected shape. Anything else counts as
 *   an error, and any error makes the exit code 1.
 *
 *   --quick            smoke check: small seed, 1 s warm-up + 2 s per run, results to results/quick/
 *   --scenario a,b     scenarios to run (default all)
 *   --gateways a,b     gateways to run (default all; all but router-nodedup with --quick)
 *   --duration S       measured seconds per run (default 20)
 *   --warmup S         warm-up seconds before each measured run (default 5)
 *   --connections N    autocannon connections (default 50; 10 with --quick)
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon, { type Request as CannonRequest } from 'autocannon';
import { freePort } from '@shop/platform/testing';
import { FULL_SEED, SMALL_SEED } from '@shop/subgraph-kit';
import { renderMarkdown, renderSvg, type Row } from './gateways/report.ts';
import { clientOperation, inBatches, logIn, post, type Session } from './graphql.ts';
import { cpuSeconds, pinCpus, ROOT, ROUTER_NODE_FLAGS, rssBytes, spawnTs, startSubgraphs, stopChild, SUBGRAPHS, subgraphUrlEnv, waitForGateway, type SubgraphUrls } from './processes.ts';
import { rng, zipf } from './workload.ts';

// ---------------------------------------------------------------- options

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    scenario: { type: 'string' },
    gateways: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
  },
});
const QUICK = !!values.quick;
const DURATION = Number(values.duration ?? (QUICK ? 2 : 20));
const WARMUP = Number(values.warmup ?? (QUICK ? 1 : 5));
const CONNECTIONS = Number(values.connections ?? (QUICK ? 10 : 50));
const SEED = QUICK ? SMALL_SEED : FULL_SEED;

export const GATEWAYS = {
  // Cache off and no in-flight sharing either: the pipeline alone against the stock gateway's.
  'router-nodedup': {
    label: 'this router (cache off, no dedup)',
    entry: 'router/src/index.ts',
    env: { ROUTER_CACHE: 'false', REQUEST_DEDUP: 'false', SUBGRAPH_DEDUP: 'false' },
    nodeFlags: ROUTER_NODE_FLAGS,
  },
  router: { label: 'this router (cache off)', entry: 'router/src/index.ts', env: { ROUTER_CACHE: 'false' }, nodeFlags: ROUTER_NODE_FLAGS },
  'router-cache': { label: 'this router (cache on)', entry: 'router/src/index.ts', env: { ROUTER_CACHE: 'true' }, nodeFlags: ROUTER_NODE_FLAGS },
  apollo: { label: 'stock @apollo/gateway', entry: 'bench/src/gateways/apollo-stock.ts', env: { APOLLO_TELEMETRY_DISABLED: 'true' }, nodeFlags: [] },
  hive: { label: 'Hive Gateway', entry: 'bench/src/gateways/hive.ts', env: {}, nodeFlags: [] },
} as const;
type GatewayId = keyof typeof GATEWAYS;
const SCENARIOS = ['listing', 'detail', 'history', 'checkout', 'direct'] as const;
type Scenario = (typeof SCENARIOS)[number];

function list<T extends string>(raw: string | undefined, all: readonly T[], what: string): T[] {
  if (!raw) return [...all];
  const picked = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const p of picked) if (!all.includes(p as T)) throw new Error(`unknown ${what} "${p}"; one of ${all.join(', ')}`);
  return picked as T[];
}
const scenarios = list(values.scenario, SCENARIOS, 'scenario');
// The smoke check skips `router-nodedup`: the same router process as `router`, only configured
// differently, and leaving it out keeps --quick within its two minutes.
const gateways = values.gateways || !QUICK ? list(values.gateways, Object.keys(GATEWAYS) as GatewayId[], 'gateway') : (Object.keys(GATEWAYS) as GatewayId[]).filter((id) => id !== 'router-nodedup');
for (const [name, n] of [['--duration', DURATION], ['--warmup', WARMUP], ['--connections', CONNECTIONS]] as const) {
  if (!Number.isFinite(n) || n < (name === '--warmup' ? 0 : 1)) throw new Error(`${name} must be a positive number`);
}

// ---------------------------------------------------------------- GraphQL documents

const cpuCount = os.availableParallelism();
const PIN = pinCpus();

const LISTING = clientOperation('ProductListing');
const DETAIL = clientOperation('ProductById');
const HISTORY = clientOperation('OrderHistory');
const PLACE_ORDER = clientOperation('PlaceOrder');
const DIRECT = 'query DirectProduct($id: ID!) { product(id: $id) { id sku name brand description imageUrl } }';

// ---------------------------------------------------------------- workload


interface Fixtures {
  historyUsers: Session[];
  checkoutUsers: Session[];
  checkoutProducts: string[];
}

/** One request to send and how to tell its response is right. */
interface Call {
  body: string;
  token?: string | undefined;
  check: (data: any) => boolean;
}

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null;
const isMoney = (v: unknown) => v === null || (isObject(v) && typeof v.amount === 'string' && Number.isFinite(Number(v.amount)) && typeof v.currency === 'string');

function generator(scenario: Scenario, fixtures: Fixtures, seed = 42): () => Call {
  const random = rng(seed);
  const pages = Math.min(100, Math.floor(SEED.products / 20));
  const page = zipf(pages, random);
  const product = zipf(SEED.products, random);
  const historyUser = zipf(fixtures.historyUsers.length, random);

  const listing = (): Call => {
    const p = page();
    const after = p === 1 ? null : Buffer.from(`product:${(p - 1) * 20}`).toString('base64url');
    return {
      body: JSON.stringify({ query: LISTING, variables: { region: 'IN', first: 20, after } }),
      check: (data) =>
        Array.isArray(data?.products?.edges) &&
        data.products.edges.length === 20 &&
        data.products.edges.every(
          ({ node }: any) => typeof node?.id === 'string' && typeof node.category?.name === 'string' && isMoney(node.price) && typeof node.stock?.inStock === 'boolean',
        ),
    };
  };
  const detail = (): Call => {
    const id = `p${product()}`;
    return {
      body: JSON.stringify({ query: DETAIL, variables: { id, region: 'IN' } }),
      check: (data) => data?.product?.id === id && typeof data.product.name === 'string' && isMoney(data.product.price) && typeof data.product.stock?.available === 'number',
    };
  };
  const history = (): Call => {
    const user = fixtures.historyUsers[historyUser() - 1]!;
    return {
      body: JSON.stringify({ query: HISTORY, variables: { first: 10 } }),
      token: user.token,
      check: (data) => data?.me?.id === user.userId && Array.isArray(data.me.orders?.edges),
    };
  };
  const placeOrder = (): Call => {
    const user = fixtures.checkoutUsers[Math.floor(random() * fixtures.checkoutUsers.length)]!;
    const pool = fixtures.checkoutProducts;
    const first = Math.floor(random() * pool.length);
    const ids = random() < 0.5 ? [pool[first]!] : [pool[first]!, pool[(first + 1 + Math.floor(random() * (pool.length - 1))) % pool.length]!];
    const lines = ids.sort().map((productId) => ({ productId, quantity: 1 }));
    return {
      body: JSON.stringify({ query: PLACE_ORDER, variables: { input: { idempotencyKey: `bench-${randomUUID()}`, region: 'IN', lines } } }),
      token: user.token,
      check: (data) => typeof data?.placeOrder?.id === 'string' && data.placeOrder.lines?.length === lines.length,
    };
  };
  const direct = (): Call => {
    const id = `p${product()}`;
    return { body: JSON.stringify({ query: DIRECT, variables: { id } }), check: (data) => data?.product?.id === id };
  };

  switch (scenario) {
    case 'listing':
      return listing;
    case 'detail':
      return detail;
    case 'history':
      return history;
    case 'direct':
      return direct;
    case 'checkout':
      return () => {
        const r = random();
        return r < 0.1 ? placeOrder() : r < 0.6 ? detail() : r < 0.9 ? listing() : history();
      };
  }
}

// ---------------------------------------------------------------- load

interface RunResult {
  requests: number;
  seconds: number;
  errors: number;
  samples: string[];
  latencies: Float64Array;
  gatewayCpu: number | undefined;
  subgraphCpu: number | undefined;
  peakRss: number | undefined;
}

const percentile = (sorted: Float64Array, p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN);

async function load(url: string, next: () => Call, seconds: number, measure?: { gatewayPid?: number | undefined; subgraphPid?: number | undefined }): Promise<RunResult> {
  let bad = 0;
  const samples: string[] = [];
  const request: CannonRequest = {
    method: 'POST',
    setupRequest(req, context) {
      const call = next();
      context.call = call;
      return {
        ...req,
        method: 'POST',
        body: call.body,
        headers: { 'content-type': 'application/json', accept: 'application/json', ...(call.token ? { authorization: `Bearer ${call.token}` } : {}) },
      };
    },
    onResponse(status, body, context) {
      const call = context.call as Call | undefined;
      let ok = false;
      try {
        const parsed = JSON.parse(body) as { data?: unknown; errors?: unknown[] };
        ok = status === 200 && !parsed.errors?.length && !!call?.check(parsed.data);
      } catch {
        ok = false;
      }
      if (!ok) {
        bad++;
        if (samples.length < 3) samples.push(`HTTP ${status}: ${body.slice(0, 300)}`);
      }
    },
  };
  const latencies: number[] = [];
  let peakRss = rssBytes(measure?.gatewayPid);
  const sampler = setInterval(() => {
    const rss = rssBytes(measure?.gatewayPid);
    if (rss !== undefined) peakRss = Math.max(peakRss ?? 0, rss);
  }, 250);
  const cpuBefore = cpuSeconds(measure?.gatewayPid);
  const subgraphCpuBefore = cpuSeconds(measure?.subgraphPid);
  const started = process.hrtime.bigint();
  const instance = autocannon({ url, connections: CONNECTIONS, duration: seconds, timeout: 30, requests: [request] });
  instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => latencies.push(responseTime));
  const result = await instance;
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuAfter = cpuSeconds(measure?.gatewayPid);
  const subgraphCpuAfter = cpuSeconds(measure?.subgraphPid);
  clearInterval(sampler);
  const sorted = Float64Array.from(latencies).sort();
  return {
    requests: latencies.length,
    seconds: elapsed,
    errors: bad + result.errors,
    samples: result.errors ? [...samples, `${result.errors} socket errors (${result.timeouts} timeouts)`] : samples,
    latencies: sorted,
    gatewayCpu: cpuBefore !== undefined && cpuAfter !== undefined ? (cpuAfter - cpuBefore) / elapsed : undefined,
    subgraphCpu: subgraphCpuBefore !== undefined && subgraphCpuAfter !== undefined ? (subgraphCpuAfter - subgraphCpuBefore) / elapsed : undefined,
    peakRss,
  };
}

// ---------------------------------------------------------------- setup against the subgraphs directly

async function prepare(urls: SubgraphUrls, routerSecret: string): Promise<Fixtures> {
  const users = SEED.users;
  const historyCount = Math.min(200, Math.floor(users / 2));
  const checkoutCount = Math.min(100, users - historyCount);
  const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
  // History users and checkout users are disjoint, so checkouts never change what history reads.
  const historyUsers = await inBatches(range(1, historyCount), 8, (n) => logIn(urls.users, `user${n}@example.com`, 'password'));
  const checkoutUsers = await inBatches(range(users - checkoutCount + 1, checkoutCount), 8, (n) => logIn(urls.users, `user${n}@example.com`, 'password'));
  const admin = await logIn(urls.users, 'admin@example.com', 'admin');
  // Checkout buys from 200 products whose stock in every IN warehouse is raised first, so no
  // order can fail OUT_OF_STOCK (which would count as an error).
  const checkoutProducts = range(1, Math.min(200, SEED.products)).map((n) => `p${n}`);
  const adminHeaders = { 'x-router-secret': routerSecret, 'x-user-id': admin.userId, 'x-user-scopes': 'admin' };
  const { warehouses } = await post(urls.inventory, '{ warehouses(region: IN) { id } }', {}, adminHeaders);
  const adjustments = checkoutProducts.flatMap((productId) => (warehouses as { id: string }[]).map((w) => ({ productId, warehouseId: w.id })));
  for (let i = 0; i < adjustments.length; i += 50) {
    const batch = adjustments.slice(i, i + 50);
    const fields = batch.map((a, j) => `a${j}: adjustStock(productId: ${JSON.stringify(a.productId)}, warehouseId: ${JSON.stringify(a.warehouseId)}, delta: 100000) { available }`);
    await post(urls.inventory, `mutation { ${fields.join(' ')} }`, {}, adminHeaders);
  }
  return { historyUsers, checkoutUsers, checkoutProducts };
}

// ---------------------------------------------------------------- main

const log = (message: string) => console.log(`[${((Date.now() - T0) / 1000).toFixed(0).padStart(4)} s] ${message}`);
const T0 = Date.now();
const routerSecret = randomBytes(24).toString('base64url');
const database = SUBGRAPHS.every((s) => process.env[`${s.toUpperCase()}_DATABASE_URL`])
  ? 'PostgreSQL'
  : SUBGRAPHS.some((s) => process.env[`${s.toUpperCase()}_DATABASE_URL`])
    ? 'PostgreSQL + PGlite'
    : 'PGlite (in memory)';

log(`${QUICK ? 'quick smoke check' : 'full run'}: gateways ${gateways.join(', ')}; scenarios ${scenarios.join(', ')}; ` +
  `${WARMUP} s warm-up + ${DURATION} s per run at ${CONNECTIONS} connections; ${PIN ? `gateway on CPU ${PIN.gateway}, load + subgraphs on CPU ${PIN.rest}` : 'no CPU pinning (taskset missing or one CPU)'}`);
log(`starting subgraphs (${database}, ${SEED.products} products)`);
const { child: stackChild, subgraphUrls } = await startSubgraphs({ ...process.env, ROUTER_SECRET: routerSecret }, QUICK ? 'small' : 'full', PIN?.rest);
log(`subgraphs up; signing in customers and raising checkout stock`);
const fixtures = await prepare(subgraphUrls, routerSecret);

const rows: Row[] = [];
let failed = false;

function record(scenario: Scenario, gateway: string, label: string, result: RunResult) {
  const row: Row = {
    scenario,
    gateway,
    label,
    rps: result.requests / result.seconds,
    p50: percentile(result.latencies, 50),
    p95: percentile(result.latencies, 95),
    p99: percentile(result.latencies, 99),
    requests: result.requests,
    errors: result.errors,
    gatewayCpu: result.gatewayCpu,
    subgraphCpu: result.subgraphCpu,
    peakRssMb: result.peakRss !== undefined ? result.peakRss / 1024 / 1024 : undefined,
  };
  rows.push(row);
  if (result.errors > 0 || result.requests === 0) failed = true;
  log(`  ${scenario.padEnd(9)} ${label.padEnd(24)} ${row.rps.toFixed(0).padStart(6)} req/s  p50 ${row.p50.toFixed(1)} p95 ${row.p95.toFixed(1)} p99 ${row.p99.toFixed(1)} ms  ` +
    `${result.errors} errors  gateway CPU ${row.gatewayCpu?.toFixed(2) ?? '–'}  RSS ${row.peakRssMb?.toFixed(0) ?? '–'} MB  subgraphs CPU ${row.subgraphCpu?.toFixed(2) ?? '–'}`);
  for (const sample of result.samples) log(`    ✗ ${sample}`);
}

try {
  for (const id of gateways) {
    const gateway = GATEWAYS[id];
    const gatewayScenarios = scenarios.filter((s) => s !== 'direct');
    if (!gatewayScenarios.length) break;
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...subgraphUrlEnv(subgraphUrls),
      PORT: String(port),
      HOST: '127.0.0.1',
      ROUTER_SECRET: routerSecret,
      RATE_LIMIT: 'false',
      NODE_ENV: 'production',
      LOG_LEVEL: 'error',
      SUPERGRAPH_PATH: `${ROOT}schema/supergraph.graphql`,
      ...gateway.env,
    };
    const started = Date.now();
    const child = spawnTs(gateway.entry, env, PIN?.gateway, gateway.nodeFlags);
    const url = `http://127.0.0.1:${port}/graphql`;
    await waitForGateway(url, child);
    log(`${gateway.label} ready in ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${child.pid})`);
    try {
      for (const scenario of gatewayScenarios) {
        const next = generator(scenario, fixtures);
        // The first gateway also warms the subgraphs (JIT, their caches, the database's buffers)
        // for every later one, so it gets a second warm-up pass to start from the same state.
        for (let pass = 0; pass < (id === gateways[0] ? 2 : 1); pass++) if (WARMUP > 0) await load(url, next, WARMUP);
        record(scenario, id, gateway.label, await load(url, next, DURATION, { gatewayPid: child.pid, subgraphPid: stackChild.pid }));
      }
    } finally {
      await stopChild(child);
    }
  }
  if (scenarios.includes('direct')) {
    const next = generator('direct', fixtures);
    if (WARMUP > 0) await load(subgraphUrls.products, next, WARMUP);
    // No gateway: the "gateway" figures here are those of the subgraph process itself.
    record('direct', 'direct', 'products subgraph direct', await load(subgraphUrls.products, next, DURATION, { gatewayPid: stackChild.pid, subgraphPid: stackChild.pid }));
  }
} finally {
  await stopChild(stackChild);
}

const meta = {
  date: new Date().toISOString(),
  quick: QUICK,
  cpu: `${os.cpus()[0]?.model ?? 'unknown CPU'} × ${cpuCount}`,
  node: process.version,
  database,
  products: SEED.products,
  duration: DURATION,
  warmup: WARMUP,
  connections: CONNECTIONS,
  order: `${gateways.map((id) => GATEWAYS[id].label).join(', ')}${scenarios.includes('direct') ? ', then the products subgraph direct' : ''} (the first with a double warm-up, as it also warms the subgraphs)`,
  pinning: PIN ? `gateway on CPU ${PIN.gateway}; autocannon and the subgraph process on CPU ${PIN.rest}` : 'none (taskset missing or a single CPU)',
  historyUsers: fixtures.historyUsers.length,
  checkoutUsers: fixtures.checkoutUsers.length,
};
const markdown = renderMarkdown(rows, meta);
console.log(`\n${markdown}`);
const outDir = fileURLToPath(new URL(QUICK ? '../results/quick/' : '../results/', import.meta.url));
if (!existsSync(outDir)) mkdirSync(outDir, { recursive: true });
writeFileSync(`${outDir}gateways.md`, markdown);
writeFileSync(`${outDir}gateways.svg`, renderSvg(rows, meta));
writeFileSync(`${outDir}gateways.json`, `${JSON.stringify({ meta, rows }, null, 2)}\n`);
log(`wrote ${outDir}gateways.md, gateways.svg and gateways.json`);
if (failed) {
  console.error(`FAILED: ${rows.filter((r) => r.errors > 0 || r.requests === 0).map((r) => `${r.scenario}/${r.gateway}: ${r.errors} errors of ${r.requests}`).join('; ')}`);
  process.exitCode = 1;
} else if (QUICK) {
  log(`OK: ${rows.length} runs, ${rows.reduce((n, r) => n + r.requests, 0)} responses, every one HTTP 200 with no errors and the expected shape`);
}
process.exit();
