import { spawn, type ChildProcess } from 'node:child_process';
import { Agent } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, httpOutcome as send, type HttpOutcome } from '@shop/platform/testing';
import { SOURCE_NODE_ARGS } from '@shop/platform/testing';

/**
 * SIGTERM on a real subgraph process (tsx over pricing's src/index.ts, on an empty embedded
 * database) under continuous load.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ENTRY = fileURLToPath(new URL('../src/index.ts', import.meta.url));
const QUERY = JSON.stringify({ query: '{ __typename }' });

interface Started {
  child: ChildProcess;
  port: number;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

async function startPricing(env: Record<string, string>): Promise<Started> {
  const port = await freePort();
  // Not NODE_ENV=test (vitest's): libraries change their signal handling under it (Apollo Server does).
  const { REDIS_URL: _redis, PGLITE_DATA_DIR: _dir, NODE_ENV: _nodeEnv, ...inherited } = process.env;
  const child = spawn(process.execPath, [...SOURCE_NODE_ARGS, ENTRY], {
    cwd: ROOT,
    env: { ...inherited, PORT: String(port), HOST: '127.0.0.1', SEED: 'false', LOG_LEVEL: 'fatal', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let hasExited = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => {
      hasExited = true;
      resolve({ code, signal, at: Date.now() });
    }),
  );
  // Listening once /health answers.
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (hasExited) throw new Error(`pricing exited before listening:\n${output}`);
    if (Date.now() > deadline) throw new Error(`pricing did not listen within 60 s:\n${output}`);
    const probe = await send(port, '/health');
    if (probe.kind === 'response' && probe.status === 200) break;
    await delay(100);
  }
  return { child, port, output: () => output, exited };
}

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  cleanup = [];
});

describe('subgraph shutdown (SIGTERM on the real pricing process)', () => {
  it('turns /ready 503 first while still serving, answers every accepted request with 200, then exits 0', async () => {
    const shutdownDelayMs = 500;
    const drainTimeoutMs = 5_000;
    const pricing = await startPricing({ SHUTDOWN_DELAY_MS: String(shutdownDelayMs), DRAIN_TIMEOUT_MS: String(drainTimeoutMs) });
    cleanup.push(async () => void pricing.child.kill('SIGKILL'));

    const before = await send(pricing.port, '/ready');
    expect(before).toMatchObject({ kind: 'response', status: 200 });
    expect(JSON.parse((before as { body: string }).body)).toEqual({ ready: true });

    // An idle keep-alive connection must not hold the draining subgraph open.
    const keepAlive = new Agent({ keepAlive: true });
    cleanup.push(async () => keepAlive.destroy());
    expect((await send(pricing.port, '/health', undefined, keepAlive)).kind).toBe('response');

    let exited = false;
    void pricing.exited.then(() => (exited = true));
    // The load plays a load balancer: it keeps sending until a probe interval (200 ms) after /ready
    // said 503, well inside SHUTDOWN_DELAY_MS, then stops.
    let loadBalancerStopped = false;
    const outcomes: HttpOutcome[] = [];
    const loops = Array.from({ length: 4 }, async () => {
      while (!exited && !loadBalancerStopped) {
        const outcome = await send(pricing.port, '/graphql', QUERY);
        outcomes.push(outcome);
        if (outcome.kind !== 'response') await delay(10);
      }
    });

    // Serving under load first.
    while (outcomes.filter((o) => o.kind === 'response').length < 20) await delay(10);
    const sigtermAt = Date.now();
    pricing.child.kill('SIGTERM');

    let ready503At: number | undefined;
    let readyBody: unknown;
    while (!exited && ready503At === undefined) {
      const probe = await send(pricing.port, '/ready');
      if (probe.kind === 'response' && probe.status === 503) {
        ready503At = probe.at;
        readyBody = JSON.parse(probe.body);
      } else await delay(10);
    }
    expect(ready503At).toBeDefined();
    await delay(200);
    loadBalancerStopped = true;
    await Promise.all(loops);
    const answeredWhileNotReady = outcomes.filter((o) => o.kind === 'response' && o.at > ready503At!).length;

    // After the delay the listener is closed: a new connection is refused.
    await delay(Math.max(0, ready503At! + shutdownDelayMs + 200 - Date.now()));
    const late = await send(pricing.port, '/graphql', QUERY);
    const { code, signal, at: exitAt } = await pricing.exited;

    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(exitAt - sigtermAt).toBeGreaterThanOrEqual(shutdownDelayMs);
    expect(exitAt - sigtermAt).toBeLessThan(shutdownDelayMs + drainTimeoutMs);
    expect(ready503At!).toBeLessThan(exitAt);
    expect(readyBody).toEqual({ ready: false });

    const responses = outcomes.filter((o) => o.kind === 'response');
    const refused = outcomes.filter((o) => o.kind === 'refused');
    const dropped = outcomes.filter((o) => o.kind === 'dropped');
    // Nothing accepted was cut; nothing was refused either while the load was still sending.
    expect(dropped).toEqual([]);
    expect(refused).toEqual([]);
    for (const response of responses) {
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body)).toEqual({ data: { __typename: 'Query' } });
    }
    // /graphql kept answering 200 while /ready said 503 (the load balancer's window)...
    expect(answeredWhileNotReady).toBeGreaterThan(0);
    // ...and once the listener closed, new connections were refused.
    expect(late.kind).toBe('refused');
    expect(pricing.output()).not.toMatch(/error/i);
  }, 90_000);
});
