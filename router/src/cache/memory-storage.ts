import { LRUCache } from 'lru-cache';
import { entryBytes, type SkipHandler } from './sizes.ts';
import type { CacheStorage, CacheWrite } from './storage.ts';

interface Entry {
  value: string;
  tags: readonly string[];
}

export interface MemoryStorageOptions {
  maxEntries: number;
  /** Bound on the whole store, in accounted bytes (sizes.ts): least recently used go first. */
  maxBytes: number;
  /** An entry larger than this is not stored (and `onSkip` is told). */
  maxEntryBytes: number;
  onSkip?: SkipHandler | undefined;
}

/**
 * One process's cache: bounded by entry count and by bytes (least recently used go first), each
 * entry with its own TTL, and a tag → keys index so invalidation finds entries without scanning.
 * The index follows the cache: an entry evicted, expired or overwritten leaves it too. A client
 * chooses what is stored (its variables, the size of the page it asks for), so the byte bound is
 * the one that holds: the count alone let a stream of large answers fill the heap.
 */
export class MemoryStorage implements CacheStorage {
  private readonly byTag = new Map<string, Set<string>>();
  private readonly entries: LRUCache<string, Entry>;
  private readonly maxEntryBytes: number;
  private readonly onSkip: SkipHandler | undefined;

  constructor({ maxEntries, maxBytes, maxEntryBytes, onSkip }: MemoryStorageOptions) {
    this.maxEntryBytes = Math.min(maxEntryBytes, maxBytes);
    this.onSkip = onSkip;
    this.entries = new LRUCache<string, Entry>({
      max: maxEntries,
      maxSize: maxBytes,
      dispose: (entry, key) => this.unindex(key, entry.tags),
    });
  }

  async getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    return keys.map((key) => this.entries.get(key)?.value);
  }

  async setMany(writes: readonly CacheWrite[]): Promise<void> {
    for (const { key, value, ttlMs, tags } of writes) {
      const size = entryBytes(key, value, tags);
      if (size > this.maxEntryBytes) {
        // What was there is older than this answer: it goes too.
        this.entries.delete(key);
        this.onSkip?.('too_large');
        continue;
      }
      // Sized here, once: lru-cache takes it rather than measuring the entry again.
      this.entries.set(key, { value, tags }, { ttl: ttlMs, size });
      for (const tag of tags) {
        let keys = this.byTag.get(tag);
        if (!keys) this.byTag.set(tag, (keys = new Set()));
        keys.add(key);
      }
    }
  }

  async invalidate(tags: readonly string[]): Promise<void> {
    for (const tag of tags) {
      const keys = this.byTag.get(tag);
      if (!keys) continue;
      for (const key of [...keys]) this.entries.delete(key);
      this.byTag.delete(tag);
    }
  }

  /** Entries held (including expired ones not yet swept); for tests and diagnostics. */
  get size(): number {
    return this.entries.size;
  }

  /** Accounted bytes held (see sizes.ts); for tests and diagnostics. */
  get bytes(): number {
    return this.entries.calculatedSize;
  }

  /** Drops every entry. */
  clear(): void {
    this.entries.clear();
    this.byTag.clear();
  }

  async close(): Promise<void> {
    this.clear();
  }

  private unindex(key: string, tags: readonly string[]): void {
    for (const tag of tags) {
      const keys = this.byTag.get(tag);
      if (!keys) continue;
      keys.delete(key);
      if (!keys.size) this.byTag.delete(tag);
    }
  }
}
