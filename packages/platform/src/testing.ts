import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request as httpRequest, type Agent } from 'node:http';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { Cluster, Redis } from 'ioredis';
import { type Env, readRedisTarget } from './config.ts';
import { isCluster, parseRedisTarget, type RedisClient, redisTarget } from './redis.ts';

/**
 * The Redis of the real-services tier, from REDIS_URL and REDIS_CLUSTER: a single Redis (the
 * `unit-redis` project), or a Redis Cluster whose seed nodes REDIS_URL lists (`unit-redis-cluster`,
 * started by test/support/redis-cluster.global.ts). Undefined without REDIS_URL.
 */
export interface TestRedis {
  /** The variables a service reads it from: give them to a router's or subgraph's env. */
  env: { REDIS_URL: string; REDIS_CLUSTER: string };
  /** As createRedis (and every config's `redisUrl`) takes it. */
  target: string;
  cluster: boolean;
  /** A client for a test's own checks, queueing commands until it is connected (unlike createRedis); disconnect it after. */
  client(): RedisClient;
  /** Keys matching a SCAN pattern, on every primary of a cluster. */
  scan(pattern: string): Promise<string[]>;
  /** Deletes every key matching a SCAN pattern (never FLUSHDB: the Redis is shared). */
  deleteMatching(pattern: string): Promise<void>;
  /** Subscribers of a pub/sub channel, on every node of a cluster (each node counts only its own). */
  subscribers(channel: string): Promise<number>;
}

export function testRedis(env: Env = process.env): TestRedis | undefined {
  const target = readRedisTarget(env);
  if (!target) return undefined;
  const { urls, cluster } = parseRedisTarget(target);
  const client = (): RedisClient =>
    cluster
      ? new Cluster(
          urls.map((url) => {
            const { hostname, port } = new URL(url);
            return { host: hostname, port: Number(port || 6379) };
          }),
          { scaleReads: 'master' },
        )
      : new Redis(urls[0]!, { maxRetriesPerRequest: 1 });
  /** Runs `each` on every node holding keys: the one Redis, or every primary of the cluster. */
  const onEveryNode = async <T>(each: (node: Redis) => Promise<T>): Promise<T[]> => {
    const redis = client();
    try {
      if (!isCluster(redis)) return [await each(redis)];
      if (redis.status !== 'ready') await new Promise<void>((resolve, reject) => redis.once('ready', resolve).once('error', reject));
      return await Promise.all(redis.nodes('master').map(each));
    } finally {
      redis.disconnect();
    }
  };
  const scanNode = async (node: Redis, pattern: string) => {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
    return found;
  };
  return {
    env: { REDIS_URL: urls.join(','), REDIS_CLUSTER: String(cluster) },
    target,
    cluster,
    client,
    scan: async (pattern) => (await onEveryNode((node) => scanNode(node, pattern))).flat(),
    async deleteMatching(pattern) {
      // A node's keys may still span slots: one DEL per key is allowed on any of them.
      await onEveryNode(async (node) => {
        const keys = await scanNode(node, pattern);
        for (let i = 0; i < keys.length; i += 500) {
          const pipeline = node.pipeline();
          for (const key of keys.slice(i, i + 500)) pipeline.del(key);
          await pipeline.exec();
        }
      });
    },
    async subscribers(channel) {
      const counts = await onEveryNode(async (node) => Number(((await node.pubsub('NUMSUB', channel)) as [string, number])[1]));
      return counts.reduce((sum, count) => sum + count, 0);
    },
  };
}

/** testRedis() for files that run only in the real-services tier: throws without REDIS_URL. */
export function requireTestRedis(env: Env = process.env): TestRedis {
  const redis = testRedis(env);
  if (!redis) throw new Error('REDIS_URL must be set: run these with npm run test:services');
  return redis;
}

/**
 * Cache settings for one test file's servers: Redis when the run sets REDIS_URL (the services
 * tier; a Redis Cluster too, with REDIS_CLUSTER), else memory; always under a key prefix of its
 * own, so runs sharing one Redis neither read each other's entries nor hear each other's
 * invalidations. `cleanup` deletes only the keys under that prefix (never FLUSHDB: the Redis is shared).
 */
export function testCache(redis: TestRedis | undefined = testRedis()): {
  env: Env;
  prefix: string;
  /** Redis keys under the prefix matching `pattern` (a SCAN pattern after the prefix), on every node; [] without Redis. */
  keys(pattern: string): Promise<string[]>;
  cleanup(): Promise<void>;
} {
  const prefix = `test:${randomBytes(6).toString('hex')}:`;
  return {
    prefix,
    env: { ...(redis ? redis.env : { REDIS_URL: undefined }), CACHE_KEY_PREFIX: prefix },
    keys: async (pattern) => (redis ? redis.scan(`${prefix}${pattern}`) : []),
    cleanup: async () => redis?.deleteMatching(`${prefix}*`),
  };
}

/**
 * A real Redis Cluster of `primaries` primaries (no replicas), started from `redis-server` on free
 * ports (each node's cluster bus on port + 10000) with its nodes.conf files in a temporary
 * directory, created with `redis-cli --cluster create`, ready once every node reports
 * `cluster_state:ok`. `pause` stops every node's process (SIGSTOP: connections stay up, nothing
 * answers, like an overloaded server) and `resume` continues them; `close` stops the nodes and
 * removes the directory. For the `unit-redis-cluster` project (its global setup) and for outage
 * tests on a cluster, which the one-node redisProxy cannot stand in front of.
 */
export interface RedisClusterProcess {
  /** The nodes' URLs. */
  urls: string[];
  /** REDIS_URL (the nodes, comma-separated) and REDIS_CLUSTER=true. */
  env: { REDIS_URL: string; REDIS_CLUSTER: string };
  /** As createRedis takes it. */
  target: string;
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

export async function startRedisCluster(primaries = 3): Promise<RedisClusterProcess> {
  if (primaries < 1) throw new Error('a cluster needs a primary');
  const dir = await mkdtemp(join(tmpdir(), 'shop-redis-cluster-'));
  const nodes: { port: number; process: ChildProcess }[] = [];
  const close = async () => {
    for (const { process } of nodes) if (process.signalCode === null && process.exitCode === null) process.kill('SIGCONT');
    await Promise.all(nodes.map(({ process }) => stopProcess(process)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < primaries; i++) {
      const port = await freeClusterPort();
      const child = spawn(
        'redis-server',
        [
          ...['--port', String(port), '--bind', '127.0.0.1'],
          ...['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '2000'],
          ...['--dir', dir, '--save', '', '--appendonly', 'no', '--logfile', join(dir, `redis-${port}.log`)],
        ],
        { stdio: 'ignore' },
      );
      nodes.push({ port, process: child });
    }
    await Promise.all(nodes.map(({ port, process }) => answering(port, process)));
    const addresses = nodes.map(({ port }) => `127.0.0.1:${port}`);
    if (primaries === 1) {
      // `redis-cli --cluster create` wants three primaries: one node takes every slot itself.
      await run('redis-cli', ['-p', String(nodes[0]!.port), 'cluster', 'addslotsrange', '0', '16383']);
    } else {
      await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes']);
    }
    await Promise.all(nodes.map(({ port }) => clusterOk(port)));
  } catch (error) {
    await close();
    throw error;
  }
  const urls = nodes.map(({ port }) => `redis://127.0.0.1:${port}`);
  return {
    urls,
    env: { REDIS_URL: urls.join(','), REDIS_CLUSTER: 'true' },
    target: redisTarget(urls, true),
    pause() {
      for (const { process } of nodes) process.kill('SIGSTOP');
    },
    resume() {
      for (const { process } of nodes) process.kill('SIGCONT');
    },
    close,
  };
}

const run = promisify(execFile);

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

function stopProcess(child: ChildProcess): Promise<void> {
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

/**
 * A TCP proxy in front of a real Redis that a test can make paused (commands held, connections
 * up: like CLIENT PAUSE or an overloaded server; `resume` sends what was held) or down
 * (connections cut and the port closed until `up`), without disturbing anyone else using that
 * Redis. One node only: a Redis Cluster's clients learn every node's own address from the cluster
 * and would go around it, so the outage tests that use it run on a single Redis (see each file).
 */
export interface RedisProxy {
  url: string;
  pause(): void;
  resume(): void;
  down(): Promise<void>;
  up(): Promise<void>;
  /** Chunks of commands received so far, forwarded or held. */
  commandsSeen(): number;
  close(): Promise<void>;
}

/**
 * Tracks a client socket and its upstream in `sockets` (what a proxy cuts), and closes both when
 * either closes or fails. Returns the upstream.
 */
export function pairSockets(socket: Socket, upstream: Socket, sockets: Set<Socket>): Socket {
  sockets.add(socket).add(upstream);
  const close = () => {
    socket.destroy();
    upstream.destroy();
    sockets.delete(socket);
    sockets.delete(upstream);
  };
  socket.on('close', close).on('error', close);
  upstream.on('close', close).on('error', close);
  return upstream;
}

export async function redisProxy(redisUrl: string): Promise<RedisProxy> {
  const target = new URL(redisUrl);
  let paused = false;
  let seen = 0;
  const held: [Socket, Buffer][] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    const upstream = pairSockets(socket, connect(Number(target.port || 6379), target.hostname), sockets);
    socket.on('data', (chunk) => {
      seen++;
      if (paused) held.push([upstream, chunk]);
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk) => socket.write(chunk));
  });
  const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  const down = () =>
    new Promise<void>((resolve) => {
      held.length = 0;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      if (server.listening) server.close(() => resolve());
      else resolve();
    });
  return {
    url: `redis://127.0.0.1:${port}`,
    pause: () => void (paused = true),
    resume() {
      paused = false;
      for (const [upstream, chunk] of held.splice(0)) upstream.write(chunk);
    },
    down,
    up: () => listen(port),
    commandsSeen: () => seen,
    close: down,
  };
}

/**
 * A TCP proxy to `host:port` that a test can cut and restore, to take one client off a server that
 * everyone else still reaches (like redisProxy above, for any protocol). While cut,
 * every connection through it is closed and new ones are accepted and closed at once: the client
 * sees its server go away and its reconnects fail, until `restore`. The port stays bound
 * throughout, so nothing else can take it in between.
 */
export interface TcpProxy {
  port: number;
  /** `<scheme>://127.0.0.1:<port>`. */
  url(scheme: string): string;
  cut(): void;
  restore(): void;
  /** Connections accepted while cut (each closed at once): the client tried to come back. */
  refused(): number;
  close(): Promise<void>;
}

export async function tcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let cut = false;
  let refused = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    if (cut) {
      refused++;
      socket.destroy();
      return;
    }
    const upstream = pairSockets(socket, connect(target.port, target.host), sockets);
    socket.pipe(upstream);
    upstream.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  return {
    port,
    url: (scheme) => `${scheme}://127.0.0.1:${port}`,
    cut() {
      cut = true;
      dropAll();
    },
    restore() {
      cut = false;
    },
    refused: () => refused,
    close: () =>
      new Promise<void>((resolve) => {
        dropAll();
        server.close(() => resolve());
      }),
  };
}

/** A TCP port free right now on 127.0.0.1 (for a child process to listen on). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** How one HTTP request ended: a full response, refused at connect, or cut (reset, hang-up). */
export type HttpOutcome =
  | { kind: 'response'; status: number; body: string; at: number }
  | { kind: 'refused'; at: number }
  | { kind: 'dropped'; error: string; at: number };

/**
 * One request to 127.0.0.1 — a fresh connection unless an agent is given — classified by how it
 * ended (never rejects). A JSON body makes it a POST. For tests of shutdown under load.
 */
export function httpOutcome(port: number, path: string, body?: string, agent: Agent | false = false): Promise<HttpOutcome> {
  return new Promise((resolve) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path, method: body ? 'POST' : 'GET', agent, headers: body ? { 'content-type': 'application/json' } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ kind: 'response', status: res.statusCode!, body: Buffer.concat(chunks).toString(), at: Date.now() }));
        res.on('error', (error) => resolve({ kind: 'dropped', error: String(error), at: Date.now() }));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve(
        error.code === 'ECONNREFUSED'
          ? { kind: 'refused', at: Date.now() }
          : { kind: 'dropped', error: `${error.code}: ${error.message}`, at: Date.now() },
      ),
    );
    req.end(body);
  });
}

/**
 * Resolves with what the server sent once it closes `socket` (a reset counts as closed); rejects
 * if it is still open after `withinMs`. For tests of listener timeouts.
 */
export function closedBy(socket: Socket, withinMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const timer = setTimeout(() => reject(new Error(`connection still open after ${withinMs} ms`)), withinMs);
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
  });
}

/** Writes `text` to `socket` one character every `everyMs`, round and round, until it closes; returns what stops it. */
export function trickle(socket: Socket, text: string, everyMs: number): () => void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed) return clearInterval(timer);
    socket.write(text[i++ % text.length]!);
  }, everyMs);
  return () => clearInterval(timer);
}

/**
 * Raw connections to a listener on 127.0.0.1, for tests of listener timeouts: `open()` connects
 * one, `slow(head, char, everyMs)` connects one that writes `head` and then trickles `char` (the
 * promised rest of a header or body), and resolves with what the server sent when it cut the
 * connection (rejecting past `withinMs`); `close()` destroys any still open.
 */
export function rawClients(port: () => number, withinMs = 15_000) {
  const sockets: Socket[] = [];
  const open = () => {
    const socket = connect(port(), '127.0.0.1');
    sockets.push(socket);
    return socket;
  };
  return {
    open,
    async slow(head: string, char: string, everyMs: number): Promise<string> {
      const socket = open();
      socket.write(head);
      const stop = trickle(socket, char, everyMs);
      try {
        return await closedBy(socket, withinMs);
      } finally {
        stop();
      }
    },
    close() {
      for (const socket of sockets) socket.destroy();
    },
  };
}

/**
 * Node arguments for a child process that runs TypeScript sources (tests, benchmarks): tsx, and the
 * `@shop/source` export condition so workspace packages resolve to their `src/` rather than to a
 * `dist/` that `npm run build` may not have written. Production runs `node dist/index.js`.
 */
export const SOURCE_NODE_ARGS: readonly string[] = ['--conditions=@shop/source', '--import', 'tsx'];
export * from './postgres-replica.ts';
