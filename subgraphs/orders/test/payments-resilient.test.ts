import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer, sandboxConfig, type LedgerCounts } from '@shop/payment-sandbox';
import {
  PaymentRejected,
  PaymentUnavailable,
  type Authorization,
  type AuthorizeRequest,
  type CallOptions,
  type PaymentProvider,
} from '../src/payments/port.ts';
import { withResilience, type CircuitStateName, type PaymentCallOutcome, type ResilienceOptions } from '../src/payments/resilient.ts';
import { createSandboxProvider } from '../src/payments/sandbox.ts';

const VISA = { token: 'tok_visa', amount: '49.99', currency: 'USD' };
let counter = 0;
const newKey = () => `resilient-${process.pid}-${++counter}`;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the wrapper reported through its callbacks. */
function recorder() {
  const calls: { operation: string; outcome: PaymentCallOutcome; attempts: number }[] = [];
  const states: CircuitStateName[] = [];
  const retries: number[] = [];
  const hooks: Pick<ResilienceOptions, 'onCall' | 'onStateChange' | 'onRetry'> = {
    onCall: (event) => calls.push(event),
    onStateChange: (state) => states.push(state),
    onRetry: ({ attempt }) => retries.push(attempt),
  };
  return { calls, states, retries, hooks };
}

/** A provider whose authorize answers from a script, recording every request it saw. */
function scripted(script: ((request: AuthorizeRequest, options?: CallOptions) => Promise<Authorization>)[]) {
  const seen: AuthorizeRequest[] = [];
  const provider: PaymentProvider = {
    authorize: (request, options) => {
      seen.push(request);
      const step = script[Math.min(seen.length - 1, script.length - 1)];
      if (!step) throw new Error('empty script');
      return step(request, options);
    },
    capture: async ({ paymentId }) => ({ paymentId, status: 'captured' }),
    void: async ({ paymentId }) => ({ paymentId, status: 'voided' }),
    find: async () => undefined,
  };
  return { provider, seen };
}
const unavailable = async (): Promise<Authorization> => {
  throw new PaymentUnavailable('down');
};
const approve = async (request: AuthorizeRequest): Promise<Authorization> => ({
  outcome: 'authorised',
  paymentId: 'pay_1',
  status: 'authorised',
  amount: request.amount,
  currency: request.currency,
});
const decline = async (): Promise<Authorization> => ({ outcome: 'declined', reason: 'card_declined' });

const FAST = { timeoutMs: 1_000, backoff: { initialDelayMs: 1, maxDelayMs: 5 } };

describe('withResilience over fakes', () => {
  it('retries PaymentUnavailable with the same arguments, hence the same idempotency key', async () => {
    const { provider, seen } = scripted([unavailable, unavailable, approve]);
    const { calls, retries, hooks } = recorder();
    const payments = withResilience(provider, { ...FAST, retries: 3, breaker: { threshold: 10, halfOpenAfterMs: 1_000 }, ...hooks });
    const request = { key: newKey(), ...VISA };
    expect(await payments.authorize(request)).toMatchObject({ outcome: 'authorised' });
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((call) => call.key))).toEqual(new Set([request.key]));
    expect(retries).toEqual([1, 2]);
    expect(calls).toEqual([{ operation: 'authorize', outcome: 'authorised', attempts: 3 }]);
  });

  it('gives up after the retries with PaymentUnavailable', async () => {
    const { provider, seen } = scripted([unavailable]);
    const { calls, hooks } = recorder();
    const payments = withResilience(provider, { ...FAST, retries: 2, breaker: { threshold: 10, halfOpenAfterMs: 1_000 }, ...hooks });
    await expect(payments.authorize({ key: newKey(), ...VISA })).rejects.toBeInstanceOf(PaymentUnavailable);
    expect(seen).toHaveLength(3);
    expect(calls).toEqual([{ operation: 'authorize', outcome: 'unavailable', attempts: 3 }]);
  });

  it('never retries a rejection, and declines are answers', async () => {
    const rejected = scripted([
      async () => {
        throw new PaymentRejected('reused', 'idempotency_key_reused');
      },
    ]);
    const { calls, states, hooks } = recorder();
    const payments = withResilience(rejected.provider, {
      ...FAST,
      retries: 3,
      breaker: { threshold: 1, halfOpenAfterMs: 60_000 },
      ...hooks,
    });
    await expect(payments.authorize({ key: newKey(), ...VISA })).rejects.toMatchObject({ code: 'idempotency_key_reused' });
    expect(rejected.seen).toHaveLength(1);

    const declining = scripted([decline]);
    const declines = withResilience(declining.provider, {
      ...FAST,
      retries: 3,
      breaker: { threshold: 1, halfOpenAfterMs: 60_000 },
      ...hooks,
    });
    for (let i = 0; i < 3; i++)
      expect(await declines.authorize({ key: newKey(), ...VISA })).toEqual({ outcome: 'declined', reason: 'card_declined' });
    expect(declining.seen).toHaveLength(3);
    expect(declines.circuit).toBe('closed');
    expect(payments.circuit).toBe('closed');
    expect(states).toEqual([]);
    expect(calls.map((call) => call.outcome)).toEqual(['rejected', 'declined', 'declined', 'declined']);
  });

  it('times out an attempt that does not answer, aborting its signal, and retries it', async () => {
    const signals: AbortSignal[] = [];
    const hung = scripted([
      (_request, options) => {
        if (options?.signal) signals.push(options.signal);
        return new Promise<Authorization>(() => {});
      },
      approve,
    ]);
    const payments = withResilience(hung.provider, {
      timeoutMs: 50,
      retries: 1,
      backoff: { initialDelayMs: 1, maxDelayMs: 5 },
      breaker: { threshold: 10, halfOpenAfterMs: 1_000 },
    });
    expect(await payments.authorize({ key: newKey(), ...VISA })).toMatchObject({ outcome: 'authorised' });
    expect(hung.seen).toHaveLength(2);
    expect(signals).toHaveLength(1);
    expect(signals[0]?.aborted).toBe(true);
  });
});

describe('withResilience over the sandbox', () => {
  let app: FastifyInstance;
  let url: string;
  const control = async (method: 'GET' | 'PUT', path: string, body?: unknown) => {
    const response = await fetch(url + path, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    return (await response.json()) as Record<string, unknown>;
  };
  const ledger = async () => (await control('GET', '/_sandbox/ledger')) as { authorizations: { key: string }[]; counts: LedgerCounts };

  beforeAll(async () => {
    app = await buildServer({ config: sandboxConfig({ logLevel: 'silent', faults: { timeoutAfterChargeMs: 20_000 } }) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    url = `http://127.0.0.1:${address.port}`;
  });
  afterAll(() => app.close());

  it('turns a timeout after charge into the one charge: the retry with the same key gets it', async () => {
    const sandbox = createSandboxProvider({ url, timeoutMs: 10_000 });
    const { calls, hooks } = recorder();
    const payments = withResilience(sandbox, {
      timeoutMs: 300,
      retries: 2,
      backoff: { initialDelayMs: 10, maxDelayMs: 50 },
      breaker: { threshold: 5, halfOpenAfterMs: 1_000 },
      ...hooks,
    });
    try {
      const key = newKey();
      const kept = (await ledger()).counts.authorizations;
      const paid = await payments.authorize({ key, ...VISA, token: 'tok_timeout_after_charge' });
      expect(paid).toMatchObject({ outcome: 'authorised', amount: '49.99', currency: 'USD' });
      expect(await payments.find(key)).toEqual(paid);
      const after = await ledger();
      expect(after.authorizations.filter((record) => record.key === key)).toHaveLength(1);
      // One charge in all: the retry made no authorisation under another key either.
      expect(after.counts.authorizations).toBe(kept + 1);
      expect(after.counts.replayed).toBeGreaterThanOrEqual(1);
      expect(calls[0]).toMatchObject({ operation: 'authorize', outcome: 'authorised' });
      expect(calls[0]?.attempts).toBeGreaterThanOrEqual(2);
    } finally {
      await sandbox.close();
    }
  });

  it('opens the breaker after the threshold, fails fast while open, half-opens and closes again', async () => {
    const sandbox = createSandboxProvider({ url, timeoutMs: 5_000 });
    const { calls, states, hooks } = recorder();
    const payments = withResilience(sandbox, { ...FAST, retries: 0, breaker: { threshold: 3, halfOpenAfterMs: 300 }, ...hooks });
    try {
      await control('PUT', '/_sandbox/faults', { errorRate: 1 });
      const failedBefore = (await ledger()).counts.failed;
      for (let i = 0; i < 3; i++) await expect(payments.authorize({ key: newKey(), ...VISA })).rejects.toBeInstanceOf(PaymentUnavailable);
      expect(payments.circuit).toBe('open');
      expect(states).toEqual(['open']);

      await expect(payments.authorize({ key: newKey(), ...VISA })).rejects.toThrow(/circuit is open/);
      await expect(payments.find(newKey())).rejects.toBeInstanceOf(PaymentUnavailable);
      // Fail fast: the sandbox saw only the three calls that opened the breaker.
      expect((await ledger()).counts.failed).toBe(failedBefore + 3);

      // Still failing when the trial call goes through: open again.
      await pause(350);
      await expect(payments.authorize({ key: newKey(), ...VISA })).rejects.toBeInstanceOf(PaymentUnavailable);
      expect(states).toEqual(['open', 'half_open', 'open']);

      await control('PUT', '/_sandbox/faults', { errorRate: 0 });
      await pause(350);
      expect(await payments.authorize({ key: newKey(), ...VISA })).toMatchObject({ outcome: 'authorised' });
      expect(payments.circuit).toBe('closed');
      expect(states).toEqual(['open', 'half_open', 'open', 'half_open', 'closed']);
      expect(calls.map((call) => call.outcome)).toEqual([
        'unavailable',
        'unavailable',
        'unavailable',
        'circuit_open',
        'circuit_open',
        'unavailable',
        'authorised',
      ]);
    } finally {
      await control('PUT', '/_sandbox/faults', { errorRate: 0 });
      await sandbox.close();
    }
  });

  it('does not count declines or rejections towards the breaker', async () => {
    const sandbox = createSandboxProvider({ url, timeoutMs: 5_000 });
    const payments = withResilience(sandbox, { ...FAST, retries: 0, breaker: { threshold: 2, halfOpenAfterMs: 60_000 } });
    try {
      for (let i = 0; i < 3; i++)
        expect(await payments.authorize({ key: newKey(), ...VISA, token: 'tok_declined' })).toMatchObject({ outcome: 'declined' });
      const key = newKey();
      const paid = await payments.authorize({ key, ...VISA });
      if (paid.outcome !== 'authorised') throw new Error('expected an authorisation');
      await payments.void({ key: newKey(), paymentId: paid.paymentId });
      for (let i = 0; i < 3; i++)
        await expect(payments.capture({ key: newKey(), paymentId: paid.paymentId })).rejects.toMatchObject({ code: 'invalid_state' });
      expect(payments.circuit).toBe('closed');
    } finally {
      await sandbox.close();
    }
  });

  it('retries injected latency past the timeout with the same key, charging once', async () => {
    const sandbox = createSandboxProvider({ url, timeoutMs: 10_000 });
    const { calls, hooks } = recorder();
    // Attempts of 200 ms against 300 ms of processing: the first is abandoned, a retry waits for the
    // first call still in flight at the sandbox (or meets its stored result) and gets that one charge.
    const payments = withResilience(sandbox, {
      timeoutMs: 200,
      retries: 5,
      backoff: { initialDelayMs: 10, maxDelayMs: 20 },
      breaker: { threshold: 10, halfOpenAfterMs: 1_000 },
      ...hooks,
    });
    try {
      await control('PUT', '/_sandbox/faults', { latencyMs: 300 });
      const key = newKey();
      // A replay does not wait for the latency (only processing does), so some attempt gets the stored result.
      expect(await payments.authorize({ key, ...VISA })).toMatchObject({ outcome: 'authorised' });
      expect(calls[0]?.attempts).toBeGreaterThanOrEqual(2);
      await control('PUT', '/_sandbox/faults', { latencyMs: 0 });
      expect((await payments.find(key))?.outcome).toBe('authorised');
      expect((await ledger()).authorizations.filter((record) => record.key === key)).toHaveLength(1);
    } finally {
      await control('PUT', '/_sandbox/faults', { latencyMs: 0 });
      await sandbox.close();
    }
  });
});
