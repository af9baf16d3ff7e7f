import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type NatsServer, startNatsServer, waitFor } from '@shop/events/testing';
import { freePort, SOURCE_NODE_ARGS } from '@shop/platform/testing';
import { subgraphUrlEnv } from '@shop/registry';
import { type Stack, startStack } from '@shop/stack';
import { createOwnDatabases, STREAM_SEED } from '../stream/support.ts';

/**
 * What the balancer scenario starts besides the stack: a private redis-server, router processes on
 * the TypeScript sources, HAProxy in front of them, and an HTTP client that can choose its source
 * address (every 127.0.0.0/8 address is this machine's loopback, so a test can be many clients).
 * Every child is also killed when the test process exits, however it ends.
 */

const children = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): ChildProcess {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of children) c.kill('SIGKILL');
    });
  }
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function accepts(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The last `max` characters a child wrote, for a failure's message. */
function tail(child: ChildProcess, max = 8_000): () => string {
  let text = '';
  const keep = (chunk: Buffer) => {
    text = (text + chunk.toString()).slice(-max);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => text;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Stops a child with `signal`, then SIGKILL if it is still there after `graceMs`. */
export async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const done = exited(child);
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(timer);
}

export interface RedisServer {
  url: string;
  stop(): Promise<void>;
}

/** A redis-server of this file's own on a free port, nothing saved to disk. */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  const child = track(
    spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const output = tail(child);
  await waitFor(async () => child.exitCode !== null || (await accepts(port)), {
    timeoutMs: 10_000,
    intervalMs: 50,
    message: 'redis-server did not start',
  });
  if (child.exitCode !== null) throw new Error(`redis-server exited (is it installed? this tier needs it):\n${output()}`);
  return { url: `redis://127.0.0.1:${port}`, stop: () => stopChild(child, 'SIGKILL') };
}

const ROUTER_ENTRY = fileURLToPath(new URL('../../router/src/index.ts', import.meta.url));

export interface RouterProcess {
  port: number;
  url: string;
  child: ChildProcess;
  /** Resolves with the exit code when the process has gone (null when a signal ended it). */
  exited: Promise<number | null>;
  output(): string;
}

/** A router in a process of its own, as a pod runs it; resolves once it answers `/health`. */
export async function startRouterProcess(port: number, env: Record<string, string | undefined>): Promise<RouterProcess> {
  const child = track(
    spawn(process.execPath, [...SOURCE_NODE_ARGS, ROUTER_ENTRY], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...env, PORT: String(port), HOST: '127.0.0.1' },
    }),
  );
  const output = tail(child);
  const done = exited(child);
  const url = `http://127.0.0.1:${port}/graphql`;
  const up = async () => {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1_000) });
      return response.ok;
    } catch {
      return false;
    }
  };
  try {
    await waitFor(async () => child.exitCode !== null || (await up()), {
      timeoutMs: 60_000,
      intervalMs: 100,
      message: `the router on port ${port} did not start`,
    });
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}:\n${output()}`);
  }
  if (child.exitCode !== null) throw new Error(`the router on port ${port} exited with ${child.exitCode}:\n${output()}`);
  return { port, url, child, exited: done, output };
}

export interface HaproxySettings {
  frontendPort: number;
  statsPort: number;
  servers: { name: string; port: number }[];
  /** Health check interval (ms); `fall` and `rise` checks in a row move a server DOWN and UP. */
  interMs: number;
  fall: number;
  rise: number;
}

/**
 * The balancer, as a deployment would configure it in front of router replicas:
 * - health: `GET /ready` every `inter` ms (fastinter/downinter too, so state changes are no
 *   slower), `fall` failures take a router out, `rise` successes put it back. The router's
 *   SHUTDOWN_DELAY_MS must outlast inter × fall (plus a check's own time), so the balancer has
 *   stopped sending before the router stops accepting.
 * - `option forwardfor`: X-Forwarded-For gets the client's address appended (a client's own
 *   header is kept in front of it); routers run with TRUST_PROXY=1, so they take the address this
 *   hop appended, which a client cannot forge.
 * - retries: a connection that could not be made (refused: a router gone or not yet listening)
 *   carried nothing, so every request is retried, on another router (`option redispatch 1`). A
 *   request that reached a router which then died (`empty-response`) is retried only when it is a
 *   GET: the router refuses mutations over GET (405), so a GET is always a query and running it
 *   twice changes nothing. A POST may be a mutation (HAProxy cannot tell without reading the
 *   GraphQL body), and a replayed `adjustStock` would move stock twice, so POSTs are never replayed
 *   once sent (`disable-l7-retry`). Timeouts are not retried: a slow query retried on another
 *   router doubles the load exactly when it is highest.
 * - keep-alive on both sides; idle router connections are reused when safe (`http-reuse safe`).
 *   The routers' KEEP_ALIVE_TIMEOUT_MS (72 s) outlasts the balancer's idle server connections, so
 *   the balancer never reuses a socket the router has just closed.
 * - `timeout server` above the router's SUBGRAPH_TIMEOUT_MS (10 s), so a router answering with a
 *   partial result after a subgraph timeout is not cut first.
 * - `x-served-by`: the router that answered, so the test can see the spread.
 * - only abnormal requests are logged (`dontlog-normal`), with server state changes.
 */
export function haproxyConfig({ frontendPort, statsPort, servers, interMs, fall, rise }: HaproxySettings): string {
  return [
    'global',
    '  log stdout format raw local0',
    '  maxconn 1024',
    '  nbthread 1',
    '',
    'defaults',
    '  mode http',
    '  log global',
    '  option httplog',
    '  option dontlog-normal',
    '  option http-keep-alive',
    '  timeout connect 1s',
    '  timeout client 30s',
    '  timeout http-request 10s',
    '  timeout http-keep-alive 15s',
    '  timeout queue 5s',
    '  timeout server 15s',
    '  timeout check 2s',
    '  retries 2',
    '  option redispatch 1',
    '  retry-on conn-failure empty-response',
    '',
    'frontend shop',
    `  bind 127.0.0.1:${frontendPort}`,
    '  option forwardfor',
    '  http-request disable-l7-retry unless METH_GET',
    '  default_backend routers',
    '',
    'backend routers',
    '  balance roundrobin',
    '  option httpchk GET /ready',
    '  http-check expect status 200',
    '  http-reuse safe',
    '  http-response set-header x-served-by %[srv_name]',
    `  default-server check inter ${interMs}ms fastinter ${interMs}ms downinter ${interMs}ms fall ${fall} rise ${rise}`,
    ...servers.map(({ name, port }) => `  server ${name} 127.0.0.1:${port}`),
    '',
    'frontend stats',
    `  bind 127.0.0.1:${statsPort}`,
    '  stats enable',
    '  stats uri /stats',
    '',
  ].join('\n');
}

export interface Haproxy {
  url: string;
  configText: string;
  /** Each server's state as HAProxy sees it: `UP`, `DOWN`, or a transition such as `UP 1/2`. */
  states(): Promise<Record<string, string>>;
  waitState(server: string, state: 'UP' | 'DOWN', timeoutMs?: number): Promise<void>;
  output(): string;
  stop(): Promise<void>;
}

/** HAProxy in the foreground (`-db`) with the config above, written to a temporary directory. */
export async function startHaproxy(settings: HaproxySettings, binary = process.env.HAPROXY_BIN ?? 'haproxy'): Promise<Haproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'balancer-haproxy-'));
  const configText = haproxyConfig(settings);
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, configText);
  const child = track(spawn(binary, ['-f', file, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const output = tail(child, 64_000);
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  const ready = waitFor(async () => child.exitCode !== null || (await accepts(settings.statsPort)), {
    timeoutMs: 10_000,
    intervalMs: 50,
    message: 'haproxy did not start',
  });
  // When the spawn itself failed, the race below settles on that error; this wait then times out unheard.
  ready.catch(() => {});
  const started = await Promise.race([ready.then(() => undefined), spawnError]);
  if (started instanceof Error || child.exitCode !== null) {
    cleanup();
    const why = started instanceof Error ? started.message : output();
    throw new Error(`haproxy could not start (this tier needs the haproxy package: apt-get install haproxy):\n${why}`);
  }
  const statsUrl = `http://127.0.0.1:${settings.statsPort}/stats;csv`;
  const states = async () => {
    const csv = await (await fetch(statsUrl)).text();
    const [header, ...rows] = csv.trim().split('\n');
    const columns = (header ?? '').replace(/^# /, '').split(',');
    const at = (name: string) => columns.indexOf(name);
    const found: Record<string, string> = {};
    for (const row of rows) {
      const cells = row.split(',');
      if (cells[at('pxname')] === 'routers' && !['FRONTEND', 'BACKEND'].includes(cells[at('svname')] ?? '')) {
        found[cells[at('svname')] as string] = cells[at('status')] as string;
      }
    }
    return found;
  };
  return {
    url: `http://127.0.0.1:${settings.frontendPort}/graphql`,
    configText,
    states,
    async waitState(server, state, timeoutMs = 60_000) {
      let last: string | undefined;
      await waitFor(
        async () => {
          last = (await states())[server];
          return last === state;
        },
        { timeoutMs, intervalMs: 25, message: `HAProxy did not see ${server} ${state} (last: ${last})` },
      );
    },
    output,
    async stop() {
      await stopChild(child, 'SIGTERM', 3_000);
      cleanup();
    },
  };
}

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: any;
}

export interface HttpOptions {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** JSON body of a POST. */
  body?: unknown;
  /** Keep-alive agent to reuse connections with (and the source address it binds). */
  agent?: Agent;
  /** Source address of a one-off connection (no agent): who the balancer sees as the client. */
  localAddress?: string;
  timeoutMs?: number;
}

/** One HTTP request with Node's own client (keep-alive agents and source addresses, which fetch does not offer). */
export function http(url: string | URL, { method = 'GET', headers = {}, body, agent, localAddress, timeoutMs = 20_000 }: HttpOptions = {}) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise<HttpResult>((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method,
        agent: agent ?? false,
        ...(localAddress ? { localAddress } : {}),
        headers: {
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}),
          ...headers,
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // Not JSON (an HAProxy error page): kept as text for the failure's message.
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** A GraphQL request as GET (query and variables in the URL) or POST (JSON body). */
export function graphql(
  url: string,
  query: string | undefined,
  variables: Record<string, unknown> = {},
  options: HttpOptions & { extensions?: Record<string, unknown>; token?: string } = {},
) {
  const { extensions, token, method = 'POST', headers = {}, ...rest } = options;
  const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  // The client name is one of the router's CSRF-proof headers, which a GET needs (it has no content type).
  const common = { 'apollographql-client-name': 'web', ...auth, ...headers };
  if (method === 'GET') {
    const target = new URL(url);
    if (query !== undefined) target.searchParams.set('query', query);
    target.searchParams.set('variables', JSON.stringify(variables));
    if (extensions) target.searchParams.set('extensions', JSON.stringify(extensions));
    return http(target, { ...rest, method, headers: common });
  }
  return http(url, { ...rest, method, headers: common, body: { query, variables, ...(extensions ? { extensions } : {}) } });
}

/** One catalogue request of the load: a document, its variables, and what a correct answer holds. */
export interface LoadRequest {
  query: string;
  /** The variables, or a function giving new ones for each request (a query no cache has seen). */
  variables: Record<string, unknown> | (() => Record<string, unknown>);
  check(data: any): boolean;
}

export interface LoadFailure {
  method: 'GET' | 'POST';
  /** When it was sent and when it failed (Date.now()). */
  startedAt: number;
  endedAt: number;
  server: string | undefined;
  reason: string;
}

export interface LoadReport {
  sent: number;
  succeeded: number;
  failures: LoadFailure[];
  /** Answered requests per router (x-served-by), and the last time each answered one. */
  servedBy: Record<string, number>;
  lastServedAt: Record<string, number>;
  /** Per router, answers to requests sent after a moment the test marked (see Load.mark). */
  servedSinceMark: Record<string, Record<string, number>>;
  /** `stop` when the test stopped it; `cap` when it ran out of time by itself first. */
  endedBy: 'stop' | 'cap';
  durationMs: number;
}

export interface Load {
  /** Starts counting, per router, the answers to requests sent from now on, under `label`. */
  mark(label: string): void;
  /** The report so far (live: the load keeps writing to it), to wait on while it runs. */
  progress(): Readonly<LoadReport>;
  /** Stops sending, waits for the requests in flight, and reports. */
  stop(): Promise<LoadReport>;
}

/**
 * Steady load through `url`: `concurrency` workers, each sending one request after another over a
 * keep-alive agent (so a worker is one client connection, as a browser would hold), alternating
 * GET and POST. Every answer must be 200 with the data its request expects and no errors; anything
 * else, a network error included, is a failure. It ends when stopped or after `maxMs`, whichever
 * comes first, so it can never run on.
 */
export function startLoad({
  url,
  concurrency,
  maxMs,
  requests,
}: {
  url: string;
  concurrency: number;
  maxMs: number;
  requests: readonly LoadRequest[];
}): Load {
  const started = Date.now();
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const report: LoadReport = {
    sent: 0,
    succeeded: 0,
    failures: [],
    servedBy: {},
    lastServedAt: {},
    servedSinceMark: {},
    endedBy: 'cap',
    durationMs: 0,
  };
  const marks: { label: string; at: number }[] = [];
  let stopping = false;
  const cap = setTimeout(() => {
    stopping = true;
  }, maxMs);
  let next = 0;
  const worker = async () => {
    while (!stopping) {
      const n = next++;
      const { query, variables: given, check } = requests[n % requests.length] as LoadRequest;
      const variables = typeof given === 'function' ? given() : given;
      const method = n % 2 === 0 ? 'GET' : 'POST';
      const startedAt = Date.now();
      report.sent++;
      let server: string | undefined;
      try {
        const result = await graphql(url, query, variables, { method, agent });
        server = result.headers['x-served-by'] as string | undefined;
        const ok = result.status === 200 && !result.body?.errors && check(result.body?.data);
        if (!ok) throw new Error(`HTTP ${result.status}: ${JSON.stringify(result.body).slice(0, 300)}`);
        report.succeeded++;
        if (server) {
          report.servedBy[server] = (report.servedBy[server] ?? 0) + 1;
          report.lastServedAt[server] = Date.now();
          for (const { label, at } of marks) {
            if (startedAt < at) continue;
            const counts = (report.servedSinceMark[label] ??= {});
            counts[server] = (counts[server] ?? 0) + 1;
          }
        }
      } catch (error) {
        report.failures.push({ method, startedAt, endedAt: Date.now(), server, reason: (error as Error).message });
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  return {
    mark(label) {
      marks.push({ label, at: Date.now() });
    },
    progress: () => report,
    async stop() {
      if (!stopping) report.endedBy = 'stop';
      stopping = true;
      clearTimeout(cap);
      await Promise.all(workers);
      agent.destroy();
      report.durationMs = Date.now() - started;
      return report;
    },
  };
}

export { sleep };

/**
 * What the balancer scenario runs on besides its routers: databases of its own (see
 * e2e/stream/support.ts for why not the tier's), a private NATS JetStream and redis-server, and the
 * five subgraphs started once in this process (startStack; the router it also starts is left idle,
 * outside the balancer).
 * `routerEnv` is what every router process is started with: the same subgraphs, stream, Redis
 * and key prefix, so the replicas share caches, APQ registrations and rate-limit counts.
 */
export interface BalancerWorld {
  stack: Stack;
  redis: RedisServer;
  nats: NatsServer;
  routerEnv: Record<string, string | undefined>;
  close(): Promise<void>;
}

export async function startBalancerWorld(label: string): Promise<BalancerWorld> {
  const started = Date.now();
  const databases = await createOwnDatabases(label);
  let nats: NatsServer | undefined;
  let redis: RedisServer | undefined;
  let stack: Stack | undefined;
  try {
    nats = await startNatsServer();
    redis = await startRedisServer();
    const id = `${label}_${process.pid}_${randomBytes(3).toString('hex')}`;
    const env: Record<string, string | undefined> = {
      ...process.env,
      ...databases.env,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
      ROUTER_SECRET: randomBytes(24).toString('base64url'),
      NATS_URL: nats.url,
      NATS_STREAM: `SHOP_BALANCER_${id}`.toUpperCase(),
      NATS_SUBJECT_PREFIX: `shop-balancer-${id}`.replaceAll('_', '-'),
      // The private redis-server is this file's alone; the prefix only keeps its keys readable.
      REDIS_URL: redis.url,
      REDIS_CLUSTER: undefined,
      CACHE_KEY_PREFIX: `balancer-${id}:`,
      PAYMENT_PROVIDER_URL: '',
    };
    // The stack's own router is outside the scenario: nothing is sent to it, so it needs no limits.
    stack = await startStack({ env: { ...env, RATE_LIMIT: 'false' }, freePorts: true, seedSize: STREAM_SEED });
    const urls = stack.subgraphUrls;
    const routerEnv: Record<string, string | undefined> = {
      ...env,
      ...subgraphUrlEnv(urls),
      JWKS_URL: new URL('/.well-known/jwks.json', urls.users).toString(),
    };
    process.stderr.write(`[e2e-nats] ${label}: subgraphs on own databases ready in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
    const [ownStack, ownNats, ownRedis] = [stack, nats, redis];
    return {
      stack: ownStack,
      redis: ownRedis,
      nats: ownNats,
      routerEnv,
      async close() {
        await ownStack.close().catch(() => {});
        await ownNats.dispose().catch(() => {});
        await ownRedis.stop().catch(() => {});
        await databases.drop();
      },
    };
  } catch (error) {
    await stack?.close().catch(() => {});
    await nats?.dispose().catch(() => {});
    await redis?.stop().catch(() => {});
    await databases.drop().catch(() => {});
    throw error;
  }
}
