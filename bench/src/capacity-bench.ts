/**
 * `npm run bench:capacity`: what one core of each service serves, for sizing a deployment (README
 * "Capacity and sizing", deploy/kubernetes HPA settings). Writes bench/results/capacity.md and
 * capacity.json (`--quick`: bench/results/quick/, git-ignored).
 *
 * The deployed topology on one machine, every service built (`node dist/index.js`, as the image runs it):
 * - each of the five subgraphs in its own process on its own database of the local PostgreSQL
 *   (`shop_capacity_<name>`, dropped and created by the bench, seeded by the subgraph's own start:
 *   40,000 products, 1,000 customers, 5,000 past orders), the payment sandbox in another;
 * - the router in its own process with the production heap flags, cache off, then cache on;
 * - closed-loop load (autocannon, `--connections`, every response checked) for each mix:
 *   - catalogue: half the web client's ProductListing (a Zipf-drawn page of 20 products with price,
 *     stock and category), half ProductById (Zipf over all 40,000 products);
 *   - checkout: the gateway bench's mix (10% PlaceOrder, 50% product page, 30% listing, 10% order history).
 * - CPU seconds of every process over the measured seconds from /proc: the router, each subgraph,
 *   and the PostgreSQL backends serving the bench's databases. requests/s per core = requests/s ÷
 *   cores used. The machine is saturated (2 cores for everything), so per-core figures, not the
 *   request rate itself, are what carries over to a cluster.
 *
 *   --quick             2 s warm-up + 4 s per run (a smoke run, not for sizing)
 *   --duration S        measured seconds per run (20)
 *   --warmup S          warm-up seconds per run (5)
 *   --connections N     concurrent connections (32)
 *   --target U          the HPA's CPU utilisation target the sizing table assumes (0.65)
 *   --report-from FILE  measure nothing: write the report again from an earlier capacity.json (the
 *                       CPU requests in deploy/kubernetes/base changed, or --target)
 */
import { execSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '@shop/platform/testing';
import { SUBGRAPH_NAMES, subgraphUrlEnv } from '@shop/registry';
import { FULL_SEED } from '@shop/subgraph-kit';
import { parseAllDocuments } from 'yaml';
import { prepareFixtures } from './gateways/fixtures.ts';
import { load } from './gateways/load.ts';
import { type Call, generator } from './gateways/scenarios.ts';
import { ROOT, ROUTER_NODE_FLAGS, spawnNode, stopChild, waitForGateway } from './processes.ts';
import { requireBuilt, startCpuMeter, startTopology, type Topology, topologyGroups } from './topology.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    target: { type: 'string' },
    'report-from': { type: 'string' },
  },
});
/** Writes the report again from an earlier run's capacity.json (after a CPU request changed), measuring nothing. */
const REPORT_FROM = values['report-from'];
const QUICK = !!values.quick;
const number = (name: string, value: string | undefined, fallback: number, min: number, max: number) => {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number in [${min}, ${max}], got ${value}`);
  return n;
};
const DURATION = number('duration', values.duration, QUICK ? 4 : 20, 1, 600);
const WARMUP = number('warmup', values.warmup, QUICK ? 2 : 5, 0, 600);
const CONNECTIONS = number('connections', values.connections, 32, 1, 1000);
const TARGET = number('target', values.target, 0.65, 0.1, 1);
// Each subgraph seeds itself at start (the full development seed): the fixtures must describe that.
const SEED = FULL_SEED;
// Read first: a manifest without a CPU request fails the bench before minutes of measuring.
const cpuRequests = podCpuRequests();
if (!REPORT_FROM) requireBuilt(['router/dist/index.js', ...SUBGRAPH_NAMES.map((name) => `subgraphs/${name}/dist/index.js`)]);

const t0 = Date.now();
const log = (message: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${message}`);

interface Measured {
  mix: string;
  cache: 'off' | 'on';
  rps: number;
  p50: number;
  p95: number;
  requests: number;
  errors: number;
  /** Cores used over the measured seconds, per process group. */
  cores: Record<string, number>;
}
const results: Measured[] = [];
let measuredAt = { date: new Date().toISOString(), commit: 'unknown' };
try {
  measuredAt.commit = execSync('git rev-parse --short HEAD', { cwd: ROOT, encoding: 'utf8' }).trim();
} catch {}

if (REPORT_FROM) {
  const earlier = JSON.parse(readFileSync(REPORT_FROM, 'utf8')) as { date: string; commit: string; results: Measured[] };
  results.push(...earlier.results);
  measuredAt = { date: earlier.date, commit: earlier.commit };
} else {
  let topology: Topology | undefined;
  try {
    topology = await startTopology({ databasePrefix: 'shop_capacity_', log });
    const { subgraphUrls, routerSecret } = topology;
    const routerPort = await freePort();
    log('subgraphs up; signing in customers and raising checkout stock');
    const fixtures = await prepareFixtures(subgraphUrls, routerSecret, SEED);
    const listing = generator('listing', fixtures, SEED, 1);
    const detail = generator('detail', fixtures, SEED, 2);
    let turn = 0;
    const mixes: Record<string, () => () => Call> = {
      catalogue: () => () => (turn++ % 2 === 0 ? listing() : detail()),
      checkout: () => generator('checkout', fixtures, SEED, 3),
    };

    for (const cache of ['off', 'on'] as const) {
      const router = spawnNode(
        [...ROUTER_NODE_FLAGS, 'router/dist/index.js'],
        {
          ...topology.env,
          ...subgraphUrlEnv(subgraphUrls),
          PORT: String(routerPort),
          NODE_ENV: 'production',
          ROUTER_CACHE: String(cache === 'on'),
        },
        undefined,
      );
      const url = `http://127.0.0.1:${routerPort}/graphql`;
      await waitForGateway(url, router);
      try {
        for (const [mix, make] of Object.entries(mixes)) {
          const next = make();
          if (WARMUP > 0) await load(url, next, WARMUP, CONNECTIONS);
          const meter = startCpuMeter(topologyGroups(topology, router.pid));
          const run = await load(url, next, DURATION, CONNECTIONS);
          const cores = Object.fromEntries(Object.entries(meter.finish()).map(([group, used]) => [group, used / run.seconds]));
          const rps = run.requests / run.seconds;
          const at = (p: number) =>
            run.latencies[Math.min(run.latencies.length - 1, Math.ceil(p * run.latencies.length) - 1)] ?? Number.NaN;
          results.push({ mix, cache, rps, p50: at(0.5), p95: at(0.95), requests: run.requests, errors: run.errors, cores });
          log(
            `${mix.padEnd(9)} cache ${cache.padEnd(3)} ${rps.toFixed(0).padStart(5)} req/s  ${run.errors} errors  cores: ${Object.entries(
              cores,
            )
              .map(([group, c]) => `${group} ${c.toFixed(2)}`)
              .join(', ')}`,
          );
          for (const sample of run.samples) log(`    ✗ ${sample}`);
        }
      } finally {
        await stopChild(router);
      }
    }
  } finally {
    await topology?.close();
  }
}

// Report: requests/s per core of each service, the cores per 1,000 requests/s they imply at the HPA's
// target, and the pods that is for the CPU request each Deployment sets (the HPA's 100%).
const groups = ['router', ...SUBGRAPH_NAMES, 'postgres'];
const perCore = (m: Measured, group: string) => (m.cores[group] ? m.rps / m.cores[group]! : Number.POSITIVE_INFINITY);
const coresPer1000 = (m: Measured, group: string) => 1000 / (perCore(m, group) * TARGET);
const podsPer1000 = (m: Measured, group: string) => Math.max(1, Math.ceil(coresPer1000(m, group) / cpuRequests[group]!));
const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '–');
const { commit } = measuredAt;
const header = `| mix | router cache | req/s | p50 ms | p95 ms | errors | ${groups.map((g) => `${g} req/s per core`).join(' | ')} |`;
const rows = results.map(
  (m) =>
    `| ${m.mix} | ${m.cache} | ${fmt(m.rps)} | ${m.p50.toFixed(1)} | ${m.p95.toFixed(1)} | ${m.errors} / ${m.requests} | ${groups.map((g) => fmt(perCore(m, g))).join(' | ')} |`,
);
const services = groups.filter((g) => g !== 'postgres');
const sizing = results.map(
  (m) =>
    `| ${m.mix} | ${m.cache} | ${services.map((g) => `${podsPer1000(m, g)} (${coresPer1000(m, g).toFixed(2)})`).join(' | ')} | ${(m.cores.postgres! * (1000 / m.rps)).toFixed(1)} |`,
);
const markdown = `# Capacity: requests/s per core of each service

Measured ${measuredAt.date.slice(0, 10)} at ${commit} on ${os.cpus()[0]?.model ?? 'CPU'} × ${os.availableParallelism()}, Node ${process.version}${QUICK ? ' (quick: short runs — not for sizing)' : ''}.
Every service built and in its own process (\`node dist/index.js\`), each subgraph on its own database of the local
PostgreSQL (${SEED.products.toLocaleString('en')} products), the router with ${ROUTER_NODE_FLAGS.join(' ')};
closed loop at ${CONNECTIONS} connections, ${WARMUP} s warm-up then ${DURATION} s measured per row, every response checked.
All of it shares 2 cores, so the request rate is this machine's; requests/s per core (requests/s ÷ the cores a
service used over the run, from /proc) is what carries over. \`postgres\` is the backends serving the five databases.

${header}
| --- | --- | ---: | ---: | ---: | ---: | ${groups.map(() => '---:').join(' | ')} |
${rows.join('\n')}

## Pods per 1,000 requests/s

Scaled by the HPA at ${Math.round(TARGET * 100)}% CPU of each pod's CPU request (deploy/kubernetes/base: ${services.map((g) => `${g} ${cpuRequests[g]}`).join(', ')} cores):
pods = ⌈1,000 ÷ (requests/s per core × ${TARGET}) ÷ CPU request⌉; in brackets the cores that is, before rounding.
\`postgres\` is cores of database CPU per 1,000 requests/s as measured (primary and read replicas together).

| mix | router cache | ${services.join(' | ')} | postgres cores |
| --- | --- | ${groups.map(() => '---:').join(' | ')} |
${sizing.join('\n')}

Reproduce: \`npm run bench:capacity\` (needs PostgreSQL at PGHOST/PGPORT, default 127.0.0.1:5432).
`;
const outDir = fileURLToPath(new URL(QUICK ? '../results/quick/' : '../results/', import.meta.url));
mkdirSync(outDir, { recursive: true });
writeFileSync(`${outDir}capacity.md`, markdown);
writeFileSync(
  `${outDir}capacity.json`,
  `${JSON.stringify({ date: measuredAt.date, commit, target: TARGET, cpuRequests, results }, null, 2)}\n`,
);
console.log(`\n${markdown}\nwritten to ${outDir}capacity.md`);
/** Each Deployment's CPU request in cores, from its base manifest (what the HPA's utilisation is a share of). */
function podCpuRequests(): Record<string, number> {
  const requests: Record<string, number> = {};
  for (const service of ['router', ...SUBGRAPH_NAMES]) {
    const docs = parseAllDocuments(readFileSync(`${ROOT}deploy/kubernetes/base/${service}.yaml`, 'utf8')).map((d) => d.toJS());
    const deployment = docs.find((d) => d?.kind === 'Deployment');
    const cpu: unknown = deployment?.spec?.template?.spec?.containers?.[0]?.resources?.requests?.cpu;
    const cores = typeof cpu === 'string' && cpu.endsWith('m') ? Number(cpu.slice(0, -1)) / 1000 : Number(cpu);
    if (!(cores > 0)) throw new Error(`deploy/kubernetes/base/${service}.yaml: no CPU request on its Deployment`);
    requests[service] = cores;
  }
  return requests;
}

const failed = results.some((m) => m.errors > 0 || m.requests === 0);
process.exit(failed ? 1 : 0);
