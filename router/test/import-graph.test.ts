import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SOURCE_NODE_ARGS } from '@shop/platform/testing';

const run = promisify(execFile);

/**
 * The router needs only @shop/platform and @shop/events (its caches follow the event stream):
 * loading it must not load a subgraph's storage or server shell (pg, PGlite, Mercurius,
 * DataLoader), which the old service-kit barrel pulled in.
 */
describe('the router import graph', () => {
  it('loads no database driver, embedded Postgres or subgraph server', async () => {
    const script = fileURLToPath(new URL('./support/loaded-modules.mjs', import.meta.url));
    const { stdout } = await run(process.execPath, [...SOURCE_NODE_ARGS, script], { cwd: fileURLToPath(new URL('..', import.meta.url)) });
    const loaded = JSON.parse(stdout) as string[];
    // Sanity: the probe sees both kinds of module the router does load.
    expect(loaded.some((file) => file.includes('/node_modules/fastify/'))).toBe(true);
    expect(loaded.some((file) => file.includes('/packages/platform/'))).toBe(true);
    for (const forbidden of [
      '/node_modules/pg/',
      '/node_modules/@electric-sql/pglite/',
      '/node_modules/mercurius/',
      '/node_modules/mercurius-cache/',
      '/packages/subgraph-kit/',
    ]) {
      expect(
        loaded.filter((file) => file.includes(forbidden)),
        forbidden,
      ).toEqual([]);
    }
  });
});
