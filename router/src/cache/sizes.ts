/** Accounted as everywhere in the shop (see the platform's memory-sizes.ts). */
export { BYTES_PER_CHAR, entryBytes, PER_ENTRY_BYTES, stringBytes } from '@shop/platform';

/** Why a write was not stored, for `cache_entries_skipped_total{reason}`. */
export type SkipReason = 'too_large';

/** Told about every write a store refused (the caller counts it). */
export type SkipHandler = (reason: SkipReason) => void;

/** Bounds of one store: the whole store, and one entry (an entry above it is not stored). */
export interface ByteBounds {
  maxBytes: number;
  maxEntryBytes: number;
}
