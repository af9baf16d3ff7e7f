/**
 * The deployed topology on one machine, shared by the capacity bench and the production-topology
 * gateway bench: every subgraph built (`node dist/index.js`, as the image runs it) in its own
 * process on its own database of the local PostgreSQL (`<prefix><name>`, dropped and created here,
 * seeded by the subgraph's own start), the payment sandbox in another; and the CPU accounting over
 * those processes and the PostgreSQL backends serving their databases (from /proc).
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { freePort } from '@shop/platform/testing';
import { callsOf, databaseUrlVar, SUBGRAPH_NAMES, type SubgraphName, urlVar } from '@shop/registry';
import { cpuSeconds } from './proc.ts';
import { ROOT, type SubgraphUrls, spawnNode, stopChild } from './processes.ts';

export const PG = { host: process.env.PGHOST ?? '127.0.0.1', port: process.env.PGPORT ?? '5432', user: process.env.PGUSER ?? 'postgres' };
const pgArgs = ['-h', PG.host, '-p', PG.port, '-U', PG.user];

export interface Topology {
  subgraphUrls: SubgraphUrls;
  /** Each subgraph's origin (`/metrics`, `/ready`). */
  origins: Record<SubgraphName, string>;
  subgraphs: Record<SubgraphName, ChildProcess>;
  sandbox: ChildProcess;
  routerSecret: string;
  /** What every service of the topology runs with (HOST, LOG_LEVEL, ROUTER_SECRET, RATE_LIMIT off). */
  env: NodeJS.ProcessEnv;
  databases: string[];
  /** The PostgreSQL backends serving the topology's databases, now. */
  postgresBackends(): number[];
  /** Stops every process and drops the databases. */
  close(): Promise<void>;
}

/** Throws unless every built entry exists (`npm run build`), before minutes of set-up. */
export function requireBuilt(entries: readonly string[]) {
  for (const entry of entries) if (!existsSync(`${ROOT}${entry}`)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
}

/**
 * Recreates `<prefix><name>` for every subgraph, starts the sandbox and the subgraphs (each pinned to
 * `cpus` when given) and resolves once every one is ready. On a failure everything started is stopped.
 */
export async function startTopology(options: {
  databasePrefix: string;
  cpus?: string | undefined;
  log: (m: string) => void;
  /** Extra Node flags for a subgraph's process (the profile bench's `--cpu-prof`). */
  nodeFlags?: (name: SubgraphName) => readonly string[];
}): Promise<Topology> {
  const { databasePrefix, cpus, log, nodeFlags } = options;
  requireBuilt(['payment-sandbox/dist/index.js', ...SUBGRAPH_NAMES.map((name) => `subgraphs/${name}/dist/index.js`)]);
  const databaseOf = (name: SubgraphName) => `${databasePrefix}${name}`;
  const databases = SUBGRAPH_NAMES.map(databaseOf);
  const routerSecret = randomBytes(24).toString('base64url');
  const ports = Object.fromEntries(
    await Promise.all([...SUBGRAPH_NAMES, 'sandbox'].map(async (name) => [name, await freePort()])),
  ) as Record<SubgraphName | 'sandbox', number>;
  const origins = Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, `http://127.0.0.1:${ports[name]}`])) as Record<
    SubgraphName,
    string
  >;
  const subgraphUrls = Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, `${origins[name]}/graphql`])) as SubgraphUrls;
  const env = { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'fatal', ROUTER_SECRET: routerSecret, RATE_LIMIT: 'false' };
  const children: ChildProcess[] = [];
  const close = async () => {
    for (const child of children.reverse()) await stopChild(child);
    for (const db of databases) {
      try {
        execFileSync('dropdb', [...pgArgs, '--if-exists', '--force', db], { stdio: 'ignore' });
      } catch {}
    }
  };
  try {
    log(`recreating databases ${databases.join(', ')} on ${PG.host}:${PG.port}`);
    for (const db of databases) {
      execFileSync('dropdb', [...pgArgs, '--if-exists', '--force', db], { stdio: 'inherit' });
      execFileSync('createdb', [...pgArgs, db], { stdio: 'inherit' });
    }
    const sandbox = spawnNode(['payment-sandbox/dist/index.js'], { ...env, PORT: String(ports.sandbox) }, cpus);
    children.push(sandbox);
    log('starting and seeding the subgraphs, each in its own process');
    const subgraphs = {} as Record<SubgraphName, ChildProcess>;
    for (const name of SUBGRAPH_NAMES) {
      const subgraphEnv = {
        ...env,
        PORT: String(ports[name]),
        [databaseUrlVar(name)]: `postgres://${PG.user}@${PG.host}:${PG.port}/${databaseOf(name)}`,
        PAYMENT_PROVIDER_URL: `http://127.0.0.1:${ports.sandbox}`,
        ...Object.fromEntries(callsOf(name).map((sibling) => [urlVar(sibling), subgraphUrls[sibling]])),
      };
      subgraphs[name] = spawnNode(
        [...(nodeFlags?.(name) ?? []), '--max-old-space-size=512', `subgraphs/${name}/dist/index.js`],
        subgraphEnv,
        cpus,
      );
      children.push(subgraphs[name]);
    }
    for (const name of SUBGRAPH_NAMES) {
      const deadline = Date.now() + 600_000;
      for (;;) {
        if (subgraphs[name].exitCode !== null) throw new Error(`${name} exited with ${subgraphs[name].exitCode}`);
        const up = await fetch(`${origins[name]}/ready`).then(
          (r) => r.ok,
          () => false,
        );
        if (up) break;
        if (Date.now() > deadline) throw new Error(`${name} not ready after 10 minutes`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    return {
      subgraphUrls,
      origins,
      subgraphs,
      sandbox,
      routerSecret,
      env,
      databases,
      postgresBackends: () => postgresBackends(new Set(databases)),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The PostgreSQL backends serving `databases`. */
function postgresBackends(databases: Set<string>): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const title = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      // `postgres: <user> <database> <client> <state>`, after `<cluster>: ` where the server names its cluster (Debian: `15/main: `).
      const db = /^postgres: (?:\S+: )?\S+ (\S+) /.exec(title)?.[1];
      if (db && databases.has(db)) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/** Process groups to account CPU to: each a function giving its pids when a measurement starts. */
export type CpuGroups = Record<string, () => number[]>;

/** The topology's groups: `router` (when given), each subgraph, `sandbox`, and `postgres` (the backends). */
export function topologyGroups(topology: Topology, routerPid?: number): CpuGroups {
  return {
    ...(routerPid ? { router: () => [routerPid] } : {}),
    ...Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, () => [topology.subgraphs[name].pid as number]])),
    sandbox: () => [topology.sandbox.pid as number],
    postgres: topology.postgresBackends,
  };
}

/** Starts counting: `finish()` gives the CPU seconds each group used since. */
export function startCpuMeter(groups: CpuGroups): { finish(): Record<string, number> } {
  const pidsOf = Object.fromEntries(Object.entries(groups).map(([group, pids]) => [group, pids()]));
  const before = Object.fromEntries(Object.entries(pidsOf).map(([group, pids]) => [group, pids.map((pid) => cpuSeconds(pid) ?? 0)]));
  return {
    finish() {
      const used: Record<string, number> = {};
      for (const [group, pids] of Object.entries(pidsOf)) {
        // Backends that ended during the run are not counted (their CPU is lost from /proc); pools keep them open.
        used[group] = pids.reduce((sum, pid, i) => sum + Math.max(0, (cpuSeconds(pid) ?? before[group]![i]!) - before[group]![i]!), 0);
      }
      return used;
    },
  };
}

/** SQL statements each subgraph has sent so far: its /metrics `db_queries_total`, summed over labels (`server`). */
export async function statementCounts(topology: Topology): Promise<Record<SubgraphName, number>> {
  const entries = await Promise.all(
    SUBGRAPH_NAMES.map(async (name) => {
      const text = await (await fetch(`${topology.origins[name]}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        const match = /^db_queries_total(?:\{[^}]*\})?\s+(\S+)/.exec(line);
        if (match) sum += Number(match[1]);
      }
      return [name, sum] as const;
    }),
  );
  return Object.fromEntries(entries) as Record<SubgraphName, number>;
}
