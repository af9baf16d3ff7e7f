import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { freePort } from '../../src/testing.ts';

/**
 * Global setup of the `unit-redis-cluster` project: a real Redis Cluster of three primaries (no
 * replicas), started from `redis-server` on free ports with its nodes.conf files in a temporary
 * directory, created with `redis-cli --cluster create`, and removed on teardown. The project's
 * workers get REDIS_URL (the three nodes, comma-separated) and REDIS_CLUSTER=true; they are set on
 * the project's own env rather than process.env, so a run with `unit-redis` in the same command
 * keeps that project on the single Redis.
 */
const run = promisify(execFile);
const PRIMARIES = 3;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'shop-redis-cluster-'));
  const nodes: { port: number; process: ChildProcess }[] = [];
  const teardown = async () => {
    await Promise.all(nodes.map(({ process }) => stop(process)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < PRIMARIES; i++) {
      // The cluster bus listens on port + 10000: both must be free.
      const port = await freeClusterPort();
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '2000',
          '--dir',
          dir,
          '--save',
          '',
          '--appendonly',
          'no',
          '--logfile',
          join(dir, `redis-${port}.log`),
        ],
        { stdio: 'ignore' },
      );
      nodes.push({ port, process: child });
    }
    await Promise.all(nodes.map(({ port, process }) => answering(port, process)));
    const addresses = nodes.map(({ port }) => `127.0.0.1:${port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes']);
    await Promise.all(nodes.map(({ port }) => clusterOk(port)));
  } catch (error) {
    await teardown();
    throw error;
  }
  const env = (project.config.env ??= {});
  env.REDIS_URL = nodes.map(({ port }) => `redis://127.0.0.1:${port}`).join(',');
  env.REDIS_CLUSTER = 'true';
  return teardown;
}

/** A free port whose cluster bus port (port + 10000) is free too. */
async function freeClusterPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + 10_000 <= 65_535 && (await portFree(port + 10_000))) return port;
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Resolves once the node answers PING; rejects if its process exits first or it never does. */
async function answering(port: number, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${child.exitCode}`);
    try {
      const { stdout } = await run('redis-cli', ['-p', String(port), 'ping']);
      if (stdout.trim() === 'PONG') return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`redis-server on port ${port} did not answer`);
}

/** Resolves once the node reports cluster_state:ok (every slot served, as it sees the cluster). */
async function clusterOk(port: number): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const { stdout } = await run('redis-cli', ['-p', String(port), 'cluster', 'info']);
    if (/^cluster_state:ok\r?$/m.test(stdout)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the Redis Cluster node on port ${port} never reported cluster_state:ok`);
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
