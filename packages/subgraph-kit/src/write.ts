import type { AnyNewEvent } from '@shop/events';
import { tagsOfEvents } from '@shop/events';
import type { InvalidationBus, Logger } from '@shop/platform';
import type { Database, Queryable } from './db.ts';
import { insertOutboxEvents } from './outbox.ts';

/**
 * What a write returns: its value, and the events of what it changed ([] when it changed nothing).
 * Each event carries the cache tags (`Type:id`) it makes stale. `tags` adds tags that no event
 * carries (rare: a change nobody else needs to hear about, seen only by this process's caches).
 */
export interface Written<T> {
  value: T;
  events?: readonly AnyNewEvent[];
  tags?: readonly string[];
}

declare const WRITE_TRANSACTION: unique symbol;

/**
 * The transaction a `write` runs its work in: a `Queryable` that only `createWrite` makes. A
 * subgraph's writes object takes one (`createPricingWrites(tx)` and the like), so its methods are
 * reachable only inside a write, and none can commit without its events.
 */
export type WriteTransaction = Queryable & { readonly [WRITE_TRANSACTION]: true };

/**
 * Runs `work` in one transaction and returns its value. The events `work` returns go into the
 * subgraph's outbox in the SAME transaction, so a change and its events commit together or not at
 * all. Only after the commit, it clears the request's loaders (so the rest of the request reads the
 * write), drops the events' tags from this process's caches at once (read-your-writes), and wakes
 * the outbox relay, which puts the events on the stream for every other process and consumer.
 * When `work` throws, everything is rolled back and nothing is cleared, published or queued.
 */
export type Write = <T>(work: (tx: WriteTransaction) => Promise<Written<T>>) => Promise<T>;

export interface WriteOptions {
  db: Database;
  /** The subgraph's Postgres schema, whose `outbox` table the events go to. */
  schema: string;
  /** The invalidation bus (or a test's recorder of what was published). */
  bus: Pick<InvalidationBus, 'publish'>;
  /**
   * Told after every commit that queued events (the outbox relay's `flush`). The write waits for it
   * at most PUBLISH_WAIT_MS: by the time the caller answers (the router gets the mutation's
   * response), the events are on the stream and the other processes' caches are dropping what they
   * touched, so a read right after a write sees it on every replica. A slow or absent stream only
   * delays the write by that bound; the events stay queued and the relay publishes them later.
   */
  onEvents?: (() => Promise<unknown> | undefined) | undefined;
  /** The request's DataLoaders, each cleared after a commit; absent for writes outside a request (sweepers, consumers). */
  loaders?: object | undefined;
  /** Where a failed publish is reported: the write has committed, so its caller must not see an error. */
  logger: Pick<Logger, 'error'>;
}

/**
 * The one way a subgraph writes: every write path goes through a `Write`, so none can commit
 * without its events, or without clearing the request's loaders and dropping what it changed.
 */
export function createWrite({ db, schema, bus, onEvents, loaders, logger }: WriteOptions): Write {
  return async (work) => {
    // The brand exists only in the types: the transaction itself is the database's.
    const {
      value,
      events = [],
      tags: extra = [],
    } = await db.transaction(async (tx) => {
      const written = await work(tx as WriteTransaction);
      if (written.events?.length) await insertOutboxEvents(tx, schema, written.events);
      return written;
    });
    if (loaders) clearLoaders(loaders);
    const tags = [...new Set([...tagsOfEvents(events), ...extra])];
    if (tags.length) {
      try {
        await bus.publish(tags);
      } catch (error) {
        // The bus never rejects; this guards callers that undo work when a write throws (checkout
        // releases stock) from undoing one that has committed.
        logger.error({ err: error, tags }, 'could not drop the caches a write made stale; the stream or the TTL will');
      }
    }
    if (events.length && onEvents) await boundedWait(onEvents());
    return value;
  };
}

/** How long a write waits for its events to reach the stream before answering without that. */
export const PUBLISH_WAIT_MS = 500;

async function boundedWait(work: Promise<unknown> | undefined): Promise<void> {
  if (!work) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, PUBLISH_WAIT_MS)))]);
  clearTimeout(timer);
}

/** Clears every DataLoader among `loaders`' values (anything with `clearAll`). */
export function clearLoaders(loaders: object): void {
  for (const loader of Object.values(loaders)) {
    if (typeof (loader as { clearAll?: unknown } | null)?.clearAll === 'function') (loader as { clearAll(): unknown }).clearAll();
  }
}
