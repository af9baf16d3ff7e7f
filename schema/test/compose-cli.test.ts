import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { API_SCHEMA_FILE, repoRoot, SUBGRAPHS, SUPERGRAPH_FILE } from '../src/compose.ts';
import { SOURCE_NODE_ARGS } from '@shop/platform/testing';

const root = fileURLToPath(repoRoot);
const work = mkdtempSync(join(tmpdir(), 'compose-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function copySubgraphs(edit?: (name: string, sdl: string) => string): string {
  const dir = mkdtempSync(join(work, 'subgraphs-'));
  for (const { name } of SUBGRAPHS) {
    cpSync(join(root, 'subgraphs', name, 'src', 'schema.graphql'), join(dir, name, 'src', 'schema.graphql'));
    if (edit) {
      const file = join(dir, name, 'src', 'schema.graphql');
      writeFileSync(file, edit(name, readFileSync(file, 'utf8')));
    }
  }
  return dir;
}

const run = (...args: string[]) =>
  spawnSync(process.execPath, [...SOURCE_NODE_ARGS, join(root, 'schema/src/compose-cli.ts'), ...args], { cwd: root, encoding: 'utf8' });

describe('npm run compose', () => {
  it('writes the same supergraph and API schema as the committed ones', () => {
    const out = mkdtempSync(join(work, 'out-'));
    const result = run('--subgraphs', copySubgraphs(), '--out', out);
    expect(result.status).toBe(0);
    expect(readFileSync(join(out, 'supergraph.graphql'), 'utf8')).toBe(readFileSync(SUPERGRAPH_FILE, 'utf8'));
    expect(readFileSync(join(out, 'api-schema.graphql'), 'utf8')).toBe(readFileSync(API_SCHEMA_FILE, 'utf8'));
  });

  it('prints composition errors and exits 1 without writing', () => {
    const out = mkdtempSync(join(work, 'out-'));
    const broken = copySubgraphs((name, sdl) => (name === 'orders' ? sdl.replace('amount: String!', 'amount: Int!') : sdl));
    const result = run('--subgraphs', broken, '--out', out);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/Composition failed with \d+ error/);
    expect(result.stderr).toMatch(/Money\.amount/);
    expect(() => readFileSync(join(out, 'supergraph.graphql'))).toThrow();
  });

  it('exits 1 with --check when the output is stale', () => {
    const out = mkdtempSync(join(work, 'out-'));
    writeFileSync(join(out, 'supergraph.graphql'), 'stale');
    const result = run('--subgraphs', copySubgraphs(), '--out', out, '--check');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/Stale composed schema/);
  });
});
