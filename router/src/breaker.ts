import { GraphQLError } from 'graphql';
import { PUBLIC_ERROR_CODES } from '@shop/platform';
import { SubgraphResponseTooLargeError } from './fetcher.ts';

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

/** What a client reads when a subgraph gave no usable answer: its name, never its URL or the cause. */
export const unavailableMessage = (subgraph: string) => `${subgraph} is unavailable; some fields could not be resolved`;

/**
 * A fetch that got no usable answer (no connection, a timeout, a body that is not JSON): code
 * SUBGRAPH_UNAVAILABLE and the subgraph's name, the cause kept for logs only. The data source
 * raises it for every such failure, so an error the gateway did not get from a subgraph's answer
 * still says which subgraph it was (and is a GraphQLError, which Apollo's plugins expect).
 */
export class SubgraphUnavailableError extends GraphQLError {
  constructor(subgraph: string, cause?: unknown) {
    super(unavailableMessage(subgraph), {
      extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: subgraph },
      ...(cause instanceof Error ? { originalError: cause } : {}),
    });
    this.name = 'SubgraphUnavailableError';
  }
}

/** What a fetch to an open circuit fails with, at once and without touching the network. */
export class CircuitOpenError extends SubgraphUnavailableError {
  constructor(name: string) {
    super(name);
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
    if (probe) {
      this.open(now);
      return;
    }
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
 * Codes that describe the client's request, not the subgraph's health: a subgraph refusing a
 * request (throttling a sign-in flood, rejecting bad input) is a subgraph working.
 */
const CLIENT_CODES: ReadonlySet<string> = new Set<string>([
  // The codes subgraphs answer clients with, except the one that says a dependency is down.
  ...PUBLIC_ERROR_CODES.filter((code) => code !== 'DEPENDENCY_UNAVAILABLE'),
  'BAD_REQUEST',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'PAYLOAD_TOO_LARGE',
]);

/**
 * What counts against a subgraph: no answer at all (network error, timeout, a body that is not
 * JSON) or a 5xx. A 4xx (429 included) is the router's request being refused, and GraphQL errors
 * in a 200 answer are the subgraph working, so neither does; nor does a 5xx whose GraphQL errors
 * all carry a client code (a subgraph answering 503 `RATE_LIMITED` to a flood). One client's
 * requests must never open a circuit that every other client's requests then fail on.
 */
export function isSubgraphFailure(error: unknown): boolean {
  if (error instanceof CircuitOpenError) return false;
  // The client's query asked for more than the router reads; the subgraph answered (fetcher.ts).
  if (error instanceof SubgraphResponseTooLargeError) return false;
  const response = (error as { extensions?: { response?: { status?: unknown; body?: unknown } } } | null)?.extensions?.response;
  const status = response?.status;
  if (typeof status !== 'number') return true;
  if (status < 500) return false;
  return !refusedForTheClient(response?.body);
}

/** Whether a subgraph's error body is GraphQL errors, each with a client code. */
function refusedForTheClient(body: unknown): boolean {
  const errors = (body as { errors?: unknown } | null | undefined)?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return false;
  return errors.every((error) => {
    const code = (error as { extensions?: { code?: unknown } } | null)?.extensions?.code;
    return typeof code === 'string' && CLIENT_CODES.has(code);
  });
}
