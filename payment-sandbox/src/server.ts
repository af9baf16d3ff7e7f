import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { createLogger, listenerTimeouts, type Logger } from '@shop/platform';
import { FAULT_BOUNDS, type Faults, type SandboxConfig } from './config.ts';
import { Ledger, type AuthorizationRecord, type Executed, type IdempotentOutcome } from './ledger.ts';

export { readConfig, sandboxConfig, DEFAULT_FAULTS, DEFAULT_PORT, type Faults, type SandboxConfig } from './config.ts';
export type { AuthorizationRecord, LedgerCounts, PaymentStatus } from './ledger.ts';

export interface BuildOptions {
  config: SandboxConfig;
  logger?: Logger;
}

/** Largest request body: an authorisation is three short strings. */
export const BODY_LIMIT = 4096;
export const MAX_KEY_LENGTH = 255;
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'idempotent-replayed';

/** The test tokens and what each does. Any other token is refused (400 invalid_token). */
export const TEST_TOKENS = {
  tok_visa: 'approve',
  tok_declined: 'decline',
  tok_fail: 'fail',
  tok_timeout_after_charge: 'timeout_after_charge',
} as const;
type TokenBehaviour = (typeof TEST_TOKENS)[keyof typeof TEST_TOKENS];

// Major units with up to three decimals (KWD has three), at most a trillion: "1299.00", "5", "0.500".
const AMOUNT = /^(?:0|[1-9]\d{0,11})(?:\.\d{1,3})?$/;
const CURRENCY = /^[A-Z]{3}$/;
const PAYMENT_ID = /^pay_[A-Za-z0-9]{1,64}$/;
const LEDGER_LIMIT = { fallback: 1_000, max: 100_000 };

class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const notReady = new WeakMap<FastifyInstance, () => void>();

/**
 * The payment sandbox as a Fastify app: a card provider's authorise / capture / void API with
 * Stripe-style idempotency keys, test tokens, and faults to inject (see README "Payment sandbox").
 * State lives in this process only.
 */
export async function buildServer(options: BuildOptions): Promise<FastifyInstance> {
  const { config } = options;
  const logger = options.logger ?? createLogger('payment-sandbox', config.logLevel);
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    ...listenerTimeouts(config.listener),
    forceCloseConnections: 'idle',
  });
  const ledger = new Ledger(config.maxAuthorizations);
  const faults: Faults = { ...config.faults };
  const random = config.seed === undefined ? Math.random : seededRandom(config.seed);
  // Rolls only when the rate is between 0 and 1, so a seeded run's sequence depends on the faults asked for alone.
  const roll = (rate: number) => rate >= 1 || (rate > 0 && random() < rate);

  // Held answers (timeout after charge) and processing delays end at once when the server closes,
  // so a drain never waits 30 s for a response nobody is reading.
  const closing = new AbortController();
  let ready = true;
  notReady.set(app, () => (ready = false));
  app.addHook('preClose', async () => {
    ready = false;
    closing.abort();
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (error instanceof ApiError) return void reply.status(error.statusCode).send(errorBody(error.code, error.message));
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) {
      request.log.error({ err: error }, 'request failed');
      return void reply.status(500).send(errorBody('internal_error', 'Internal server error'));
    }
    return void reply.status(status).send(errorBody(...frameworkError(error.code, status)));
  });
  app.setNotFoundHandler((_request, reply) => void reply.status(404).send(errorBody('not_found', 'No such route')));

  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/ready', async (_request, reply) => (ready ? { status: 'ready' } : reply.status(503).send({ status: 'shutting down' })));

  /** Every `/v1` call starts here: the injected error rate, before anything is read or recorded. */
  function injectedFailure(): void {
    if (!roll(faults.errorRate)) return;
    ledger.count('failed');
    throw new ApiError(500, 'provider_error', 'The sandbox failed this call on purpose (SANDBOX_ERROR_RATE)');
  }

  app.post('/v1/authorizations', async (request, reply) => {
    injectedFailure();
    const key = idempotencyKey(request);
    const { token, amount, currency } = authorizeBody(request.body);
    const behaviour: TokenBehaviour = TEST_TOKENS[token as keyof typeof TEST_TOKENS];
    const outcome = await ledger.idempotent(key, JSON.stringify(['authorize', token, amount, currency]), async () => {
      await sleep(faults.latencyMs, closing.signal);
      return authorize(behaviour, key, amount, currency);
    });
    return answer(request, reply, outcome);
  });

  function authorize(behaviour: TokenBehaviour, key: string, amount: string, currency: string): Executed {
    if (behaviour === 'fail') {
      ledger.count('failed');
      return {
        statusCode: 500,
        body: errorBody('provider_error', 'The card network failed (tok_fail); nothing was charged'),
        store: false,
      };
    }
    if (behaviour === 'decline') {
      ledger.count('declined');
      return { statusCode: 402, body: errorBody('card_declined', 'Your card was declined'), store: true };
    }
    const record = ledger.authorize(key, amount, currency);
    const timeout = behaviour === 'timeout_after_charge' || roll(faults.timeoutAfterChargeRate);
    if (timeout) ledger.count('timedOutAfterCharge');
    return { statusCode: 201, body: view(record), store: true, ...(timeout ? { holdMs: faults.timeoutAfterChargeMs } : {}) };
  }

  for (const action of ['capture', 'void'] as const) {
    app.post<{ Params: { id: string } }>(`/v1/authorizations/:id/${action}`, async (request, reply) => {
      injectedFailure();
      const key = idempotencyKey(request);
      const { id } = request.params;
      if (!PAYMENT_ID.test(id)) throw new ApiError(404, 'not_found', 'No such authorisation');
      const outcome = await ledger.idempotent(key, JSON.stringify([action, id]), async () => {
        await sleep(faults.latencyMs, closing.signal);
        return transition(action, id);
      });
      return answer(request, reply, outcome);
    });
  }

  function transition(action: 'capture' | 'void', id: string): Executed {
    const record = ledger.get(id);
    if (!record) return { statusCode: 404, body: errorBody('not_found', 'No such authorisation'), store: false };
    const target = action === 'capture' ? 'captured' : 'voided';
    if (record.status !== 'authorised' && record.status !== target) {
      return {
        statusCode: 409,
        body: errorBody('invalid_state', `Cannot ${action} an authorisation that is ${record.status}`),
        store: true,
      };
    }
    // Capturing a captured authorisation (or voiding a voided one) with a new key answers the same state: idempotent by state too.
    record.status = target;
    if (action === 'capture') record.captures++;
    else record.voids++;
    return { statusCode: 200, body: { id: record.id, status: record.status }, store: true };
  }

  app.get<{ Querystring: { idempotency_key?: unknown } }>('/v1/authorizations', async (request) => {
    injectedFailure();
    await sleep(faults.latencyMs, closing.signal);
    const key = request.query.idempotency_key;
    if (typeof key !== 'string' || key.length < 1 || key.length > MAX_KEY_LENGTH) {
      throw new ApiError(400, 'invalid_request', `idempotency_key must be 1 to ${MAX_KEY_LENGTH} characters`);
    }
    const record = ledger.findByKey(key);
    if (!record) throw new ApiError(404, 'not_found', 'No authorisation was made with this idempotency key');
    return view(record);
  });

  app.get<{ Params: { id: string } }>('/v1/authorizations/:id', async (request) => {
    injectedFailure();
    await sleep(faults.latencyMs, closing.signal);
    const record = ledger.get(request.params.id);
    if (!record) throw new ApiError(404, 'not_found', 'No such authorisation');
    return view(record);
  });

  // Test controls. Not in production, where they answer 404 like any unknown route.
  if (!config.production) {
    app.get('/_sandbox/faults', async () => faults);
    app.put('/_sandbox/faults', async (request) => {
      Object.assign(faults, faultsBody(request.body));
      return faults;
    });
    app.get<{ Querystring: { limit?: string } }>('/_sandbox/ledger', async (request) => {
      const raw = request.query.limit;
      const limit = raw === undefined ? LEDGER_LIMIT.fallback : Number(raw);
      if (!Number.isInteger(limit) || limit < 1 || limit > LEDGER_LIMIT.max) {
        throw new ApiError(400, 'invalid_request', `limit must be an integer between 1 and ${LEDGER_LIMIT.max}`);
      }
      return ledger.view(limit);
    });
  }

  /** Sends an outcome: a replay with its header, a fresh result (held back first when its charge is to "time out"). */
  async function answer(request: FastifyRequest, reply: FastifyReply, outcome: IdempotentOutcome): Promise<FastifyReply> {
    if (outcome.kind === 'reused') {
      throw new ApiError(422, 'idempotency_key_reused', 'This Idempotency-Key was used with other parameters; use a new key per request');
    }
    if (outcome.kind === 'replay') {
      return reply.status(outcome.result.statusCode).header('Idempotent-Replayed', 'true').send(outcome.result.body);
    }
    const { executed } = outcome;
    if (executed.holdMs) {
      // The charge is recorded and its result stored; only this answer is late. It stops waiting
      // if the client gives up (nobody would read it) or the server closes.
      const gone = new AbortController();
      reply.raw.once('close', () => gone.abort());
      request.log.info({ holdMs: executed.holdMs }, 'holding an authorisation answer back (timeout after charge)');
      await sleep(executed.holdMs, AbortSignal.any([gone.signal, closing.signal]));
    }
    return reply.status(executed.statusCode).send(executed.body);
  }

  return app;
}

/** `/ready` answers 503 from now on (the shutdown's first step; see index.ts). */
export function beginSandboxShutdown(app: FastifyInstance): void {
  const begin = notReady.get(app);
  if (!begin) throw new Error('not a server built by the payment sandbox buildServer');
  begin();
}

function idempotencyKey(request: FastifyRequest): string {
  const key = request.headers[IDEMPOTENCY_KEY_HEADER];
  if (typeof key !== 'string' || key.length < 1 || key.length > MAX_KEY_LENGTH) {
    throw new ApiError(400, 'invalid_idempotency_key', `An Idempotency-Key header of 1 to ${MAX_KEY_LENGTH} characters is required`);
  }
  return key;
}

function authorizeBody(body: unknown): { token: string; amount: string; currency: string } {
  if (!isRecord(body)) throw new ApiError(400, 'invalid_request', 'The body must be a JSON object');
  const unknown = Object.keys(body).find((name) => !['token', 'amount', 'currency'].includes(name));
  if (unknown !== undefined) throw new ApiError(400, 'invalid_request', `Unknown parameter: ${unknown.slice(0, 64)}`);
  const { token, amount, currency } = body;
  if (typeof amount !== 'string' || !AMOUNT.test(amount) || Number(amount) <= 0) {
    throw new ApiError(
      400,
      'invalid_amount',
      'amount must be a positive decimal string in major units with at most 3 decimals, e.g. "12.50"',
    );
  }
  if (typeof currency !== 'string' || !CURRENCY.test(currency)) {
    throw new ApiError(400, 'invalid_currency', 'currency must be an ISO 4217 code in capitals, e.g. "USD"');
  }
  if (typeof token !== 'string' || !Object.hasOwn(TEST_TOKENS, token)) {
    throw new ApiError(400, 'invalid_token', `token must be one of ${Object.keys(TEST_TOKENS).join(', ')}`);
  }
  return { token, amount, currency };
}

function faultsBody(body: unknown): Partial<Faults> {
  if (!isRecord(body)) throw new ApiError(400, 'invalid_request', 'The body must be a JSON object');
  const faults: Partial<Faults> = {};
  for (const [name, value] of Object.entries(body)) {
    if (name === 'latencyMs' || name === 'timeoutAfterChargeMs') {
      const { min, max } = FAULT_BOUNDS[name];
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        throw new ApiError(400, 'invalid_request', `${name} must be an integer between ${min} and ${max}`);
      }
      faults[name] = value;
    } else if (name === 'errorRate' || name === 'timeoutAfterChargeRate') {
      if (typeof value !== 'number' || !(value >= 0 && value <= 1))
        throw new ApiError(400, 'invalid_request', `${name} must be between 0 and 1`);
      faults[name] = value;
    } else {
      throw new ApiError(400, 'invalid_request', `Unknown fault: ${name.slice(0, 64)}`);
    }
  }
  return faults;
}

function view(record: AuthorizationRecord) {
  return { id: record.id, status: record.status, amount: record.amount, currency: record.currency };
}

function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

/** Fastify's own refusals (body too large, bad JSON, wrong media type) in the sandbox's error shape, without its internals. */
function frameworkError(code: string | undefined, status: number): [string, string] {
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return ['body_too_large', `The body may be at most ${BODY_LIMIT} bytes`];
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return ['unsupported_media_type', 'Send JSON (content-type: application/json)'];
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return ['invalid_json', 'The body is not valid JSON'];
    default:
      return status === 408 ? ['request_timeout', 'The request took too long to arrive'] : ['invalid_request', 'The request is malformed'];
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** mulberry32: a small seeded generator, enough to make fault dice repeatable. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
