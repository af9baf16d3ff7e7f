import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import type { PGlite } from '@electric-sql/pglite';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { DocumentNode } from 'graphql';
import {
  createEventMetrics,
  type EventEnvelope,
  type EventStream,
  type EventType,
  type AnyNewEvent,
  openEventStream,
  openInvalidationBus,
} from '@shop/events';
import {
  invalidationChannel,
  type InvalidationBus,
  readCacheHints,
  type Viewer,
  createLogger,
  type Logger,
  setupTracing,
  type SpanExporter,
} from '@shop/platform';
import { createDatabase, type Database, primaryOf } from './db.ts';
import { createServiceMetrics, type ServiceMetrics } from './metrics.ts';
import { prepareStorage } from './migrate.ts';
import { FULL_SEED, type SeedSize } from './seed-plan.ts';
import { isBackground } from './background.ts';
import { startConsumers } from './consumers.ts';
import { createOutboxRelay } from './outbox.ts';
import { createReplicatedDatabase, REPLICA_CONNECT_TIMEOUT_MS, REPLICA_STATEMENT_TIMEOUT_MS } from './replica.ts';
import { createSubgraphServer } from './server.ts';
import type { SubgraphBaseConfig } from './subgraph-config.ts';
import { createWrite, type Write, type WriteTransaction } from './write.ts';

/** What each subgraph's `buildServer` accepts. */
export interface BuildOptions<Config extends SubgraphBaseConfig> {
  config: Config;
  /** Share an open PGlite instead of opening one (used by `npm start` and the e2e tests). */
  pglite?: PGlite | undefined;
  logger?: Logger | undefined;
  /** Seed size when seeding is on; the full development seed by default. */
  seedSize?: SeedSize | undefined;
  /** Tests: trace to this exporter (turns tracing on whatever the configuration says). */
  spanExporter?: SpanExporter | undefined;
}

/** What the shell opens for a subgraph and hands to its context, consumers and background work. */
export interface SubgraphServices {
  db: Database;
  /** This process's side of cache invalidation (the stream carries it to the others). */
  bus: InvalidationBus;
  stream: EventStream;
  metrics: ServiceMetrics;
  logger: Logger;
  /**
   * A `Write` (write.ts) into this subgraph's tables and outbox: for one request (pass its loaders,
   * cleared after each commit) or for work outside a request (no loaders).
   */
  writeFor(loaders?: object): Write;
}

/**
 * A durable, idempotent consumer of events from the stream. `handle` runs in one transaction with
 * the `processed_events` row for the event id, so an event delivered twice has one effect; the
 * events it returns go to this subgraph's outbox in that same transaction. When it throws, the
 * event comes again after a backoff, and after `maxDeliver` attempts goes to the dead-letter subject.
 */
export interface EventConsumerDefinition {
  /** Unique within the subgraph; the durable name on the stream is `<subgraph>-<name>`. */
  name: string;
  types: readonly EventType[];
  handle(event: EventEnvelope, tx: WriteTransaction): Promise<readonly AnyNewEvent[] | undefined>;
  maxDeliver?: number;
  backoffMs?: readonly number[];
}

/** What makes one subgraph different from the others. */
export interface SubgraphDefinition<C extends object> {
  name: string;
  typeDefs: DocumentNode;
  resolvers: object;
  /** Folder of versioned `NNN_name.sql` migrations. */
  migrations: URL;
  /** Seeds an empty database; true when it did (the kit then gathers the tables' statistics), false when it found data. */
  seed: (db: Database, size: SeedSize) => Promise<boolean>;
  /**
   * Given the services, returns the per-request context factory (fresh loaders each request).
   * Writes go through `services.writeFor(loaders)` (write.ts): the change and its events commit in
   * one transaction; then the request's loaders are cleared, this process's caches drop what
   * changed, and the relay puts the events on the stream. A subgraph registers its own metrics
   * with `metrics.counter`.
   */
  context: (services: SubgraphServices) => (viewer: Viewer | null, trusted: boolean, request: FastifyRequest) => C;
  routes?: (app: FastifyInstance) => void;
  /** Background work tied to the server's life (sweepers); returns what stops it on close. */
  background?: (services: SubgraphServices) => () => void;
  /** Durable consumers of the stream, started with the server and stopped on close. */
  consumers?: readonly EventConsumerDefinition[];
}

/** Opens storage, migrates, seeds when asked, and serves the subgraph schema. */
export async function buildSubgraphServer<C extends object, Config extends SubgraphBaseConfig>(
  definition: SubgraphDefinition<C>,
  { config, pglite, logger, seedSize = FULL_SEED, spanExporter }: BuildOptions<Config>,
): Promise<FastifyInstance> {
  const log = logger ?? createLogger(definition.name, config.logLevel);
  const metrics = createServiceMetrics(definition.name);
  const tracing = await setupTracing({ serviceName: definition.name, config: config.tracing, exporter: spanExporter });
  const counter = (server: 'primary' | 'replica') => () =>
    (isBackground() ? metrics.dbBackgroundQueries : metrics.dbQueries).inc({ server });
  const tracer = tracing.enabled ? tracing.tracer : undefined;
  const primary = await createDatabase({
    url: config.databaseUrl,
    pglite,
    pgliteDataDir: config.pgliteDataDir,
    onStatement: counter('primary'),
    tracer,
    preparedStatements: config.preparedStatements,
  });
  // Reads outside a write go to the replica; writes, migrations, seeds and the relay to the primary.
  const db = config.readDatabaseUrl
    ? createReplicatedDatabase(
        primary,
        await createDatabase({
          url: config.readDatabaseUrl,
          onStatement: counter('replica'),
          tracer,
          connectionTimeoutMillis: REPLICA_CONNECT_TIMEOUT_MS,
          statementTimeoutMillis: REPLICA_STATEMENT_TIMEOUT_MS,
          preparedStatements: config.preparedStatements,
        }),
        { onFallback: () => metrics.dbReplicaFallbacks.inc(), logger: log },
      )
    : primary;
  if (db.poolStats) metrics.watchPool(db.poolStats);
  try {
    await prepareStorage(db, definition.name, definition.migrations, config.seed ? (tx) => definition.seed(tx, seedSize) : undefined);
  } catch (error) {
    await db.close();
    await tracing.shutdown();
    throw error;
  }
  const eventMetrics = createEventMetrics(metrics.registry);
  let stream: EventStream;
  try {
    stream = await openEventStream({ ...config.events, logger: log, metrics: eventMetrics });
  } catch (error) {
    await db.close();
    await tracing.shutdown();
    throw error;
  }
  const bus = openInvalidationBus({
    stream,
    redisUrl: config.redisUrl,
    logger: log,
    channel: invalidationChannel(config.cacheKeyPrefix),
    metrics: eventMetrics,
    onPublishError: () => metrics.cache.errors.inc({ layer: 'subgraph', type: 'bus' }),
  });
  // The relay marks rows published and deletes old ones: the primary's work, and its count must be current.
  const relay = createOutboxRelay({ db: primaryOf(db), schema: definition.name, stream, logger: log, metrics: eventMetrics });
  const services: SubgraphServices = {
    db,
    bus,
    stream,
    metrics,
    logger: log,
    writeFor: (loaders) => createWrite({ db, schema: definition.name, bus, loaders, logger: log, onEvents: relay.flush }),
  };
  const stopBackground = definition.background?.(services);
  const consumers = startConsumers(services, definition.name, definition.consumers ?? [], eventMetrics);
  const close = async () => {
    stopBackground?.();
    await consumers.stop();
    // What committed before close is still published, so a clean stop leaves nothing behind.
    await relay.stop();
    await bus.close();
    await stream.close();
    await db.close();
    await tracing.shutdown(); // flushes the spans still buffered
  };
  let app: FastifyInstance;
  try {
    const schema = buildSubgraphSchema({
      typeDefs: definition.typeDefs,
      resolvers: withPositionedEntityErrors(definition.resolvers) as GraphQLResolverMap<unknown>,
    });
    app = await createSubgraphServer({
      name: definition.name,
      schema,
      metrics,
      logger: log,
      routerSecret: config.routerSecret,
      production: config.production,
      context: definition.context(services),
      cacheHints: readCacheHints(definition.typeDefs),
      cache: config.subgraphCache
        ? {
            bus,
            redisUrl: config.redisUrl,
            timeoutMs: config.cacheTimeoutMs,
            keyPrefix: `${config.cacheKeyPrefix}${definition.name}:`,
            maxBytes: config.cacheMaxBytes,
            maxEntryBytes: config.cacheMaxEntryBytes,
          }
        : undefined,
      routes: definition.routes,
      tracing,
      listener: config.listener,
      onClose: close,
    });
  } catch (error) {
    await close();
    throw error;
  }
  databases.set(app, db);
  relays.set(app, relay);
  return app;
}

const databases = new WeakMap<FastifyInstance, Database>();
const relays = new WeakMap<FastifyInstance, ReturnType<typeof createOutboxRelay>>();

/** The outbox relay of a built subgraph server: tests drain it to see every event on the stream. */
export function relayOf(app: FastifyInstance): ReturnType<typeof createOutboxRelay> {
  const relay = relays.get(app);
  if (!relay) throw new Error('not a server built by buildSubgraphServer');
  return relay;
}

/**
 * The database behind a built subgraph server. For tests that need to reach under the API, for
 * example to make a write fail at the database and prove nothing half-written survives.
 */
export function databaseOf(app: FastifyInstance): Database {
  const db = databases.get(app);
  if (!db) throw new Error('not a server built by buildSubgraphServer');
  return db;
}

/**
 * Makes every `__resolveReference` return its failure as a value instead of throwing it.
 * graphql-jit (Mercurius's compiled execution) appends `null` for a rejected list item rather
 * than writing it at the item's index, which shortens `_entities` and makes the gateway reject
 * the whole fetch. An Error returned as the item's value is nulled in place by both graphql-js
 * and graphql-jit, keeping its code and path.
 */
function withPositionedEntityErrors(resolvers: object): object {
  return Object.fromEntries(
    Object.entries(resolvers).map(([typeName, fields]) => {
      const resolve = (fields as { __resolveReference?: (...args: unknown[]) => unknown }).__resolveReference;
      if (typeof resolve !== 'function') return [typeName, fields];
      return [
        typeName,
        {
          ...(fields as object),
          async __resolveReference(...args: unknown[]) {
            try {
              return await resolve.apply(fields, args);
            } catch (error) {
              return error instanceof Error ? error : new Error(String(error));
            }
          },
        },
      ];
    }),
  );
}
