import { describe, expect, it } from 'vitest';
import { assertOwnerOrAdmin, clientIpOf, clientKey, viewerFromHeaders } from '@shop/platform';
import { decodeIntCursor, encodeCursor, pageSize } from '../src/pagination.ts';
import { asUser, gql, TEST_ROUTER_SECRET } from '../src/testing.ts';
import { tinySubgraph } from './tiny-subgraph.ts';

describe('identity headers', () => {
  const headers = { 'x-user-id': 'u7', 'x-user-scopes': 'admin orders:write', 'x-router-secret': 's3cret' };

  it('believes identity headers that carry the router secret', () => {
    expect(viewerFromHeaders(headers, 's3cret')).toEqual({ userId: 'u7', scopes: ['admin', 'orders:write'] });
  });

  it('ignores identity headers without the right secret', () => {
    expect(viewerFromHeaders({ ...headers, 'x-router-secret': 'guess' }, 's3cret')).toBeNull();
    expect(viewerFromHeaders({ 'x-user-id': 'u7' }, 's3cret')).toBeNull();
  });

  it('never believes identity headers when no secret is configured (F12)', () => {
    expect(viewerFromHeaders({ 'x-user-id': 'u0', 'x-user-scopes': 'admin' }, undefined)).toBeNull();
    expect(viewerFromHeaders(headers, undefined)).toBeNull();
    expect(viewerFromHeaders({ ...headers, 'x-router-secret': '' }, '')).toBeNull();
  });

  it.each([false, true])(
    'a subgraph started without ROUTER_SECRET treats identity headers as anonymous (production: %s)',
    async (production) => {
      const app = await tinySubgraph({ production, routerSecret: undefined });
      try {
        for (const sent of [{ 'x-user-id': 'u0', 'x-user-scopes': 'admin' }, asUser('u0', ['admin']), asUser('u0', ['admin'], null)]) {
          const res = await gql(app, '{ me }', {}, sent);
          expect(res.data?.me ?? null).toBeNull();
          expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
        }
      } finally {
        await app.close();
      }
      // With the secret configured, the router's headers are believed (what the test helpers send).
      const trusting = await tinySubgraph({ production, routerSecret: TEST_ROUTER_SECRET });
      try {
        expect((await gql(trusting, '{ me }', {}, asUser('u7'))).data?.me).toBe('u7');
      } finally {
        await trusting.close();
      }
    },
  );

  it('believes the forwarded client IP only from the router', () => {
    const forwarded = { 'x-client-ip': '203.0.113.9' };
    expect(clientIpOf({ ...forwarded, 'x-router-secret': 's3cret' }, '10.0.0.1', 's3cret')).toBe('203.0.113.9');
    expect(clientIpOf({ ...forwarded, 'x-router-secret': 'guess' }, '10.0.0.1', 's3cret')).toBe('10.0.0.1');
    expect(clientIpOf(forwarded, '10.0.0.1', undefined)).toBe('10.0.0.1');
    expect(clientIpOf({ 'x-client-ip': 'not an ip; drop table', 'x-router-secret': 's3cret' }, '10.0.0.1', 's3cret')).toBe('10.0.0.1');
    expect(clientIpOf({ 'x-client-ip': '::ffff:127.0.0.2', 'x-router-secret': 's3cret' }, '10.0.0.1', 's3cret')).toBe('127.0.0.2');
  });

  it('keys an IPv6 client by its /64, so rotating addresses inside it is still one client', () => {
    const keys = new Set(
      Array.from({ length: 100 }, (_, i) =>
        clientIpOf({ 'x-client-ip': `2001:db8:1:2:${i.toString(16)}::${i + 1}`, 'x-router-secret': 's3cret' }, '10.0.0.1', 's3cret'),
      ),
    );
    expect([...keys]).toEqual(['2001:db8:1:2::/64']);
    expect(clientIpOf({}, '2001:0db8:0001:0002:0:0:0:7', undefined)).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:3::1')).not.toBe(clientKey('2001:db8:1:2::1'));
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('203.0.113.9')).toBe('203.0.113.9');
  });

  it('lets only the owner or an admin through', () => {
    expect(() => assertOwnerOrAdmin(null, 'u1')).toThrow(expect.objectContaining({ extensions: { code: 'UNAUTHENTICATED' } }));
    expect(() => assertOwnerOrAdmin({ userId: 'u2', scopes: [] }, 'u1')).toThrow(
      expect.objectContaining({ extensions: { code: 'FORBIDDEN' } }),
    );
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
