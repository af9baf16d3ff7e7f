import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { gql } from '../src/testing.ts';
import { tinySubgraph } from './tiny-subgraph.ts';

const SECRET = 'guard-secret';
const ROUTER = { 'x-router-secret': SECRET };

const SCHEMA_QUERIES = [
  ['introspection', '{ __schema { types { name } } }'],
  ['a type lookup', '{ __type(name: "Query") { name fields { name } } }'],
  ['the federation SDL', '{ _service { sdl } }'],
  ['an aliased SDL query', '{ hello sdl: _service { sdl } }'],
  ['introspection in a fragment', 'query Q { ...F } fragment F on Query { hello __schema { queryType { name } } }'],
  ['introspection in an inline fragment', '{ ... on Query { __type(name: "String") { name } } }'],
] as const;

describe('schema introspection in production (F13)', () => {
  let production: FastifyInstance;
  let development: FastifyInstance;
  beforeAll(async () => {
    production = await tinySubgraph({ production: true, routerSecret: SECRET });
    development = await tinySubgraph({ production: false, routerSecret: SECRET });
  });
  afterAll(async () => {
    await production?.close();
    await development?.close();
  });

  it.each(SCHEMA_QUERIES)('refuses %s without the router secret: 403 FORBIDDEN, nothing of the schema', async (_label, query) => {
    for (const headers of [{}, { 'x-router-secret': 'guess' }] as Record<string, string>[]) {
      const res = await gql(production, query, {}, headers);
      expect(res.status).toBe(403);
      expect(res.data ?? null).toBeNull();
      expect(res.errors).toEqual([{ message: 'Schema introspection is disabled', extensions: { code: 'FORBIDDEN' } }]);
    }
  });

  it('refuses an introspection GET too', async () => {
    const res = await production.inject({ method: 'GET', url: `/graphql?query=${encodeURIComponent('{ _service { sdl } }')}` });
    expect(res.statusCode).toBe(403);
    expect(res.body).not.toContain('type Query');
  });

  it.each(SCHEMA_QUERIES)('answers %s to the router (with the secret)', async (_label, query) => {
    const res = await gql(production, query, {}, ROUTER);
    expect(res.status).toBe(200);
    expect(res.errors).toBeUndefined();
  });

  it('answers ordinary queries, __typename included, to anyone', async () => {
    const res = await gql(production, '{ hello __typename }');
    expect(res).toMatchObject({ status: 200, data: { hello: 'hi', __typename: 'Query' } });
    // Repeated: once Mercurius caches (and JIT-compiles) a query, the guard still runs.
    for (let i = 0; i < 3; i++) expect((await gql(production, '{ _service { sdl } }')).status).toBe(403);
  });

  it('leaves introspection open in development', async () => {
    const res = await gql(development, '{ _service { sdl } }');
    expect(res.status).toBe(200);
    expect(res.data?._service.sdl).toContain('hello');
  });
});
