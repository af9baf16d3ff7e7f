import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handleShutdownSignals, type ShutdownOptions } from '../src/shutdown.ts';

/** The handler with everything it touches recorded in `calls`, signals from an EventEmitter. */
function setup(overrides: Partial<ShutdownOptions> = {}) {
  const calls: string[] = [];
  const source = new EventEmitter();
  let finishClose!: () => void;
  let failClose!: (error: Error) => void;
  const log = {
    info: vi.fn((...args: unknown[]) => void calls.push(`log.info ${String(args.at(-1))}`)),
    warn: vi.fn((...args: unknown[]) => void calls.push(`log.warn ${String(args.at(-1))}`)),
    error: vi.fn((...args: unknown[]) => void calls.push(`log.error ${String(args.at(-1))}`)),
  };
  const exit = vi.fn((code: number) => void calls.push(`exit ${code}`));
  const handle = handleShutdownSignals({
    log,
    beginShutdown: () => void calls.push('beginShutdown'),
    close: () => {
      calls.push('close');
      return new Promise<void>((resolve, reject) => {
        finishClose = () => {
          calls.push('closed');
          resolve();
        };
        failClose = reject;
      });
    },
    closeAllConnections: () => void calls.push('closeAllConnections'),
    shutdownDelayMs: 500,
    drainTimeoutMs: 2_000,
    source,
    exit,
    ...overrides,
  });
  return { calls, source, handle, exit, log, finishClose: () => finishClose(), failClose: (error: Error) => failClose(error) };
}

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

describe('handleShutdownSignals', () => {
  it('on SIGTERM marks not ready, keeps serving for the delay, then closes and exits 0', async () => {
    const { calls, source, exit } = setup();
    source.emit('SIGTERM');
    expect(calls).toEqual(['beginShutdown', 'log.info shutting down: not ready']);

    // Still serving (not closed) until the delay has passed.
    await vi.advanceTimersByTimeAsync(499);
    expect(calls).not.toContain('close');
    await vi.advanceTimersByTimeAsync(1);
    expect(calls.at(-1)).toBe('close');
    expect(exit).not.toHaveBeenCalled();
  });

  it('exits 0 once close resolves, and the drain timer no longer fires', async () => {
    const { calls, handle, exit, finishClose } = setup();
    const exited = handle.shutdown('SIGTERM');
    await vi.advanceTimersByTimeAsync(500);
    finishClose();
    expect(await exited).toBe(0);
    expect(calls).toEqual([
      'beginShutdown',
      'log.info shutting down: not ready',
      'close',
      'closed',
      'log.info shutdown complete',
      'exit 0',
    ]);

    await vi.advanceTimersByTimeAsync(10_000);
    expect(exit).toHaveBeenCalledTimes(1);
    expect(calls).not.toContain('closeAllConnections');
  });

  it('closes at once when there is no delay', async () => {
    const { calls, handle, finishClose } = setup({ shutdownDelayMs: 0 });
    const exited = handle.shutdown('SIGINT');
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toEqual(['beginShutdown', 'log.info shutting down: not ready', 'close']);
    finishClose();
    expect(await exited).toBe(0);
  });

  it('past the drain timeout cuts the remaining connections and exits 1', async () => {
    const { calls, handle, exit, finishClose } = setup();
    const exited = handle.shutdown('SIGTERM');
    await vi.advanceTimersByTimeAsync(500 + 1_999);
    expect(exit).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(await exited).toBe(1);
    expect(calls.slice(-3)).toEqual([
      'log.error drain timeout: closing remaining connections and exiting',
      'closeAllConnections',
      'exit 1',
    ]);

    // A close that finishes after all changes nothing: exit happens once.
    finishClose();
    await vi.advanceTimersByTimeAsync(0);
    expect(exit).toHaveBeenCalledTimes(1);
    expect(exit).toHaveBeenCalledWith(1);
  });

  it('exits 1 when close fails', async () => {
    const { calls, handle, exit, failClose } = setup();
    const exited = handle.shutdown('SIGTERM');
    await vi.advanceTimersByTimeAsync(500);
    failClose(new Error('pool would not close'));
    expect(await exited).toBe(1);
    expect(calls.slice(-2)).toEqual(['log.error shutdown failed', 'exit 1']);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(exit).toHaveBeenCalledTimes(1);
  });

  it('a second signal while draining exits 1 at once', async () => {
    const { calls, source, exit, finishClose } = setup();
    source.emit('SIGTERM');
    await vi.advanceTimersByTimeAsync(500);
    expect(calls.at(-1)).toBe('close');
    source.emit('SIGINT');
    expect(exit).toHaveBeenCalledWith(1);
    expect(calls.slice(-2)).toEqual(['log.warn second signal during shutdown: exiting now', 'exit 1']);
    finishClose();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(exit).toHaveBeenCalledTimes(1);
    expect(calls.filter((c) => c === 'beginShutdown')).toHaveLength(1);
  });

  it('a second signal during the delay exits 1 at once and never starts closing', async () => {
    const { calls, source, exit } = setup();
    source.emit('SIGTERM');
    await vi.advanceTimersByTimeAsync(100);
    source.emit('SIGTERM');
    expect(exit).toHaveBeenCalledWith(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).not.toContain('close');
    expect(exit).toHaveBeenCalledTimes(1);
  });

  it('listens only to the given signals, and dispose removes the listeners', async () => {
    const { calls, source, handle } = setup({ signals: ['SIGTERM'] });
    expect(source.listenerCount('SIGTERM')).toBe(1);
    source.emit('SIGINT');
    expect(calls).toEqual([]);
    handle.dispose();
    expect(source.listenerCount('SIGTERM')).toBe(0);
    source.emit('SIGTERM');
    expect(calls).toEqual([]);
  });

  it('installs on process for SIGINT and SIGTERM by default', () => {
    const before = { int: process.listenerCount('SIGINT'), term: process.listenerCount('SIGTERM') };
    const handle = handleShutdownSignals({
      log: { info: () => {}, warn: () => {}, error: () => {} },
      beginShutdown: () => {},
      close: async () => {},
      closeAllConnections: () => {},
      shutdownDelayMs: 0,
      drainTimeoutMs: 1_000,
      exit: () => {},
    });
    expect(process.listenerCount('SIGINT')).toBe(before.int + 1);
    expect(process.listenerCount('SIGTERM')).toBe(before.term + 1);
    handle.dispose();
    expect(process.listenerCount('SIGINT')).toBe(before.int);
    expect(process.listenerCount('SIGTERM')).toBe(before.term);
  });
});
