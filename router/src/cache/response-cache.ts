import type { ApolloServerPlugin } from '@apollo/server';
import type { FastifyReply } from 'fastify';
import type { OperationDefinitionNode } from 'graphql';
import { ALL_TAGS } from '@shop/events';
import { cacheControlHeader, InvalidationLog, type Viewer } from '@shop/platform';
import type { RouterContext } from '../context.ts';
import type { RouterMetrics } from '../metrics.ts';
import { digest } from './keys.ts';
import { MemoryStorage } from './memory-storage.ts';
import type { ByteBounds } from './sizes.ts';

/**
 * The router's whole-response cache, in front of Apollo Server: a query answered before, with the
 * same document, operation name, variables and client name (and, for PRIVATE answers, the same
 * user), is answered from here without parsing, planning or a single subgraph fetch. Profiling put
 * most of a cache-on request's CPU in the gateway's pipeline even when every entity was cached;
 * this skips it.
 *
 * What is stored follows the entity cache's rules: queries only, never a response with errors,
 * for the response's own Cache-Control (the shortest TTL of everything in it, PRIVATE if any part
 * is, nothing if any part is not cacheable), PRIVATE answers only under their user's key. Each
 * entry carries the `Type:id` tags of every object the subgraphs returned for it, `__typename` or not
 * (from each fetch's selection; the bare `Type` where it has no `id`), plus the user's
 * `User:<id>` when PRIVATE, and is dropped by the same invalidation bus messages as the entity
 * cache. An answer whose fetches started before an invalidation of one of its tags arrived is not
 * stored. Like the entity cache's root lists, an entity a root-field fetch returned in a list also
 * tags the entry with its bare type (`Product`), which the events of a product created or
 * discontinued carry: listings and searches are dropped then, not when they expire.
 *
 * Memory of one router process only, bounded in entries and in bytes (least recently used go
 * first), an answer over the per-entry maximum not stored; every replica hears the bus. A hit is
 * answered only where the pipeline would have answered: a request Apollo's CSRF prevention would
 * refuse, a token that does not verify, or a body that is not a GraphQL request object goes
 * through the pipeline as usual.
 *
 * The key is taken before parsing, so it covers every variable the request carried. A request
 * carrying a variable its operation does not declare is answered but its response is not stored:
 * such variables change nothing in the answer, and keyed on them a client could make a new entry
 * per request (`{"nonce": i}`) of the same large page. Clients send only what they declare.
 */
export interface ResponseCacheOptions extends ByteBounds {
  maxEntries: number;
  metrics: RouterMetrics;
}

export type { ResponseCacheState } from '../context.ts';

export class ResponseCache {
  private readonly storage: MemoryStorage;
  private readonly invalidations = new InvalidationLog();
  private generation = 0;
  /** Writes the storage refused (too large); MemoryStorage decides synchronously, so a write can tell its own. */
  private skipped = 0;

  constructor(private readonly options: ResponseCacheOptions) {
    this.storage = new MemoryStorage({
      maxEntries: options.maxEntries,
      maxBytes: options.maxBytes,
      maxEntryBytes: options.maxEntryBytes,
      onSkip: (reason) => {
        this.skipped++;
        options.metrics.cacheSkips.inc({ layer: 'router', type: 'response', reason });
      },
    });
  }

  /**
   * Answers from the cache if it holds this request's response (the viewer's own entry first).
   * Returns whether it answered.
   */
  async serve(key: string, viewer: Viewer | null, reply: FastifyReply, beforeSend?: () => void): Promise<boolean> {
    const keys = viewer ? [privateKey(key, viewer), key] : [key];
    const values = await this.storage.getMany(keys);
    const now = Date.now();
    for (const value of values) {
      const entry = value === undefined ? undefined : decode(value);
      if (!entry || entry.expiresAt <= now) continue;
      this.options.metrics.cacheHits.inc({ layer: 'router', type: 'response' });
      const maxAge = Math.max(1, Math.ceil((entry.expiresAt - now) / 1_000));
      beforeSend?.(); // the reply's onSend hooks run as it is sent
      void reply
        .header('content-type', 'application/json; charset=utf-8')
        .header('cache-control', cacheControlHeader({ cacheable: true, maxAge, scope: entry.private ? 'PRIVATE' : 'PUBLIC' }))
        .send(entry.body);
      return true;
    }
    this.options.metrics.cacheMisses.inc({ layer: 'router', type: 'response' });
    return false;
  }

  /** A request's start, on the clock its invalidations are compared against (see ResponseCacheState). */
  static now(): number {
    return InvalidationLog.now();
  }

  /** The generation to record in a request's state (see ResponseCacheState). */
  get currentGeneration(): number {
    return this.generation;
  }

  /**
   * Drops everything: called when the supergraph or the trusted documents change, since a stored
   * answer may no longer be what the pipeline would say (a field removed, an operation no longer
   * allowed).
   */
  clear(): void {
    this.generation++;
    this.storage.clear();
  }

  /**
   * Drops every response that showed one of the tags (called for each message on the bus); ALL_TAGS
   * among them drops everything (the stream lost events this replica never heard).
   */
  async invalidate(tags: readonly string[]): Promise<void> {
    if (tags.includes(ALL_TAGS)) {
      // A new generation: requests in flight store nothing either (see ResponseCacheState).
      this.invalidations.recordAll();
      this.clear();
      return;
    }
    this.invalidations.record(tags);
    await this.storage.invalidate(tags);
  }

  /** Apollo plugin: stores what the pipeline answered (byte for byte: Apollo ends it with a newline), when the rules above allow it. */
  plugin(): ApolloServerPlugin<RouterContext> {
    return {
      requestDidStart: async () => ({
        willSendResponse: async ({ contextValue, request, response, operation, errors }) => {
          const state = contextValue.responseCache;
          const body = response.body;
          if (
            !state ||
            state.generation !== this.generation ||
            operation?.operation !== 'query' ||
            errors?.length ||
            body.kind !== 'single' ||
            body.singleResult.errors?.length
          )
            return;
          if (hasUndeclaredVariables(operation, request.variables)) return;
          const policy = contextValue.cachePolicy.policy();
          if (!policy.cacheable) return;
          const isPrivate = policy.scope === 'PRIVATE';
          if (isPrivate && !state.viewer) return;
          if (isPrivate) state.tags.add(`User:${state.viewer!.userId}`);
          const tags = [...state.tags];
          if (this.invalidations.touchedSince(tags, state.startedAt)) return;
          const ttlMs = policy.maxAge * 1_000;
          const skippedBefore = this.skipped;
          const writing = this.storage.setMany([
            {
              key: isPrivate ? privateKey(state.key, state.viewer!) : state.key,
              value: encode({ expiresAt: Date.now() + ttlMs, private: isPrivate, body: `${JSON.stringify(body.singleResult)}\n` }),
              ttlMs,
              tags,
            },
          ]);
          const stored = this.skipped === skippedBefore;
          await writing;
          if (contextValue.cacheStatus) contextValue.cacheStatus.stored = stored;
        },
      }),
    };
  }

  async close(): Promise<void> {
    await this.storage.close();
  }
}

interface Entry {
  expiresAt: number;
  private: boolean;
  body: string;
}

/** True when the request carried a variable the operation does not declare (see the class comment). */
function hasUndeclaredVariables(operation: OperationDefinitionNode, variables: Record<string, unknown> | undefined): boolean {
  if (!variables) return false;
  const declared = new Set(operation.variableDefinitions?.map((definition) => definition.variable.name.value));
  for (const name in variables) if (!declared.has(name)) return true;
  return false;
}

const privateKey = (key: string, viewer: Viewer) => `${key}:${digest(viewer.userId)}`;

/** `<expiresAt> <0|1>\n<body>`: read on every hit, so no JSON around a JSON body. */
function encode(entry: Entry): string {
  return `${entry.expiresAt} ${entry.private ? 1 : 0}\n${entry.body}`;
}

function decode(value: string): Entry | undefined {
  const newline = value.indexOf('\n');
  const space = value.indexOf(' ');
  if (newline < 0 || space < 0 || space > newline) return undefined;
  return { expiresAt: Number(value.slice(0, space)), private: value[space + 1] === '1', body: value.slice(newline + 1) };
}
