import {
  boolVar,
  ConfigError,
  type Env,
  intVar,
  optionalString,
  readServiceBaseConfig,
  type ServiceBaseConfig,
  stringVar,
  urlVar,
} from '@shop/platform';
import { DEFAULT_PREPARED_STATEMENTS } from './db.ts';

/** Settings every subgraph reads the same way (beside what every service reads); each subgraph's config module adds its own. */
export interface SubgraphBaseConfig extends ServiceBaseConfig {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  /**
   * `<NAME>_READ_DATABASE_URL`: a streaming replica of `databaseUrl` that takes the reads outside
   * a write (replica.ts); only where the subgraph's definition allows one (`readReplica`).
   */
  readDatabaseUrl: string | undefined;
  pgliteDataDir: string | undefined;
  /**
   * PG_PREPARED_STATEMENTS: distinct statement texts each pool (primary, replica) sends as named prepared statements (db.ts);
   * 0 turns it off, for a pooler in transaction mode that cannot keep them (PgBouncer before 1.21).
   */
  preparedStatements: number;
  seed: boolean;
  /** The subgraph cache layer (mercurius-cache); `Cache-Control` headers are sent either way. */
  subgraphCache: boolean;
  /** SUBGRAPH_CACHE_MAX_BYTES: all in-memory stores of the cache layer together, in accounted bytes. */
  cacheMaxBytes: number;
  /** SUBGRAPH_CACHE_MAX_ENTRY_BYTES: a larger value is not cached, in memory or in Redis. */
  cacheMaxEntryBytes: number;
}

/** Byte bounds of the subgraph cache layer (see subgraph-cache.ts). */
export const DEFAULT_SUBGRAPH_CACHE_BOUNDS = { maxBytes: 64 * 1024 ** 2, maxEntryBytes: 1024 ** 2 } as const;

export interface SubgraphConfigOptions {
  /**
   * Reads `<NAME>_READ_DATABASE_URL`: for the read-heavy subgraphs whose every write goes through
   * `write` (a transaction), so that nothing but reads ever reaches the replica.
   */
  readReplica?: boolean;
}

export function readSubgraphBaseConfig(
  env: Env,
  name: string,
  defaultPort: number,
  options: SubgraphConfigOptions = {},
): SubgraphBaseConfig {
  const base = readServiceBaseConfig(env);
  const urlName = `${name.toUpperCase()}_DATABASE_URL`;
  const readUrlName = `${name.toUpperCase()}_READ_DATABASE_URL`;
  const databaseUrl = urlVar(env, urlName);
  const readDatabaseUrl = options.readReplica ? urlVar(env, readUrlName) : undefined;
  // The replica streams from a Postgres primary; embedded PGlite has none to stream from.
  if (readDatabaseUrl && !databaseUrl)
    throw new ConfigError(`${readUrlName} needs ${urlName}: a read replica is of a Postgres primary, not embedded PGlite`);
  return {
    ...base,
    port: intVar(env, 'PORT', defaultPort, { min: 0, max: 65535 }),
    host: stringVar(env, 'HOST', '127.0.0.1'),
    databaseUrl,
    readDatabaseUrl,
    pgliteDataDir: optionalString(env, 'PGLITE_DATA_DIR'),
    preparedStatements: intVar(env, 'PG_PREPARED_STATEMENTS', DEFAULT_PREPARED_STATEMENTS, { min: 0, max: 10_000 }),
    seed: boolVar(env, 'SEED', !base.production),
    subgraphCache: boolVar(env, 'SUBGRAPH_CACHE', true),
    cacheMaxBytes: intVar(env, 'SUBGRAPH_CACHE_MAX_BYTES', DEFAULT_SUBGRAPH_CACHE_BOUNDS.maxBytes, { min: 1_024, max: 16 * 1024 ** 3 }),
    cacheMaxEntryBytes: intVar(env, 'SUBGRAPH_CACHE_MAX_ENTRY_BYTES', DEFAULT_SUBGRAPH_CACHE_BOUNDS.maxEntryBytes, {
      min: 1_024,
      max: 512 * 1024 ** 2,
    }),
  };
}
