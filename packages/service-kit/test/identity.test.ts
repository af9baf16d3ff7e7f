import { describe, expect, it } from 'vitest';
import { assertOwnerOrAdmin, viewerFromHeaders } from '../src/identity.ts';
import { decodeIntCursor, encodeCursor, pageSize } from '../src/pagination.ts';

describe('identity headers', () => {
  const headers = { 'x-user-id': 'u7', 'x-user-scopes': 'admin orders:write', 'x-router-secret': 's3cret' };

  it('believes identity headers that carry the router secret', () => {
    expect(viewerFromHeaders(headers, 's3cret')).toEqual({ userId: 'u7', scopes: ['admin', 'orders:write'] });
  });

  it('ignores identity headers without the right secret', () => {
    expect(viewerFromHeaders({ ...headers, 'x-router-secret': 'guess' }, 's3cret')).toBeNull();
    expect(viewerFromHeaders({ 'x-user-id': 'u7' }, 's3cret')).toBeNull();
  });

  it('lets only the owner or an admin through', () => {
    expect(() => assertOwnerOrAdmin(null, 'u1')).toThrow(expect.objectContaining({ extensions: { code: 'UNAUTHENTICATED' } }));
    expect(() => assertOwnerOrAdmin({ userId: 'u2', scopes: [] }, 'u1')).toThrow(expect.objectContaining({ extensions: { code: 'FORBIDDEN' } }));
    expect(assertOwnerOrAdmin({ userId: 'u1', scopes: [] }, 'u1').userId).toBe('u1');
    expect(assertOwnerOrAdmin({ userId: 'u0', scopes: ['admin'] }, 'u1').userId).toBe('u0');
  });
});

describe('pagination', () => {
  it('defaults first to 20 and bounds it to 1..100', () => {
    expect(pageSize(undefined)).toBe(20);
    expect(pageSize(100)).toBe(100);
    for (const bad of [0, -1, 101, 1.5]) expect(() => pageSize(bad)).toThrow(/between 1 and 100/);
  });

  it('round-trips cursors and refuses ones from another list or malformed', () => {
    expect(decodeIntCursor('product', encodeCursor('product', 42))).toBe(42);
    expect(() => decodeIntCursor('product', encodeCursor('search', 42))).toThrow(/not a valid cursor/);
    expect(() => decodeIntCursor('product', '!!!')).toThrow(/not a valid cursor/);
    expect(() => decodeIntCursor('product', encodeCursor('product', 'x'))).toThrow(/not a valid cursor/);
  });
});
