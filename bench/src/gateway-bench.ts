/**
 * `npm run bench`: this router against a stock @apollo/gateway and Hive Gateway, on the same
 * subgraphs, the same CPU and the same request streams.
 *
 * - The subgraphs (every one in @shop/registry) start once, in their own child process
 *   (gateways/stack-server.ts): real Postgres for every subgraph with a `<NAME>_DATABASE_URL`,
 *   else one shared PGlite.
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
 *
 * This file is the entry only; the parts live beside it, one concern each: gateways/options.ts
 * (arguments), proc.ts (CPU pinning and /proc sampling), processes.ts (child processes),
 * gateways/catalogue.ts (the gateways and how one starts), gateways/fixtures.ts and
 * gateways/scenarios.ts (the request streams), gateways/load.ts (autocannon runs),
 * gateways/report.ts (Markdown, SVG, JSON) and gateways/main.ts (the run in order).
 *
 * `--topology production` runs gateways/production.ts instead: every subgraph built in its own
 * process on its own PostgreSQL database, CPU of every process per request, open-loop latency at
 * fixed arrival rates and SQL statements per request (see that file for its options).
 */
import { runGatewayBench } from './gateways/main.ts';
import { parseGatewayBenchArgs } from './gateways/options.ts';
import { parseProductionArgs, runProductionBench } from './gateways/production.ts';

const args = process.argv.slice(2);
const at = args.findIndex((a) => a === '--topology' || a.startsWith('--topology='));
const topology = at < 0 ? 'bench' : args[at]!.includes('=') ? args[at]!.split('=')[1] : args[at + 1];
if (at >= 0) args.splice(at, args[at]!.includes('=') ? 1 : 2);
if (topology !== 'bench' && topology !== 'production') throw new Error(`--topology must be production, got ${topology}`);
const ok =
  topology === 'production' ? await runProductionBench(parseProductionArgs(args)) : await runGatewayBench(parseGatewayBenchArgs(args));
if (!ok) process.exitCode = 1;
process.exit();
