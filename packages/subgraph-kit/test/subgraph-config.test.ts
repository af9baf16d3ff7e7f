import { describe, expect, it } from 'vitest';
import { readSubgraphBaseConfig } from '../src/subgraph-config.ts';

/** PG_PREPARED_STATEMENTS (db.ts): how many distinct statement texts are prepared; prepared-statements.postgres.test.ts covers what it does. */
describe('PG_PREPARED_STATEMENTS', () => {
  const read = (env: Record<string, string>) => readSubgraphBaseConfig(env, 'products', 4001).preparedStatements;
  it('defaults to 256 and accepts 0', () => {
    expect(read({})).toBe(256);
    expect(read({ PG_PREPARED_STATEMENTS: '0' })).toBe(0);
  });
  it('refuses a value that is not a count', () => {
    expect(() => read({ PG_PREPARED_STATEMENTS: 'lots' })).toThrow(/PG_PREPARED_STATEMENTS/);
    expect(() => read({ PG_PREPARED_STATEMENTS: '-1' })).toThrow(/PG_PREPARED_STATEMENTS/);
  });
});
