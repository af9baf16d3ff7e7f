import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@shop/events/testing';
import { freePort } from '@shop/platform/testing';
import { counter } from '../setup/client.ts';
import {
  type BalancerWorld,
  graphql,
  type Haproxy,
  type LoadReport,
  type LoadRequest,
  type RouterProcess,
  startBalancerWorld,
  startHaproxy,
  startLoad,
  startRouterProcess,
  stopChild,
} from './support.ts';

/**
 * Router replicas behind a load balancer (issue 16, section 5): three router processes behind
 * HAProxy, sharing one Redis (entity cache, APQ registrations, rate-limit counts) and one JetStream
 * stream (cache invalidations), over subgraphs started once on databases of this file's own.
 * - A rolling restart of every router under steady load fails no request: each router, on SIGTERM,
 *   answers `/ready` 503 for SHUTDOWN_DELAY_MS while still serving, HAProxy's checks (inter 250 ms,
 *   fall 2) take it out before it stops accepting, and it drains what it has.
 * - `kill -9` of one router under load fails at most its in-flight requests; HAProxy retries the
 *   connections it refuses (and the GETs it cut) on the others and takes it out.
 * - What one replica caches, registers, counts or hears invalidated is seen by the others.
 */
const SERVERS = ['r1', 'r2', 'r3'] as const;
type ServerName = (typeof SERVERS)[number];
const CHECK = { interMs: 250, fall: 2, rise: 2 };
/** Must outlast inter × fall plus a check's own time (see haproxyConfig). */
const SHUTDOWN_DELAY_MS = 2_000;
const CONCURRENCY = 8;

/** The load's mix: a cached product read (response and entity caches), and a search no cache has seen. */
const CACHED_IDS = ['p1', 'p2', 'p3', 'p4'];
const LOAD: LoadRequest[] = [
  ...CACHED_IDS.map((id) => ({
    query: 'query LoadProduct($id: ID!) { product(id: $id) { id name price(region: IN) { amount currency } } }',
    variables: { id },
    check: (data: { product?: { id?: string; price?: { currency?: string } | null } | null }) =>
      data?.product?.id === id && data.product.price?.currency === 'INR',
  })),
  {
    // A fresh search term each time: every layer misses, and products' full-text search runs.
    query: 'query LoadSearch($q: String!) { searchProducts(query: $q, first: 3) { totalCount } }',
    variables: () => ({ q: `zq${Math.random().toString(36).slice(2, 10)}` }),
    check: (data: { searchProducts?: { totalCount?: unknown } }) => typeof data?.searchProducts?.totalCount === 'number',
  },
];

let world: BalancerWorld;
let haproxy: Haproxy;
const ports = {} as Record<ServerName, number>;
const routers = {} as Partial<Record<ServerName, RouterProcess>>;
let routerEnv: Record<string, string | undefined>;
let admin: string;

const direct = (name: ServerName) => `http://127.0.0.1:${ports[name]}/graphql`;
const metricsOf = (name: ServerName) => `http://127.0.0.1:${ports[name]}/metrics`;

/** The env of every router: shared Redis and stream, TRUST_PROXY for HAProxy's X-Forwarded-For, and a limit the load never meets. */
function envFor(overrides: Record<string, string> = {}): Record<string, string | undefined> {
  return {
    ...routerEnv,
    TRUST_PROXY: '1',
    SHUTDOWN_DELAY_MS: String(SHUTDOWN_DELAY_MS),
    CACHE_STATUS_HEADER: 'true',
    ROUTER_CACHE: 'true',
    RESPONSE_CACHE: 'true',
    RATE_LIMIT: 'true',
    RATE_LIMIT_MAX: '1000000',
    RATE_LIMIT_IP_MAX: '1000000',
    ...overrides,
  };
}

async function startRouter(name: ServerName, env = envFor()): Promise<void> {
  routers[name] = await startRouterProcess(ports[name], env);
  await haproxy.waitState(name, 'UP', 30_000);
}

/**
 * SIGTERM, as a pod's termination: HAProxy must see the router DOWN while the process is still
 * there (it is still serving, only `/ready` says 503), and the process must then exit 0 (it
 * drained within DRAIN_TIMEOUT_MS).
 */
async function stopRouter(
  name: ServerName,
): Promise<{ sigtermAt: number; downAfterMs: number; aliveWhenDown: boolean; exitCode: number | null }> {
  const router = routers[name] as RouterProcess;
  const sigtermAt = Date.now();
  router.child.kill('SIGTERM');
  await haproxy.waitState(name, 'DOWN', 10_000);
  const downAfterMs = Date.now() - sigtermAt;
  const aliveWhenDown = router.child.exitCode === null && router.child.signalCode === null;
  const timer = setTimeout(() => router.child.kill('SIGKILL'), 20_000);
  const exitCode = await router.exited;
  clearTimeout(timer);
  return { sigtermAt, downAfterMs, aliveWhenDown, exitCode };
}

/**
 * A router's entity-cache counters (cache_hits_total / cache_misses_total of layer "router", every
 * type but "response", which is the process's own whole-response cache).
 */
async function entityCacheCounts(name: ServerName): Promise<{ hits: number; misses: number }> {
  const text = await (await fetch(metricsOf(name))).text();
  const sum = (metric: string) =>
    text
      .split('\n')
      .filter((line) => line.startsWith(`${metric}{`) && line.includes('layer="router"') && !line.includes('type="response"'))
      .reduce((total, line) => total + Number(line.split(' ').at(-1)), 0);
  return { hits: sum('cache_hits_total'), misses: sum('cache_misses_total') };
}

function summary(label: string, report: LoadReport): string {
  const rate = report.sent / (report.durationMs / 1000);
  return (
    `[e2e-nats] balancer ${label}: ${report.sent} requests in ${(report.durationMs / 1000).toFixed(1)} s ` +
    `(${rate.toFixed(0)}/s, concurrency ${CONCURRENCY}), ${report.failures.length} failed; served by ${JSON.stringify(report.servedBy)}`
  );
}

beforeAll(async () => {
  world = await startBalancerWorld('balancer');
  routerEnv = world.routerEnv;
  for (const name of SERVERS) ports[name] = await freePort();
  const [frontendPort, statsPort] = [await freePort(), await freePort()];
  haproxy = await startHaproxy({ frontendPort, statsPort, servers: SERVERS.map((name) => ({ name, port: ports[name] })), ...CHECK });
  const started = Date.now();
  // One after another: three TypeScript start-ups at once on two cores take longer than in turn.
  for (const name of SERVERS) await startRouter(name);
  process.stderr.write(`[e2e-nats] balancer: three routers UP behind HAProxy in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  const login = await graphql(
    haproxy.url,
    'mutation($email: String!, $password: String!) { logIn(email: $email, password: $password) { token } }',
    { email: 'admin@example.com', password: 'admin' },
  );
  expect(login.body.errors).toBeUndefined();
  admin = login.body.data.logIn.token as string;
});

afterAll(async () => {
  await haproxy?.stop();
  for (const name of SERVERS) await stopChild(routers[name]?.child, 'SIGKILL');
  await world?.close();
});

describe('three routers behind HAProxy, one Redis and one stream', () => {
  it('a rolling restart of every router under steady load fails no request', async () => {
    const load = startLoad({ url: haproxy.url, concurrency: CONCURRENCY, maxMs: 100_000, requests: LOAD });
    const restarts: Record<
      string,
      { downAfterMs: number; aliveWhenDown: boolean; servedAfterSigterm: boolean; exitCode: number | null; ms: number }
    > = {};
    let report: LoadReport;
    try {
      // Traffic on every router before the first one goes.
      await waitFor(() => SERVERS.every((name) => (load.progress().servedBy[name] ?? 0) >= 20), {
        timeoutMs: 20_000,
        intervalMs: 50,
        message: 'the load did not reach every router',
      });
      for (const name of SERVERS) {
        const began = Date.now();
        const { sigtermAt, downAfterMs, aliveWhenDown, exitCode } = await stopRouter(name);
        // The old process has gone and the new one is not started: its last answer was the old one's.
        const servedAfterSigterm = (load.progress().lastServedAt[name] ?? 0) > sigtermAt;
        await startRouter(name);
        restarts[name] = { downAfterMs, aliveWhenDown, servedAfterSigterm, exitCode, ms: Date.now() - began };
        // The new process takes traffic before the next one goes.
        load.mark(name);
        await waitFor(() => (load.progress().servedSinceMark[name]?.[name] ?? 0) >= 20, {
          timeoutMs: 20_000,
          intervalMs: 50,
          message: `the restarted ${name} served nothing`,
        });
      }
    } finally {
      // Stopped whatever happened, so a failed wait above does not leave the load running.
      report = await load.stop();
    }
    console.log(summary('rolling restart', report));
    console.log(`[e2e-nats] balancer rolling restart: per router (SIGTERM → exit → new process UP) ${JSON.stringify(restarts)}`);
    if (report.failures.length) console.log(JSON.stringify(report.failures.slice(0, 10), null, 2));
    expect(report.endedBy).toBe('stop');
    expect(report.failures).toEqual([]);
    expect(report.succeeded).toBe(report.sent);
    // Every restarted process carried traffic (see the marks), and the whole run a good deal.
    expect(report.succeeded).toBeGreaterThan(300);
    for (const name of SERVERS) {
      expect(restarts[name]?.aliveWhenDown, `${name} was still running when HAProxy took it out`).toBe(true);
      // Not ready is not stopped: it answered what HAProxy still sent it until the checks took it out.
      expect(restarts[name]?.servedAfterSigterm, `${name} served after SIGTERM`).toBe(true);
      expect(restarts[name]?.exitCode, `${name} drained and exited 0`).toBe(0);
    }
  });

  it('an entity cached through one router is a hit through the others', async () => {
    const query = 'query Shared($id: ID!) { product(id: $id) { id name price(region: SEA) { amount currency } } }';
    const variables = { id: 'p111' };
    const first = await graphql(direct('r1'), query, variables);
    expect(first.body.errors).toBeUndefined();
    expect(first.body.data.product.price.currency).toBe('SGD');
    expect(first.headers['cache-status']).toContain('router-entity; fwd=miss');
    // r1 writes its entries to Redis after answering: wait until both fetches (products' root
    // field and pricing's entity) are indexed under the product's tag.
    const redis = new Redis(world.redis.url);
    try {
      const tagKey = `${routerEnv.CACHE_KEY_PREFIX}rc:tag:Product:p111`;
      await waitFor(async () => (await redis.zcard(tagKey)) >= 2, {
        timeoutMs: 5_000,
        intervalMs: 20,
        message: 'r1 stored nothing in Redis',
      });
    } finally {
      redis.disconnect();
    }
    for (const name of ['r2', 'r3'] as const) {
      const before = await entityCacheCounts(name);
      const result = await graphql(direct(name), query, variables);
      expect(result.body).toEqual(first.body);
      // Not in this process's own response cache; every entity-cache lookup hit Redis.
      expect(result.headers['cache-status']).toMatch(/router-response; fwd=miss.*router-entity; hit/);
      const after = await entityCacheCounts(name);
      expect(after.hits).toBeGreaterThanOrEqual(before.hits + 2);
      expect(after.misses).toBe(before.misses);
    }
  });

  it('an APQ registered through router 1 is found by its hash through routers 2 and 3', async () => {
    const query = `query ApqShared { product(id: "p112") { id name } }`;
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const extensions = { persistedQuery: { version: 1, sha256Hash } };
    // Unknown everywhere first, so a hit below is the registration made through r1.
    const unknown = await graphql(direct('r2'), undefined, {}, { extensions });
    expect(unknown.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    const registered = await graphql(direct('r1'), query, {}, { extensions });
    expect(registered.body.errors).toBeUndefined();
    expect(registered.body.data.product.id).toBe('p112');
    for (const name of ['r2', 'r3'] as const) {
      for (const method of ['POST', 'GET'] as const) {
        const byHash = await graphql(direct(name), undefined, {}, { extensions, method });
        expect(byHash.status, `${method} to ${name}`).toBe(200);
        expect(byHash.body).toEqual(registered.body);
      }
    }
  });

  it('an admin change made through one router is fresh through the others once its event arrives', async () => {
    const read = 'query Fresh($id: ID!) { product(id: $id) { id listPrice(region: IN) { amount } } }';
    const id = 'p113';
    const amountOn = async (name: ServerName) => {
      const result = await graphql(direct(name), read, { id });
      expect(result.body.errors).toBeUndefined();
      return { amount: result.body.data.product.listPrice.amount as string, cacheStatus: String(result.headers['cache-status']) };
    };
    const before = await amountOn('r2');
    // Cached on r2 and r3 (their own response caches): the old figure would stay until the TTL.
    for (const name of ['r2', 'r3'] as const) {
      const cached = await amountOn(name);
      expect(cached.amount).toBe(before.amount);
      await waitFor(async () => (await amountOn(name)).cacheStatus.includes('router-response; hit'), {
        timeoutMs: 5_000,
        intervalMs: 50,
        message: `${name} did not cache the list price`,
      });
    }
    const amount = (Number(before.amount) + 4.5).toFixed(2);
    const changed = await graphql(
      direct('r1'),
      'mutation($p: ID!, $a: String!) { setListPrice(productId: $p, region: IN, amount: $a) { id listPrice(region: IN) { amount } } }',
      { p: id, a: amount },
      { token: admin },
    );
    expect(changed.body.errors).toBeUndefined();
    expect(changed.body.data.setListPrice.listPrice.amount).toBe(amount);
    const changedAt = Date.now();
    const freshAfter: Record<string, number> = {};
    for (const name of ['r2', 'r3'] as const) {
      await waitFor(async () => (await amountOn(name)).amount === amount, {
        timeoutMs: 10_000,
        intervalMs: 50,
        message: `${name} kept serving the old list price`,
      });
      freshAfter[name] = Date.now() - changedAt;
    }
    console.log(`[e2e-nats] balancer invalidation: the change made through r1 was fresh on ${JSON.stringify(freshAfter)} ms after it`);
  });

  it('kill -9 of one router under load fails at most its in-flight requests', async () => {
    const load = startLoad({ url: haproxy.url, concurrency: CONCURRENCY, maxMs: 60_000, requests: LOAD });
    let killedAt = 0;
    let report: LoadReport;
    try {
      load.mark('start');
      await waitFor(() => SERVERS.every((name) => (load.progress().servedSinceMark.start?.[name] ?? 0) >= 20), {
        timeoutMs: 20_000,
        intervalMs: 50,
        message: 'the load did not reach every router',
      });
      const victim = routers.r2 as RouterProcess;
      victim.child.kill('SIGKILL');
      await victim.exited;
      // Requests sent from here on found it dead, not in flight.
      killedAt = Date.now();
      await haproxy.waitState('r2', 'DOWN', 10_000);
      load.mark('after');
      await waitFor(() => ['r1', 'r3'].every((name) => (load.progress().servedSinceMark.after?.[name] ?? 0) >= 50), {
        timeoutMs: 20_000,
        intervalMs: 50,
        message: 'the other routers did not carry the load',
      });
    } finally {
      report = await load.stop();
    }
    console.log(summary('kill -9', report));
    console.log(
      `[e2e-nats] balancer kill -9: ${report.failures.length} failed requests (${report.failures.map((f) => f.method).join(', ') || 'none'})`,
    );
    if (report.failures.length) console.log(JSON.stringify(report.failures, null, 2));
    expect(report.failures.length).toBeLessThanOrEqual(CONCURRENCY);
    for (const failure of report.failures) {
      expect(failure.startedAt).toBeLessThanOrEqual(killedAt);
      // HAProxy replays a GET the dead router cut (retry-on empty-response), never a POST.
      expect(failure.method).toBe('POST');
    }
    expect(report.succeeded).toBe(report.sent - report.failures.length);
    expect(report.servedSinceMark.after?.r2).toBeUndefined();
    // Back for the rest of the file.
    await startRouter('r2');
  });

  it('the rate limit counts one client address across all three routers, not per router', async () => {
    // A limit small enough to meet: every router restarted (one at a time, as in a deployment)
    // with 10 requests per address per 60 s window.
    const limited = envFor({ RATE_LIMIT_MAX: '10', RATE_LIMIT_IP_MAX: '10', RATE_LIMIT_WINDOW_MS: '60000' });
    for (const name of SERVERS) {
      await stopRouter(name);
      await startRouter(name, limited);
    }
    const query = 'query Limited { product(id: "p114") { id } }';
    const from = async (localAddress: string) => {
      const result = await graphql(haproxy.url, query, {}, { localAddress });
      return { status: result.status, server: result.headers['x-served-by'] as string, code: result.body?.errors?.[0]?.extensions?.code };
    };
    const answers = [];
    for (let i = 0; i < 30; i++) answers.push(await from('127.0.0.71'));
    const allowed = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 429);
    console.log(
      `[e2e-nats] balancer rate limit: 30 requests from 127.0.0.71, ${allowed.length} allowed, ${refused.length} refused; ` +
        `allowed by ${JSON.stringify(countBy(allowed.map((a) => a.server)))}`,
    );
    // Round robin spread them over every router, and the first ten went through.
    expect(new Set(answers.map((a) => a.server))).toEqual(new Set(SERVERS));
    expect(new Set(allowed.map((a) => a.server)).size).toBe(3);
    expect(answers.slice(0, 10).every((a) => a.status === 200)).toBe(true);
    expect(allowed).toHaveLength(10);
    expect(refused).toHaveLength(20);
    expect(new Set(refused.map((a) => a.code))).toEqual(new Set(['RATE_LIMITED']));
    // The count is the client's (X-Forwarded-For), not the balancer's: another address is not limited.
    expect((await from('127.0.0.72')).status).toBe(200);
    const rejections = await Promise.all(SERVERS.map((name) => counter(metricsOf(name), 'rate_limit_rejections_total')));
    expect(rejections.reduce((a, b) => a + b, 0)).toBe(20);
  });
});

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}
