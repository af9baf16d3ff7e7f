import DataLoader from 'dataloader';
import { event } from '@shop/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db.ts';
import { createWrite, type WriteTransaction } from '../src/write.ts';
import { notesDatabase, outboxRows } from './events-fixture.ts';

let db: Database;

beforeAll(async () => {
  db = await notesDatabase();
});

afterAll(async () => {
  await db?.close();
});

/** A note's change, as an event (the catalogue has no notes: a product edit stands in for one). */
const noteEdited = (id: number) => event('product.updated', `p${id}`, { productId: `p${id}`, changed: ['name'] }, [`Note:${id}`]);

/** A loader over `note` that counts its batches, and a bus that records what it heard and what was committed by then. */
function fixture() {
  let batches = 0;
  const loaders = {
    note: new DataLoader<number, string | null>(async (ids) => {
      batches++;
      const rows = await db.query<{ id: number; body: string }>('SELECT id, body FROM notes.note WHERE id = ANY($1::int[])', [ids]);
      return ids.map((id) => rows.find((row) => row.id === id)?.body ?? null);
    }),
  };
  const heard: { tags: string[]; committed: number }[] = [];
  const bus = {
    async publish(tags: readonly string[]) {
      const [{ count }] = (await db.query<{ count: number }>('SELECT count(*)::int AS count FROM notes.note')) as [{ count: number }];
      heard.push({ tags: [...tags], committed: count });
    },
  };
  const errors: unknown[] = [];
  const logger = { error: (obj: object) => void errors.push(obj) };
  let kicks = 0;
  const onEvents = () => {
    kicks++;
    return undefined;
  };
  return { loaders, batches: () => batches, heard, bus, errors, logger, onEvents, kicks: () => kicks };
}

describe('createWrite', () => {
  it('queues the events in the outbox in the same transaction, then drops their tags, clears the loaders and wakes the relay', async () => {
    const f = fixture();
    const write = createWrite({ db, schema: 'notes', bus: f.bus, loaders: f.loaders, logger: f.logger, onEvents: f.onEvents });
    expect(await f.loaders.note.load(1)).toBeNull();
    const before = (await outboxRows(db)).length;
    const value = await write(async (tx) => {
      await tx.query(`INSERT INTO notes.note (id, body) VALUES (1, 'first')`);
      return { value: 'done', events: [noteEdited(1)] };
    });
    expect(value).toBe('done');
    const rows = (await outboxRows(db)).slice(before);
    expect(rows).toEqual([
      { type: 'product.updated', aggregate_id: 'p1', data: { productId: 'p1', changed: ['name'] }, tags: ['Note:1'], published: false },
    ]);
    // The bus heard the events' tags with the row already visible outside the transaction.
    expect(f.heard).toEqual([{ tags: ['Note:1'], committed: 1 }]);
    expect(f.kicks()).toBe(1);
    // The loader asks the database again and sees the write.
    expect(await f.loaders.note.load(1)).toBe('first');
    expect(f.batches()).toBe(2);
  });

  it('rolls back the change and its events, publishes nothing and keeps the loaders when the work throws', async () => {
    const f = fixture();
    const write = createWrite({ db, schema: 'notes', bus: f.bus, loaders: f.loaders, logger: f.logger, onEvents: f.onEvents });
    await f.loaders.note.load(2);
    const before = (await outboxRows(db)).length;
    await expect(
      write(async (tx) => {
        await tx.query(`INSERT INTO notes.note (id, body) VALUES (2, 'second')`);
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(await db.query('SELECT id FROM notes.note WHERE id = 2')).toEqual([]);
    expect((await outboxRows(db)).length).toBe(before);
    expect(f.heard).toEqual([]);
    expect(f.kicks()).toBe(0);
    await f.loaders.note.load(2);
    expect(f.batches()).toBe(1);
  });

  it('rolls back the change when its events cannot be queued', async () => {
    const f = fixture();
    const write = createWrite({ db, schema: 'notes', bus: f.bus, logger: f.logger });
    // An event whose data has no JSON form cannot be stored: the change must go with it.
    const unstorable = event('product.discontinued', 'p9', { productId: 1n as unknown as string }, ['Note:9']);
    await expect(
      write(async (tx) => {
        await tx.query(`INSERT INTO notes.note (id, body) VALUES (9, 'ninth')`);
        return { value: 9, events: [unstorable] };
      }),
    ).rejects.toThrow();
    expect(await db.query('SELECT id FROM notes.note WHERE id = 9')).toEqual([]);
    expect(f.heard).toEqual([]);
  });

  it('publishes nothing for a write that changed nothing, and still clears the loaders', async () => {
    const f = fixture();
    const write = createWrite({ db, schema: 'notes', bus: f.bus, loaders: f.loaders, logger: f.logger, onEvents: f.onEvents });
    await f.loaders.note.load(1);
    await write(async () => ({ value: null }));
    expect(f.heard).toEqual([]);
    expect(f.kicks()).toBe(0);
    await f.loaders.note.load(1);
    expect(f.batches()).toBe(2);
  });

  it('does not fail a committed write when dropping its tags does: it logs instead', async () => {
    const f = fixture();
    const bus = { publish: async () => Promise.reject(new Error('bus down')) };
    const write = createWrite({ db, schema: 'notes', bus, logger: f.logger });
    await expect(
      write(async (tx) => {
        await tx.query(`INSERT INTO notes.note (id, body) VALUES (3, 'third')`);
        return { value: 3, events: [noteEdited(3)] };
      }),
    ).resolves.toBe(3);
    expect(f.errors).toEqual([expect.objectContaining({ tags: ['Note:3'] })]);
    expect(await db.query('SELECT body FROM notes.note WHERE id = 3')).toEqual([{ body: 'third' }]);
  });

  it('is the only maker of a WriteTransaction, so writes objects over one are reachable only inside a write', async () => {
    const f = fixture();
    const write = createWrite({ db, schema: 'notes', bus: f.bus, logger: f.logger });
    const createNoteWrites = (tx: WriteTransaction) => ({
      add: async (id: number) => {
        await tx.query('INSERT INTO notes.note (id, body) VALUES ($1, $2)', [id, 'fourth']);
        return [noteEdited(id)];
      },
    });
    // @ts-expect-error the database is not a write's transaction: writing outside a write does not typecheck
    void (() => createNoteWrites(db));
    await write(async (tx) => ({ value: null, events: await createNoteWrites(tx).add(4) }));
    expect(f.heard.map((heard) => heard.tags)).toEqual([['Note:4']]);
    expect(await db.query('SELECT body FROM notes.note WHERE id = 4')).toEqual([{ body: 'fourth' }]);
  });
});
