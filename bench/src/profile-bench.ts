/**
 * `npm run bench:profile -- --scenario listing`: where a gateway's CPU goes under load, on the
 * production topology (../topology.ts). The gateway (default: this router, built, with caches and
 * in-flight sharing off) runs with V8's `--cpu-prof`; the scenario's requests run closed loop for
 * `--seconds`; on exit the profile is written to bench/results/quick/profile-<gateway>-<scenario>.cpuprofile
 * (git-ignored; open it in Chrome DevTools or speedscope) and its self time is printed by function and
 * by package.
 *
 *   --scenario S     listing, search, detail, history, checkout (listing)
 *   --gateway ID     any of the gateway bench's ids (router-nodedup)
 *   --seconds N      measured seconds after a 3 s warm-up (15)
 *   --connections N  closed-loop connections (16)
 *   --top N          functions to print (40)
 *   --subgraphs      profile the five subgraphs too: each one's profile is cut to the measured
 *                    seconds (their start-up seeds the catalogue, which would swamp it), written to
 *                    bench/results/quick/profile-<subgraph>-<scenario>.cpuprofile and summarised the same way.
 *                    They share a core with the load and each other, and V8 samples on wall-clock time, so a
 *                    subgraph waiting for the core counts against whatever it was in (often `writev`,
 *                    whose wake-up of the reader hands the core over): read shares within one profile, and
 *                    CPU per request from the production bench, which reads /proc.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SUBGRAPH_NAMES } from '@shop/registry';
import { FULL_SEED } from '@shop/subgraph-kit';
import { GATEWAY_IDS, type GatewayId, startGateway } from './gateways/catalogue.ts';
import { prepareFixtures } from './gateways/fixtures.ts';
import { load } from './gateways/load.ts';
import { generator, SCENARIOS, type Scenario } from './gateways/scenarios.ts';
import { pinCpus } from './proc.ts';
import { stopChild } from './processes.ts';
import { startTopology, type Topology } from './topology.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  /** µs on the monotonic clock `process.hrtime` reads. */
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The profile's samples taken between `fromUs` and `toUs` (µs, `process.hrtime` clock), the rest dropped. */
export function windowed(profile: CpuProfile, fromUs: number, toUs: number): CpuProfile {
  const samples: number[] = [];
  const timeDeltas: number[] = [];
  let at = profile.startTime;
  for (const [i, id] of profile.samples.entries()) {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < fromUs || at > toUs) continue;
    samples.push(id);
    // A kept sample's delta is the time since the previous one: the first kept counts from the window's start.
    timeDeltas.push(samples.length === 1 ? Math.min(delta, at - fromUs) : delta);
  }
  return { ...profile, startTime: fromUs, endTime: toUs, samples, timeDeltas };
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/** The package a script URL belongs to: `@apollo/gateway`, `graphql`, `router` (ours), `node:` internals. */
export function packageOf(url: string): string {
  if (!url) return '(native / V8)';
  if (url.startsWith('node:')) return 'node:internals';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const ours = url.match(/\/(router|packages\/[\w-]+|subgraphs\/[\w-]+)\/(dist|src)\//);
  return ours ? `(ours) ${ours[1]}` : url;
}

/** Self time in ms by function and by package, largest first. */
export function selfTimes(profile: CpuProfile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (const [i, id] of profile.samples.entries()) selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)' || frame.functionName === '(program)') continue;
    total += us;
    const where = frame.url
      ? `${frame.url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/main\//, '')}:${frame.lineNumber + 1}`
      : '';
    const key = `${frame.functionName || '(anonymous)'} ${where}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const pkg = frame.functionName === '(garbage collector)' ? '(garbage collector)' : packageOf(frame.url);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).map(([k, us]) => [k, us / 1000] as const);
  return { totalMs: total / 1000, functions: sorted(byFunction), packages: sorted(byPackage) };
}

function printSelfTimes(label: string, profile: CpuProfile, requests: number, top: number) {
  const { totalMs, functions, packages } = selfTimes(profile);
  const perRequest = (ms: number) => ((ms / Math.max(1, requests)) * 1000).toFixed(1);
  console.log(
    `\n== ${label}: busy ${totalMs.toFixed(0)} ms in the profile, ~${perRequest(totalMs)} µs per request\n\nby package (self ms, µs/req):`,
  );
  for (const [pkg, ms] of packages.slice(0, 25))
    console.log(`  ${ms.toFixed(0).padStart(7)}  ${perRequest(ms).padStart(7)}  ${((ms / totalMs) * 100).toFixed(1).padStart(5)}%  ${pkg}`);
  console.log(`\nby function (self ms):`);
  for (const [fn, ms] of functions.slice(0, top))
    console.log(`  ${ms.toFixed(0).padStart(7)}  ${((ms / totalMs) * 100).toFixed(1).padStart(5)}%  ${fn}`);
}

async function main() {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string', default: 'listing' },
      gateway: { type: 'string', default: 'router-nodedup' },
      seconds: { type: 'string', default: '15' },
      connections: { type: 'string', default: '16' },
      top: { type: 'string', default: '40' },
      subgraphs: { type: 'boolean', default: false },
    },
  });
  const top = Number(values.top);
  const scenario = values.scenario as Scenario;
  if (!(SCENARIOS as readonly string[]).includes(scenario) || scenario === 'direct') throw new Error(`unknown --scenario ${scenario}`);
  const id = values.gateway as GatewayId;
  if (!GATEWAY_IDS.includes(id)) throw new Error(`unknown --gateway ${id}; one of ${GATEWAY_IDS.join(', ')}`);
  const seconds = Number(values.seconds);
  const connections = Number(values.connections);
  const outDir = fileURLToPath(new URL('../results/quick/', import.meta.url));
  const profDir = `${outDir}profile-tmp/`;
  rmSync(profDir, { recursive: true, force: true });
  mkdirSync(profDir, { recursive: true });
  const pin = pinCpus();
  let topology: Topology | undefined;
  try {
    topology = await startTopology({
      databasePrefix: 'shop_profile_',
      cpus: pin?.rest,
      log: console.log,
      ...(values.subgraphs ? { nodeFlags: (name: string) => ['--cpu-prof', `--cpu-prof-dir=${profDir}${name}/`] } : {}),
    });
    const fixtures = await prepareFixtures(topology.subgraphUrls, topology.routerSecret, FULL_SEED);
    const { child, url } = await startGateway(id, topology.subgraphUrls, topology.routerSecret, pin?.gateway, {
      built: true,
      nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${profDir}`],
    });
    const next = generator(scenario, fixtures, FULL_SEED);
    const warm = await load(url, next, 3, connections);
    const from = nowUs();
    const run = await load(url, next, seconds, connections);
    const to = nowUs();
    await stopChild(child);
    console.log(`${id} ${scenario}: ${run.requests} requests (${run.errors} errors) in ${run.seconds.toFixed(1)} s`);
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('the gateway wrote no profile (did it exit cleanly?)');
    const target = `${outDir}profile-${id}-${scenario}.cpuprofile`;
    renameSync(`${profDir}${file}`, target);
    // The warm-up is in the gateway's profile too: per request is over every request sent.
    printSelfTimes(id, JSON.parse(readFileSync(target, 'utf8')) as CpuProfile, warm.requests + run.requests, top);
    console.log(`\nprofile: ${target}`);
    if (values.subgraphs) {
      // Stopped, each subgraph writes its profile; keep only the measured seconds.
      await topology.close();
      topology = undefined;
      for (const name of SUBGRAPH_NAMES) {
        const written = readdirSync(`${profDir}${name}/`).find((f) => f.endsWith('.cpuprofile'));
        if (!written) throw new Error(`${name} wrote no profile (did it exit cleanly?)`);
        const profile = windowed(JSON.parse(readFileSync(`${profDir}${name}/${written}`, 'utf8')) as CpuProfile, from, to);
        const out = `${outDir}profile-${name}-${scenario}.cpuprofile`;
        writeFileSync(out, JSON.stringify(profile));
        printSelfTimes(`${name} (measured seconds only; wall-clock samples on a shared core)`, profile, run.requests, Math.min(top, 15));
        console.log(`\nprofile: ${out}`);
      }
    }
  } finally {
    rmSync(profDir, { recursive: true, force: true });
    await topology?.close();
  }
}

await main();
