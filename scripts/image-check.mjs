#!/usr/bin/env node
/**
 * `npm run image:check` (CI): what the container image holds, checked without a container engine.
 * Writes the image's /app with scripts/image-contents.mjs (the very script the Dockerfile runs) into a
 * temporary directory, then:
 *  1. checks it holds built JavaScript only: no TypeScript sources, no tests, no dev dependencies;
 *  2. starts every service from it the way the image does (`node <workspace>/dist/index.js`, working
 *     directory /app's copy, NODE_ENV=production, plain `node`: no TypeScript loader), each in its
 *     own process on a free loopback port, on empty embedded databases (production does not seed);
 *  3. waits for each `/health` and `/ready`, sends a query through the router and reads `/metrics`;
 *  4. stops them with SIGTERM and expects each to exit 0.
 * Run after `npm run build`. Everything it starts is stopped and removed, also on failure.
 */
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'shop-image-'));
const app = join(work, 'app');
const children = [];
let failed = false;

function cleanUp() {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

const fail = (message) => {
  console.error(`image:check: ${message}`);
  failed = true;
};
const step = (message) => console.log(`image:check: ${message}`);

const contents = spawnSync(process.execPath, [join(root, 'scripts/image-contents.mjs'), app], { stdio: 'inherit' });
if (contents.status !== 0) process.exit(contents.status ?? 1);

// 1. Built output only.
const walk = (dir, each) => {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (entry === 'node_modules') continue;
    if (statSync(path).isDirectory()) walk(path, each);
    else each(relative(app, path));
  }
};
walk(app, (file) => {
  if (/\.ts$/.test(file) || /(^|\/)(src|test)\//.test(file)) fail(`the image would hold ${file}`);
});
for (const devOnly of ['tsx', 'typescript', 'vitest', 'turbo', '@biomejs/biome', '@graphql-codegen/cli', '@apollo/client']) {
  if (existsSync(join(app, 'node_modules', devOnly))) fail(`the image would hold the dev dependency ${devOnly}`);
}
step('holds built JavaScript and production dependencies only');

// 2. Every service from the image, as the image starts it.
const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
const registry = await import(pathToFileURL(join(app, 'packages/registry/dist/index.js')).href);
const ports = { router: await freePort(), sandbox: await freePort() };
for (const name of registry.SUBGRAPH_NAMES) ports[name] = await freePort();
const subgraphUrls = Object.fromEntries(registry.SUBGRAPH_NAMES.map((name) => [name, `http://127.0.0.1:${ports[name]}/graphql`]));
const common = {
  PATH: process.env.PATH,
  NODE_ENV: 'production',
  LOG_LEVEL: 'warn',
  HOST: '127.0.0.1',
  ROUTER_SECRET: 'image-check-router-secret',
  // Production refuses to sign tokens with a key generated at start-up (see subgraphs/users/src/config.ts).
  JWT_PRIVATE_KEY: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
  ...registry.subgraphUrlEnv(subgraphUrls),
};
const services = [
  { name: 'payment sandbox', entry: 'payment-sandbox/dist/index.js', port: ports.sandbox },
  ...registry.SUBGRAPH_NAMES.map((name) => ({
    name,
    entry: `subgraphs/${name}/dist/index.js`,
    port: ports[name],
    env: { PAYMENT_PROVIDER_URL: `http://127.0.0.1:${ports.sandbox}` },
  })),
  { name: 'router', entry: 'router/dist/index.js', port: ports.router, args: ['--max-old-space-size=384', '--max-semi-space-size=32'] },
];

const until = async (what, check, child, timeoutMs = 60_000) => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && child.exitCode === null) {
    if (await check().catch(() => false)) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  fail(child.exitCode === null ? `${what} did not happen within ${timeoutMs / 1000} s` : `${what}: it exited with ${child.exitCode}`);
  return false;
};
const ok = (url) => fetch(url, { signal: AbortSignal.timeout(2_000) }).then((response) => response.ok);

for (const service of services) {
  const child = spawn(process.execPath, [...(service.args ?? []), service.entry], {
    cwd: app,
    env: { ...common, ...service.env, PORT: String(service.port) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.service = service.name;
  children.push(child);
  const base = `http://127.0.0.1:${service.port}`;
  if (!(await until(`${service.name} answering /health`, () => ok(`${base}/health`), child))) break;
  if (!(await until(`${service.name} answering /ready`, () => ok(`${base}/ready`), child))) break;
  step(`${service.name} started from ${service.entry}: /health and /ready answer 200`);
}

// 3. A query through the router, and its metrics.
if (!failed) {
  const response = await fetch(`http://127.0.0.1:${ports.router}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'apollographql-client-name': 'image-check' },
    body: JSON.stringify({ query: '{ products(first: 2) { edges { node { id name price(region: US) { amount } } } } }' }),
  });
  const body = await response.json();
  if (response.status !== 200 || body.errors || !Array.isArray(body.data?.products?.edges)) {
    fail(`the query through the router answered ${response.status} ${JSON.stringify(body)}`);
  } else step('a query through the router answered (production starts unseeded: an empty catalogue)');
  const metrics = await fetch(`http://127.0.0.1:${ports.router}/metrics`).then((r) => r.text());
  if (!/^graphql_requests_total\{[^}]*\} [1-9]/m.test(metrics)) fail('the router /metrics counts no GraphQL request');
  else step('the router /metrics counted the request');
}

// 4. SIGTERM: every service exits 0.
for (const child of [...children].reverse()) {
  if (child.exitCode !== null) {
    fail(`${child.service} had already exited with ${child.exitCode}`);
    continue;
  }
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  child.kill('SIGTERM');
  const code = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('timeout'), 30_000))]);
  if (code !== 0) fail(`${child.service} exited with ${code} on SIGTERM`);
}
if (failed) process.exit(1);
step('every service stopped cleanly on SIGTERM; the image contents work without dev dependencies');
