import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { replicaUnavailable } from '../src/replica.ts';
import { readSubgraphBaseConfig } from '../src/subgraph-config.ts';

const sqlError = (code: string, message = 'from the server') => Object.assign(new pg.DatabaseError(message, 0, 'error'), { code });
const nodeError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5433`), { code });

describe('replicaUnavailable: which replica failures are retried on the primary', () => {
  it('retries what says the server cannot serve now', () => {
    for (const code of ['08006', '08001', '57P01', '57P02', '57P03', '53300', '58030', '57014', '40001']) {
      expect(replicaUnavailable(sqlError(code)), code).toBe(true);
    }
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH'])
      expect(replicaUnavailable(nodeError(code)), code).toBe(true);
    for (const message of ['Connection terminated unexpectedly', 'Query read timeout', 'timeout exceeded when trying to connect']) {
      expect(replicaUnavailable(new Error(message)), message).toBe(true);
    }
    expect(replicaUnavailable(new Error('Connection terminated due to connection timeout', { cause: new Error('timeout expired') }))).toBe(
      true,
    );
    expect(replicaUnavailable(Object.assign(new AggregateError([nodeError('ECONNREFUSED')]), { code: undefined }))).toBe(true);
  });

  it("does not retry the statement's own errors, which the primary would give too", () => {
    // syntax, unknown column, bad value, NUL in text, a write sent to the read-only replica, a constraint
    for (const code of ['42601', '42703', '22P02', '22021', '25006', '23505', '23514']) {
      expect(replicaUnavailable(sqlError(code)), code).toBe(false);
    }
    expect(replicaUnavailable(new Error('something else'))).toBe(false);
    expect(replicaUnavailable('not an error')).toBe(false);
  });
});

describe('<NAME>_READ_DATABASE_URL', () => {
  const read = (env: Record<string, string>) => readSubgraphBaseConfig(env, 'products', 4001, { readReplica: true });

  it('is read beside the primary for a subgraph that allows a replica, and ignored by the others', () => {
    const env = { PRODUCTS_DATABASE_URL: 'postgres://db/shop', PRODUCTS_READ_DATABASE_URL: 'postgres://replica/shop' };
    expect(read(env)).toMatchObject({ databaseUrl: 'postgres://db/shop', readDatabaseUrl: 'postgres://replica/shop' });
    expect(readSubgraphBaseConfig(env, 'products', 4001).readDatabaseUrl).toBeUndefined();
    expect(read({}).readDatabaseUrl).toBeUndefined();
  });

  it('is refused, naming both variables, without a Postgres primary (embedded PGlite has no replicas)', () => {
    expect(() => read({ PRODUCTS_READ_DATABASE_URL: 'postgres://replica/shop' })).toThrow(
      expect.objectContaining({ name: 'ConfigError', message: expect.stringMatching(/PRODUCTS_READ_DATABASE_URL.*PRODUCTS_DATABASE_URL/) }),
    );
    expect(() => read({ PRODUCTS_DATABASE_URL: 'postgres://db/shop', PRODUCTS_READ_DATABASE_URL: 'not a url' })).toThrow(
      /PRODUCTS_READ_DATABASE_URL/,
    );
  });
});
