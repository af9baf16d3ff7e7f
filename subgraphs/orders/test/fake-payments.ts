import {
  PaymentRejected,
  PaymentUnavailable,
  type Authorization,
  type AuthorizeRequest,
  type PaymentProvider,
  type PaymentState,
  type PaymentStatus,
} from '../src/payments/port.ts';

/** Tokens the double understands: the payment sandbox's test tokens (payment-sandbox/src/server.ts). */
export const CARDS = {
  ok: 'tok_visa',
  declined: 'tok_declined',
  /** Charges, then the answer is lost (PaymentUnavailable) — the first time only. */
  chargeThenTimeout: 'tok_timeout_after_charge',
} as const;

interface Held {
  paymentId: string;
  key: string;
  status: PaymentStatus;
  amount: string;
  currency: string;
}

/**
 * An in-memory payment provider with a card provider's idempotency: a key answers with its first
 * result, whatever comes after. `down` makes every call fail before doing anything (provider
 * unreachable); `calls` records what was asked, to prove what was and was not charged.
 */
export function fakePayments() {
  const byKey = new Map<string, Authorization>();
  const payments = new Map<string, Held>();
  /** capture:/void: keys → their first result. */
  const moves = new Map<string, PaymentState>();
  const lostOnce = new Set<string>();
  const calls: { operation: string; key: string }[] = [];
  let down = false;
  let n = 0;
  // Ids unique across doubles too: tests share one database, where payment ids are unique.
  const instance = Math.random().toString(36).slice(2, 10);

  const unavailable = () => new PaymentUnavailable('fake provider is down');

  function move(action: 'capture' | 'void', { key, paymentId }: { key: string; paymentId: string }): PaymentState {
    calls.push({ operation: action, key });
    if (down) throw unavailable();
    const first = moves.get(key);
    if (first) return first;
    const held = payments.get(paymentId);
    if (!held) throw new PaymentRejected(`no payment ${paymentId}`, 'resource_missing');
    const target: PaymentStatus = action === 'capture' ? 'captured' : 'voided';
    if (held.status !== 'authorised' && held.status !== target) {
      throw new PaymentRejected(`payment ${paymentId} is ${held.status}`, 'payment_state');
    }
    held.status = target;
    const state = { paymentId, status: target };
    moves.set(key, state);
    return state;
  }

  /** What the provider answers for a key: the first result, with the payment's status now. */
  function current(authorization: Authorization): Authorization {
    if (authorization.outcome !== 'authorised') return authorization;
    return { ...authorization, status: payments.get(authorization.paymentId)!.status };
  }

  const provider: PaymentProvider = {
    async authorize({ key, token, amount, currency }: AuthorizeRequest) {
      calls.push({ operation: 'authorize', key });
      if (down) throw unavailable();
      const first = byKey.get(key);
      if (first) return current(first);
      let result: Authorization;
      if (token === CARDS.declined) {
        result = { outcome: 'declined', reason: 'card_declined' };
      } else {
        const paymentId = `pay_${instance}_${++n}`;
        payments.set(paymentId, { paymentId, key, status: 'authorised', amount, currency });
        result = { outcome: 'authorised', paymentId, status: 'authorised', amount, currency };
      }
      byKey.set(key, result);
      if (token === CARDS.chargeThenTimeout && !lostOnce.has(key)) {
        lostOnce.add(key);
        throw new PaymentUnavailable('timed out (after charging)');
      }
      return result;
    },
    capture: async (request) => move('capture', request),
    void: async (request) => move('void', request),
    async find(key) {
      calls.push({ operation: 'find', key });
      if (down) throw unavailable();
      const first = byKey.get(key);
      return first && current(first);
    },
  };

  return {
    provider,
    calls,
    payments,
    setDown: (value: boolean) => (down = value),
    /** Authorisations the provider holds or charged, per checkout key (never more than one each). */
    heldFor: (key: string) => [...payments.values()].filter((p) => p.key === key),
    count: (operation: string) => calls.filter((c) => c.operation === operation).length,
  };
}
