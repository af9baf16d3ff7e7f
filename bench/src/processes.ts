/**
 * The child processes a benchmark runs (the subgraphs, a gateway or the router): starting them
 * (pinned when proc.ts found CPUs to pin to), waiting until they serve, stopping them, and killing
 * any left when the bench exits. Shared by the gateway comparison and the hostile-traffic bench.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SubgraphName } from '@shop/registry';
import { SOURCE_NODE_ARGS } from '@shop/platform/testing';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export type SubgraphUrls = Record<SubgraphName, string>;

/**
 * The V8 heap flags the router runs with in production, taken from its own `start` script
 * (router/package.json) so a bench starts it exactly as `npm start -w @shop/router` does.
 */
export const ROUTER_NODE_FLAGS: readonly string[] =
  (JSON.parse(readFileSync(`${ROOT}router/package.json`, 'utf8')) as { scripts: { start: string } }).scripts.start.match(
    /--max-[\w-]+=\d+/g,
  ) ?? [];

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

/**
 * `node --conditions=@shop/source --import tsx <file>` (one process, so its pid is the one to measure), pinned when possible.
 * Its stderr is this process's unless `stderr: 'pipe'` (then the caller must read `child.stderr`).
 */
export function spawnTs(
  entry: string,
  env: NodeJS.ProcessEnv,
  cpus: string | undefined,
  nodeFlags: readonly string[] = [],
  stderr: 'inherit' | 'pipe' = 'inherit',
): ChildProcess {
  return spawnNode([...nodeFlags, ...SOURCE_NODE_ARGS, entry], env, cpus, stderr);
}

/** `node <args>` as a bench child (pinned when possible, killed when the bench exits); spawnTs for TypeScript entries. */
export function spawnNode(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  cpus: string | undefined,
  stderr: 'inherit' | 'pipe' = 'inherit',
): ChildProcess {
  const options = { cwd: ROOT, env, stdio: ['ignore', 'ignore', stderr, 'ipc'] as ('ignore' | 'inherit' | 'pipe' | 'ipc')[] };
  const child = cpus ? spawn('taskset', ['-c', cpus, process.execPath, ...args], options) : spawn(process.execPath, args, options);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export async function stopChild(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  if (child.connected) child.disconnect(); // our children exit when the parent disconnects
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Every subgraph in one child process (gateways/stack-server.ts), seeded; resolves with the
 * process and the subgraphs' URLs once they all listen. `env` must carry ROUTER_SECRET. Rejects
 * (and kills the process) if they are not up within 10 minutes: a bench never hangs.
 */
export async function startSubgraphs(
  env: NodeJS.ProcessEnv,
  seed: 'small' | 'full',
  cpus: string | undefined,
): Promise<{ child: ChildProcess; subgraphUrls: SubgraphUrls }> {
  const child = spawnTs('bench/src/gateways/stack-server.ts', { ...env, BENCH_SEED: seed, LOG_LEVEL: 'fatal' }, cpus);
  let timer: NodeJS.Timeout | undefined;
  const subgraphUrls = await new Promise<SubgraphUrls>((resolve, reject) => {
    child.once('message', (message: any) =>
      message?.type === 'ready' ? resolve(message.subgraphUrls) : reject(new Error(String(message))),
    );
    child.once('exit', (code) => reject(new Error(`subgraph process exited with ${code}`)));
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('subgraphs not up after 10 minutes'));
    }, 600_000);
  }).finally(() => clearTimeout(timer));
  return { child, subgraphUrls };
}

/** Resolves once `url` answers `{ __typename }` with a 200; rejects if the process exits or after 60 s. */
export async function waitForGateway(url: string, child: ChildProcess) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode} before it was ready`);
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`gateway at ${url} not ready after 60 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
