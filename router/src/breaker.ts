import { GraphQLError } from 'graphql';

/** Gauge values of `subgraph_circuit_state`. */
export const CIRCUIT_STATES = { closed: 0, open: 1, 'half-open': 2 } as const;
export type CircuitState = keyof typeof CIRCUIT_STATES;

export interface CircuitBreakerOptions {
  /** The subgraph it guards; named in the error a client sees (never its URL). */
  name: string;
  /** Consecutive failures (within `windowMs` of the first) that open the circuit. */
  failureThreshold: number;
  /** How long the circuit stays open before it lets one probe through. */
  cooldownMs: number;
  /** A streak of failures older than this starts over; default 60 s. */
  windowMs?: number;
  /** The clock, injectable so tests need no sleeps. */
  now?: () => number;
  /** Called on every state change (metrics). */
  onStateChange?: (state: CircuitState, previous: CircuitState) => void;
}

/** What a fetch to an open circuit fails with, at once and without touching the network. */
export class CircuitOpenError extends GraphQLError {
  constructor(name: string) {
    super(`${name} is unavailable`, { extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: name } });
    this.name = 'CircuitOpenError';
  }
}

/**
 * A circuit breaker for one subgraph:
 * - closed: calls go through; `failureThreshold` consecutive failures within `windowMs` open it.
 * - open: calls fail at once with CircuitOpenError; after `cooldownMs` the next call is a probe.
 * - half-open: exactly one probe is in flight (other calls fail fast); its success closes the
 *   circuit, its failure opens it for another cool-down.
 * Only what `isFailure` accepts counts (see `isSubgraphFailure`); other errors pass through and
 * count as the subgraph answering. Transitions happen on calls, not on timers.
 */
export class CircuitBreaker {
  private current: CircuitState = 'closed';
  private failures = 0;
  private streakStartedAt = 0;
  private openedAt = 0;
  private probing = false;
  private readonly options: Required<Omit<CircuitBreakerOptions, 'onStateChange'>> & Pick<CircuitBreakerOptions, 'onStateChange'>;

  constructor(options: CircuitBreakerOptions) {
    this.options = { windowMs: 60_000, now: Date.now, ...options };
  }

  get state(): CircuitState {
    return this.current;
  }

  async run<T>(call: () => Promise<T>, isFailure: (error: unknown) => boolean = isSubgraphFailure): Promise<T> {
    const probe = this.admit();
    try {
      const result = await call();
      this.succeeded(probe);
      return result;
    } catch (error) {
      if (isFailure(error)) this.failed(probe);
      else this.succeeded(probe);
      throw error;
    } finally {
      if (probe) this.probing = false;
    }
  }

  /** Throws when the call may not go through; returns whether it is the half-open probe. */
  private admit(): boolean {
    if (this.current === 'open' && this.options.now() - this.openedAt >= this.options.cooldownMs) this.transition('half-open');
    if (this.current === 'closed') return false;
    if (this.current === 'half-open' && !this.probing) {
      this.probing = true;
      return true;
    }
    throw new CircuitOpenError(this.options.name);
  }

  private succeeded(probe: boolean): void {
    this.failures = 0;
    // Only the probe closes an open circuit, not a call admitted before it opened finishing late.
    if (probe && this.current === 'half-open') this.transition('closed');
  }

  private failed(probe: boolean): void {
    const now = this.options.now();
    if (probe) return this.open(now);
    if (this.current !== 'closed') return; // a call admitted before it opened, finishing late
    if (this.failures === 0 || now - this.streakStartedAt > this.options.windowMs) {
      this.failures = 0;
      this.streakStartedAt = now;
    }
    this.failures++;
    if (this.failures >= this.options.failureThreshold) this.open(now);
  }

  private open(now: number): void {
    this.failures = 0;
    this.openedAt = now;
    this.transition('open');
  }

  private transition(next: CircuitState): void {
    const previous = this.current;
    this.current = next;
    this.options.onStateChange?.(next, previous);
  }
}

/**
 * What counts against a subgraph: no answer at all (network error, timeout, a body that is not
 * JSON) or a 5xx. A 4xx is the router's request being refused, and GraphQL errors in a 200 answer
 * are the subgraph working, so neither does.
 */
export function isSubgraphFailure(error: unknown): boolean {
  if (error instanceof CircuitOpenError) return false;
  const status = (error as { extensions?: { response?: { status?: unknown } } } | null)?.extensions?.response?.status;
  return typeof status === 'number' ? status >= 500 : true;
}
