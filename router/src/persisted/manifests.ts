import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@shop/platform';

/** Where each app's manifest lives under the clients directory (see codegen.ts). */
export const MANIFEST_PATH = ['__generated__', 'persisted-query-manifest.json'] as const;

/**
 * Largest manifest file read, in bytes: the manifests are the operators' own files, but every
 * operation in them stays in memory for as long as the router runs, so their size is bounded too.
 * The shipped ones are under 7 KB; a larger file fails the load (the previous set is kept).
 */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface ManifestOperation {
  name: string;
  type: string;
  body: string;
}

/** Per app (the folder name under clients/): the operations it ships, by sha256 id. */
export type ManifestSet = ReadonlyMap<string, ReadonlyMap<string, ManifestOperation>>;

export interface TrustedDocuments {
  /** The operations an app registered, or undefined when the app has no loaded manifest. */
  forApp(app: string): ReadonlyMap<string, ManifestOperation> | undefined;
  close(): void;
}

/**
 * Loads every `<dir>/<app>/__generated__/persisted-query-manifest.json` and reloads them when one
 * changes. A reload that fails (a half-written or malformed file) keeps the previous set: a deploy
 * writing manifests must never leave a safelisted app with nothing, or worse, with a partial list.
 */
export async function loadTrustedDocuments(
  dir: string,
  logger: Logger,
  onLoad: (manifests: ManifestSet) => void = () => {},
): Promise<TrustedDocuments> {
  let current: ManifestSet = new Map();
  try {
    current = await readManifests(dir);
    onLoad(current);
  } catch (error) {
    // Safelisted apps then refuse everything (see the safelist plugin) until a reload succeeds.
    logger.error({ err: error, dir }, 'persisted query manifests could not be loaded; safelisted clients are refused');
  }

  let timer: NodeJS.Timeout | undefined;
  let watchers: FSWatcher[] = [];
  const schedule = () => {
    // Editors and codegen replace files rather than write them; debounce the burst of events.
    clearTimeout(timer);
    timer = setTimeout(() => void reload(), 100);
  };
  // The folder itself (a new app) and each app's __generated__ folder, not the whole tree:
  // a recursive watch would also walk any node_modules under clients/.
  let closed = false;
  const rewatch = async () => {
    for (const watcher of watchers) watcher.close();
    watchers = [];
    if (closed) return;
    const folders = [dir];
    try {
      for (const app of await appFolders(dir)) folders.push(join(dir, app), join(dir, app, MANIFEST_PATH[0]));
    } catch {
      // no folder yet: nothing to watch beyond the attempt below
    }
    for (const folder of folders) {
      if (closed) return;
      try {
        watchers.push(watch(folder, { persistent: false }, schedule));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') logger.warn({ err: error, folder }, 'cannot watch for manifest changes');
      }
    }
  };
  const reload = async () => {
    await rewatch();
    try {
      current = await readManifests(dir);
      onLoad(current);
      logger.info({ dir, apps: [...current.keys()] }, 'persisted query manifests reloaded');
    } catch (error) {
      logger.error({ err: error, dir }, 'persisted query manifest reload failed; keeping the previous set');
    }
  };
  await rewatch();

  return {
    forApp: (app) => current.get(app),
    close() {
      closed = true;
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}

/** Reads every app's manifest; throws on any malformed one so the caller keeps the last good set. */
export async function readManifests(dir: string): Promise<ManifestSet> {
  const apps = new Map<string, ReadonlyMap<string, ManifestOperation>>();
  for (const app of await appFolders(dir)) {
    const path = join(dir, app, ...MANIFEST_PATH);
    let text: string;
    try {
      text = await readBounded(path, MAX_MANIFEST_BYTES);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // a folder that is not an app
      throw error;
    }
    apps.set(app, parseManifest(text, path));
  }
  return apps;
}

/**
 * The app folders under `dir`: folders and symlinks to folders, not hidden. On a Kubernetes
 * ConfigMap volume each app folder is a symlink (`ios -> ..data/ios`) and the real folders are the
 * kubelet's own hidden `..data` and `..<timestamp>`, which are no apps.
 */
async function appFolders(dir: string): Promise<string[]> {
  const apps: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    if (entry.isDirectory()) apps.push(entry.name);
    else if (entry.isSymbolicLink() && (await stat(join(dir, entry.name)).catch(() => undefined))?.isDirectory()) apps.push(entry.name);
  }
  return apps;
}

/** A file's text, refused when it is larger than `maxBytes` (never more than that is read). */
async function readBounded(path: string, maxBytes: number): Promise<string> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (let read = -1; read !== 0 && length < buffer.length; length += read) {
      ({ bytesRead: read } = await file.read(buffer, length, buffer.length - length, null));
    }
    if (length > maxBytes) throw new Error(`${path} is larger than the ${maxBytes} bytes a manifest may have`);
    return buffer.toString('utf8', 0, length);
  } finally {
    await file.close();
  }
}

export function parseManifest(text: string, path: string): ReadonlyMap<string, ManifestOperation> {
  const manifest = JSON.parse(text) as { format?: unknown; version?: unknown; operations?: unknown };
  if (manifest.format !== 'apollo-persisted-query-manifest' || manifest.version !== 1 || !Array.isArray(manifest.operations)) {
    throw new Error(`${path} is not an apollo-persisted-query-manifest, version 1`);
  }
  const operations = new Map<string, ManifestOperation>();
  for (const operation of manifest.operations as Record<string, unknown>[]) {
    const { id, name, type, body } = operation;
    if (typeof id !== 'string' || typeof body !== 'string' || typeof name !== 'string' || typeof type !== 'string') {
      throw new Error(`${path}: every operation needs a string id, name, type and body`);
    }
    // Clients send sha256(body) and Apollo checks it against the body it runs; an id that is not
    // the body's hash means the manifest was edited by hand or generated wrong.
    if (sha256(body) !== id) throw new Error(`${path}: operation ${name} has an id that is not the sha256 of its body`);
    operations.set(id, { name, type, body });
  }
  return operations;
}

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
