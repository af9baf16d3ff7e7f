import { describe, expect, it } from 'vitest';
import { InvalidationLog } from '../src/index.ts';

describe('InvalidationLog', () => {
  it('refuses what a fetch read before an invalidation of one of its tags, and only that', () => {
    const log = new InvalidationLog(1_000);
    log.record(['Product:p1'], 100);
    expect(log.touchedSince(['Product:p1'], 50)).toBe(true); // started before the invalidation
    expect(log.touchedSince(['Product:p1'], 100)).toBe(true); // at the same instant: it may have read the old value
    expect(log.touchedSince(['Product:p1'], 150)).toBe(false); // started after it: read fresh data
    expect(log.touchedSince(['Product:p2'], 50)).toBe(false); // another tag
    expect(log.allowsStore(['Product:p2', 'Product:p1'], 50)).toBe(false); // any one of its tags is enough
    expect(log.allowsStore([], 50)).toBe(true);
  });

  it('keeps the latest invalidation of a tag, whatever order tags come in', () => {
    const log = new InvalidationLog(10_000);
    log.record(['A'], 100);
    log.record(['B'], 200);
    log.record(['A'], 300);
    expect(log.touchedSince(['A'], 250)).toBe(true);
    expect(log.touchedSince(['B'], 250)).toBe(false);
    expect(log.size).toBe(2);
  });

  it('forgets past its window, and treats fetches older than what it forgot as touched', () => {
    const log = new InvalidationLog(1_000);
    log.record(['Product:p1'], 100);
    log.record(['Product:p3'], 5_000);
    expect(log.size).toBe(1);
    expect(log.touchedSince(['Product:p2'], 50)).toBe(true);
    expect(log.touchedSince(['Product:p2'], 4_000)).toBe(false);
  });

  it('is bounded to maxTags, and forgetting early only stores less', () => {
    const log = new InvalidationLog(60_000, 3);
    for (let i = 0; i < 10; i++) log.record([`Order:o${i}`], 100 + i);
    expect(log.size).toBe(3);
    expect(log.touchedSince(['Product:p1'], 105)).toBe(true); // may have missed o0..o6
    expect(log.touchedSince(['Product:p1'], 107)).toBe(false);
    expect(log.touchedSince(['Order:o9'], 107)).toBe(true);
  });

  it('an invalidation of everything refuses every fetch that started before it, whatever its tags', () => {
    const log = new InvalidationLog();
    log.record(['A'], 100);
    log.recordAll(200);
    expect(log.size).toBe(0);
    expect(log.touchedSince(['B'], 150)).toBe(true);
    expect(log.touchedSince([], 150)).toBe(true);
    expect(log.touchedSince(['A'], 250)).toBe(false);
  });

  it('runs on a monotonic clock', () => {
    const before = InvalidationLog.now();
    const log = new InvalidationLog();
    log.record(['A']);
    expect(log.touchedSince(['A'], before)).toBe(true);
    expect(log.touchedSince(['A'], InvalidationLog.now() + 1)).toBe(false);
    expect(InvalidationLog.now()).toBeLessThan(Date.now()); // performance.now(), not the wall clock
  });
});
