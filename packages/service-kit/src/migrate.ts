import { readdir, readFile } from 'node:fs/promises';
import type { Database } from './db.ts';

/**
 * Applies the versioned `NNN_name.sql` files in `dir` that have not run yet, each in its own
 * transaction, recording them in `<schema>.schema_migrations`. Every subgraph keeps its tables in a
 * Postgres schema named after it, so five subgraphs can share one database (or one PGlite) without
 * colliding, and the same SQL runs on PGlite and on Postgres.
 */
export async function migrate(db: Database, schema: string, dir: URL): Promise<string[]> {
  if (!/^[a-z_]+$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
  await db.exec(`CREATE SCHEMA IF NOT EXISTS ${schema};
    CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (
      version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());`);
  const done = new Set(
    (await db.query<{ version: string }>(`SELECT version FROM ${schema}.schema_migrations`)).map((r) => r.version),
  );
  const files = (await readdir(dir)).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  const applied: string[] = [];
  for (const file of files) {
    if (done.has(file)) continue;
    const sql = await readFile(new URL(file, dir), 'utf8');
    await db.transaction(async (tx) => {
      // Taken inside the transaction so two processes starting together do not both apply it.
      const claimed = await tx.query(
        `INSERT INTO ${schema}.schema_migrations (version) VALUES ($1) ON CONFLICT DO NOTHING RETURNING version`,
        [file],
      );
      if (claimed.length === 0) return;
      for (const statement of splitStatements(sql)) await tx.query(statement);
    });
    applied.push(file);
  }
  return applied;
}

/** Splits a migration on top-level semicolons (no `$$` bodies are used in migrations). */
function splitStatements(sql: string): string[] {
  return sql
    .replace(/--.*$/gm, '')
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean);
}
