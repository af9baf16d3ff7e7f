import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { SupergraphSdlHook } from '@apollo/gateway';
import { Kind, parse, type EnumTypeDefinitionNode } from 'graphql';
import type { Logger } from '@shop/platform';

/**
 * Serves the committed supergraph file to the gateway and hands it a new one when the file
 * changes. The gateway swaps schemas between requests, so in-flight requests finish on the plan
 * they started with; a file that fails to load is logged and the old schema stays.
 */
export function fileSupergraph(path: string, logger: Logger, onLoad: () => void): SupergraphSdlHook {
  return async ({ update }) => {
    let current = await readFile(path, 'utf8');
    let timer: NodeJS.Timeout | undefined;
    let watcher: FSWatcher | undefined;
    const reload = async () => {
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
    try {
      // Editors replace files rather than write them; debounce the burst of events that causes.
      watcher = watch(path, { persistent: false }, () => {
        clearTimeout(timer);
        timer = setTimeout(() => void reload(), 100);
      });
    } catch (error) {
      logger.warn({ err: error }, 'cannot watch the supergraph file; hot reload is off');
    }
    onLoad();
    return {
      supergraphSdl: current,
      cleanup: async () => {
        clearTimeout(timer);
        watcher?.close();
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
