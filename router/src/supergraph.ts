import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SupergraphSdlHook } from '@apollo/gateway';
import { Kind, parse, type EnumTypeDefinitionNode } from 'graphql';
import type { Logger } from '@shop/platform';

/**
 * Serves the committed supergraph file to the gateway and hands it a new one when the file
 * changes. The gateway swaps schemas between requests, so in-flight requests finish on the plan
 * they started with; a file that fails to load is logged and the old schema stays.
 *
 * Two watchers, both re-made after every reload: the file's folder and the file itself. Watching
 * the file alone misses every change after the first on a Kubernetes ConfigMap volume: there the
 * file is a symlink into a `..data` folder that the kubelet swaps for a new one, and the watched
 * (old) file is deleted, so its watcher never fires again. The folder sees each swap (and editors'
 * rename-over), the file watcher a symlink target edited in place; the content decides.
 */
export function fileSupergraph(path: string, logger: Logger, onLoad: () => void): SupergraphSdlHook {
  return async ({ update }) => {
    let current = await readFile(path, 'utf8');
    let timer: NodeJS.Timeout | undefined;
    let watchers: FSWatcher[] = [];
    let closed = false;
    const schedule = () => {
      // Editors and the kubelet replace files rather than write them; debounce the burst of events.
      clearTimeout(timer);
      timer = setTimeout(() => void reload(), 100);
    };
    const rewatch = () => {
      for (const watcher of watchers) watcher.close();
      watchers = [];
      if (closed) return;
      for (const target of [dirname(path), path]) {
        try {
          watchers.push(watch(target, { persistent: false }, schedule));
        } catch (error) {
          logger.warn({ err: error, path: target }, 'cannot watch for supergraph changes');
        }
      }
    };
    const reload = async () => {
      rewatch();
      try {
        const next = await readFile(path, 'utf8');
        if (next === current || !next.trim()) return;
        update(next);
        current = next;
        onLoad();
        logger.info({ path }, 'supergraph reloaded');
      } catch (error) {
        logger.error({ err: error, path }, 'supergraph reload failed; keeping the previous schema');
      }
    };
    rewatch();
    if (watchers.length === 0) logger.warn({ path }, 'hot reload of the supergraph is off');
    onLoad();
    return {
      supergraphSdl: current,
      cleanup: async () => {
        closed = true;
        clearTimeout(timer);
        for (const watcher of watchers) watcher.close();
      },
    };
  };
}

/**
 * The subgraphs a supergraph names, with the `join__graph(url:)` each was composed with: the
 * `join__Graph` enum's values. The router's only list of subgraphs (it has no registry of its own).
 */
export function subgraphsOf(supergraphSdl: string): { name: string; url: string }[] {
  const document = parse(supergraphSdl, { noLocation: true });
  const graphs = document.definitions.find(
    (definition): definition is EnumTypeDefinitionNode =>
      definition.kind === Kind.ENUM_TYPE_DEFINITION && definition.name.value === 'join__Graph',
  );
  const found: { name: string; url: string }[] = [];
  for (const value of graphs?.values ?? []) {
    const directive = value.directives?.find((candidate) => candidate.name.value === 'join__graph');
    const argument = (name: string) => {
      const node = directive?.arguments?.find((candidate) => candidate.name.value === name)?.value;
      return node?.kind === Kind.STRING ? node.value : undefined;
    };
    const name = argument('name');
    const url = argument('url');
    if (name && url) found.push({ name, url });
  }
  return found;
}
