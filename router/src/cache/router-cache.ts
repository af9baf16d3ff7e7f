import type { DocumentNode, GraphQLFormattedError } from 'graphql';
import { ALL_TAGS } from '@shop/events';
import { InvalidationLog, parseCacheControl, type OperationPolicy, type Viewer } from '@shop/platform';
import type { GatewayGraphQLRequest, GatewayGraphQLResponse } from '../gateway-types.ts';
import type { RouterMetrics } from '../metrics.ts';
import { digest, stableJson, tagsOf } from './keys.ts';
import type { ListedEntityTypes } from './listed-types.ts';
import { OperationShapes } from './operations.ts';
import { combinePolicies, NOT_CACHEABLE } from './policy.ts';
import type { CacheStorage, CacheWrite } from './storage.ts';

/**
 * The router's entity cache. For one subgraph fetch:
 *  - `_entities`: one key per representation (subgraph, typename, the representation, the
 *    operation's selection and other variables); all looked up in one storage round trip, only
 *    the misses fetched, in one request, and the answers merged back in the original order;
 *  - other queries: one key for the whole fetch (subgraph, selection, variables);
 *  - mutations (and anything unparseable) go straight through and are never stored.
 * What is stored lives as long as the subgraph's `Cache-Control: max-age` says; `no-store`, no
 * header, or any error in the response stores nothing.
 *
 * PRIVATE data: the scope is only known once the subgraph has answered, so keys come in pairs —
 * the public key, and the same key suffixed with a digest of the viewer's user id. A PUBLIC answer
 * is stored under the public key, a PRIVATE one under the viewer's key (and not at all for an
 * anonymous viewer). A signed-in lookup asks for both keys in the same round trip and prefers its
 * own; an anonymous lookup asks only for public keys. A PRIVATE answer therefore never sits under
 * a key another viewer reads, without a marker or a second round trip. The digest in a public key
 * is a Redis hash tag (`{…}`): on a Redis Cluster a key and its viewer's variant share a slot, so a
 * lookup splits by entity, never a pair (entities themselves spread over the cluster).
 *
 * Identical fetches in flight at once (same subgraph, body and viewer) share one subgraph request:
 * `fetch` goes through the router's fetch sharing (stages/fetch-sharing.ts), and only the caller
 * whose request was sent stores the answer.
 */
export interface RouterCacheOptions {
  storage: CacheStorage;
  metrics: RouterMetrics;
  /**
   * The entity types each root-field fetch's selection can list (cache/listed-types.ts), added to
   * its entry's tags whatever the data holds: an empty listing is dropped by a bare `Product` too;
   * and the entities its data holds where the selection puts them (`Type:<id>`, or `Type` where `id`
   * is not selected), `__typename` or not. Unset: only the data's `__typename` + `id` tags.
   */
  listedTypes?: ListedEntityTypes | undefined;
}

export type { GatewayGraphQLRequest, GatewayGraphQLResponse } from '../gateway-types.ts';

/** What `fetch` answers: the subgraph's response and Cache-Control, and whether it was someone else's fetch. */
export interface FetchedAnswer {
  response: GatewayGraphQLResponse;
  cacheControl: string | null;
  /** True when this caller joined an identical fetch in flight (the one that sent it stores). */
  shared?: boolean | undefined;
}

/** One subgraph fetch as the data source sees it. */
export interface CacheableFetch {
  subgraph: string;
  request: GatewayGraphQLRequest;
  /** The parsed operation when the gateway has it (it usually does). */
  document?: DocumentNode | undefined;
  viewer: Viewer | null;
  /** Sends a request (the original or one narrowed to the misses) to the subgraph. */
  fetch(request: GatewayGraphQLRequest): Promise<FetchedAnswer>;
}

/** The response for the gateway and the cache policy it carries (for the client's header). */
export interface CacheOutcome {
  response: GatewayGraphQLResponse;
  policy: OperationPolicy;
  /** Keys looked up and found / not found (unset: the cache was not consulted, e.g. a mutation). */
  lookups?: { hits: number; misses: number } | undefined;
}

/**
 * What the storage holds per key. `x`: expiry (epoch ms), for the remaining TTL of a hit; `w`: when
 * it was written (epoch ms), so an invalidation of everything can disown what Redis still holds.
 */
interface StoredEntry {
  v: unknown;
  x: number;
  w?: number;
  p?: 1;
}

interface Fetched {
  response: GatewayGraphQLResponse;
  cacheControl: string | null;
  /** False for a caller that joined someone else's fetch: the one that sent it stores the answer. */
  sent: boolean;
}

const LAYER = 'router';

export class RouterCache {
  private readonly shapes = new OperationShapes();
  /** Stops writes of data fetched before an invalidation of it arrived. */
  private readonly invalidations = new InvalidationLog();
  private readonly pendingWrites = new Set<Promise<void>>();
  /**
   * The last invalidation of everything (epoch ms): entries written before it are misses. Memory is
   * emptied at once, but Redis is shared by every replica and cannot be emptied in one step; the
   * entries there written before it are ignored by this replica (and overwritten as it refetches).
   * Compared with the writer's clock: replicas' clocks must agree to well within a TTL.
   */
  private clearedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: RouterCacheOptions) {}

  /** Answers one subgraph fetch, from the cache where it can. Never fails because of the cache. */
  async resolve(call: CacheableFetch): Promise<CacheOutcome> {
    const { request } = call;
    const shape = request.query ? this.shapes.of(request.query, call.document) : undefined;
    if (shape?.operation !== 'query') {
      // Mutations (and what we cannot read) are neither cached nor deduplicated: each one counts.
      return { response: (await call.fetch(request)).response, policy: NOT_CACHEABLE };
    }
    const representations = request.variables?.representations as unknown;
    if (shape.entities && Array.isArray(representations) && representations.length) {
      return this.resolveEntities(call, shape.selectionHash, representations);
    }
    return this.resolveRoot(call, shape.selectionHash);
  }

  /**
   * Drops every entry carrying one of the tags (called for each message on the bus); ALL_TAGS among
   * them drops everything (the stream lost events this replica never heard).
   */
  async invalidate(tags: readonly string[]): Promise<void> {
    if (!tags.length) return;
    if (tags.includes(ALL_TAGS)) return this.invalidateAll();
    for (const tag of tags) this.options.metrics.cacheInvalidations.inc({ layer: LAYER, type: tag.split(':', 1)[0]! });
    this.invalidations.record(tags);
    await this.options.storage.invalidate(tags);
  }

  /** Drops everything: what memory holds, what Redis holds (for this replica), and what is being fetched. */
  async invalidateAll(): Promise<void> {
    this.options.metrics.cacheInvalidations.inc({ layer: LAYER, type: ALL_TAGS });
    this.invalidations.recordAll();
    this.clearedAt = Date.now();
    await this.options.storage.clear();
  }

  /** Resolves once every write started so far has settled (writes do not hold up responses). */
  async idle(): Promise<void> {
    while (this.pendingWrites.size) await Promise.all(this.pendingWrites);
  }

  async close(): Promise<void> {
    await this.idle();
    await this.options.storage.close();
  }

  private async resolveRoot(call: CacheableFetch, selectionHash: string): Promise<CacheOutcome> {
    const { subgraph, request, viewer } = call;
    const type = `root:${subgraph}`;
    const publicKey = `r:${subgraph}:{${digest(`${selectionHash}\n${stableJson(request.variables ?? {})}`)}}`;
    const privateKey = viewer ? `${publicKey}:${digest(viewer.userId)}` : undefined;
    const [publicValue, privateValue] = await this.options.storage.getMany(privateKey ? [publicKey, privateKey] : [publicKey]);
    const now = Date.now();
    const hit = this.decode(privateValue, now) ?? this.decode(publicValue, now);
    if (hit) {
      this.count('cacheHits', type);
      return { response: { data: hit.v as Record<string, unknown> }, policy: remainingPolicy(hit, now), lookups: { hits: 1, misses: 0 } };
    }
    this.count('cacheMisses', type);
    const started = InvalidationLog.now();
    const { response, cacheControl, sent } = await this.fetchOnce(call, request, type);
    const policy = parseCacheControl(cacheControl);
    const data = response.data;
    if (sent && isStorable(response, policy, viewer) && data) {
      const key = policy.scope === 'PRIVATE' ? privateKey! : publicKey;
      // A root field's list (a page, search results) also carries its entities' bare types: those
      // in the data (see tagsOf), and those its selection can list, for a page that came back empty.
      // Its entities' objects are tagged where the selection puts them too, `__typename` or not
      // (`product(id:) { id name }`: `Product:<id>`; without `id`: `Product`).
      const tags = tagsOf(data, new Set(), { collections: true });
      const listedTypes = this.options.listedTypes;
      if (request.query && listedTypes) {
        for (const type of listedTypes.of(request.query, undefined, call.document)) tags.add(type);
        listedTypes.tagData(data, request.query, undefined, call.document, tags);
      }
      this.write(started, [this.entry(key, data, policy, tags, viewer)]);
    }
    return { response, policy, lookups: { hits: 0, misses: 1 } };
  }

  private async resolveEntities(call: CacheableFetch, selectionHash: string, representations: unknown[]): Promise<CacheOutcome> {
    const { subgraph, request, viewer } = call;
    const { representations: _, ...otherVariables } = request.variables ?? {};
    const base = `${selectionHash}\n${stableJson(otherVariables)}\n`;
    const userSuffix = viewer ? `:${digest(viewer.userId)}` : '';
    const count = representations.length;
    const types = new Array<string>(count);
    const publicKeys = new Array<string>(count);
    for (let i = 0; i < count; i++) {
      const representation = representations[i] as { __typename?: unknown } | null;
      types[i] = typeof representation?.__typename === 'string' ? representation.__typename : 'unknown';
      publicKeys[i] = `e:${subgraph}:${types[i]}:{${digest(base + stableJson(representation))}}`;
    }
    const lookup = viewer ? [...publicKeys, ...publicKeys.map((key) => key + userSuffix)] : publicKeys;
    const values = await this.options.storage.getMany(lookup);

    const now = Date.now();
    const entities = new Array<unknown>(count);
    const misses: number[] = [];
    let cachedPolicy: OperationPolicy | undefined;
    for (let i = 0; i < count; i++) {
      const hit = this.decode(viewer ? values[count + i] : undefined, now) ?? this.decode(values[i], now);
      if (hit) {
        entities[i] = hit.v;
        const remaining = remainingPolicy(hit, now);
        cachedPolicy = cachedPolicy ? combinePolicies(cachedPolicy, remaining) : remaining;
        this.count('cacheHits', types[i]!);
      } else {
        misses.push(i);
        this.count('cacheMisses', types[i]!);
      }
    }
    const lookups = { hits: count - misses.length, misses: misses.length };
    if (!misses.length) return { response: { data: { _entities: entities } }, policy: cachedPolicy!, lookups };

    const everything = misses.length === count;
    const missRequest = everything
      ? request
      : { ...request, variables: { ...otherVariables, representations: misses.map((i) => representations[i]) } };
    const started = InvalidationLog.now();
    const { response, cacheControl, sent } = await this.fetchOnce(call, missRequest, types[misses[0]!]!);
    const fetchedPolicy = parseCacheControl(cacheControl);
    const fetched = response.data?._entities as unknown;
    if (sent && isStorable(response, fetchedPolicy, viewer) && Array.isArray(fetched)) {
      const writes: CacheWrite[] = [];
      misses.forEach((i, j) => {
        const entity = fetched[j];
        // Not found is not cached: an entity created later has no tag to announce itself by.
        if (entity === null || typeof entity !== 'object') return;
        const key = fetchedPolicy.scope === 'PRIVATE' ? publicKeys[i]! + userSuffix : publicKeys[i]!;
        writes.push(this.entry(key, entity, fetchedPolicy, tagsOf(entity, tagsOf(representations[i])), viewer));
      });
      this.write(started, writes);
    }
    const policy = cachedPolicy ? combinePolicies(cachedPolicy, fetchedPolicy) : fetchedPolicy;
    if (everything) return { response, policy, lookups };

    // Merge: the gateway expects one entity per representation it sent, in its order, and error
    // paths (`_entities.<j>...`) that point at its representations, not at the misses.
    misses.forEach((i, j) => {
      entities[i] = Array.isArray(fetched) ? (fetched[j] ?? null) : null;
    });
    return {
      response: {
        ...response,
        data: { ...response.data, _entities: entities },
        errors: response.errors?.map((error) => remapErrorPath(error, misses)),
      },
      policy,
      lookups,
    };
  }

  /** Fetches through the router's fetch sharing; a fetch that joined another's counts as a dedupe and is not stored. */
  private async fetchOnce(call: CacheableFetch, request: GatewayGraphQLRequest, type: string): Promise<Fetched> {
    const { response, cacheControl, shared } = await call.fetch(request);
    if (shared) this.count('cacheDedupes', type);
    return { response, cacheControl, sent: !shared };
  }

  /**
   * A PRIVATE entry also carries its viewer's `User:<id>` tag: what is private is about that user,
   * and a list of theirs (order history) cannot be tagged by the item that is not in it yet.
   */
  private entry(
    key: string,
    value: unknown,
    policy: Extract<OperationPolicy, { cacheable: true }>,
    tags: Set<string>,
    viewer: Viewer | null,
  ): CacheWrite {
    if (policy.scope === 'PRIVATE' && viewer) tags.add(`User:${viewer.userId}`);
    const ttlMs = policy.maxAge * 1_000;
    const now = Date.now();
    const stored: StoredEntry = { v: value, x: now + ttlMs, w: now, ...(policy.scope === 'PRIVATE' ? { p: 1 as const } : {}) };
    return { key, value: JSON.stringify(stored), ttlMs, tags: [...tags] };
  }

  /**
   * Stores in the background: the response does not wait for the cache. Entries fetched before
   * an invalidation of one of their tags arrived are dropped: they may hold what was just changed.
   */
  private write(fetchStartedAt: number, writes: CacheWrite[]): void {
    const fresh = writes.filter((write) => this.invalidations.allowsStore(write.tags, fetchStartedAt));
    if (!fresh.length) return;
    const pending: Promise<void> = this.options.storage
      .setMany(fresh)
      .catch(() => this.options.metrics.cacheErrors.inc({ layer: LAYER, type: 'write' }))
      .finally(() => this.pendingWrites.delete(pending));
    this.pendingWrites.add(pending);
  }

  /** A stored value, unless it expired or was written before the last invalidation of everything. */
  private decode(value: string | undefined, now: number): StoredEntry | undefined {
    const entry = decode(value, now);
    if (!entry || this.clearedAt === Number.NEGATIVE_INFINITY) return entry;
    // Strictly after: one written in the same millisecond may hold data from before.
    return (entry.w ?? Number.NEGATIVE_INFINITY) > this.clearedAt ? entry : undefined;
  }

  private count(counter: 'cacheHits' | 'cacheMisses' | 'cacheDedupes', type: string): void {
    this.options.metrics[counter].inc({ layer: LAYER, type });
  }
}

function decode(value: string | undefined, now: number): StoredEntry | undefined {
  if (value === undefined) return undefined;
  try {
    const entry = JSON.parse(value) as StoredEntry;
    return entry.x > now ? entry : undefined;
  } catch {
    return undefined; // written by something else under our prefix: a miss, overwritten on the way back
  }
}

/** A hit may be cached downstream for as long as it has left here, rounded up to whole seconds. */
function remainingPolicy(entry: StoredEntry, now: number): OperationPolicy {
  return { cacheable: true, maxAge: Math.max(1, Math.ceil((entry.x - now) / 1_000)), scope: entry.p ? 'PRIVATE' : 'PUBLIC' };
}

function isStorable(
  response: GatewayGraphQLResponse,
  policy: OperationPolicy,
  viewer: Viewer | null,
): policy is Extract<OperationPolicy, { cacheable: true }> {
  if (!policy.cacheable || response.errors?.length) return false;
  // PRIVATE data is stored per user; an anonymous viewer has no key of its own.
  return policy.scope === 'PUBLIC' || viewer !== null;
}

function remapErrorPath(error: GraphQLFormattedError, misses: number[]): GraphQLFormattedError {
  const path = error.path;
  if (path?.[0] !== '_entities' || typeof path[1] !== 'number') return error;
  const original = misses[path[1]];
  return original === undefined ? error : { ...error, path: ['_entities', original, ...path.slice(2)] };
}
