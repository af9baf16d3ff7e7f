import { readdir, readFile } from 'node:fs/promises';
import type { Database, Queryable } from './db.ts';

/**
 * Prepares a subgraph's storage: applies the versioned `NNN_name.sql` files in `dir` that have
 * not run yet (recorded in `<schema>.schema_migrations`) and, when asked, seeds. Every subgraph
 * keeps its tables in a Postgres schema named after it, so five subgraphs can share one database
 * (or one PGlite) and the same SQL runs on both.
 *
 * All of it runs in ONE transaction under an advisory lock: several processes (replicas, parallel
 * test files) starting on the same empty database take turns, and the later ones find the work
 * done. A failure rolls everything back, so no half-migrated or half-seeded database survives.
 */
export async function prepareStorage(db: Database, schema: string, dir: URL, seed?: (db: Database) => Promise<boolean>): Promise<string[]> {
  if (!/^[a-z_]+$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`shop.prepare.${schema}`]);
    const applied = await migrateIn(tx, schema, dir);
    if (seed && (await seed(within(db, tx))) === true) {
      // Statistics now, not whenever autovacuum gets to them (never where it is off): without them the
      // planner guesses the freshly seeded tables' sizes and picks scans over indexes (search did).
      const tables = await tx.query<{ name: string }>('SELECT tablename AS name FROM pg_tables WHERE schemaname = $1 ORDER BY 1', [schema]);
      for (const { name } of tables) await tx.query(`ANALYZE ${schema}."${name.replaceAll('"', '""')}"`);
    }
    return applied;
  });
}

/**
 * The kit's own migrations (the outbox and processed_events tables every subgraph has), applied to
 * each subgraph's schema before its own and recorded as `kit/NNN_name.sql`.
 */
const KIT_MIGRATIONS = new URL('./migrations/', import.meta.url);

async function migrateIn(tx: Queryable, schema: string, dir: URL): Promise<string[]> {
  await tx.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await tx.query(`CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (
      version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
  const done = new Set((await tx.query<{ version: string }>(`SELECT version FROM ${schema}.schema_migrations`)).map((r) => r.version));
  const applied: string[] = [];
  for (const [prefix, folder] of [['kit/', KIT_MIGRATIONS] as const, ['', dir] as const]) {
    const files = (await readdir(folder)).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
    for (const file of files) {
      const version = `${prefix}${file}`;
      if (done.has(version)) continue;
      const sql = (await readFile(new URL(file, folder), 'utf8')).replaceAll('{{schema}}', schema);
      for (const statement of splitStatements(sql)) await tx.query(statement);
      await tx.query(`INSERT INTO ${schema}.schema_migrations (version) VALUES ($1)`, [version]);
      applied.push(version);
    }
  }
  return applied;
}

/** The open transaction seen as a Database, so seeds written against Database run inside it. */
function within(db: Database, tx: Queryable): Database {
  return {
    kind: db.kind,
    query: (text, params) => tx.query(text, params),
    transaction: (fn) => fn(tx),
    exec: async (script) => {
      for (const statement of splitStatements(script)) await tx.query(statement);
    },
    close: async () => {},
  };
}

/**
 * Splits a script into statements on its top-level semicolons: not those inside '...' strings,
 * "..." identifiers, `$tag$ ... $tag$` bodies (a trigger function's) or `--` comments, which are
 * dropped. Each statement runs on its own (one script may not be one extended-protocol query).
 */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current = '';
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i]!;
    if (ch === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end;
      continue;
    }
    if (ch === "'" || ch === '"') {
      // A doubled quote inside is an escaped one: scanning on from it finds the real end.
      let end = i + 1;
      while (end < sql.length && !(sql[end] === ch && sql[end + 1] !== ch)) end += sql[end] === ch ? 2 : 1;
      current += sql.slice(i, end + 1);
      i = end + 1;
      continue;
    }
    const tag = ch === '$' ? /^\$[A-Za-z_]*\$/.exec(sql.slice(i))?.[0] : undefined;
    if (tag) {
      const end = sql.indexOf(tag, i + tag.length);
      if (end === -1) throw new Error(`unterminated ${tag} body in a migration`);
      current += sql.slice(i, end + tag.length);
      i = end + tag.length;
      continue;
    }
    if (ch === ';') {
      if (current.trim()) statements.push(current.trim());
      current = '';
    } else current += ch;
    i++;
  }
  if (current.trim()) statements.push(current.trim());
  return statements;
}
