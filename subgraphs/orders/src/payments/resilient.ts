import {
  BrokenCircuitError,
  CircuitState,
  circuitBreaker,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleType,
  retry,
  TaskCancelledError,
  TimeoutStrategy,
  timeout,
} from 'cockatiel';
import { PaymentRejected, PaymentUnavailable, type Authorization, type PaymentOperation, type PaymentProvider } from './port.ts';

export type CircuitStateName = 'closed' | 'open' | 'half_open';

/**
 * How a call ended, as the `outcome` label of `payment_calls_total{operation,outcome}`:
 * authorised / declined (authorize), ok (capture, void), found / not_found (find), rejected
 * (PaymentRejected), unavailable (PaymentUnavailable after the retries), circuit_open (refused
 * without calling the provider).
 */
export type PaymentCallOutcome = 'authorised' | 'declined' | 'ok' | 'found' | 'not_found' | 'rejected' | 'unavailable' | 'circuit_open';

export interface ResilienceOptions {
  /** Longest one attempt may take; past it the attempt is abandoned (its signal aborted) and counts as unavailable. */
  timeoutMs: number;
  /** Further attempts after the first, on PaymentUnavailable only, with the same arguments (so the same idempotency key). */
  retries: number;
  /** Exponential backoff with jitter between attempts: first about `initialDelayMs` (100), never above `maxDelayMs` (2000). */
  backoff?: { initialDelayMs?: number; maxDelayMs?: number };
  /**
   * Opens after `threshold` consecutive unavailable attempts (declines and rejections are answers,
   * never failures); while open every call fails fast with PaymentUnavailable; after
   * `halfOpenAfterMs` one trial call goes through (others wait for it) and closes it or opens it again.
   */
  breaker: { threshold: number; halfOpenAfterMs: number };
  onStateChange?: (state: CircuitStateName) => void;
  /** Once per call, after its last attempt: feed `payment_calls_total{operation,outcome}` from it. */
  onCall?: (event: { operation: PaymentOperation; outcome: PaymentCallOutcome; attempts: number }) => void;
  /** Before each retry's backoff. */
  onRetry?: (event: { operation: PaymentOperation; attempt: number; delayMs: number }) => void;
}

const STATE_NAMES: Record<CircuitState, CircuitStateName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half_open',
  // Only `isolate()` holds it open by hand, which this module never calls.
  [CircuitState.Isolated]: 'open',
};

/**
 * Wraps a provider with a per-attempt timeout, retries with backoff and a consecutive-failure
 * circuit breaker (cockatiel). The worst case for one call is (retries + 1) × timeoutMs plus the
 * backoffs; a caller that cannot wait that long should size `retries` and `timeoutMs` down.
 */
export function withResilience(
  provider: PaymentProvider,
  options: ResilienceOptions,
): PaymentProvider & { readonly circuit: CircuitStateName } {
  const { timeoutMs, retries, onCall, onRetry, onStateChange } = options;
  const perAttempt = timeout(timeoutMs, TimeoutStrategy.Aggressive);
  const breaker = circuitBreaker(handleType(PaymentUnavailable), {
    halfOpenAfter: options.breaker.halfOpenAfterMs,
    breaker: new ConsecutiveBreaker(options.breaker.threshold),
  });
  const backoff = new ExponentialBackoff({
    initialDelay: options.backoff?.initialDelayMs ?? 100,
    maxDelay: options.backoff?.maxDelayMs ?? 2_000,
  });
  if (onStateChange) breaker.onStateChange((state) => onStateChange(STATE_NAMES[state]));

  async function run<T>(
    operation: PaymentOperation,
    call: (signal: AbortSignal) => Promise<T>,
    outcomeOf: (value: T) => PaymentCallOutcome,
  ) {
    let attempts = 0;
    // A policy per call (a small object), so its retry events are this call's alone.
    const retrying = retry(handleType(PaymentUnavailable), { maxAttempts: retries, backoff });
    if (onRetry) retrying.onRetry(({ attempt, delay }) => onRetry({ operation, attempt, delayMs: delay }));
    try {
      const value = await retrying.execute(() =>
        breaker.execute(async () => {
          attempts++;
          try {
            return await perAttempt.execute(({ signal }) => call(signal));
          } catch (error) {
            // A timed-out attempt is an unknown outcome like a refused connection: retried, and counted by the breaker.
            if (error instanceof TaskCancelledError)
              throw new PaymentUnavailable(`payment ${operation} timed out after ${timeoutMs} ms`, { cause: error });
            throw error;
          }
        }),
      );
      onCall?.({ operation, outcome: outcomeOf(value), attempts });
      return value;
    } catch (error) {
      if (error instanceof BrokenCircuitError) {
        onCall?.({ operation, outcome: 'circuit_open', attempts });
        throw new PaymentUnavailable(`payment provider circuit is open: ${operation} not attempted`, { cause: error });
      }
      onCall?.({ operation, outcome: error instanceof PaymentRejected ? 'rejected' : 'unavailable', attempts });
      throw error;
    }
  }

  const authorizationOutcome = (value: Authorization) => (value.outcome === 'authorised' ? 'authorised' : 'declined');
  return {
    get circuit() {
      return STATE_NAMES[breaker.state];
    },
    authorize: (request) => run('authorize', (signal) => provider.authorize(request, { signal }), authorizationOutcome),
    capture: (request) =>
      run(
        'capture',
        (signal) => provider.capture(request, { signal }),
        () => 'ok',
      ),
    void: (request) =>
      run(
        'void',
        (signal) => provider.void(request, { signal }),
        () => 'ok',
      ),
    find: (key) =>
      run(
        'find',
        (signal) => provider.find(key, { signal }),
        (value) => (value ? 'found' : 'not_found'),
      ),
  };
}
