#!/usr/bin/env node
/**
 * `shop-build`: a workspace's production build, run by its `build` script from the workspace folder.
 * Compiles `src/` to `dist/` with tsc (tsconfig.build.json: relative `.ts` imports rewritten to
 * `.js`), then copies the files the code reads beside itself at run time (GraphQL SDL, SQL
 * migrations), keeping the layout, so `new URL('./schema.graphql', import.meta.url)` finds them.
 * `dist/` is removed first so a file deleted from `src/` cannot linger in an image.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';

const ASSETS = /\.(graphql|sql)$/;
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

rmSync('dist', { recursive: true, force: true });
const built = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
if (built.status !== 0) process.exit(built.status ?? 1);

let copied = 0;
const copyAssets = (dir) => {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) copyAssets(path);
    else if (ASSETS.test(entry)) {
      cpSync(path, join('dist', relative('src', path)));
      copied++;
    }
  }
};
if (existsSync('src')) copyAssets('src');
console.log(`built dist/ (${copied} asset file${copied === 1 ? '' : 's'} copied)`);
