import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMALL_SEED } from '@shop/subgraph-kit';
import { fileURLToPath } from 'node:url';
import { startStack, type Stack } from '@shop/stack';
import { subgraphUrlEnv } from '@shop/registry';
import { clientFor, logIn, type Send } from '../setup/client.ts';
import { placeOrder, setStock, stockOf, uniqueKey } from '../setup/shop.ts';
import { SOURCE_NODE_ARGS } from '@shop/platform/testing';

/**
 * Cache behaviour that needs Redis: replicas sharing one cache and bus, and Redis failing under
 * load. Runs in the real-services tier (npm run test:services), which has redis-server; each
 * scenario starts a Redis of its own on a free port so it can stop it without disturbing others.
 */
const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 50; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = createServer().listen(port, '127.0.0.1');
      socket.on('listening', () => socket.close(() => resolve(false)));
      socket.on('error', () => resolve(true));
    });
    if (up) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('redis-server did not start (is it installed? this tier needs it)');
}

let redisPort: number;
let redis: ChildProcess;
let stack: Stack;
let second: ChildProcess;
let viaA: Send;
let viaB: Send;
let admin: string;

beforeAll(async () => {
  redisPort = await freePort();
  redis = await startRedis(redisPort);
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const routerSecret = 'e2e-redis-replicas';
  // RATE_LIMIT=false on both replicas: they would share one per-IP count for 127.0.0.1 in this Redis
  // under the load below; the limit has its own tests (router/test/rate-limit*.test.ts).
  // Router A runs without the whole-response cache: it lives in process memory and would answer
  // the outage test's repeated queries before they ever reach Redis. Replica B keeps it, so the
  // replicas test also shows B's response cache dropping what an order through A changed.
  stack = await startStack({
    env: {
      ...process.env,
      REDIS_URL: redisUrl,
      ROUTER_SECRET: routerSecret,
      LOG_LEVEL: 'fatal',
      RATE_LIMIT: 'false',
      RESPONSE_CACHE: 'false',
    },
    freePorts: true,
    seedSize: SMALL_SEED,
  });
  // A second router replica in a process of its own: same subgraphs, same Redis, nothing else shared.
  const urls = stack.subgraphUrls;
  const secondPort = await freePort();
  second = spawn(process.execPath, [...SOURCE_NODE_ARGS, fileURLToPath(new URL('../../router/src/index.ts', import.meta.url))], {
    stdio: 'ignore',
    env: {
      ...process.env,
      PORT: String(secondPort),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'fatal',
      REDIS_URL: redisUrl,
      ROUTER_SECRET: routerSecret,
      RATE_LIMIT: 'false',
      ...subgraphUrlEnv(urls),
    },
  });
  const secondUrl = `http://127.0.0.1:${secondPort}/graphql`;
  for (let i = 0; ; i++) {
    const ok = await fetch(new URL('/health', secondUrl)).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (i > 300 || second.exitCode !== null) throw new Error('the second router process did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  viaA = clientFor(() => stack.routerUrl);
  viaB = clientFor(() => secondUrl);
  admin = (await logIn('admin@example.com', 'admin', viaA)).token;
}, 120_000);

afterAll(async () => {
  second?.kill('SIGTERM');
  await stack?.close();
  redis?.kill('SIGKILL');
});

describe('with Redis', () => {
  it('invalidates across two router replicas: an order through one shows on the other at once', async () => {
    await setStock(admin, 'p481', 10, 'IN', viaA);
    expect((await stockOf('p481', 'IN', viaB)).available).toBe(10);
    expect((await stockOf('p481', 'IN', viaB)).available).toBe(10); // cached on B
    const buyer = await logIn('user5@example.com', 'password', viaA);
    const order = await placeOrder(buyer.token, uniqueKey('replicas'), [{ productId: 'p481', quantity: 3 }], 'IN', viaA);
    expect(order.errors).toBeUndefined();
    expect((await stockOf('p481', 'IN', viaB)).available).toBe(7);
  });

  it('loses no request when Redis stops mid-run, and caches again when it returns', async () => {
    const documents = Array.from(
      { length: 12 },
      (_, i) => `{ product(id: "p${100 + i}") { name price(region: US) { amount } stock(region: US) { available } } }`,
    );
    let failures = 0;
    let served = 0;
    let stop = false;
    const load = Promise.all(
      Array.from({ length: 4 }, async (_, worker) => {
        for (let i = worker; !stop; i++) {
          const result = await viaA(documents[i % documents.length]!);
          served++;
          if (result.status !== 200 || result.errors || !result.data?.product?.name) failures++;
        }
      }),
    );
    await new Promise((r) => setTimeout(r, 700));
    redis.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 1_500));
    const servedWhileDown = served;
    redis = await startRedis(redisPort);
    await new Promise((r) => setTimeout(r, 2_500)); // clients reconnect in the background
    stop = true;
    await load;
    expect(failures).toBe(0);
    expect(served).toBeGreaterThan(servedWhileDown);

    const metrics = new URL('/metrics', stack.routerUrl).toString();
    const text = await (await fetch(metrics)).text();
    const errors = text
      .split('\n')
      .filter((l) => l.startsWith('cache_errors_total{'))
      .reduce((s, l) => s + Number(l.split(' ').at(-1)), 0);
    expect(errors).toBeGreaterThan(0); // the outage was seen and counted
    const hits = async () =>
      (await (await fetch(metrics)).text())
        .split('\n')
        .filter((l) => l.startsWith('cache_hits_total{') && l.includes('layer="router"'))
        .reduce((s, l) => s + Number(l.split(' ').at(-1)), 0);
    const before = await hits();
    await viaA(documents[0]!);
    await viaA(documents[0]!);
    expect(await hits()).toBeGreaterThan(before);
  });
});
