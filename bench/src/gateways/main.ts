/**
 * The gateway comparison's run, in order: subgraphs up, fixtures, each gateway through every
 * scenario, the direct subgraph, then the report. Started by ../gateway-bench.ts; resolves with
 * whether every run was clean (no errors, at least one response).
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { databaseUrlVar, SUBGRAPH_NAMES } from '@shop/registry';
import { pinCpus } from '../proc.ts';
import { startSubgraphs, stopChild } from '../processes.ts';
import { GATEWAYS, startGateway } from './catalogue.ts';
import { prepareFixtures } from './fixtures.ts';
import { load, rowOf, type RunResult } from './load.ts';
import type { GatewayBenchOptions } from './options.ts';
import { renderMarkdown, writeReports, type Meta, type Row } from './report.ts';
import { generator, type Scenario } from './scenarios.ts';

/** Where the subgraphs keep their data: each `<NAME>_DATABASE_URL` set is one on Postgres. */
function databaseLabel(env: NodeJS.ProcessEnv): string {
  const onPostgres = SUBGRAPH_NAMES.filter((name) => env[databaseUrlVar(name)]);
  if (onPostgres.length === SUBGRAPH_NAMES.length) return 'PostgreSQL';
  return onPostgres.length ? 'PostgreSQL + PGlite' : 'PGlite (in memory)';
}

export async function runGatewayBench(options: GatewayBenchOptions): Promise<boolean> {
  const { quick, duration, warmup, connections, seed, scenarios, gateways } = options;
  const cpuCount = os.availableParallelism();
  const pin = pinCpus();
  const t0 = Date.now();
  const log = (message: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${message}`);
  const routerSecret = randomBytes(24).toString('base64url');
  const database = databaseLabel(process.env);

  log(
    `${quick ? 'quick smoke check' : 'full run'}: gateways ${gateways.join(', ')}; scenarios ${scenarios.join(', ')}; ` +
      `${warmup} s warm-up + ${duration} s per run at ${connections} connections; ` +
      `${pin ? `gateway on CPU ${pin.gateway}, load + subgraphs on CPU ${pin.rest}` : 'no CPU pinning (taskset missing or one CPU)'}`,
  );
  log(`starting subgraphs (${database}, ${seed.products} products)`);
  const subgraphEnv = { ...process.env, ROUTER_SECRET: routerSecret };
  const { child: stackChild, subgraphUrls } = await startSubgraphs(subgraphEnv, quick ? 'small' : 'full', pin?.rest);
  log(`subgraphs up; signing in customers and raising checkout stock`);
  const fixtures = await prepareFixtures(subgraphUrls, routerSecret, seed);

  const rows: Row[] = [];
  let failed = false;
  const record = (scenario: Scenario, gateway: string, label: string, result: RunResult) => {
    const row = rowOf(scenario, gateway, label, result);
    rows.push(row);
    if (result.errors > 0 || result.requests === 0) failed = true;
    log(
      `  ${scenario.padEnd(9)} ${label.padEnd(24)} ${row.rps.toFixed(0).padStart(6)} req/s  ` +
        `p50 ${row.p50.toFixed(1)} p95 ${row.p95.toFixed(1)} p99 ${row.p99.toFixed(1)} ms  ` +
        `${result.errors} errors  gateway CPU ${row.gatewayCpu?.toFixed(2) ?? '–'}  RSS ${row.peakRssMb?.toFixed(0) ?? '–'} MB  ` +
        `subgraphs CPU ${row.subgraphCpu?.toFixed(2) ?? '–'}`,
    );
    for (const sample of result.samples) log(`    ✗ ${sample}`);
  };

  try {
    for (const id of gateways) {
      const gatewayScenarios = scenarios.filter((s) => s !== 'direct');
      if (!gatewayScenarios.length) break;
      const started = Date.now();
      const { child, url } = await startGateway(id, subgraphUrls, routerSecret, pin?.gateway);
      log(`${GATEWAYS[id].label} ready in ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${child.pid})`);
      try {
        for (const scenario of gatewayScenarios) {
          const next = generator(scenario, fixtures, seed);
          // The first gateway also warms the subgraphs (JIT, their caches, the database's buffers)
          // for every later one, so it gets a second warm-up pass to start from the same state.
          for (let pass = 0; pass < (id === gateways[0] ? 2 : 1); pass++) if (warmup > 0) await load(url, next, warmup, connections);
          const measure = { gatewayPid: child.pid, subgraphPid: stackChild.pid };
          record(scenario, id, GATEWAYS[id].label, await load(url, next, duration, connections, measure));
        }
      } finally {
        await stopChild(child);
      }
    }
    if (scenarios.includes('direct')) {
      const next = generator('direct', fixtures, seed);
      if (warmup > 0) await load(subgraphUrls.products, next, warmup, connections);
      // No gateway: the "gateway" figures here are those of the subgraph process itself.
      const measure = { gatewayPid: stackChild.pid, subgraphPid: stackChild.pid };
      record('direct', 'direct', 'products subgraph direct', await load(subgraphUrls.products, next, duration, connections, measure));
    }
  } finally {
    await stopChild(stackChild);
  }

  const meta: Meta = {
    date: new Date().toISOString(),
    quick,
    cpu: `${os.cpus()[0]?.model ?? 'unknown CPU'} × ${cpuCount}`,
    node: process.version,
    database,
    products: seed.products,
    duration,
    warmup,
    connections,
    order:
      gateways.map((id) => GATEWAYS[id].label).join(', ') +
      `${scenarios.includes('direct') ? ', then the products subgraph direct' : ''} ` +
      '(the first with a double warm-up, as it also warms the subgraphs)',
    pinning: pin
      ? `gateway on CPU ${pin.gateway}; autocannon and the subgraph process on CPU ${pin.rest}`
      : 'none (taskset missing or a single CPU)',
    historyUsers: fixtures.historyUsers.length,
    checkoutUsers: fixtures.checkoutUsers.length,
  };
  const markdown = renderMarkdown(rows, meta);
  console.log(`\n${markdown}`);
  const outDir = fileURLToPath(new URL(quick ? '../../results/quick/' : '../../results/', import.meta.url));
  writeReports(outDir, rows, meta, markdown);
  log(`wrote ${outDir}gateways.md, gateways.svg and gateways.json`);
  if (failed) {
    const bad = rows.filter((r) => r.errors > 0 || r.requests === 0);
    console.error(`FAILED: ${bad.map((r) => `${r.scenario}/${r.gateway}: ${r.errors} errors of ${r.requests}`).join('; ')}`);
  } else if (quick) {
    const responses = rows.reduce((n, r) => n + r.requests, 0);
    log(`OK: ${rows.length} runs, ${responses} responses, every one HTTP 200 with no errors and the expected shape`);
  }
  return !failed;
}
