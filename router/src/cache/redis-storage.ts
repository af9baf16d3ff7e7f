import { within, type Redis } from '@shop/platform';
import { entryBytes, type SkipHandler } from './sizes.ts';
import type { CacheStorage, CacheWrite, StorageErrorHandler } from './storage.ts';

/**
 * Adds members to a tag's key set and makes the set live at least as long as its longest-lived
 * member (PTTL is -1 for a new set, so the first member always sets it). One script, so a set is
 * never left without an expiry.
 *
 * A set that keeps being written never expires, and members whose entry expired would stay in it
 * until the tag is invalidated: a bare type tag (`Product`, on every listing and search) would grow
 * by one member per distinct search a client sends. So each add also checks twice as many members
 * as it added, at random, and removes those whose entry is gone: a set holds about twice its live
 * members at most. (The entries are written earlier in the same pipeline, so new members exist.)
 */
const TAG_ADD = `
redis.call('SADD', KEYS[1], unpack(ARGV, 2))
local sample = redis.call('SRANDMEMBER', KEYS[1], math.min(2 * (#ARGV - 1), 64))
for _, member in ipairs(sample) do
  if redis.call('EXISTS', member) == 0 then redis.call('SREM', KEYS[1], member) end
end
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1`;

/**
 * Drops every entry listed in the tag sets, and the sets. Atomic and one command: a read the
 * router issues after it on the same connection cannot see an entry it dropped. Members are
 * deleted in chunks because Lua's unpack has a stack limit.
 */
const INVALIDATE = `
local dropped = 0
for _, tag in ipairs(KEYS) do
  local members = redis.call('SMEMBERS', tag)
  for i = 1, #members, 1000 do
    dropped = dropped + redis.call('DEL', unpack(members, i, math.min(i + 999, #members)))
  end
  redis.call('DEL', tag)
end
return dropped`;

/** A tag set outlives its entries a little, so an entry is never left unreachable by its tags. */
const TAG_SLACK_MS = 5_000;

/**
 * Entries in Redis, shared by every router replica: `<prefix><key>` holds the value with a PX
 * expiry, `<prefix>t:<tag>` the set of entry keys carrying the tag. Every call is bounded by
 * `timeoutMs`: a Redis that is down, paused or slow costs a request at most that, and reads as a
 * miss. The client (createRedis) fails fast while disconnected and reconnects by itself. An entry
 * larger than `maxEntryBytes` (counted as in memory, see sizes.ts) is not written: Redis's memory
 * is shared by every replica, and a client must not be able to fill it with one large answer.
 */
export class RedisStorage implements CacheStorage {
  constructor(
    private readonly redis: Redis,
    private readonly options: {
      prefix: string;
      timeoutMs: number;
      maxEntryBytes: number;
      onError: StorageErrorHandler;
      onSkip?: SkipHandler | undefined;
    },
  ) {}

  getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    const { prefix, timeoutMs, onError } = this.options;
    const misses = keys.map(() => undefined);
    if (!keys.length) return Promise.resolve(misses);
    const read = this.redis.mget(keys.map((key) => prefix + key)).then((values) => values.map((value) => value ?? undefined));
    return within(read, timeoutMs, misses, (error) => onError('read', error));
  }

  async setMany(all: readonly CacheWrite[]): Promise<void> {
    const { prefix, timeoutMs, maxEntryBytes, onError, onSkip } = this.options;
    const writes = all.filter((write) => {
      if (entryBytes(write.key, write.value, write.tags) <= maxEntryBytes) return true;
      onSkip?.('too_large');
      return false;
    });
    if (!writes.length) return;
    const pipeline = this.redis.pipeline();
    const tagSets = new Map<string, { members: string[]; ttlMs: number }>();
    for (const { key, value, ttlMs, tags } of writes) {
      pipeline.set(prefix + key, value, 'PX', ttlMs);
      for (const tag of tags) {
        const set = tagSets.get(tag);
        if (set) {
          set.members.push(prefix + key);
          set.ttlMs = Math.max(set.ttlMs, ttlMs);
        } else {
          tagSets.set(tag, { members: [prefix + key], ttlMs });
        }
      }
    }
    for (const [tag, { members, ttlMs }] of tagSets) pipeline.eval(TAG_ADD, 1, `${prefix}t:${tag}`, ttlMs + TAG_SLACK_MS, ...members);
    const written = pipeline.exec().then((results) => {
      const failed = results?.find(([error]) => error)?.[0];
      if (failed) throw failed;
    });
    await within(written, timeoutMs, undefined, (error) => onError('write', error));
  }

  async invalidate(tags: readonly string[]): Promise<void> {
    if (!tags.length) return;
    const { prefix, timeoutMs, onError } = this.options;
    const dropped = this.redis.eval(INVALIDATE, tags.length, ...tags.map((tag) => `${prefix}t:${tag}`));
    await within(dropped, timeoutMs, undefined, (error) => onError('invalidate', error));
  }

  /** Nothing: the entries are every replica's, and the router cache disowns those written before (see RouterCache). */
  async clear(): Promise<void> {}

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
