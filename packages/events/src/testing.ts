import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@shop/platform/testing';

/** Waits until `predicate` holds (polling), failing after `timeoutMs` with `message`. */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  { timeoutMs = 10_000, intervalMs = 10, message = 'the condition did not hold in time' } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(message);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export const NATS_SERVER_BINARY = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

export interface NatsServer {
  url: string;
  port: number;
  storeDir: string;
  /** Stops the server (SIGTERM) and waits for it to exit; its store stays for `start`. */
  stop(): Promise<void>;
  /** Starts it again on the same port and store dir (what a NATS restart is). */
  start(): Promise<void>;
  /** Kills it at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Stops it and removes the store it created. */
  dispose(): Promise<void>;
}

const children = new Set<ChildProcess>();
const createdDirs = new Set<string>();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test run that ends (or crashes) must not leave servers or stores behind.
  process.once('exit', () => {
    for (const child of children) child.kill('SIGKILL');
    for (const dir of createdDirs) rmSync(dir, { recursive: true, force: true });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * A private nats-server with JetStream on a free port, for tests that must not touch the shared
 * one (they stop and restart it). Resolves once it accepts connections.
 */
export async function startNatsServer({ storeDir }: { storeDir?: string } = {}): Promise<NatsServer> {
  installExitHook();
  const port = await freePort();
  const ownDir = storeDir === undefined;
  const dir = storeDir ?? mkdtempSync(join(tmpdir(), 'nats-test-'));
  if (ownDir) createdDirs.add(dir);
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = '';

  async function start() {
    if (child) return;
    output = '';
    const proc = spawn(NATS_SERVER_BINARY, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    children.add(proc);
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4_000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    exited = new Promise<void>((resolve) => {
      proc.once('exit', () => {
        children.delete(proc);
        if (child === proc) child = undefined;
        resolve();
      });
    });
    const deadline = Date.now() + 15_000;
    while (!(await accepts(port))) {
      if (!child) throw new Error(`nats-server exited at start: ${output}`);
      if (Date.now() > deadline) throw new Error(`nats-server did not accept connections on ${port}: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async function signal(sig: NodeJS.Signals) {
    const proc = child;
    if (!proc) return;
    proc.kill(sig);
    await exited;
  }

  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir: dir,
    stop: () => signal('SIGTERM'),
    start,
    kill: () => signal('SIGKILL'),
    async dispose() {
      await signal('SIGTERM');
      if (ownDir) {
        rmSync(dir, { recursive: true, force: true });
        createdDirs.delete(dir);
      }
    },
  };
}
