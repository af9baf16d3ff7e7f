import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@shop/platform';
import { buildServer, readConfig, sandboxConfig, type Faults, type LedgerCounts, type SandboxConfig } from '@shop/payment-sandbox';
import { PaymentRejected, PaymentUnavailable } from '../src/payments/port.ts';
import { createSandboxProvider } from '../src/payments/sandbox.ts';

/** A sandbox listening on a free port, and small HTTP helpers against it. */
async function startSandbox(overrides: Parameters<typeof sandboxConfig>[0] = {}) {
  const app = await buildServer({ config: sandboxConfig({ logLevel: 'silent', ...overrides }) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  const url = `http://127.0.0.1:${address.port}`;
  const send = async (
    method: string,
    path: string,
    options: { key?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
  ) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.key !== undefined) headers['idempotency-key'] = options.key;
    const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const response = await fetch(url + path, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await response.text();
    // `any`: the tests read whichever fields each answer has and assert on them; a wrong guess fails the assertion.
    return { status: response.status, headers: response.headers, text, json: JSON.parse(text) as Record<string, any> };
  };
  return {
    app,
    url,
    send,
    authorize: (key: string, body: Record<string, unknown>) => send('POST', '/v1/authorizations', { key, body }),
    ledger: async () =>
      (await send('GET', '/_sandbox/ledger')).json as {
        authorizations: { id: string; key: string; status: string; captures: number; voids: number }[];
        counts: LedgerCounts;
      },
    faults: async (faults: Partial<Faults>) => {
      const answer = await send('PUT', '/_sandbox/faults', { body: faults });
      expect(answer.status).toBe(200);
    },
  };
}
type Sandbox = Awaited<ReturnType<typeof startSandbox>>;

const VISA = { token: 'tok_visa', amount: '1299.00', currency: 'INR' };
let counter = 0;
const newKey = () => `key-${process.pid}-${++counter}`;

describe('payment sandbox HTTP API', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox.app.close());
  afterEach(() => sandbox.faults({ latencyMs: 0, errorRate: 0, timeoutAfterChargeRate: 0, timeoutAfterChargeMs: 30_000 }));

  it('answers /health', async () => {
    const health = await sandbox.send('GET', '/health');
    expect(health.status).toBe(200);
    expect(health.json).toEqual({ status: 'ok' });
  });

  it('authorises tok_visa and replays the first answer for the same key and body', async () => {
    const key = newKey();
    const first = await sandbox.authorize(key, VISA);
    expect(first.status).toBe(201);
    expect(first.json).toEqual({ id: expect.stringMatching(/^pay_/), status: 'authorised', amount: '1299.00', currency: 'INR' });
    expect(first.headers.get('idempotent-replayed')).toBeNull();

    const again = await sandbox.authorize(key, VISA);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.text).toBe(first.text);
    const mine = (await sandbox.ledger()).authorizations.filter((record) => record.key === key);
    expect(mine).toEqual([expect.objectContaining({ id: first.json.id, status: 'authorised', captures: 0, voids: 0 })]);
  });

  it('refuses a key reused with another body (422) and keeps the first result', async () => {
    const key = newKey();
    const first = await sandbox.authorize(key, VISA);
    const reused = await sandbox.authorize(key, { ...VISA, amount: '1.00' });
    expect(reused.status).toBe(422);
    expect(reused.json).toEqual({ error: { code: 'idempotency_key_reused', message: expect.any(String) } });
    expect((await sandbox.authorize(key, VISA)).json.id).toBe(first.json.id);
  });

  it('declines tok_declined with 402 and replays the decline', async () => {
    const key = newKey();
    const before = (await sandbox.ledger()).counts;
    const declined = await sandbox.authorize(key, { ...VISA, token: 'tok_declined' });
    expect(declined.status).toBe(402);
    expect(declined.json).toEqual({ error: { code: 'card_declined', message: expect.any(String) } });
    const again = await sandbox.authorize(key, { ...VISA, token: 'tok_declined' });
    expect(again.status).toBe(402);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const after = await sandbox.ledger();
    expect(after.counts.declined).toBe(before.declined + 1);
    expect(after.authorizations.some((record) => record.key === key)).toBe(false);
    expect((await sandbox.send('GET', `/v1/authorizations?idempotency_key=${key}`)).status).toBe(404);
  });

  it('fails tok_fail with 500, records nothing and leaves the key free', async () => {
    const key = newKey();
    const failed = await sandbox.authorize(key, { ...VISA, token: 'tok_fail' });
    expect(failed.status).toBe(500);
    expect(failed.json.error.code).toBe('provider_error');
    expect((await sandbox.send('GET', `/v1/authorizations?idempotency_key=${key}`)).status).toBe(404);
    // Nothing was stored under the key, so it is not "reused" by a call with another body.
    expect((await sandbox.authorize(key, VISA)).status).toBe(201);
  });

  it('refuses bad input with a JSON error and no stack', async () => {
    const cases: [Awaited<ReturnType<Sandbox['send']>>, number, string][] = [
      [await sandbox.send('POST', '/v1/authorizations', { body: VISA }), 400, 'invalid_idempotency_key'],
      [await sandbox.authorize('k'.repeat(256), VISA), 400, 'invalid_idempotency_key'],
      [await sandbox.authorize(newKey(), { ...VISA, token: 'tok_unknown' }), 400, 'invalid_token'],
      [await sandbox.authorize(newKey(), { ...VISA, amount: '12.5.0' }), 400, 'invalid_amount'],
      [await sandbox.authorize(newKey(), { ...VISA, amount: '0.00' }), 400, 'invalid_amount'],
      [await sandbox.authorize(newKey(), { ...VISA, amount: 1299 }), 400, 'invalid_amount'],
      [await sandbox.authorize(newKey(), { ...VISA, currency: 'inr' }), 400, 'invalid_currency'],
      [await sandbox.authorize(newKey(), { ...VISA, extra: 1 }), 400, 'invalid_request'],
      [await sandbox.send('POST', '/v1/authorizations', { key: newKey(), raw: '{"token":' }), 400, 'invalid_json'],
      [
        await sandbox.send('POST', '/v1/authorizations', { key: newKey(), body: { ...VISA, pad: 'x'.repeat(5000) } }),
        413,
        'body_too_large',
      ],
      [await sandbox.send('GET', '/v1/authorizations'), 400, 'invalid_request'],
      [await sandbox.send('GET', '/v1/nothing'), 404, 'not_found'],
    ];
    for (const [answer, status, code] of cases) {
      expect({ status: answer.status, code: answer.json.error?.code }).toEqual({ status, code });
      expect(answer.text).not.toMatch(/stack|at \w+ \(/);
    }
  });

  it('captures and voids with state checks; repeats are idempotent', async () => {
    const paid = (await sandbox.authorize(newKey(), VISA)).json.id as string;
    const capture = (key: string, id = paid) => sandbox.send('POST', `/v1/authorizations/${id}/capture`, { key });
    const voidIt = (key: string, id = paid) => sandbox.send('POST', `/v1/authorizations/${id}/void`, { key });

    const captureKey = newKey();
    const captured = await capture(captureKey);
    expect(captured.status).toBe(200);
    expect(captured.json).toEqual({ id: paid, status: 'captured' });
    const replayed = await capture(captureKey);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.json).toEqual({ id: paid, status: 'captured' });
    expect((await capture(newKey())).json).toEqual({ id: paid, status: 'captured' });
    const refused = await voidIt(newKey());
    expect(refused.status).toBe(409);
    expect(refused.json.error.code).toBe('invalid_state');
    // The same key for another operation is a reused key.
    expect((await voidIt(captureKey)).status).toBe(422);

    const other = (await sandbox.authorize(newKey(), VISA)).json.id as string;
    expect((await voidIt(newKey(), other)).json).toEqual({ id: other, status: 'voided' });
    expect((await voidIt(newKey(), other)).json).toEqual({ id: other, status: 'voided' });
    expect((await capture(newKey(), other)).json.error.code).toBe('invalid_state');
    expect((await capture(newKey(), 'pay_missing')).status).toBe(404);
    expect((await sandbox.send('POST', `/v1/authorizations/${paid}/capture`)).status).toBe(400);

    const records = (await sandbox.ledger()).authorizations;
    // Replays are not executions: two capture calls ran against `paid` (one replayed), two voids against `other`.
    expect(records.find((record) => record.id === paid)).toMatchObject({ status: 'captured', captures: 2, voids: 0 });
    expect(records.find((record) => record.id === other)).toMatchObject({ status: 'voided', captures: 0, voids: 2 });
    expect((await sandbox.send('GET', `/v1/authorizations/${paid}`)).json).toEqual({
      id: paid,
      status: 'captured',
      amount: '1299.00',
      currency: 'INR',
    });
  });

  it('makes a second call with a key in flight wait for the first, then replay it (one charge)', async () => {
    await sandbox.faults({ latencyMs: 300 });
    const key = newKey();
    const [a, b] = await Promise.all([sandbox.authorize(key, VISA), sandbox.authorize(key, VISA)]);
    expect(a.json.id).toBe(b.json.id);
    // Exactly one of the two ran; the other waited and got its answer replayed.
    const replayed = [a, b].map((answer) => answer.headers.get('idempotent-replayed'));
    expect(replayed.filter((header) => header === 'true')).toHaveLength(1);
    expect(replayed.filter((header) => header === null)).toHaveLength(1);
    expect((await sandbox.ledger()).authorizations.filter((record) => record.key === key)).toHaveLength(1);
  });

  it('injects errors before doing anything', async () => {
    await sandbox.faults({ errorRate: 1 });
    const key = newKey();
    const failed = await sandbox.authorize(key, VISA);
    expect(failed.status).toBe(500);
    expect(failed.json.error.code).toBe('provider_error');
    await sandbox.faults({ errorRate: 0 });
    expect((await sandbox.send('GET', `/v1/authorizations?idempotency_key=${key}`)).status).toBe(404);
  });

  it('validates faults', async () => {
    for (const body of [{ errorRate: 2 }, { latencyMs: -1 }, { latencyMs: 1.5 }, { timeoutAfterChargeMs: 10_000_000 }, { other: 1 }, [1]]) {
      const answer = await sandbox.send('PUT', '/_sandbox/faults', { body });
      expect(answer.status).toBe(400);
      expect(answer.json.error.code).toBe('invalid_request');
    }
    expect((await sandbox.send('GET', '/_sandbox/faults')).json).toEqual({
      latencyMs: 0,
      errorRate: 0,
      timeoutAfterChargeRate: 0,
      timeoutAfterChargeMs: 30_000,
    });
  });
});

describe('orders sandbox adapter over the sandbox', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ faults: { timeoutAfterChargeMs: 20_000 } });
  });
  afterAll(() => sandbox.app.close());

  it('maps authorisations, declines, refusals and failures', async () => {
    const provider = createSandboxProvider({ url: sandbox.url, timeoutMs: 5_000 });
    try {
      const key = newKey();
      const paid = await provider.authorize({ key, ...VISA });
      expect(paid).toEqual({
        outcome: 'authorised',
        paymentId: expect.stringMatching(/^pay_/),
        status: 'authorised',
        amount: '1299.00',
        currency: 'INR',
      });
      if (paid.outcome !== 'authorised') throw new Error('unreachable');
      expect(await provider.authorize({ key: newKey(), ...VISA, token: 'tok_declined' })).toEqual({
        outcome: 'declined',
        reason: 'card_declined',
      });
      await expect(provider.authorize({ key, ...VISA, amount: '5.00' })).rejects.toMatchObject({
        name: 'PaymentRejected',
        code: 'idempotency_key_reused',
      });
      await expect(provider.authorize({ key: newKey(), ...VISA, token: 'tok_nope' })).rejects.toBeInstanceOf(PaymentRejected);
      await expect(provider.authorize({ key: newKey(), ...VISA, token: 'tok_fail' })).rejects.toBeInstanceOf(PaymentUnavailable);

      expect(await provider.void({ key: newKey(), paymentId: paid.paymentId })).toEqual({ paymentId: paid.paymentId, status: 'voided' });
      await expect(provider.capture({ key: newKey(), paymentId: paid.paymentId })).rejects.toMatchObject({ code: 'invalid_state' });
      expect(await provider.find(key)).toEqual({ ...paid, status: 'voided' });
      expect(await provider.find(newKey())).toBeUndefined();
    } finally {
      await provider.close();
    }
  });

  it('after a timeout after charge, find shows the charge and a retry with the key returns it without a second charge', async () => {
    const provider = createSandboxProvider({ url: sandbox.url, timeoutMs: 300 });
    try {
      const key = newKey();
      const request = { key, ...VISA, token: 'tok_timeout_after_charge' };
      await expect(provider.authorize(request)).rejects.toBeInstanceOf(PaymentUnavailable);
      const found = await provider.find(key);
      expect(found).toMatchObject({ outcome: 'authorised', status: 'authorised', amount: '1299.00' });
      expect(await provider.authorize(request)).toEqual(found);
      const ledger = await sandbox.ledger();
      expect(ledger.authorizations.filter((record) => record.key === key)).toHaveLength(1);
      expect(ledger.counts.timedOutAfterCharge).toBeGreaterThanOrEqual(1);
    } finally {
      await provider.close();
    }
  });

  it('makes any approving token time out after charge at the injected rate', async () => {
    await sandbox.faults({ timeoutAfterChargeRate: 1 });
    const provider = createSandboxProvider({ url: sandbox.url, timeoutMs: 300 });
    try {
      const key = newKey();
      await expect(provider.authorize({ key, ...VISA })).rejects.toBeInstanceOf(PaymentUnavailable);
      expect(await provider.find(key)).toMatchObject({ outcome: 'authorised' });
    } finally {
      await sandbox.faults({ timeoutAfterChargeRate: 0 });
      await provider.close();
    }
  });

  it('times out on injected latency and answers once the client waits long enough', async () => {
    await sandbox.faults({ latencyMs: 500 });
    const impatient = createSandboxProvider({ url: sandbox.url, timeoutMs: 100 });
    const patient = createSandboxProvider({ url: sandbox.url, timeoutMs: 10_000 });
    try {
      const key = newKey();
      await expect(impatient.authorize({ key, ...VISA })).rejects.toBeInstanceOf(PaymentUnavailable);
      // The call went on at the provider: the same key returns that one charge.
      const paid = await patient.authorize({ key, ...VISA });
      expect(paid.outcome).toBe('authorised');
      expect((await sandbox.ledger()).authorizations.filter((record) => record.key === key)).toHaveLength(1);
    } finally {
      await sandbox.faults({ latencyMs: 0 });
      await impatient.close();
      await patient.close();
    }
  });

  it('throws PaymentUnavailable when nothing listens', async () => {
    const gone = await startSandbox();
    const url = gone.url;
    await gone.app.close();
    const provider = createSandboxProvider({ url, timeoutMs: 1_000 });
    try {
      await expect(provider.authorize({ key: newKey(), ...VISA })).rejects.toBeInstanceOf(PaymentUnavailable);
      await expect(provider.find(newKey())).rejects.toBeInstanceOf(PaymentUnavailable);
    } finally {
      await provider.close();
    }
  });
});

describe('payment sandbox configuration and bounds', () => {
  it('reads its environment with defaults and refuses bad values', () => {
    const config: SandboxConfig = readConfig({});
    expect(config).toMatchObject({
      port: 4010,
      host: '127.0.0.1',
      production: false,
      maxAuthorizations: 100_000,
      faults: { latencyMs: 0, errorRate: 0, timeoutAfterChargeRate: 0, timeoutAfterChargeMs: 30_000 },
      seed: undefined,
    });
    expect(
      readConfig({
        PORT: '5000',
        SANDBOX_LATENCY_MS: '20',
        SANDBOX_ERROR_RATE: '0.25',
        SANDBOX_TIMEOUT_AFTER_CHARGE_RATE: '0.5',
        SANDBOX_SEED: '7',
      }),
    ).toMatchObject({ port: 5000, seed: 7, faults: { latencyMs: 20, errorRate: 0.25, timeoutAfterChargeRate: 0.5 } });
    for (const env of [
      { SANDBOX_ERROR_RATE: '1.5' },
      { SANDBOX_LATENCY_MS: '-5' },
      { SANDBOX_TIMEOUT_AFTER_CHARGE_MS: '999999999' },
      { SANDBOX_SEED: 'x' },
    ]) {
      expect(() => readConfig(env)).toThrow(ConfigError);
    }
  });

  it('keeps at most maxAuthorizations, dropping the oldest', async () => {
    const sandbox = await startSandbox({ maxAuthorizations: 2 });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await sandbox.authorize(newKey(), VISA)).json.id);
      const ledger = await sandbox.ledger();
      expect(ledger.authorizations.map((record) => record.id)).toEqual(ids.slice(1));
      expect(ledger.counts.authorizations).toBe(2);
      expect((await sandbox.send('GET', `/v1/authorizations/${ids[0]}`)).status).toBe(404);
    } finally {
      await sandbox.app.close();
    }
  });

  it('repeats injected errors for the same seed', async () => {
    const run = async () => {
      const sandbox = await startSandbox({ seed: 42, faults: { errorRate: 0.5 } });
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 16; i++) statuses.push((await sandbox.authorize(newKey(), VISA)).status);
        return statuses;
      } finally {
        await sandbox.app.close();
      }
    };
    const first = await run();
    expect(first).toContain(500);
    expect(first).toContain(201);
    expect(await run()).toEqual(first);
  });

  it('hides the test routes in production', async () => {
    const sandbox = await startSandbox({ production: true });
    try {
      expect((await sandbox.send('GET', '/_sandbox/ledger')).status).toBe(404);
      expect((await sandbox.send('PUT', '/_sandbox/faults', { body: { errorRate: 1 } })).status).toBe(404);
      expect((await sandbox.authorize(newKey(), VISA)).status).toBe(201);
    } finally {
      await sandbox.app.close();
    }
  });

  it('closes without waiting for a held answer', async () => {
    const sandbox = await startSandbox({ faults: { timeoutAfterChargeMs: 120_000 } });
    const held = sandbox.authorize(newKey(), { ...VISA, token: 'tok_timeout_after_charge' });
    await expect.poll(async () => (await sandbox.ledger()).counts.timedOutAfterCharge).toBe(1);
    // Within the test's timeout (30 s), far below the 120 s hold: close ended the hold.
    await sandbox.app.close();
    expect((await held).status).toBe(201);
  });
});
