/**
 * Where the router cache keeps entries: process memory or Redis. Values are opaque strings (the
 * cache serialises), so every reader parses its own copy and nothing cached is ever shared with
 * the gateway's mutable result objects.
 *
 * Implementations never throw: a storage that cannot answer in time answers "not there" and
 * reports the failure through the `onError` it was built with.
 */
export interface CacheWrite {
  key: string;
  value: string;
  ttlMs: number;
  /** `Type:id` tags; invalidating any of them drops the entry. */
  tags: readonly string[];
}

export interface CacheStorage {
  /** Values in the order of `keys`, undefined where absent, in one round trip. */
  getMany(keys: readonly string[]): Promise<(string | undefined)[]>;
  setMany(entries: readonly CacheWrite[]): Promise<void>;
  /** Drops every entry carrying any of the tags. */
  invalidate(tags: readonly string[]): Promise<void>;
  /**
   * Drops what it can of every entry (an invalidation of everything): all of a process's memory;
   * nothing in Redis, which every replica shares and which cannot be emptied in one step (the
   * router cache ignores entries written before it instead).
   */
  clear(): void | Promise<void>;
  close(): Promise<void>;
}

export type StorageOperation = 'read' | 'write' | 'invalidate';
export type StorageErrorHandler = (operation: StorageOperation, error: unknown) => void;
