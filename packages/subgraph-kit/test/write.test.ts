import DataLoader from 'dataloader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../src/db.ts';
import { createWrite, type WriteTransaction } from '../src/write.ts';

let db: Database;

beforeAll(async () => {
  db = await createDatabase({});
  await db.exec('CREATE TABLE note (id int PRIMARY KEY, body text NOT NULL)');
});

afterAll(async () => {
  await db?.close();
});

/** A loader over `note` that counts its batches, and a bus that records what it heard and what was committed by then. */
function fixture() {
  let batches = 0;
  const loaders = {
    note: new DataLoader<number, string | null>(async (ids) => {
      batches++;
      const rows = await db.query<{ id: number; body: string }>('SELECT id, body FROM note WHERE id = ANY($1::int[])', [ids]);
      return ids.map((id) => rows.find((row) => row.id === id)?.body ?? null);
    }),
  };
  const heard: { tags: string[]; committed: number }[] = [];
  const bus = {
    async publish(tags: readonly string[]) {
      const [{ count }] = (await db.query<{ count: number }>('SELECT count(*)::int AS count FROM note')) as [{ count: number }];
      heard.push({ tags: [...tags], committed: count });
    },
  };
  const errors: unknown[] = [];
  const logger = { error: (obj: object) => void errors.push(obj) };
  return { loaders, batches: () => batches, heard, bus, errors, logger };
}

describe('createWrite', () => {
  it('publishes the tags after the commit and clears the loaders, returning the value', async () => {
    const f = fixture();
    const write = createWrite({ db, bus: f.bus, loaders: f.loaders, logger: f.logger });
    expect(await f.loaders.note.load(1)).toBeNull();
    const value = await write(async (tx) => {
      await tx.query(`INSERT INTO note (id, body) VALUES (1, 'first')`);
      return { value: 'done', tags: ['Note:1'] };
    });
    expect(value).toBe('done');
    // The bus heard the tags with the row already visible outside the transaction.
    expect(f.heard).toEqual([{ tags: ['Note:1'], committed: 1 }]);
    // The loader asks the database again and sees the write.
    expect(await f.loaders.note.load(1)).toBe('first');
    expect(f.batches()).toBe(2);
  });

  it('rolls back, publishes nothing and keeps the loaders when the work throws', async () => {
    const f = fixture();
    const write = createWrite({ db, bus: f.bus, loaders: f.loaders, logger: f.logger });
    await f.loaders.note.load(2);
    await expect(
      write(async (tx) => {
        await tx.query(`INSERT INTO note (id, body) VALUES (2, 'second')`);
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(await db.query('SELECT id FROM note WHERE id = 2')).toEqual([]);
    expect(f.heard).toEqual([]);
    await f.loaders.note.load(2);
    expect(f.batches()).toBe(1);
  });

  it('publishes nothing for a write that changed nothing cached, and still clears the loaders', async () => {
    const f = fixture();
    const write = createWrite({ db, bus: f.bus, loaders: f.loaders, logger: f.logger });
    await f.loaders.note.load(1);
    await write(async () => ({ value: null, tags: [] }));
    expect(f.heard).toEqual([]);
    await f.loaders.note.load(1);
    expect(f.batches()).toBe(2);
  });

  it('does not fail a committed write when publishing does: it logs instead', async () => {
    const f = fixture();
    const bus = { publish: async () => Promise.reject(new Error('bus down')) };
    const write = createWrite({ db, bus, logger: f.logger });
    await expect(
      write(async (tx) => {
        await tx.query(`INSERT INTO note (id, body) VALUES (3, 'third')`);
        return { value: 3, tags: ['Note:3'] };
      }),
    ).resolves.toBe(3);
    expect(f.errors).toEqual([expect.objectContaining({ tags: ['Note:3'] })]);
    expect(await db.query('SELECT body FROM note WHERE id = 3')).toEqual([{ body: 'third' }]);
  });

  it('is the only maker of a WriteTransaction, so writes objects over one are reachable only inside a write', async () => {
    const f = fixture();
    const write = createWrite({ db, bus: f.bus, logger: f.logger });
    const createNoteWrites = (tx: WriteTransaction) => ({
      add: async (id: number) => {
        await tx.query('INSERT INTO note (id, body) VALUES ($1, $2)', [id, 'fourth']);
        return [`Note:${id}`];
      },
    });
    // @ts-expect-error the database is not a write's transaction: writing outside a write does not typecheck
    void (() => createNoteWrites(db));
    await write(async (tx) => ({ value: null, tags: await createNoteWrites(tx).add(4) }));
    expect(f.heard.map((heard) => heard.tags)).toEqual([['Note:4']]);
    expect(await db.query('SELECT body FROM note WHERE id = 4')).toEqual([{ body: 'fourth' }]);
  });
});
