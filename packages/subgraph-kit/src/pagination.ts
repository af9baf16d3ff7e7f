import { badInput } from '@shop/platform';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** `first` defaults to 20 and must be 1..100; anything else is the client's mistake. */
export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw badInput(`"first" must be between 1 and ${MAX_PAGE_SIZE}, got ${first}`, { argument: 'first' });
  }
  return first;
}

/**
 * Cursors are opaque to clients: base64url of `<kind>:<position>`. The kind stops a cursor from
 * one list being replayed against another.
 */
export function encodeCursor(kind: string, position: string | number): string {
  return Buffer.from(`${kind}:${position}`).toString('base64url');
}

export function decodeCursor(kind: string, cursor: string | null | undefined): string | undefined {
  if (cursor === null || cursor === undefined) return undefined;
  const decoded = /^[A-Za-z0-9_-]{1,200}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const prefix = `${kind}:`;
  if (!decoded.startsWith(prefix) || decoded.length === prefix.length) {
    throw badInput('"after" is not a valid cursor for this list', { argument: 'after' });
  }
  return decoded.slice(prefix.length);
}

/** A cursor whose position must be a non-negative integer (keyset ids, offsets). */
export function decodeIntCursor(kind: string, cursor: string | null | undefined): number | undefined {
  const position = decodeCursor(kind, cursor);
  if (position === undefined) return undefined;
  if (!/^\d{1,15}$/.test(position)) throw badInput('"after" is not a valid cursor for this list', { argument: 'after' });
  return Number(position);
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface Connection<T> {
  edges: Edge<T>[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  totalCount: number;
}

/** Builds a connection from `rows` fetched with LIMIT first + 1 (the extra row proves a next page). */
export function toConnection<T>(
  rows: T[],
  first: number,
  cursorOf: (row: T) => string,
  totalCount: number,
  hasPrevious: boolean,
): Connection<T> {
  const page = rows.slice(0, first);
  const edges = page.map((node) => ({ cursor: cursorOf(node), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > first,
      hasPreviousPage: hasPrevious,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    totalCount,
  };
}
