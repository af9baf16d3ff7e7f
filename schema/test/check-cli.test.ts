import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, SUBGRAPHS } from '../src/compose.ts';
import { SOURCE_NODE_ARGS } from '@shop/platform/testing';

const root = fileURLToPath(repoRoot);
const fixtureClients = fileURLToPath(new URL('./fixtures/clients/', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'schema-check-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function copySubgraphs(edit?: { subgraph: string; from: string; to: string }): string {
  const dir = mkdtempSync(join(work, 'subgraphs-'));
  for (const { name } of SUBGRAPHS) {
    const file = join(dir, name, 'src', 'schema.graphql');
    cpSync(join(root, 'subgraphs', name, 'src', 'schema.graphql'), file);
    if (edit?.subgraph === name) {
      const sdl = readFileSync(file, 'utf8');
      if (!sdl.includes(edit.from)) throw new Error(`fixture edit did not apply to ${name}`);
      writeFileSync(file, sdl.replace(edit.from, edit.to));
    }
  }
  return dir;
}

const removeImageUrl = { subgraph: 'products', from: '  imageUrl: String!\n', to: '' };
const removeCity = { subgraph: 'inventory', from: '  city: String!\n', to: '' };

/** The real CLI against fixture subgraphs and the fixture manifests; the base defaults to git HEAD. */
const run = (subgraphs: string, ...args: string[]) =>
  spawnSync(
    process.execPath,
    [
      ...SOURCE_NODE_ARGS,
      join(root, 'schema/src/check-cli.ts'),
      '--subgraphs',
      subgraphs,
      '--clients',
      fixtureClients,
      '--skip-stale',
      ...args,
    ],
    { cwd: root, encoding: 'utf8' },
  );

// Each case starts the CLI (tsx) one to three times, several seconds each on a slow machine: the
// timeout only guards against a hang.
describe('npm run schema:check', { timeout: 120_000 }, () => {
  it('exits 0 against git HEAD when nothing changed', () => {
    const result = run(copySubgraphs(), '--base', 'HEAD');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('✔ API schema changes: 0 breaking, 0 dangerous, 0 safe');
    expect(result.stdout).toMatch(/schema check passed\n$/);
  });

  it('exits 1 when a change breaks a shipped ios operation, naming it', () => {
    const result = run(copySubgraphs(removeImageUrl));
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('✖ ios ProductDetail: Cannot query field "imageUrl" on type "Product".');
  });

  it('exits 1 on a composition error, naming the subgraph', () => {
    const result = run(copySubgraphs({ subgraph: 'pricing', from: 'amount: String!', to: 'amount: Float!' }));
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/✖ Composition failed with 1 error/);
    expect(result.stdout).toContain('pricing:22:3');
  });

  it('exits 0 with a warning for an unused breaking change; --json has the documented shape', () => {
    const result = run(copySubgraphs(removeCity), '--json', '--base-file', join(root, 'schema/api-schema.graphql'));
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(Object.keys(report).sort()).toEqual([
      'brokenOperations',
      'changes',
      'composition',
      'ok',
      'operations',
      'stale',
      'unusedBreaking',
    ]);
    expect(report).toMatchObject({
      ok: true,
      composition: { ok: true, errors: [] },
      changes: { breaking: [{ type: 'FIELD_REMOVED', path: 'Warehouse.city' }], dangerous: [], safe: [] },
      brokenOperations: [],
      unusedBreaking: [{ path: 'Warehouse.city' }],
      stale: [],
      operations: { android: 1, ios: 1 },
    });
  });

  it('--markdown prints a pull-request comment', () => {
    const result = run(copySubgraphs(removeImageUrl), '--markdown');
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/^## Schema check: ✖ failed\n/);
    expect(result.stdout).toContain('| Client | Operation | Problem |');
    expect(result.stdout).toContain('| ios | `ProductDetail` |');
  });

  it('exits 2 when it cannot run: unknown flag, unknown git ref, missing subgraph schema', () => {
    const dir = copySubgraphs();
    const badFlag = run(dir, '--frobnicate');
    expect(badFlag.status).toBe(2);
    expect(badFlag.stderr).toMatch(/could not run: Unknown option '--frobnicate'/);
    const badRef = run(dir, '--base', 'no-such-ref-for-schema-check');
    expect(badRef.status).toBe(2);
    expect(badRef.stderr).toContain('git show no-such-ref-for-schema-check:schema/api-schema.graphql failed');
    const missing = run(join(work, 'no-such-dir'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/could not run: ENOENT/);
  });
});
