import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import {
  getNamedType,
  getNullableType,
  isAbstractType,
  isCompositeType,
  isListType,
  isObjectType,
  isUnionType,
  type GraphQLOutputType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
} from 'graphql';
import mercuriusCache from 'mercurius-cache';
import { ALL_TAGS } from '@shop/events';
import {
  type InvalidationBus,
  fieldHint,
  type CacheHints,
  type CacheScope,
  type Logger,
  entryBytes,
  type CacheMetrics,
  createRedis,
  InvalidationLog,
} from '@shop/platform';
import { failOpenCacheClient } from './cache-client.ts';
import { requestScopeOf } from './request-scope.ts';
import { DEFAULT_SUBGRAPH_CACHE_BOUNDS } from './subgraph-config.ts';

/**
 * The subgraph cache layer: mercurius-cache policies generated from the SDL's `@cacheControl`
 * hints — never a list kept by hand — invalidated by `Type:id` tags from the bus.
 *
 * What is cached:
 *  - every Query field with a hint (its own, or its return type's), for the hint's maxAge;
 *  - every other field with a hint of its own that takes arguments: the computed ones (price,
 *    stock, shipping, a user's orders). Plain data fields and internal fields without hints are not.
 * A cached value is the field's own resolved value; its subfields still resolve on each request
 * (and are cached only if they qualify themselves). The key is the parent, the arguments and,
 * for PRIVATE hints, the viewer — anonymous requests skip PRIVATE fields. The selection is not
 * part of the key: no resolver here looks at `info`, so the value does not depend on it.
 *
 * Where it is kept:
 *  - Query fields: Redis when REDIS_URL is set (shared by replicas), else process memory.
 *  - Fields under entities: process memory (a bounded LRU per field), always. They resolve once
 *    per entity of an `_entities` batch, and their misses must reach the DataLoader in the same
 *    tick so that N entities still cost one statement per loader. A memory lookup stays within
 *    the microtask queue, which DataLoader waits out before dispatching; a Redis lookup answers
 *    on a later I/O turn, one reply at a time, and would split the batch into many. Replicas stay
 *    coherent through the bus, which every replica hears, and the short TTLs of these fields.
 *
 * Freshness: each entry references the tags of the entities in its value and of its parent
 * (`Product:p42` for `Product.price` of p42). A Query field's list of entities also references
 * the bare type (`Promotion`): a write that adds a member to a set publishes that tag, since no
 * cached list names the new member yet. An entry whose request began before one of its tags was
 * invalidated is not stored, since it may have read the data before the write.
 * Failure: Redis errors and slowness fall through to the resolvers (see cache-client.ts). Tags that
 * could not be applied to Redis are retried until they are, and Query fields skip Redis meanwhile.
 *
 * Memory: a client chooses the arguments, so each store is bounded by entries and, all memory
 * stores of the process together, by bytes (`maxBytes`, see ByteBudget); a value larger than
 * `maxEntryBytes` (its JSON at 2 bytes a character, with its key and tags) is not stored in memory
 * or in Redis, and counted in `cache_entries_skipped_total{reason="too_large"}`.
 */
export interface SubgraphCacheOptions {
  schema: GraphQLSchema;
  hints: CacheHints;
  bus: InvalidationBus;
  metrics: CacheMetrics;
  logger: Logger;
  redisUrl: string | undefined;
  timeoutMs: number;
  keyPrefix: string;
  /** Byte bounds (DEFAULT_SUBGRAPH_CACHE_BOUNDS when absent). */
  maxBytes?: number | undefined;
  maxEntryBytes?: number | undefined;
}

export interface CachedField {
  type: string;
  field: string;
  ttl: number;
  scope: CacheScope;
  /** A Query field: one lookup per request, so it may live in Redis. */
  root: boolean;
}

const LAYER = 'subgraph';
/** Entries per in-memory store: one store for Query fields without Redis, one per entity field. */
const ROOT_ENTRIES = 10_000;
const FIELD_ENTRIES = 20_000;
/** An entry names at most this many entities; past it, it is not cached (it could not be invalidated). */
const MAX_TAGS = 1_000;
const MAX_DEPTH = 6;
/** How often invalidations Redis missed are tried again, and how many are remembered. */
const RETRY_INVALIDATION_MS = 1_000;
const MAX_UNAPPLIED = 10_000;

/** The fields the layer caches, read from the schema and its hints. */
export function cachedFields(schema: GraphQLSchema, hints: CacheHints): CachedField[] {
  const query = schema.getQueryType();
  const skipped = new Set([schema.getMutationType(), schema.getSubscriptionType()]);
  const fields: CachedField[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__') || skipped.has(type)) continue;
    const root = type === query;
    for (const field of Object.values(type.getFields())) {
      // Without a resolver of its own a field just reads its parent: nothing to save.
      if (typeof field.resolve !== 'function') continue;
      const own = hints.fields.get(`${type.name}.${field.name}`);
      const hint = root ? fieldHint(hints, type.name, field.name, getNamedType(field.type).name) : field.args.length > 0 ? own : undefined;
      if (!hint || hint.maxAge <= 0) continue;
      fields.push({ type: type.name, field: field.name, ttl: hint.maxAge, scope: hint.scope, root });
    }
  }
  return fields;
}

/** Registers the layer on a server whose Mercurius is registered; a no-op when nothing qualifies. */
export async function registerSubgraphCache(app: FastifyInstance, options: SubgraphCacheOptions): Promise<void> {
  const { schema, bus, metrics, logger } = options;
  const fields = cachedFields(schema, options.hints);
  if (!fields.length) return;
  const maxBytes = options.maxBytes ?? DEFAULT_SUBGRAPH_CACHE_BOUNDS.maxBytes;
  const maxEntryBytes = Math.min(maxBytes, options.maxEntryBytes ?? DEFAULT_SUBGRAPH_CACHE_BOUNDS.maxEntryBytes);
  const entityTypes = new Set(entityTypeNames(schema));
  const invalidations = new InvalidationLog();
  const countError = (type: string) => metrics.errors.inc({ layer: LAYER, type });
  let redisFailures = 0;
  // Tags that could not be applied to the Redis store (Redis down or failing when they came).
  // Until they are, Query fields bypass it: it may hold entries those tags should have dropped.
  // Past MAX_UNAPPLIED they are no longer tracked: the store is bypassed until every entry that
  // might predate them has expired.
  const unapplied = new Set<string>();
  const longestRootTtlMs = Math.max(0, ...fields.filter((f) => f.root).map((f) => f.ttl * 1_000));
  let bypassSharedUntil = Number.NEGATIVE_INFINITY;
  const sharedSuspect = () => unapplied.size > 0 || performance.now() < bypassSharedUntil;

  const redis = options.redisUrl
    ? // The client's own timeout is only a backstop for writes: reads are bounded by the fail-open
      // client, which tells a stalled event loop from a slow Redis (ioredis's timer cannot).
      createRedis(options.redisUrl, { logger, commandTimeoutMs: Math.max(1_000, 10 * options.timeoutMs), keyPrefix: options.keyPrefix })
    : undefined;
  // The storage logs every failed command as an error; during an outage that is every request.
  // The Redis client logs the outage once, and the failures are counted.
  const quietLog = { fatal: noop, error: noop, warn: noop, info: noop, debug: noop, trace: noop };
  const rootStorage = redis
    ? {
        type: 'redis' as const,
        options: {
          client: failOpenCacheClient(redis, {
            timeoutMs: options.timeoutMs,
            onError: (key) => {
              redisFailures++;
              countError(typeOfKey(key));
            },
          }),
          invalidation: true,
          log: quietLog,
        },
      }
    : { type: 'memory' as const, options: { size: ROOT_ENTRIES, invalidation: true, log: quietLog } };

  // Evicting by bytes drops the entry through its own reference (see ByteBudget).
  const budget = new ByteBudget(maxBytes, (store, reference) => void invalidate(store, [reference]));

  const policy: Record<string, Record<string, object>> = {};
  for (const cached of fields) {
    const name = `${cached.type}.${cached.field}`;
    // Which memory store holds this field's entries; undefined for Query fields kept in Redis.
    const memoryStore = cached.root ? (redis ? undefined : '_default') : name;
    (policy[cached.type] ??= {})[cached.field] = {
      ttl: cached.ttl,
      ...(cached.root ? {} : { storage: { type: 'memory', options: { size: FIELD_ENTRIES, invalidation: true, log: quietLog } } }),
      // No scope: not a request this server built. PRIVATE needs someone to key by.
      skip: (_self: unknown, _arg: unknown, ctx: unknown) => {
        const scope = requestScopeOf(ctx);
        return !scope || (cached.scope === 'PRIVATE' && !scope.viewer) || (cached.root && redis !== undefined && sharedSuspect());
      },
      key: ({ self, arg, ctx }: CacheCall) => {
        const viewer = cached.scope === 'PRIVATE' ? requestScopeOf(ctx)?.viewer : undefined;
        const key = stableStringify({
          self: cached.root ? undefined : self,
          arg,
          viewer: viewer ? { id: viewer.userId, scopes: [...viewer.scopes].sort() } : undefined,
        });
        return memoryStore ? key : slotTagged(key);
      },
      references: ({ self, ctx, info }: CacheCall, key: string, result: unknown) => {
        let tags: string[];
        try {
          tags = tagsOf(schema, entityTypes, info, self, result, { collections: cached.root });
        } catch (error) {
          countError(name);
          logger.error({ err: error, field: name }, 'could not tag a cache entry; not caching it');
          throw DO_NOT_STORE;
        }
        const startedAt = requestScopeOf(ctx)?.startedAt ?? Number.NEGATIVE_INFINITY;
        if (tags.length > MAX_TAGS || invalidations.touchedSince(tags, startedAt)) throw DO_NOT_STORE;
        const size = valueBytes(`${name}~${key}`, result, tags);
        if (size === undefined || size > maxEntryBytes) {
          metrics.skipped.inc({ layer: LAYER, type: name, reason: 'too_large' });
          throw DO_NOT_STORE;
        }
        if (memoryStore) tags.push(budget.admit(memoryStore, key, size, cached.ttl * 1_000));
        return tags;
      },
    };
  }

  // A CommonJS plugin: under NodeNext its types are the module's, the plugin is `default`
  // (fastify-plugin sets it on the function itself, so it is there at run time too).
  await app.register(mercuriusCache.default, {
    policy,
    storage: rootStorage,
    onHit: (type: string, field: string) => metrics.hits.inc({ layer: LAYER, type: `${type}.${field}` }),
    onMiss: (type: string, field: string) => metrics.misses.inc({ layer: LAYER, type: `${type}.${field}` }),
    // Reached by resolver errors (which the request reports itself) and by DO_NOT_STORE; Redis
    // failures never get here (the storage swallows them; cache-client.ts counts them).
    onError: (type: string, field: string, error: unknown) => {
      if (error !== DO_NOT_STORE) logger.debug({ err: error, field: `${type}.${field}` }, 'cached resolver failed');
    },
  });

  // Query fields share the default store; each entity field has a store of its own.
  const memoryStores = [...(redis ? [] : ['_default']), ...fields.filter((f) => !f.root).map((f) => `${f.type}.${f.field}`)];
  const invalidate = async (store: string, tags: string[]) => {
    try {
      await app.graphql.cache?.invalidate(tags, store);
    } catch (error) {
      // Before the server is ready there is nothing to drop yet.
      logger.debug({ err: error, store }, 'could not invalidate');
    }
  };
  /** Drops the tags' entries from the Redis store; false when Redis failed on the way. */
  const applyShared = async (tags: string[]): Promise<boolean> => {
    if (redis?.status !== 'ready') return false;
    const failuresBefore = redisFailures;
    await invalidate('_default', tags);
    // The storage swallows Redis errors; the client counted them.
    return redisFailures === failuresBefore;
  };
  const invalidateShared = async (tags: string[]) => {
    if (!redis || (await applyShared(tags))) return;
    for (const tag of tags) unapplied.add(tag);
    if (unapplied.size > MAX_UNAPPLIED) {
      unapplied.clear();
      bypassSharedUntil = performance.now() + longestRootTtlMs;
    }
  };
  let retrying = false;
  const retry = redis
    ? setInterval(() => {
        if (!unapplied.size || retrying) return;
        retrying = true;
        const tags = [...unapplied];
        // Kept in the set until applied, so Query fields keep bypassing Redis until then.
        void applyShared(tags)
          .then((applied) => {
            if (applied) for (const tag of tags) unapplied.delete(tag);
          })
          .finally(() => (retrying = false));
      }, RETRY_INVALIDATION_MS).unref()
    : undefined;

  const unsubscribe = bus.subscribe(async (tags) => {
    if (tags.includes(ALL_TAGS)) {
      // The stream lost events this process never heard: anything held may predate them. Memory
      // entries all go (each carries its budget reference); the shared Redis store is bypassed until
      // whatever it holds has expired, as when too many invalidations could not be applied to it.
      invalidations.recordAll();
      metrics.invalidations.inc({ layer: LAYER, type: ALL_TAGS });
      budget.dropAll();
      if (redis) bypassSharedUntil = performance.now() + longestRootTtlMs;
      return;
    }
    invalidations.record(tags);
    for (const tag of tags) metrics.invalidations.inc({ layer: LAYER, type: tag.split(':')[0] ?? tag });
    await Promise.all([...memoryStores.map((store) => invalidate(store, tags)), invalidateShared(tags)]);
  });
  app.addHook('onClose', async () => {
    unsubscribe();
    clearInterval(retry);
    redis?.disconnect();
  });
}

/** The accounted size of an entry (memory-sizes.ts), or undefined when its value has no JSON form (it is not stored then). */
function valueBytes(storageKey: string, value: unknown, tags: readonly string[]): number | undefined {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    return undefined;
  }
  return entryBytes(storageKey, json ?? '', tags);
}

/**
 * The byte bound over every memory store of the layer. mercurius-cache's memory storage is an LRU
 * by entry count only, and tells nobody what it evicts; so each entry written to memory also
 * carries a reference of its own (`#<digest of store and key>`), and this ledger keeps the entries'
 * sizes in the order they were written. Past `maxBytes` the oldest written go first, dropped from
 * their store by invalidating that reference. Entries the store dropped by itself (its count bound,
 * a tag) stay counted until they reach the head or their TTL passes: the ledger can only
 * overestimate what is held, never under.
 */
export class ByteBudget {
  private readonly entries = new Map<string, { size: number; store: string; expiresAt: number }>();
  private total = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly evict: (store: string, reference: string) => void,
  ) {}

  /** Records an entry about to be stored, evicting older ones past the bound; returns its reference. */
  admit(store: string, key: string, size: number, ttlMs: number, now = performance.now()): string {
    const reference = `#${createHash('sha1').update(`${store}~${key}`).digest('base64url')}`;
    this.release(reference);
    this.entries.set(reference, { size, store, expiresAt: now + ttlMs });
    this.total += size;
    for (const [oldest, entry] of this.entries) {
      if (this.total <= this.maxBytes || oldest === reference) break;
      this.release(oldest);
      if (entry.expiresAt > now) this.evict(entry.store, oldest);
    }
    return reference;
  }

  /** Drops every entry still held (an invalidation of everything); each goes from its store by its reference. */
  dropAll(): void {
    const now = performance.now();
    for (const [reference, entry] of this.entries) if (entry.expiresAt > now) this.evict(entry.store, reference);
    this.entries.clear();
    this.total = 0;
  }

  /** Accounted bytes of what may still be held. */
  get bytes(): number {
    return this.total;
  }

  private release(reference: string): void {
    const entry = this.entries.get(reference);
    if (!entry) return;
    this.entries.delete(reference);
    this.total -= entry.size;
  }
}

interface CacheCall {
  self: unknown;
  arg: unknown;
  ctx: unknown;
  info: GraphQLResolveInfo;
}

/** Thrown from `references` to return the value without storing it (the storage catches it). */
const DO_NOT_STORE = new Error('not stored: its data may predate an invalidation');

function noop() {}

/** `Query.products~{…}` → `Query.products`; `r:Product:p4` → `Product`. */
function typeOfKey(key: string): string {
  if (key.startsWith('r:')) return key.slice(2).split(':')[0] ?? 'tag';
  const tilde = key.indexOf('~');
  return tilde > 0 ? key.slice(0, tilde) : 'redis';
}

function entityTypeNames(schema: GraphQLSchema): string[] {
  const union = schema.getType('_Entity');
  return union && isUnionType(union) ? union.getTypes().map((t) => t.name) : [];
}

/**
 * `Type:id` of the parent entity and of every entity found in the value, walking it by its type;
 * with `collections`, also the bare type of every entity found inside a list (a page of a
 * connection counts). Only Query fields take collection tags: entity fields are many, and one
 * tag shared by all their entries would make every eviction scan it.
 */
export function tagsOf(
  schema: GraphQLSchema,
  entityTypes: ReadonlySet<string>,
  info: Pick<GraphQLResolveInfo, 'parentType' | 'returnType'>,
  self: unknown,
  value: unknown,
  { collections = false } = {},
): string[] {
  const tags = new Set<string>();
  const add = (typeName: string, object: unknown, inList: boolean) => {
    const id = (object as { id?: unknown } | null)?.id;
    if (!entityTypes.has(typeName) || (typeof id !== 'string' && typeof id !== 'number')) return;
    tags.add(`${typeName}:${id}`);
    if (collections && inList) tags.add(typeName);
  };
  add(info.parentType.name, self, false);
  // By the schema, not the data: an EMPTY page has no entity to find, yet a new or edited entity
  // may belong on it, so the page must carry the bare type of everything it could list.
  if (collections) for (const typeName of listedEntityTypes(schema, entityTypes, info.returnType)) tags.add(typeName);
  const walk = (type: GraphQLOutputType, current: unknown, depth: number, inList: boolean): void => {
    if (current === null || current === undefined || typeof current !== 'object' || depth > MAX_DEPTH || tags.size > MAX_TAGS) return;
    const nullable = getNullableType(type);
    if (isListType(nullable)) {
      if (Array.isArray(current)) for (const element of current) walk(nullable.ofType, element, depth, true);
      return;
    }
    let named = getNamedType(nullable);
    if (isAbstractType(named)) {
      const typename = (current as { __typename?: unknown }).__typename;
      const concrete = typeof typename === 'string' ? schema.getType(typename) : undefined;
      if (!concrete || !isObjectType(concrete)) return;
      named = concrete;
    }
    if (!isObjectType(named)) return;
    add(named.name, current, inList);
    for (const field of Object.values(named.getFields())) {
      if (isCompositeType(getNamedType(field.type))) walk(field.type, (current as Record<string, unknown>)[field.name], depth + 1, inList);
    }
  };
  walk(info.returnType, value, 0, false);
  return [...tags];
}

const listedTypes = new WeakMap<GraphQLSchema, Map<string, readonly string[]>>();

/**
 * The entity types that can appear inside a list somewhere under `returnType` (a connection's
 * `edges[].node`, a plain list), walked by the schema to MAX_DEPTH, breadth first (no recursion).
 * Memoized per schema and type: the set is a property of the schema alone.
 */
export function listedEntityTypes(
  schema: GraphQLSchema,
  entityTypes: ReadonlySet<string>,
  returnType: GraphQLOutputType,
): readonly string[] {
  let bySchema = listedTypes.get(schema);
  if (!bySchema) listedTypes.set(schema, (bySchema = new Map()));
  const key = String(returnType);
  const known = bySchema.get(key);
  if (known) return known;
  const found = new Set<string>();
  const seen = new Set<string>();
  let frontier: { type: GraphQLOutputType; inList: boolean }[] = [{ type: returnType, inList: false }];
  for (let depth = 0; depth <= MAX_DEPTH && frontier.length; depth++) {
    const next: typeof frontier = [];
    for (const { type, inList: above } of frontier) {
      let inList = above;
      let current: GraphQLOutputType = type;
      for (;;) {
        const nullable = getNullableType(current);
        if (!isListType(nullable)) {
          current = nullable;
          break;
        }
        inList = true;
        current = nullable.ofType;
      }
      const named = getNamedType(current);
      const concrete = isAbstractType(named) ? schema.getPossibleTypes(named) : isObjectType(named) ? [named] : [];
      for (const object of concrete) {
        if (inList && entityTypes.has(object.name)) found.add(object.name);
        const visit = `${object.name}|${inList}`;
        if (seen.has(visit)) continue;
        seen.add(visit);
        for (const field of Object.values(object.getFields())) {
          if (isCompositeType(getNamedType(field.type))) next.push({ type: field.type, inList });
        }
      }
    }
    frontier = next;
  }
  const result = [...found];
  bySchema.set(key, result);
  return result;
}

/** The "fetched before an invalidation" rule, shared with the router's caches (in @shop/platform). */
export { InvalidationLog };

/**
 * A Redis key for `key` (JSON, so full of braces) with a hash tag of its own in front: Redis
 * Cluster places a key by its first `{…}`, which in the JSON would be the arguments' first object
 * (`{"arg":{` for every field without arguments, every user's `me` included), piling entries on a
 * few slots. A digest spreads them evenly; the entry's reference set (`k:<key>`) follows it.
 */
function slotTagged(key: string): string {
  return `{${createHash('sha1').update(key).digest('base64url').slice(0, 12)}}${key}`;
}

/** JSON with object keys sorted, so equal arguments make equal keys whatever their order. */
export function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_key, current: unknown) => {
    if (current === null || typeof current !== 'object' || Array.isArray(current) || current instanceof Date) return current;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(current).sort()) sorted[key] = (current as Record<string, unknown>)[key];
    return sorted;
  });
}
