import { afterEach, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../src/db.ts';

/**
 * Named prepared statements on real PostgreSQL (db.ts `preparedStatementName`): which statements
 * are prepared, the bound on how many, and that results stay right once PostgreSQL switches a
 * prepared statement to its generic plan (after five executions). Real-services tier only
 * (`unit-postgres`): PRODUCTS_DATABASE_URL names the database; nothing is written to it.
 */
const url = process.env.PRODUCTS_DATABASE_URL;

let db: Database | undefined;
afterEach(async () => {
  await db?.close();
  db = undefined;
});

/** One connection, so that what the pool prepared is what `pg_prepared_statements` shows. */
async function open(preparedStatements?: number): Promise<Database> {
  if (!url) throw new Error('PRODUCTS_DATABASE_URL must name a PostgreSQL database (npm run test:services sets it)');
  db = await createDatabase({ url, poolSize: 1, ...(preparedStatements === undefined ? {} : { preparedStatements }) });
  return db;
}

const prepared = async (database: Database) =>
  (await database.query<{ name: string; statement: string }>('SELECT name, statement FROM pg_prepared_statements ORDER BY statement')).map(
    (row) => row.statement,
  );

describe('prepared statements (pg)', () => {
  it('prepares a statement with parameters once per connection and reuses it', async () => {
    const database = await open();
    const text = 'SELECT $1::int + 1 AS n';
    for (let i = 0; i < 3; i++) expect(await database.query<{ n: number }>(text, [i])).toEqual([{ n: i + 1 }]);
    const rows = await database.query<{ name: string }>('SELECT name FROM pg_prepared_statements WHERE statement = $1', [text]);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.name).toMatch(/^shop_[A-Za-z0-9_-]{24}$/);
  });

  it('sends a statement without parameters unnamed (the simple protocol, as before)', async () => {
    const database = await open();
    expect(await database.query<{ n: number }>('SELECT 1 AS n')).toEqual([{ n: 1 }]);
    expect(await prepared(database)).toEqual([]);
  });

  it('names at most the configured number of distinct texts; the rest are sent unnamed and still answer', async () => {
    const database = await open(2);
    const texts = ['SELECT $1::int AS a', 'SELECT $1::int AS b', 'SELECT $1::int AS c'];
    for (const text of texts) expect(await database.query(text, [7])).toHaveLength(1);
    // The third text, past the bound, is answered but never prepared, however often it is sent.
    for (let i = 0; i < 3; i++) expect(await database.query<{ c: number }>(texts[2]!, [i])).toEqual([{ c: i }]);
    expect(await prepared(database)).toEqual(texts.slice(0, 2));
  });

  it('prepares nothing with 0', async () => {
    const database = await open(0);
    expect(await database.query<{ n: number }>('SELECT $1::int AS n', [5])).toEqual([{ n: 5 }]);
    expect(await prepared(database)).toEqual([]);
  });

  it('keeps answers right past the executions after which PostgreSQL may use a generic plan, and inside transactions', async () => {
    const database = await open();
    // A parameter that decides the branch, as the listing's `$2::text IS NULL` does.
    const text = 'SELECT CASE WHEN $1::text IS NULL THEN -1 ELSE count(*)::int END AS n FROM generate_series(1, $2::int)';
    for (let i = 1; i <= 12; i++) {
      const filter = i % 3 === 0 ? null : 'x';
      expect(await database.query<{ n: number }>(text, [filter, i])).toEqual([{ n: filter === null ? -1 : i }]);
    }
    const inTransaction = await database.transaction((tx) => tx.query<{ n: number }>(text, ['x', 4]));
    expect(inTransaction).toEqual([{ n: 4 }]);
    expect(await prepared(database)).toContain(text);
  });

  it('reports a failing prepared statement as PostgreSQL does, and the connection keeps working', async () => {
    const database = await open();
    await expect(database.query('SELECT 1 / $1::int AS n', [0])).rejects.toMatchObject({ code: '22012' });
    expect(await database.query<{ n: number }>('SELECT 1 / $1::int AS n', [1])).toEqual([{ n: 1 }]);
  });
});
