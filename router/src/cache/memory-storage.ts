import { LRUCache } from 'lru-cache';
import type { CacheStorage, CacheWrite } from './storage.ts';

interface Entry {
  value: string;
  tags: readonly string[];
}

/**
 * One process's cache: bounded by entry count (least recently used go first), each entry with its
 * own TTL, and a tag → keys index so invalidation finds entries without scanning. The index
 * follows the cache: an entry evicted, expired or overwritten leaves it too.
 */
export class MemoryStorage implements CacheStorage {
  private readonly byTag = new Map<string, Set<string>>();
  private readonly entries: LRUCache<string, Entry>;

  constructor({ maxEntries }: { maxEntries: number }) {
    this.entries = new LRUCache<string, Entry>({
      max: maxEntries,
      dispose: (entry, key) => this.unindex(key, entry.tags),
    });
  }

  async getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    return keys.map((key) => this.entries.get(key)?.value);
  }

  async setMany(writes: readonly CacheWrite[]): Promise<void> {
    for (const { key, value, ttlMs, tags } of writes) {
      this.entries.set(key, { value, tags }, { ttl: ttlMs });
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
