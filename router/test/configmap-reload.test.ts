import { mkdirSync, mkdtempSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '@shop/platform';
import { loadTrustedDocuments, sha256 } from '../src/persisted/manifests.ts';
import { fileSupergraph } from '../src/supergraph.ts';

/**
 * Hot reload from a Kubernetes ConfigMap volume (deploy/kubernetes mounts the supergraph and the
 * manifests so). The kubelet writes each version into a hidden `..<timestamp>` folder, points the
 * `..data` symlink at it with an atomic rename, and each key is a symlink through `..data`; the
 * previous folder is then deleted. A watcher on the file alone sees the first swap and never
 * another (its file is gone), so each test swaps twice.
 */
const log = createLogger('configmap-reload-test', 'silent');
const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

let version = 0;
/** One kubelet update of the volume at `root`: `files` are the keys' paths (relative) and contents. */
function kubeletWrite(root: string, files: Record<string, string>) {
  const folder = `..2026_12_02_00_00_00.${++version}`;
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, folder, path)), { recursive: true });
    writeFileSync(join(root, folder, path), content);
  }
  let previous: string | undefined;
  try {
    previous = readlinkSync(join(root, '..data'));
  } catch {
    // first write
  }
  symlinkSync(folder, join(root, '..data_tmp'));
  renameSync(join(root, '..data_tmp'), join(root, '..data'));
  for (const top of new Set(Object.keys(files).map((path) => path.split('/')[0] as string))) {
    try {
      symlinkSync(join('..data', top), join(root, top));
    } catch {
      // the key's symlink exists from an earlier version
    }
  }
  if (previous) rmSync(join(root, previous), { recursive: true, force: true });
}

const volume = () => {
  const root = mkdtempSync(join(tmpdir(), 'configmap-'));
  roots.push(root);
  return root;
};

describe('hot reload from a ConfigMap volume', () => {
  it('reloads the supergraph on every update of the volume, not only the first', async () => {
    const root = volume();
    kubeletWrite(root, { 'supergraph.graphql': 'schema v1' });
    const update = vi.fn();
    const hook = await fileSupergraph(join(root, 'supergraph.graphql'), log, () => {})({
      update,
      healthCheck: async () => {},
      getDataSource: () => {
        throw new Error('unused');
      },
    });
    try {
      expect(hook.supergraphSdl).toBe('schema v1');
      for (const next of ['schema v2', 'schema v3', 'schema v4']) {
        kubeletWrite(root, { 'supergraph.graphql': next });
        await vi.waitFor(() => expect(update).toHaveBeenLastCalledWith(next), { timeout: 5_000, interval: 50 });
      }
      expect(update).toHaveBeenCalledTimes(3);
    } finally {
      await hook.cleanup?.();
    }
  });

  it('loads app manifests through the volume symlinks, ignores the kubelet folders, and reloads on every update', async () => {
    const root = volume();
    const manifest = (bodies: string[]) =>
      JSON.stringify({
        format: 'apollo-persisted-query-manifest',
        version: 1,
        operations: bodies.map((body, i) => ({ id: sha256(body), name: `Op${i}`, type: 'query', body })),
      });
    const path = 'ios/__generated__/persisted-query-manifest.json';
    kubeletWrite(root, { [path]: manifest(['{ a }']) });
    const documents = await loadTrustedDocuments(root, log);
    try {
      // Only the app: not `..data` or `..<timestamp>`, which are real folders holding the same file.
      expect([...(documents.forApp('ios')?.keys() ?? [])]).toEqual([sha256('{ a }')]);
      expect(documents.forApp('..data')).toBeUndefined();
      for (const bodies of [['{ b }'], ['{ c }', '{ d }']]) {
        kubeletWrite(root, { [path]: manifest(bodies) });
        await vi.waitFor(() => expect([...(documents.forApp('ios')?.keys() ?? [])]).toEqual(bodies.map(sha256)), {
          timeout: 5_000,
          interval: 50,
        });
      }
    } finally {
      documents.close();
    }
  });
});
