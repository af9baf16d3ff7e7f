import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { SupergraphSdlHook } from '@apollo/gateway';
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
