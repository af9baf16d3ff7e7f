import { createApqStore } from '../persisted/apq-store.ts';
import { loadTrustedDocuments } from '../persisted/manifests.ts';
import { persistedQueryPlugin } from '../persisted/safelist.ts';
import type { RouterParts, Stage } from './stage.ts';

/**
 * Trusted documents (the client apps' manifests, safelisted per SAFELIST_MODES) and automatic
 * persisted queries (APQ registrations, in Redis or a bounded memory store).
 */
export async function persistedQueries({ config, log, metrics, signals }: RouterParts): Promise<Stage> {
  const apqStore = createApqStore({
    redisUrl: config.redisUrl,
    cacheKeyPrefix: config.cacheKeyPrefix,
    cacheTimeoutMs: config.cacheTimeoutMs,
    maxEntries: config.apqMaxEntries,
    maxBytes: config.apqMaxBytes,
    maxDocumentBytes: config.maxDocumentBytes,
    ttlSeconds: config.apqTtlSeconds,
    logger: log,
    metrics,
  });
  const documents = await loadTrustedDocuments(config.persistedQueriesDir, log, (manifests) => {
    metrics.persistedQueryManifestLoads.inc();
    // Known apps and their operations take label slots before first-come names (while there is room).
    metrics.labels.client.admit(manifests.keys());
    for (const operations of manifests.values())
      metrics.labels.operation.admit([...operations.values()].map((operation) => operation.name));
    void signals.documentsChanged.emit(); // an operation may no longer be allowed
  });
  return {
    name: 'persisted-queries',
    apollo: {
      plugins: [persistedQueryPlugin({ documents, modes: config.safelistModes, metrics, logger: log })],
      persistedQueries: { cache: apqStore.cache, ttl: config.apqTtlSeconds },
    },
    async close() {
      await apqStore.close();
      documents.close();
    },
  };
}
