/**
 * What an in-memory cache entry costs, in bytes, for the byte bounds of the router's and the
 * subgraphs' stores. V8 keeps a string in one byte per character when it can and two otherwise;
 * counting two is the safe side. PER_ENTRY covers what is not the strings (the LRU's slots, the
 * entry object, its tags array), PER_TAG a tag's place in the tag index (a tag no other entry has
 * costs a map entry and a set of its own). Measured on the router's MemoryStorage (heap after GC):
 * 50,000 entries of ~400-character values with one tag took 55 MB for 56 MB accounted; entries
 * of 20 unique tags, 6.3 KB each for 7 KB accounted.
 */
export const BYTES_PER_CHAR = 2;
export const PER_ENTRY_BYTES = 400;
export const PER_TAG_BYTES = 300;

export function stringBytes(text: string): number {
  return text.length * BYTES_PER_CHAR;
}

/** The accounted size of a key, its value and its tags. */
export function entryBytes(key: string, value: string, tags: readonly string[] = []): number {
  let size = PER_ENTRY_BYTES + stringBytes(key) + stringBytes(value);
  for (const tag of tags) size += PER_TAG_BYTES + stringBytes(tag);
  return size;
}
