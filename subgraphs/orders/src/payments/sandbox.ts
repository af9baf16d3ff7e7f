import { Agent } from 'undici';
import {
  PaymentRejected,
  PaymentUnavailable,
  type Authorization,
  type CallOptions,
  type PaymentProvider,
  type PaymentState,
  type PaymentStatus,
} from './port.ts';

/**
 * The payment sandbox's adapter (payment-sandbox/, a Stripe-shaped HTTP API): the whole of what a
 * real provider's adapter is. 201/200 are the payment's state, 402 a decline; 409 and 422 (and
 * other 4xx) a refusal (PaymentRejected, never retried); 5xx, 408, 429, a refused connection, a
 * timeout or an unreadable body leave the outcome unknown (PaymentUnavailable: find or retry with
 * the same key). Retries and the breaker are resilient.ts's business, not this file's.
 */
export function createSandboxProvider({ url, timeoutMs = 5_000 }: { url: string; timeoutMs?: number }): PaymentProvider & {
  close(): Promise<void>;
} {
  const origin = new URL(url).origin;
  // Keep-alive pool; the provider must start and finish its answer within the timeout; answers are tiny.
  const agent = new Agent({ headersTimeout: timeoutMs, bodyTimeout: timeoutMs, maxResponseSize: 64 * 1024, keepAliveTimeout: 10_000 });

  async function call(
    method: 'GET' | 'POST',
    path: string,
    { key, body, signal }: { key?: string; body?: unknown; signal?: AbortSignal | undefined },
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    let status: number;
    let json: unknown;
    try {
      const response = await agent.request({
        origin,
        path,
        method,
        headers: { ...(key ? { 'idempotency-key': key } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
      });
      status = response.statusCode;
      json = await response.body.json();
    } catch (error) {
      throw new PaymentUnavailable(`payment provider did not answer ${method} ${path}`, { cause: error });
    }
    if (status >= 500 || status === 408 || status === 429 || typeof json !== 'object' || json === null) {
      throw new PaymentUnavailable(`payment provider answered HTTP ${status} to ${method} ${path}`);
    }
    return { status, json: json as Record<string, unknown> };
  }

  function refusal(status: number, json: Record<string, unknown>): PaymentRejected {
    const error = (json.error ?? {}) as { code?: unknown; message?: unknown };
    const code = typeof error.code === 'string' ? error.code : `http_${status}`;
    return new PaymentRejected(typeof error.message === 'string' ? error.message : `payment provider refused the call (${status})`, code);
  }

  function state(json: Record<string, unknown>): PaymentState {
    const { id, status } = json;
    if (typeof id !== 'string' || (status !== 'authorised' && status !== 'captured' && status !== 'voided')) {
      throw new PaymentUnavailable('payment provider answered without a payment id and status');
    }
    return { paymentId: id, status: status as PaymentStatus };
  }

  function authorised(json: Record<string, unknown>): Authorization {
    const { paymentId, status } = state(json);
    const { amount, currency } = json;
    if (typeof amount !== 'string' || typeof currency !== 'string')
      throw new PaymentUnavailable('payment provider answered without an amount');
    return { outcome: 'authorised', paymentId, status, amount, currency };
  }

  async function transition(action: 'capture' | 'void', key: string, paymentId: string, options?: CallOptions) {
    const { status, json } = await call('POST', `/v1/authorizations/${encodeURIComponent(paymentId)}/${action}`, {
      key,
      signal: options?.signal,
    });
    if (status === 200) return state(json);
    throw refusal(status, json);
  }

  return {
    async authorize({ key, token, amount, currency }, options) {
      const { status, json } = await call('POST', '/v1/authorizations', {
        key,
        body: { token, amount, currency },
        signal: options?.signal,
      });
      if (status === 201 || status === 200) return authorised(json);
      if (status === 402) {
        const error = (json.error ?? {}) as { code?: unknown };
        return { outcome: 'declined', reason: typeof error.code === 'string' ? error.code : 'card_declined' };
      }
      throw refusal(status, json);
    },
    capture: ({ key, paymentId }, options) => transition('capture', key, paymentId, options),
    void: ({ key, paymentId }, options) => transition('void', key, paymentId, options),
    async find(key, options) {
      const { status, json } = await call('GET', `/v1/authorizations?idempotency_key=${encodeURIComponent(key)}`, {
        signal: options?.signal,
      });
      if (status === 200) return authorised(json);
      if (status === 404) return undefined;
      throw refusal(status, json);
    },
    close: () => agent.close(),
  };
}
