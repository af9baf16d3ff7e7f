/**
 * `npm run bench -- --topology production`: what a request costs end to end on the topology people
 * deploy, for each gateway. Writes bench/results/production.md, .json and .svg (`--quick`:
 * bench/results/quick/, git-ignored).
 *
 * - The topology (../topology.ts, shared with the capacity bench): every subgraph built and in its
 *   own process on its own database of the local PostgreSQL (`shop_production_<name>`, dropped and
 *   created here, seeded by the subgraph's own start), the payment sandbox; each gateway under test
 *   in its own process (our router from router/dist; the peers are bench files run through tsx);
 *   pinned as the gateway bench pins (gateway on the last CPU, load and subgraphs on the others;
 *   PostgreSQL is not ours to pin). The cache-on router uses Redis (REDIS_URL, default
 *   redis://127.0.0.1:6379) under a CACHE_KEY_PREFIX of its own, whose keys are deleted after.
 * - Per gateway and scenario: a closed-loop warm-up, a closed-loop run at `--connections` (the
 *   saturation rate), then open-loop runs (open-loop.ts: latency from the scheduled send time) at
 *   25%, 50% and 75% of the stock gateway's saturation rate for that scenario, measured first in
 *   the same run. The stock gateway runs first, with a double warm-up (it also warms the subgraphs
 *   and the database).
 * - Over the three open-loop runs: CPU seconds of every process of the topology from /proc (the
 *   gateway, each subgraph, the sandbox, the PostgreSQL backends of the five databases) per request,
 *   and each subgraph's SQL statements per request (its /metrics `db_queries_total`, all servers).
 * - Every response is checked (HTTP 200, no `errors`, the expected shape); any error makes the
 *   exit code 1.
 *
 *   --quick            smoke check: 1 s warm-up, 3 s closed loop, 2 s per open-loop point
 *   --scenario a,b     listing, search, detail, history, checkout (default all)
 *   --gateways a,b     any of the gateway bench's ids, `apollo` required (default apollo, router, router-nodedup, router-cache, hive, hive-rust)
 *   --warmup S         closed-loop warm-up seconds (2)
 *   --saturation S     closed-loop measured seconds (10)
 *   --point S          seconds per open-loop point (7)
 *   --connections N    closed-loop connections (32)
 *   --report-from FILE measure nothing: write the reports again from an earlier production.json, beside it
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SUBGRAPH_NAMES, type SubgraphName } from '@shop/registry';
import { FULL_SEED } from '@shop/subgraph-kit';
import { pinCpus } from '../proc.ts';
import { stopChild } from '../processes.ts';
import { startCpuMeter, startTopology, statementCounts, type Topology, topologyGroups } from '../topology.ts';
import { GATEWAY_IDS, GATEWAYS, type GatewayId, startGateway } from './catalogue.ts';
import { prepareFixtures } from './fixtures.ts';
import { load, percentile } from './load.ts';
import { openLoop } from './open-loop.ts';
import { COMMON_OPTIONS, list } from './options.ts';
import { type ClosedLoop, type Point, type ProductionMeta, summarise, writeProductionReports } from './production-report.ts';
import { generator, type Scenario } from './scenarios.ts';

const SCENARIOS = ['listing', 'search', 'detail', 'history', 'checkout'] as const satisfies readonly Scenario[];
const DEFAULT_GATEWAYS: GatewayId[] = ['apollo', 'router', 'router-nodedup', 'router-cache', 'hive', 'hive-rust'];
export const FRACTIONS = [0.25, 0.5, 0.75] as const;

export interface ProductionOptions {
  quick: boolean;
  scenarios: Scenario[];
  /** In the order they run: `apollo` first. */
  gateways: GatewayId[];
  warmup: number;
  saturation: number;
  point: number;
  connections: number;
  /** Measure nothing: write the reports again from an earlier production.json, beside it. */
  reportFrom?: string | undefined;
}

export function parseProductionArgs(args: string[]): ProductionOptions {
  const { values } = parseArgs({
    args,
    options: { ...COMMON_OPTIONS, saturation: { type: 'string' }, point: { type: 'string' }, 'report-from': { type: 'string' } },
  });
  const quick = !!values.quick;
  const scenarios = list(values.scenario, SCENARIOS, 'scenario');
  const gateways = list(values.gateways, GATEWAY_IDS, 'gateway', DEFAULT_GATEWAYS);
  // The arrival rates are fractions of the stock gateway's saturation rate: it is measured first.
  if (!gateways.includes('apollo'))
    throw new Error('--gateways must include apollo: the arrival rates are fractions of its saturation rate');
  const ordered: GatewayId[] = ['apollo', ...gateways.filter((g) => g !== 'apollo')];
  const number = (name: string, raw: string | undefined, fallback: number, min: number) => {
    const n = raw === undefined ? fallback : Number(raw);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}, got ${raw}`);
    return n;
  };
  return {
    quick,
    scenarios,
    gateways: ordered,
    warmup: number('warmup', values.warmup, quick ? 1 : 2, 0),
    saturation: number('saturation', values.saturation, quick ? 3 : 10, 1),
    point: number('point', values.point, quick ? 2 : 7, 1),
    connections: number('connections', values.connections, 32, 1),
    reportFrom: values['report-from'],
  };
}

export async function runProductionBench(options: ProductionOptions): Promise<boolean> {
  if (options.reportFrom) {
    const earlier = JSON.parse(readFileSync(options.reportFrom, 'utf8')) as {
      meta: ProductionMeta;
      saturation: Partial<Record<Scenario, number>>;
      closedLoop: ClosedLoop[];
      points: Point[];
    };
    const outDir = `${dirname(resolve(options.reportFrom))}/`;
    console.log(
      writeProductionReports(outDir, earlier.meta, earlier.saturation, earlier.closedLoop, earlier.points, summarise(earlier.points)),
    );
    return ![...earlier.points, ...earlier.closedLoop].some((r) => r.errors > 0 || r.requests === 0);
  }
  const { quick, scenarios, gateways, warmup, saturation, point, connections } = options;
  const seed = FULL_SEED;
  const t0 = Date.now();
  const log = (message: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${message}`);
  // Before pinning: pinned, this process sees only the CPUs it may run on.
  const cpuCount = os.availableParallelism();
  // The code measured, and how busy the shared machine was before and after (others may run on it).
  const commit = gitCommit();
  const loadBefore = os.loadavg()[0]!;
  const pin = pinCpus();
  const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  const cachePrefix = `bench-production-${randomBytes(6).toString('hex')}:`;
  log(
    `${quick ? 'quick smoke check' : 'full run'}: gateways ${gateways.join(', ')}; scenarios ${scenarios.join(', ')}; ` +
      `${warmup} s warm-up, ${saturation} s closed loop at ${connections} connections, ${point} s per open-loop point; ` +
      `${pin ? `gateway on CPU ${pin.gateway}, load + subgraphs on CPU ${pin.rest}` : 'no CPU pinning'}`,
  );
  const saturationOf: Partial<Record<Scenario, number>> = {};
  const points: Point[] = [];
  const closedLoop: { gateway: GatewayId; scenario: Scenario; rps: number; p50: number; p95: number; errors: number; requests: number }[] =
    [];
  let failed = false;
  let topology: Topology | undefined;
  let users = { history: 0, checkout: 0 };
  let terms = 0;
  try {
    topology = await startTopology({ databasePrefix: 'shop_production_', cpus: pin?.rest, log });
    log('subgraphs up; signing in customers, raising checkout stock, reading search terms');
    const fixtures = await prepareFixtures(topology.subgraphUrls, topology.routerSecret, seed);
    users = { history: fixtures.historyUsers.length, checkout: fixtures.checkoutUsers.length };
    terms = fixtures.searchTerms.length;
    for (const id of gateways) {
      const started = Date.now();
      const cacheEnv = id === 'router-cache' ? { REDIS_URL: redisUrl, CACHE_KEY_PREFIX: cachePrefix } : {};
      // A gateway that does not start is reported and skipped: the others' figures still stand.
      const running = await startGateway(id, topology.subgraphUrls, topology.routerSecret, pin?.gateway, {
        built: true,
        env: cacheEnv,
      }).catch((error: Error) => {
        log(`✗ ${GATEWAYS[id].label} did not start: ${error.message}`);
        failed = true;
        return undefined;
      });
      if (!running) continue;
      const { child, url } = running;
      log(`${GATEWAYS[id].label} ready in ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${child.pid})`);
      try {
        for (const scenario of scenarios) {
          const next = generator(scenario, fixtures, seed);
          for (let pass = 0; pass < (id === gateways[0] ? 2 : 1); pass++) if (warmup > 0) await load(url, next, warmup, connections);
          const closed = await load(url, next, saturation, connections);
          const rps = closed.requests / closed.seconds;
          closedLoop.push({
            gateway: id,
            scenario,
            rps,
            p50: percentile(closed.latencies, 50),
            p95: percentile(closed.latencies, 95),
            errors: closed.errors,
            requests: closed.requests,
          });
          if (closed.errors > 0 || closed.requests === 0) failed = true;
          if (id === 'apollo') saturationOf[scenario] = rps;
          log(
            `  ${scenario.padEnd(9)} ${GATEWAYS[id].label.padEnd(28)} closed loop ${rps.toFixed(0).padStart(5)} req/s  ${closed.errors} errors`,
          );
          for (const sample of closed.samples) log(`    ✗ ${sample}`);
          const stock = saturationOf[scenario];
          if (!stock) continue;
          for (const fraction of FRACTIONS) {
            const rate = fraction * stock;
            const meter = startCpuMeter(topologyGroups(topology, child.pid));
            const statementsBefore = await statementCounts(topology);
            const run = await openLoop(url, next, rate, point);
            const cpu = meter.finish();
            const statementsAfter = await statementCounts(topology);
            const statements = Object.fromEntries(
              SUBGRAPH_NAMES.map((name) => [name, statementsAfter[name] - statementsBefore[name]]),
            ) as Record<SubgraphName, number>;
            if (run.errors > 0 || run.requests === 0) failed = true;
            const p = {
              gateway: id,
              label: GATEWAYS[id].label,
              scenario,
              fraction,
              rate,
              scheduled: run.scheduled,
              requests: run.requests,
              errors: run.errors,
              seconds: run.seconds,
              p50: percentile(run.latencies, 50),
              p95: percentile(run.latencies, 95),
              p99: percentile(run.latencies, 99),
              cpuSeconds: cpu,
              statements,
            };
            points.push(p);
            const total = Object.values(cpu).reduce((a, b) => a + b, 0);
            log(
              `    ${(fraction * 100).toFixed(0)}% = ${rate.toFixed(1)} req/s: p50 ${p.p50.toFixed(1)} p95 ${p.p95.toFixed(1)} p99 ${p.p99.toFixed(1)} ms  ` +
                `${run.errors} errors of ${run.scheduled}  CPU ${((total * 1000) / Math.max(1, run.requests)).toFixed(1)} ms/req ` +
                `(router ${(((cpu.router ?? 0) * 1000) / Math.max(1, run.requests)).toFixed(1)})`,
            );
            for (const sample of run.samples) log(`    ✗ ${sample}`);
          }
        }
      } finally {
        await stopChild(child);
        if (id === 'router-cache') deleteKeys(redisUrl, cachePrefix);
      }
    }
  } finally {
    await topology?.close();
  }

  const meta: ProductionMeta = {
    date: new Date().toISOString(),
    commit,
    load: `1-minute load average ${loadBefore.toFixed(1)} before, ${os.loadavg()[0]!.toFixed(1)} after`,
    quick,
    cpu: `${os.cpus()[0]?.model ?? 'unknown CPU'} × ${cpuCount}`,
    subgraphCache: process.env.SUBGRAPH_CACHE ?? 'true',
    node: process.version,
    products: seed.products,
    warmup,
    saturation,
    point,
    connections,
    order: gateways.map((id) => GATEWAYS[id].label).join(', '),
    pinning: pin ? `gateway on CPU ${pin.gateway}; load, subgraphs and sandbox on CPU ${pin.rest}; PostgreSQL and Redis unpinned` : 'none',
    historyUsers: users.history,
    checkoutUsers: users.checkout,
    searchTerms: terms,
  };
  const outDir = fileURLToPath(new URL(quick ? '../../results/quick/' : '../../results/', import.meta.url));
  const markdown = writeProductionReports(outDir, meta, saturationOf, closedLoop, points, summarise(points));
  console.log(`\n${markdown}`);
  log(`wrote ${outDir}production.md, production.svg and production.json`);
  if (failed) console.error('FAILED: some runs had errors or no responses (see ✗ above)');
  return !failed;
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** Deletes the cache-on router's keys (only those under its own prefix) from the shared Redis. */
function deleteKeys(redisUrl: string, prefix: string) {
  try {
    const keys = execFileSync('redis-cli', ['-u', redisUrl, '--scan', '--pattern', `${prefix}*`], { encoding: 'utf8', maxBuffer: 1 << 28 })
      .split('\n')
      .filter(Boolean);
    for (let i = 0; i < keys.length; i += 500)
      execFileSync('redis-cli', ['-u', redisUrl, 'unlink', ...keys.slice(i, i + 500)], { stdio: 'ignore' });
  } catch (error) {
    console.error(`could not delete the Redis keys under ${prefix}: ${(error as Error).message}`);
  }
}
