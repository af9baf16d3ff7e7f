import type { InvalidationBus, Logger } from '@shop/platform';
import type { Database, Queryable } from './db.ts';

/** What a write returns: its value, and the `Type:id` tags of what it changed ([] when it changed nothing cached). */
export interface Written<T> {
  value: T;
  tags: readonly string[];
}

declare const WRITE_TRANSACTION: unique symbol;

/**
 * The transaction a `write` runs its work in: a `Queryable` that only `createWrite` makes. A
 * subgraph's writes object takes one (`createPricingWrites(tx)` and the like), so its methods are
 * reachable only inside a write, and none can commit without its tags being published.
 */
export type WriteTransaction = Queryable & { readonly [WRITE_TRANSACTION]: true };

/**
 * Runs `work` in one transaction and returns its value. Only after the transaction commits, it
 * clears the request's loaders (so the rest of the request reads the write) and publishes the
 * tags on the invalidation bus (so every cache layer drops what the write made stale). When
 * `work` throws, everything is rolled back and nothing is cleared or published.
 */
export type Write = <T>(work: (tx: WriteTransaction) => Promise<Written<T>>) => Promise<T>;

export interface WriteOptions {
  db: Database;
  /** The invalidation bus (or a test's recorder of what was published). */
  bus: Pick<InvalidationBus, 'publish'>;
  /** The request's DataLoaders, each cleared after a commit; absent for writes outside a request (sweepers). */
  loaders?: object | undefined;
  /** Where a failed publish is reported: the write has committed, so its caller must not see an error. */
  logger: Pick<Logger, 'error'>;
}

/**
 * The one way a subgraph writes: every write path goes through a `Write`, so none can commit
 * without clearing the request's loaders and publishing what it changed.
 */
export function createWrite({ db, bus, loaders, logger }: WriteOptions): Write {
  return async (work) => {
    // The brand exists only in the types: the transaction itself is the database's.
    const { value, tags } = await db.transaction((tx) => work(tx as WriteTransaction));
    if (loaders) clearLoaders(loaders);
    if (tags.length) {
      try {
        await bus.publish(tags);
      } catch (error) {
        // The bus never rejects; this guards callers that undo work when a write throws (checkout
        // releases stock) from undoing one that has committed.
        logger.error({ err: error, tags }, 'could not publish an invalidation after a write; caches expire it by TTL');
      }
    }
    return value;
  };
}

/** Clears every DataLoader among `loaders`' values (anything with `clearAll`). */
export function clearLoaders(loaders: object): void {
  for (const loader of Object.values(loaders)) {
    if (typeof (loader as { clearAll?: unknown } | null)?.clearAll === 'function') (loader as { clearAll(): unknown }).clearAll();
  }
}
