/**
 * The payment provider port: all orders needs from a card provider. A real provider's adapter
 * implements these four calls in one file (see sandbox.ts); `resilient.ts` wraps any of them
 * with a timeout, retries with the same idempotency key, and a circuit breaker.
 *
 * Every call carries an idempotency key: the provider answers a repeated key with the first
 * call's result, so a retry after a timeout can never charge twice.
 */
export interface PaymentProvider {
  /** Holds `amount` on the card behind `token`. Declines are results, not errors. */
  authorize(request: AuthorizeRequest, options?: CallOptions): Promise<Authorization>;
  /** Charges an authorisation (when the order ships). */
  capture(request: { key: string; paymentId: string }, options?: CallOptions): Promise<PaymentState>;
  /** Releases an authorisation without charging (cancelled order, abandoned checkout). */
  void(request: { key: string; paymentId: string }, options?: CallOptions): Promise<PaymentState>;
  /** The authorisation made with `key`, if the provider has one (after a timeout: did it charge?). */
  find(key: string, options?: CallOptions): Promise<Authorization | undefined>;
}

/**
 * Optional on every call: `signal` aborts the call (resilient.ts passes its timeout's), so a call
 * given up on does not keep its connection busy. A provider may ignore it; the caller stops waiting anyway.
 */
export interface CallOptions {
  signal?: AbortSignal;
}

/** The four operations, as `withResilience` names them in its callbacks (the `operation` metric label). */
export type PaymentOperation = 'authorize' | 'capture' | 'void' | 'find';

export interface AuthorizeRequest {
  key: string;
  /** The payment method: a provider token the client got from the provider's own SDK. */
  token: string;
  /** Decimal string in the currency's major unit ("1299.00"). */
  amount: string;
  currency: string;
}

export type PaymentStatus = 'authorised' | 'captured' | 'voided';

export type Authorization =
  | { outcome: 'authorised'; paymentId: string; status: PaymentStatus; amount: string; currency: string }
  | { outcome: 'declined'; reason: string };

export interface PaymentState {
  paymentId: string;
  status: PaymentStatus;
}

/**
 * The provider could not be asked or did not answer in time: the outcome is unknown. The caller
 * may retry with the same key; whatever the provider did the first time is what it answers.
 */
export class PaymentUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PaymentUnavailable';
  }
}

/** The provider refused the call itself (a capture of a voided payment, a key reused with another body): a bug or a race, never retried. */
export class PaymentRejected extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'PaymentRejected';
  }
}
