import { describe, expect, it } from 'vitest';
import { GraphQLError } from 'graphql';
import { ConfigError } from '@shop/platform';
import { readConfig } from '../src/config.ts';
import { DEFAULT_HASH_GATE, HashGate } from '../src/hash-gate.ts';
import { DEFAULT_SIGN_IN_THROTTLE, ENTRY_BYTES, SignInThrottle } from '../src/sign-in-throttle.ts';

/** A hash the test finishes by hand, so what runs at once is exact. */
function manualHashes() {
  const pending: (() => void)[] = [];
  let running = 0;
  let peak = 0;
  const hash = () =>
    new Promise<string>((resolve) => {
      running++;
      peak = Math.max(peak, running);
      pending.push(() => {
        running--;
        resolve('hashed');
      });
    });
  const finishAll = async () => {
    while (pending.length) {
      pending.shift()!();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { hash, finishAll, peak: () => peak };
}

const codeOf = (error: unknown) => (error instanceof GraphQLError ? error.extensions.code : String(error));

describe('password hashing gate (F4)', () => {
  it('runs at most `concurrency` hashes, queues up to `queue`, and refuses the rest at once with RATE_LIMITED', async () => {
    const gate = new HashGate({ concurrency: 2, queue: 3, perClient: 100 });
    const manual = manualHashes();
    const outcomes = Array.from({ length: 8 }, (_, i) => gate.run(`client-${i}`, manual.hash).then(() => 'OK', codeOf));
    await new Promise((resolve) => setImmediate(resolve));
    expect(gate.load).toMatchObject({ running: 2, waiting: 3 });
    await manual.finishAll();
    expect(await Promise.all(outcomes)).toEqual(['OK', 'OK', 'OK', 'OK', 'OK', 'RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED']);
    expect(manual.peak()).toBe(2);
    expect(gate.load).toEqual({ running: 0, waiting: 0, clients: 0 });
  });

  it('lets one client hold at most `perClient` hashes, so a flood from one address leaves room for others', async () => {
    const gate = new HashGate({ concurrency: 1, queue: 10, perClient: 3 });
    const manual = manualHashes();
    const flood = Array.from({ length: 10 }, () => gate.run('198.51.100.66', manual.hash).then(() => 'OK', codeOf));
    const victim = gate.run('203.0.113.5', manual.hash).then(() => 'OK', codeOf);
    await manual.finishAll();
    expect((await Promise.all(flood)).filter((o) => o === 'OK')).toHaveLength(3);
    expect(await victim).toBe('OK');
  });

  it('frees the slot when a hash fails', async () => {
    const gate = new HashGate({ concurrency: 1, queue: 0, perClient: 1 });
    await expect(gate.run('a', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await gate.run('a', async () => 'again')).toBe('again');
  });
});

describe('sign-in throttle per (account, address) (F4)', () => {
  const clock = () => {
    let time = 1_000_000;
    return { now: () => time, advance: (ms: number) => (time += ms) };
  };

  it('allows the free attempts, then makes each further attempt wait twice as long, up to the maximum', () => {
    const { now, advance } = clock();
    const throttle = new SignInThrottle({ freeAttempts: 3, maxBackoffMs: 10_000, maxBytes: 1 << 20 }, now);
    for (let i = 0; i < 3; i++) expect(throttle.attempt('user1@example.com', '198.51.100.7')).toBe(0);
    expect(throttle.attempt('user1@example.com', '198.51.100.7')).toBe(0); // the 4th goes through and starts the backoff
    expect(throttle.attempt('user1@example.com', '198.51.100.7')).toBe(1_000);
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      advance(throttle.attempt('user1@example.com', '198.51.100.7'));
      expect(throttle.attempt('user1@example.com', '198.51.100.7')).toBe(0);
      waits.push(throttle.attempt('user1@example.com', '198.51.100.7'));
    }
    expect(waits).toEqual([2_000, 4_000, 8_000, 10_000, 10_000, 10_000]);
  });

  it('never locks the owner out from another address, and throttles unknown emails like real ones', () => {
    const throttle = new SignInThrottle({ ...DEFAULT_SIGN_IN_THROTTLE, freeAttempts: 2 });
    for (let i = 0; i < 3; i++) throttle.attempt('victim@example.com', '198.51.100.66');
    expect(throttle.attempt('victim@example.com', '198.51.100.66')).toBeGreaterThan(0);
    expect(throttle.attempt('victim@example.com', '203.0.113.5')).toBe(0);
    for (let i = 0; i < 3; i++) throttle.attempt('nobody-at-all@example.com', '198.51.100.66');
    expect(throttle.attempt('nobody-at-all@example.com', '198.51.100.66')).toBeGreaterThan(0);
  });

  it('forgets a pair after a successful sign-in, and after it has been quiet for the maximum backoff', () => {
    const { now, advance } = clock();
    const throttle = new SignInThrottle({ freeAttempts: 1, maxBackoffMs: 60_000, maxBytes: 1 << 20 }, now);
    throttle.attempt('a@example.com', '198.51.100.1');
    throttle.attempt('a@example.com', '198.51.100.1');
    expect(throttle.attempt('a@example.com', '198.51.100.1')).toBeGreaterThan(0);
    throttle.succeeded('a@example.com', '198.51.100.1');
    expect(throttle.attempt('a@example.com', '198.51.100.1')).toBe(0);
    expect(throttle.attempt('a@example.com', '198.51.100.1')).toBe(0);
    expect(throttle.attempt('a@example.com', '198.51.100.1')).toBeGreaterThan(0);
    advance(1_000 + 60_001); // the wait, then quiet for the maximum backoff: a fresh budget
    expect(throttle.attempt('a@example.com', '198.51.100.1')).toBe(0);
    expect(throttle.attempt('a@example.com', '198.51.100.1')).toBe(0);
    expect(throttle.attempt('a@example.com', '198.51.100.1')).toBeGreaterThan(0);
  });

  it('takes back an attempt refused before its password was checked', () => {
    const throttle = new SignInThrottle({ ...DEFAULT_SIGN_IN_THROTTLE, freeAttempts: 1 });
    throttle.attempt('b@example.com', '198.51.100.1');
    throttle.attempt('b@example.com', '198.51.100.1'); // refused as busy, say
    throttle.refund('b@example.com', '198.51.100.1');
    expect(throttle.attempt('b@example.com', '198.51.100.1')).toBe(0);
  });

  it('stays within its byte bound however many pairs are tried, dropping the least recently tried', () => {
    const maxBytes = 64 * 1024;
    const throttle = new SignInThrottle({ freeAttempts: 1, maxBackoffMs: 60_000, maxBytes });
    for (let i = 0; i < 5; i++) throttle.attempt('kept@example.com', '198.51.100.1');
    for (let i = 0; i < 2_000; i++) {
      // Every entry costs the same whatever was typed: the key is a hash of the pair.
      throttle.attempt(`${'x'.repeat(i % 3 ? 10 : 5_000)}${i}@example.com`, `10.0.${i >> 8}.${i & 255}`);
      if (i % 100 === 0) throttle.attempt('kept@example.com', '198.51.100.1'); // still being tried: not evicted
    }
    expect(throttle.size).toBe(maxBytes / ENTRY_BYTES);
    expect(throttle.bytes).toBeLessThanOrEqual(maxBytes);
    expect(throttle.attempt('kept@example.com', '198.51.100.1')).toBeGreaterThan(0);
  });
});

describe('users config for sign-in limits', () => {
  it('has bounded defaults and validates the variables', () => {
    const config = readConfig({});
    expect(config.hashGate).toEqual(DEFAULT_HASH_GATE);
    expect(config.signInThrottle).toEqual(DEFAULT_SIGN_IN_THROTTLE);
    expect(readConfig({ PASSWORD_HASH_CONCURRENCY: '4', PASSWORD_HASH_QUEUE: '0', PASSWORD_HASH_PER_CLIENT: '2' }).hashGate).toEqual({
      concurrency: 4,
      queue: 0,
      perClient: 2,
    });
    expect(
      readConfig({ SIGN_IN_FREE_ATTEMPTS: '3', SIGN_IN_MAX_BACKOFF_MS: '60000', SIGN_IN_THROTTLE_MAX_BYTES: '1048576' }).signInThrottle,
    ).toEqual({ freeAttempts: 3, maxBackoffMs: 60_000, maxBytes: 1_048_576 });
    for (const env of [
      { PASSWORD_HASH_CONCURRENCY: '0' },
      { PASSWORD_HASH_PER_CLIENT: 'many' },
      { SIGN_IN_FREE_ATTEMPTS: '0' },
      { SIGN_IN_THROTTLE_MAX_BYTES: '10' },
    ]) {
      expect(() => readConfig(env)).toThrow(ConfigError);
    }
  });
});
