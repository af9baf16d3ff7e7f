import { randomUUID } from 'node:crypto';
import { type EventEnvelope, type EventMetrics, createEventMetrics, createInProcessStream, type EventStream } from '@shop/events';
import { createLogger } from '@shop/platform';
import { Registry } from 'prom-client';
import { createDatabase, type Database } from '../src/db.ts';
import { prepareStorage } from '../src/migrate.ts';

/** The `notes` schema (one table, plus the kit's outbox and processed_events) on a fresh PGlite. */
export async function notesDatabase(): Promise<Database> {
  const db = await createDatabase({});
  await prepareStorage(db, 'notes', new URL('./fixtures/notes-migrations/', import.meta.url));
  return db;
}

export const quietLogger = createLogger('kit-test', 'silent');

/** An in-process stream of its own (a scope no other test shares), with metrics on a registry of its own. */
export function privateStream(): { stream: ReturnType<typeof createInProcessStream>; metrics: EventMetrics; registry: Registry } {
  const registry = new Registry();
  const metrics = createEventMetrics(registry);
  return { stream: createInProcessStream({ scope: `kit-test-${randomUUID()}`, logger: quietLogger, metrics }), metrics, registry };
}

/** Everything a follower of `stream` hears, in order. */
export function heardOn(stream: EventStream): EventEnvelope[] {
  const heard: EventEnvelope[] = [];
  stream.follow({ event: (e) => void heard.push(e) });
  return heard;
}

export async function outboxRows(db: Database) {
  return db.query<{ type: string; aggregate_id: string; data: unknown; tags: unknown; published: boolean }>(
    'SELECT type, aggregate_id, data, tags, published_at IS NOT NULL AS published FROM notes.outbox ORDER BY position',
  );
}
