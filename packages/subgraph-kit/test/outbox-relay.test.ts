import { event, type EventEnvelope, type EventStream } from '@shop/events';
import { waitFor } from '@shop/events/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db.ts';
import { createOutboxRelay } from '../src/outbox.ts';
import { createWrite } from '../src/write.ts';
import { heardOn, notesDatabase, outboxRows, privateStream, quietLogger } from './events-fixture.ts';

let db: Database;

beforeAll(async () => {
  db = await notesDatabase();
});

afterAll(async () => {
  await db?.close();
});

const bus = { publish: async () => {} };

/** Writes `n` notes, each with its event, through a write like a subgraph's. */
async function writeNotes(from: number, n: number, onEvents?: () => Promise<unknown> | undefined) {
  const write = createWrite({ db, schema: 'notes', bus, logger: quietLogger, onEvents });
  for (let id = from; id < from + n; id++) {
    await write(async (tx) => {
      await tx.query('INSERT INTO notes.note (id, body) VALUES ($1, $2)', [id, `note ${id}`]);
      return { value: id, events: [event('product.discontinued', `p${id}`, { productId: `p${id}` }, [`Note:${id}`])] };
    });
  }
}

const pending = async () => (await outboxRows(db)).filter((r) => !r.published).length;

describe('the outbox relay', () => {
  it('puts committed events on the stream in commit order, once each, and marks them published', async () => {
    const { stream, metrics, registry } = privateStream();
    const heard = heardOn(stream);
    const relay = createOutboxRelay({ db, schema: 'notes', stream, logger: quietLogger, metrics, pollMs: 60_000 });
    // Kicked, not flushed: the writes answer at once and the relay catches up.
    await writeNotes(100, 5, () => {
      relay.kick();
      return undefined;
    });
    await waitFor(() => heard.length === 5, { message: 'the kicked relay did not publish' });
    expect(heard.map((e) => e.aggregateId)).toEqual(['p100', 'p101', 'p102', 'p103', 'p104']);
    expect(heard.every((e) => e.type === 'product.discontinued' && e.aggregate === 'product' && e.version === 1)).toBe(true);
    expect(await pending()).toBe(0);
    expect(await relay.drain()).toBe(0);
    const text = await registry.metrics();
    expect(text).toMatch(/events_published_total 5/);
    expect(text).toMatch(/outbox_pending_events\{schema="notes"\} 0/);
    await relay.stop();
    await stream.close();
  });

  it('keeps every event while the stream refuses them, and drains them all when it is back: events in = events out', async () => {
    const { stream, metrics } = privateStream();
    const heard = heardOn(stream);
    let down = true;
    const flaky: EventStream = {
      ...stream,
      kind: stream.kind,
      publish: (events) => (down ? Promise.reject(new Error('stream unavailable')) : stream.publish(events)),
    };
    const relay = createOutboxRelay({ db, schema: 'notes', stream: flaky, logger: quietLogger, metrics, pollMs: 20 });
    const before = await pending();
    // Every write commits although nothing can be published.
    await writeNotes(200, 20, relay.flush);
    expect(await db.query('SELECT count(*)::int AS n FROM notes.note WHERE id BETWEEN 200 AND 219')).toEqual([{ n: 20 }]);
    await expect(relay.drain()).rejects.toThrow('stream unavailable');
    expect(await pending()).toBe(before + 20);
    down = false;
    await waitFor(async () => (await pending()) === 0, { message: 'the relay did not drain after the stream came back' });
    await waitFor(() => heard.filter((e) => Number(e.aggregateId.slice(1)) >= 200).length === 20, { message: 'followers missed events' });
    const ours = heard.filter((e) => Number(e.aggregateId.slice(1)) >= 200);
    expect(ours.map((e) => e.aggregateId)).toEqual(Array.from({ length: 20 }, (_, i) => `p${200 + i}`));
    await relay.stop();
    await stream.close();
  });

  it('publishes again after dying between publishing and marking, and the stream keeps each event once', async () => {
    const { stream, metrics } = privateStream();
    const heard = heardOn(stream);
    const dying = createOutboxRelay({
      db,
      schema: 'notes',
      stream,
      logger: quietLogger,
      metrics,
      pollMs: 60_000,
      afterPublish: () => {
        throw new Error('killed before marking');
      },
    });
    await writeNotes(300, 3);
    await expect(dying.drain()).rejects.toThrow('killed before marking');
    await dying.stop();
    // Published but not marked: still pending.
    expect(await pending()).toBeGreaterThanOrEqual(3);
    await waitFor(() => heard.length >= 3, { message: 'the first publish did not reach followers' });
    const published: EventEnvelope[] = [...heard];
    const revived = createOutboxRelay({ db, schema: 'notes', stream, logger: quietLogger, metrics, pollMs: 60_000 });
    await revived.drain();
    expect(await pending()).toBe(0);
    // Give a (wrong) second delivery the time to arrive before counting.
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The second publish of the same ids was dropped by the stream: followers heard each event once.
    const ids = heard.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(heard.filter((e) => ['p300', 'p301', 'p302'].includes(e.aggregateId))).toHaveLength(3);
    expect(published.length).toBe(heard.length);
    await revived.stop();
    await stream.close();
  });

  it('lets a write answer once its events are on the stream, and not wait on a stream that hangs', async () => {
    const { stream, metrics } = privateStream();
    const relay = createOutboxRelay({ db, schema: 'notes', stream, logger: quietLogger, metrics, pollMs: 60_000 });
    await writeNotes(500, 3, relay.flush);
    // Flushed before each write answered: nothing of them is pending.
    expect(await pending()).toBe(0);
    const hanging: EventStream = { ...stream, kind: stream.kind, publish: () => new Promise(() => {}) };
    const stuck = createOutboxRelay({ db, schema: 'notes', stream: hanging, logger: quietLogger, metrics, pollMs: 60_000 });
    // The write still answers (after PUBLISH_WAIT_MS); its event stays queued.
    await writeNotes(510, 1, stuck.flush);
    expect(await pending()).toBe(1);
    await relay.drain();
    expect(await pending()).toBe(0);
    await relay.stop();
    await stream.close();
  });

  it('publishes what is pending when it stops, so a clean shutdown leaves nothing behind', async () => {
    const { stream, metrics } = privateStream();
    const relay = createOutboxRelay({ db, schema: 'notes', stream, logger: quietLogger, metrics, pollMs: 60_000 });
    await writeNotes(400, 2);
    await relay.stop();
    expect(await pending()).toBe(0);
    await stream.close();
  });
});
