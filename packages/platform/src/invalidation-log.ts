/**
 * The one rule every cache layer (the router's entity and response caches, each subgraph's cache)
 * applies before it stores what a fetch returned: **a fetch that started before an invalidation
 * of one of its tags must not be stored** — it may have read the data before the write that
 * published the tag, and storing it would keep the old value until it expires.
 *
 * The log remembers when each tag was last invalidated in this process, on a monotonic clock
 * (`performance.now()`: a wall-clock step back must not make an old fetch look new), for the last
 * `windowMs` and at most `maxTags` tags (writes publish tags, so a stream of writes could otherwise
 * grow it without bound). What it forgets raises a floor instead: a fetch that started at or before
 * the newest forgotten invalidation counts as touched by it. Forgetting early only stores less,
 * never something stale. `recordAll()` (a whole cache dropped) moves the floor to now.
 */
export class InvalidationLog {
  /** tag → when it was last invalidated, oldest first (re-inserted on every record). */
  private readonly at = new Map<string, number>();
  private floor = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly windowMs = 5 * 60_000,
    private readonly maxTags = 100_000,
  ) {}

  /** The clock the log compares against: take it when a fetch starts. */
  static now(): number {
    return performance.now();
  }

  /** Records an invalidation of `tags` at `now`. */
  record(tags: Iterable<string>, now = InvalidationLog.now()): void {
    for (const tag of tags) {
      this.at.delete(tag);
      this.at.set(tag, now);
    }
    for (const [tag, time] of this.at) {
      if (time >= now - this.windowMs && this.at.size <= this.maxTags) break;
      this.at.delete(tag);
      this.floor = Math.max(this.floor, time);
    }
  }

  /** Records an invalidation of everything (every tag) at `now`. */
  recordAll(now = InvalidationLog.now()): void {
    this.at.clear();
    this.floor = Math.max(this.floor, now);
  }

  /** True when any of `tags` may have been invalidated at or after `since` (when the fetch started). */
  touchedSince(tags: Iterable<string>, since: number): boolean {
    if (since <= this.floor) return true;
    if (!this.at.size) return false;
    for (const tag of tags) if ((this.at.get(tag) ?? Number.NEGATIVE_INFINITY) >= since) return true;
    return false;
  }

  /** Whether what a fetch started at `since` returned, carrying `tags`, may be stored. */
  allowsStore(tags: Iterable<string>, since: number): boolean {
    return !this.touchedSince(tags, since);
  }

  /** Tags remembered; for tests and diagnostics. */
  get size(): number {
    return this.at.size;
  }
}
