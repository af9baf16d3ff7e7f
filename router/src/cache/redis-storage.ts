import { delPerSlot, isCluster, mgetPerSlot, pipelinePerNode, type RedisClient, within } from '@shop/platform';
import { entryBytes, type SkipHandler } from './sizes.ts';
import type { CacheStorage, CacheWrite, StorageErrorHandler } from './storage.ts';

/**
 * Adds members to a tag's key set and makes the set live at least as long as its longest-lived
 * member (PTTL is -1 for a new set, so the first member always sets it). ARGV: the set's TTL, then
 * (TTL, member) pairs. One script, so a set is never left without an expiry.
 *
 * A set that keeps being written never expires, and members whose entry expired would stay in it
 * until the tag is invalidated: a bare type tag (`Product`, on every listing and search) would grow
 * by one member per distinct search a client sends. So the set is a sorted set scored by each
 * member's expiry (Redis's clock, the same for every replica), and each add first drops the members
 * whose entry has expired by then. The script touches the tag's own key only: on a Redis Cluster
 * an entry is in a slot of its own (no hash tag joins it to its tags: an entry carries many), and a
 * script may only touch keys of one slot.
 */
const TAG_ADD = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 2, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], 'GT', now + tonumber(ARGV[i]), ARGV[i + 1])
end
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1`;

/**
 * Takes a tag's set: its members (entry keys), and the set is gone. Atomic, so two replicas
 * invalidating the same tag each drop what the set held, and a member added after it lands in a
 * new set.
 */
const TAG_TAKE = `
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
return members`;

/** A tag set outlives its entries a little, so an entry is never left unreachable by its tags. */
const TAG_SLACK_MS = 5_000;

/**
 * Entries in Redis, shared by every router replica: `<prefix><key>` holds the value with a PX
 * expiry, `<prefix>tag:<tag>` the set of entry keys carrying the tag (scored by their expiry, see
 * TAG_ADD). Every call is bounded by `timeoutMs`: a Redis that is down, paused or slow costs a
 * request at most that, and reads as a miss. The client (createRedis) fails fast while disconnected
 * and reconnects by itself. An entry larger than `maxEntryBytes` (counted as in memory, see
 * sizes.ts) is not written: Redis's memory is shared by every replica, and a client must not be
 * able to fill it with one large answer.
 *
 * On a Redis Cluster every command touches one slot: lookups are one MGET per slot (an entry and
 * its per-user variant share one, see router-cache.ts), writes and invalidations one pipeline per
 * primary, all sent at once (platform's mgetPerSlot, pipelinePerNode, delPerSlot).
 */
export class RedisStorage implements CacheStorage {
  constructor(
    private readonly redis: RedisClient,
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
    const read = mgetPerSlot(
      this.redis,
      keys.map((key) => prefix + key),
    ).then((values) => values.map((value) => value ?? undefined));
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
    const tagSets = new Map<string, { members: (string | number)[]; ttlMs: number }>();
    for (const { key, ttlMs, tags } of writes) {
      for (const tag of tags) {
        const set = tagSets.get(tag);
        if (set) {
          set.members.push(ttlMs, prefix + key);
          set.ttlMs = Math.max(set.ttlMs, ttlMs);
        } else {
          tagSets.set(tag, { members: [ttlMs, prefix + key], ttlMs });
        }
      }
    }
    type Write = { set: CacheWrite } | { tag: string; members: (string | number)[]; ttlMs: number };
    const entries: Write[] = writes.map((set) => ({ set }));
    const tags: Write[] = [...tagSets].map(([tag, { members, ttlMs }]) => ({ tag: `${prefix}tag:${tag}`, members, ttlMs }));
    const send = async (batch: Write[]) => {
      const results = await pipelinePerNode(
        this.redis,
        batch,
        (write) => ('set' in write ? prefix + write.set.key : write.tag),
        (pipeline, write) => {
          if ('set' in write) pipeline.set(prefix + write.set.key, write.set.value, 'PX', write.set.ttlMs);
          else pipeline.eval(TAG_ADD, 1, write.tag, write.ttlMs + TAG_SLACK_MS, ...write.members);
        },
      );
      const failed = results.find(([error]) => error)?.[0];
      if (failed) throw failed;
    };
    // Entries before their tags: an invalidation that finds a member finds its entry written. On a
    // single Redis one pipeline keeps that order; a cluster's primaries answer independently, so
    // the tags go once every entry is in.
    const written = isCluster(this.redis) ? send(entries).then(() => send(tags)) : send([...entries, ...tags]);
    await within(written, timeoutMs, undefined, (error) => onError('write', error));
  }

  /**
   * Takes each tag's set (one script per set, on the set's own slot), then deletes every entry they
   * listed (one DEL per slot). Resolves once the entries are gone, so a read issued after it cannot
   * see one it dropped.
   */
  async invalidate(tags: readonly string[]): Promise<void> {
    if (!tags.length) return;
    const { prefix, timeoutMs, onError } = this.options;
    const dropped = (async () => {
      const sets = tags.map((tag) => `${prefix}tag:${tag}`);
      const taken = await pipelinePerNode(
        this.redis,
        sets,
        (set) => set,
        (pipeline, set) => void pipeline.eval(TAG_TAKE, 1, set),
      );
      const members = new Set<string>();
      for (const [error, result] of taken) {
        if (error) throw error;
        for (const member of result as string[]) members.add(member);
      }
      return delPerSlot(this.redis, [...members]);
    })();
    await within(dropped, timeoutMs, undefined, (error) => onError('invalidate', error));
  }

  /** Nothing: the entries are every replica's, and the router cache disowns those written before (see RouterCache). */
  async clear(): Promise<void> {}

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
