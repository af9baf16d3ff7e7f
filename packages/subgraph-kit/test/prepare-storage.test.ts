import { describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../src/db.ts';
import { prepareStorage, splitStatements } from '../src/migrate.ts';

/** prepareStorage's seeding on embedded PGlite: statistics are gathered after a seed, not left to autovacuum. */
const MIGRATIONS = new URL('./fixtures/notes-migrations/', import.meta.url);

const reltuples = async (db: Database) =>
  Number((await db.query<{ n: number }>(`SELECT reltuples AS n FROM pg_class WHERE oid = 'notes.note'::regclass`))[0]?.n);

async function seedNotes(db: Database, count: number): Promise<boolean> {
  const [existing] = await db.query<{ count: number }>('SELECT count(*)::int AS count FROM notes.note');
  if ((existing?.count ?? 0) > 0) return false;
  await db.query(`INSERT INTO notes.note (id, body) SELECT i, 'note ' || i FROM generate_series(1, $1::int) AS i`, [count]);
  return true;
}

describe('prepareStorage', () => {
  it('gathers the statistics of the tables a seed filled, so the planner knows their sizes at once', async () => {
    const db = await createDatabase({});
    try {
      await prepareStorage(db, 'notes', MIGRATIONS, (tx) => seedNotes(tx, 5_000));
      expect(await reltuples(db)).toBe(5_000);
    } finally {
      await db.close();
    }
  });

  it('leaves statistics alone when the seed found data (a later start)', async () => {
    const db = await createDatabase({});
    try {
      await prepareStorage(db, 'notes', MIGRATIONS);
      await db.query(`INSERT INTO notes.note (id, body) VALUES (1, 'kept')`);
      // Never analysed: Postgres reports -1 until a VACUUM or ANALYZE.
      const before = await reltuples(db);
      await prepareStorage(db, 'notes', MIGRATIONS, (tx) => seedNotes(tx, 5_000));
      expect(await reltuples(db)).toBe(before);
      expect((await db.query('SELECT id FROM notes.note')).length).toBe(1);
    } finally {
      await db.close();
    }
  });
});

describe('splitStatements', () => {
  it('splits on top-level semicolons only: not in strings, quoted names, $$ bodies or comments', () => {
    const script = `CREATE TABLE a (x text DEFAULT 'a;b''c;'); -- a comment; with a semicolon
CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO a VALUES ('in; body'); RETURN NULL;
END
$$;
SELECT "odd;name" FROM a; SELECT $body$ x; y $body$;`;
    expect(splitStatements(script)).toEqual([
      "CREATE TABLE a (x text DEFAULT 'a;b''c;')",
      "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  INSERT INTO a VALUES ('in; body'); RETURN NULL;\nEND\n$$",
      'SELECT "odd;name" FROM a',
      'SELECT $body$ x; y $body$',
    ]);
  });

  it('refuses an unterminated body rather than running half of it', () => {
    expect(() => splitStatements('SELECT $$ never closed;')).toThrow(/unterminated/);
  });

  it('runs a trigger function migration on embedded PGlite', async () => {
    const db = await createDatabase({});
    try {
      for (const statement of splitStatements(`CREATE TABLE t (n int); CREATE TABLE c (total int);
        INSERT INTO c VALUES (0);
        CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE c SET total = total + 1; RETURN NULL; END $$;
        CREATE TRIGGER t_bump AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION bump();`))
        await db.query(statement);
      await db.query('INSERT INTO t SELECT generate_series(1, 3)');
      expect((await db.query<{ total: number }>('SELECT total FROM c'))[0]!.total).toBe(3);
    } finally {
      await db.close();
    }
  });
});
