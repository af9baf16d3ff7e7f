/**
 * `npm run bench:startup`: start-up time and memory of the router built to JavaScript
 * (`node dist/index.js`, production) against the router on its TypeScript sources through tsx (how
 * every service ran before the build existed, and still runs in development and tests).
 * Writes bench/results/startup.md (`--quick`: bench/results/quick/, git-ignored).
 *
 * - The subgraphs: one child process (gateways/stack-server.ts, small seed), started once.
 * - Each run spawns one router with the production heap flags, in turn built / sources, `--runs`
 *   times each, alternating so drift on the machine falls on both alike, and measures:
 *   - ready: from spawn to the first `{ __typename }` answered 200 (the process loaded, the
 *     supergraph parsed and planned, the listener open);
 *   - RSS at ready, and RSS and peak RSS (VmHWM) after a warm-up of catalogue queries, every
 *     answer checked for data and no errors.
 * - Medians over the runs. The build must be current: the npm script runs `turbo run build` first.
 *
 *   --quick     2 runs each, 100 warm-up queries
 *   --runs N    runs per mode (5)
 */
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '@shop/platform/testing';
import { subgraphUrlEnv } from '@shop/registry';
import { inBatches, post } from './graphql.ts';
import { procStatusBytes, rssBytes } from './proc.ts';
import { ROOT, ROUTER_NODE_FLAGS, spawnNode, spawnTs, startSubgraphs, stopChild, waitForGateway } from './processes.ts';

const { values } = parseArgs({ options: { quick: { type: 'boolean' }, runs: { type: 'string' } } });
const QUICK = !!values.quick;
const RUNS = Number(values.runs ?? (QUICK ? 2 : 5));
if (!Number.isInteger(RUNS) || RUNS < 1 || RUNS > 50) throw new Error(`--runs must be an integer in [1, 50], got ${values.runs}`);
const WARM_UP = QUICK ? 100 : 500;
if (!existsSync(`${ROOT}router/dist/index.js`)) throw new Error('router/dist/index.js is missing: run `npm run build` first');

type Mode = 'built' | 'sources';
interface Sample {
  readyMs: number;
  rssAtReady: number;
  rssWarm: number;
  peakRss: number;
}

const routerSecret = randomBytes(24).toString('base64url');
const { child: subgraphs, subgraphUrls } = await startSubgraphs({ ...process.env, ROUTER_SECRET: routerSecret }, 'small', undefined);
const QUERY =
  'query Listing($after: String) { products(first: 20, after: $after) { edges { node { id name price(region: US) { amount } } } } }';

async function run(mode: Mode): Promise<Sample> {
  const port = await freePort();
  const env = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'fatal',
    RATE_LIMIT: 'false',
    ROUTER_SECRET: routerSecret,
    ...subgraphUrlEnv(subgraphUrls),
  };
  const started = performance.now();
  const child =
    mode === 'built'
      ? spawnNode([...ROUTER_NODE_FLAGS, 'router/dist/index.js'], env, undefined)
      : spawnTs('router/src/index.ts', env, undefined, ROUTER_NODE_FLAGS);
  const url = `http://127.0.0.1:${port}/graphql`;
  try {
    await waitForGateway(url, child);
    const readyMs = performance.now() - started;
    const rssAtReady = rssBytes(child.pid) ?? Number.NaN;
    await inBatches(
      Array.from({ length: WARM_UP }, (_, i) => i),
      8,
      async (i) => {
        // post() throws on a non-200 answer or any error.
        const data = await post(url, QUERY, { first: 5 + (i % 20) });
        if (!Array.isArray(data?.products?.edges))
          throw new Error(`${mode}: a warm-up query answered ${JSON.stringify(data).slice(0, 300)}`);
      },
    );
    return { readyMs, rssAtReady, rssWarm: rssBytes(child.pid) ?? Number.NaN, peakRss: procStatusBytes(child.pid, 'VmHWM') ?? Number.NaN };
  } finally {
    await stopChild(child);
  }
}

const samples: Record<Mode, Sample[]> = { built: [], sources: [] };
try {
  for (let i = 0; i < RUNS; i++) {
    for (const mode of (i % 2 === 0 ? ['built', 'sources'] : ['sources', 'built']) as Mode[]) {
      const sample = await run(mode);
      samples[mode].push(sample);
      console.log(
        `${mode.padEnd(7)} run ${i + 1}: ready ${sample.readyMs.toFixed(0)} ms, RSS ${(sample.rssAtReady / 2 ** 20).toFixed(0)} MiB at ready, ${(sample.rssWarm / 2 ** 20).toFixed(0)} MiB warm, peak ${(sample.peakRss / 2 ** 20).toFixed(0)} MiB`,
      );
    }
  }
} finally {
  await stopChild(subgraphs);
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const row = (label: string, pick: (s: Sample) => number, format: (n: number) => string) => {
  const built = median(samples.built.map(pick));
  const sources = median(samples.sources.map(pick));
  return `| ${label} | ${format(built)} | ${format(sources)} | ${(built / sources).toFixed(2)}× |`;
};
let commit = 'unknown';
try {
  commit = execSync('git rev-parse --short HEAD', { cwd: ROOT, encoding: 'utf8' }).trim();
} catch {}
const report = `# Router start-up: built JavaScript against TypeScript sources

Measured ${new Date().toISOString().slice(0, 10)} at ${commit} on ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}.
${RUNS} runs of each, alternating; medians. Each run: one router process with the production heap flags
(${ROUTER_NODE_FLAGS.join(' ')}) in front of the small-seed subgraphs (one process), then ${WARM_UP} catalogue queries
(8 at a time, every answer checked). \`built\` is \`node router/dist/index.js\` (\`npm start -w @shop/router\`, the
container image); \`sources\` is \`node --conditions=@shop/source --import tsx router/src/index.ts\`.

| | built | sources | built / sources |
| --- | --- | --- | --- |
${row(
  'ready (spawn → first answer)',
  (s) => s.readyMs,
  (n) => `${n.toFixed(0)} ms`,
)}
${row('RSS at ready', (s) => s.rssAtReady, mib)}
${row(`RSS after ${WARM_UP} queries`, (s) => s.rssWarm, mib)}
${row('peak RSS (VmHWM)', (s) => s.peakRss, mib)}

Reproduce: \`npm run bench:startup\` (\`-- --runs N\`, \`-- --quick\`).
`;
const dir = fileURLToPath(new URL(QUICK ? '../results/quick/' : '../results/', import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}startup.md`, report);
console.log(`\n${report}\nwritten to ${dir}startup.md`);
process.exit(0);
