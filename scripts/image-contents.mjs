#!/usr/bin/env node
/**
 * `node scripts/image-contents.mjs <dir>`: writes into <dir> exactly what the container image holds
 * under /app (the Dockerfile's build stage runs this, and its final stage copies <dir>), so CI can
 * check the image's contents without a container engine (`npm run image:check`).
 *
 * Run after `npm run build`. <dir> gets:
 *  - package.json and package-lock.json of the repository, and the package.json of every workspace
 *    (the lockfile names them all; `npm ci` refuses a tree that lacks one);
 *  - the built `dist/` of every workspace that has a `build` script (the services and the
 *    libraries they load) — no TypeScript sources, tests or tooling;
 *  - the data the router reads: the composed supergraph and the persisted-query manifests;
 *  - production dependencies only: `npm ci --omit=dev` inside <dir>, lifecycle scripts off.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = process.argv[2];
if (!out) {
  console.error('usage: node scripts/image-contents.mjs <output directory>');
  process.exit(2);
}
const target = resolve(out);
if (existsSync(target) && readdirSync(target).length > 0) {
  console.error(`${target} is not empty`);
  process.exit(2);
}
mkdirSync(target, { recursive: true });

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));
const rootPackage = readJson(join(root, 'package.json'));
const copy = (relative) => cpSync(join(root, relative), join(target, relative), { recursive: true });

/** Workspace folders, expanded from the root package.json's patterns (`packages/*`, `router`, …). */
const workspaces = rootPackage.workspaces.flatMap((pattern) =>
  pattern.endsWith('/*')
    ? readdirSync(join(root, pattern.slice(0, -2)), { withFileTypes: true })
        .filter((entry) => entry.isDirectory() && existsSync(join(root, pattern.slice(0, -2), entry.name, 'package.json')))
        .map((entry) => `${pattern.slice(0, -2)}/${entry.name}`)
    : [pattern],
);

copy('package.json');
copy('package-lock.json');
const shipped = [];
for (const workspace of workspaces) {
  const manifest = readJson(join(root, workspace, 'package.json'));
  mkdirSync(join(target, workspace), { recursive: true });
  writeFileSync(join(target, workspace, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  if (!manifest.scripts?.build) continue;
  if (!existsSync(join(root, workspace, 'dist'))) {
    console.error(`${workspace}/dist is missing: run \`npm run build\` first`);
    process.exit(1);
  }
  copy(join(workspace, 'dist'));
  shipped.push(workspace);
}

// What the router reads at run time (SUPERGRAPH_PATH and PERSISTED_QUERIES_DIR default to these).
copy('schema/supergraph.graphql');
for (const app of readdirSync(join(root, 'clients'), { withFileTypes: true })) {
  const manifest = join('clients', app.name, '__generated__', 'persisted-query-manifest.json');
  if (app.isDirectory() && existsSync(join(root, manifest))) copy(manifest);
}

const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
const installed = spawnSync(
  npm[0],
  [
    ...npm.slice(1),
    'ci',
    '--omit=dev',
    '--ignore-scripts',
    '--no-audit',
    '--no-fund',
    // Only what the shipped workspaces need: not the root's own tooling (composition, schema checks).
    '--include-workspace-root=false',
    ...shipped.map((workspace) => `--workspace=${workspace}`),
  ],
  {
    cwd: target,
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'production' },
  },
);
if (installed.status !== 0) {
  rmSync(target, { recursive: true, force: true });
  console.error('npm ci --omit=dev failed');
  process.exit(installed.status ?? 1);
}
console.log(`image contents in ${target}: ${shipped.length} built workspaces (${shipped.join(', ')})`);
