import type { Viewer } from '@shop/platform';
import type { GatewayGraphQLRequest, GatewayGraphQLResponse } from './gateway-types.ts';

/**
 * Work in flight, shared by identical callers: while one caller's `start()` is pending, a caller
 * with the same key waits for that answer instead of starting its own. Nothing is kept once the
 * work settles, so this is no cache: an answer is only ever shared by callers that asked while it
 * was being produced, and a failure reaches every one of them.
 *
 * The one implementation of in-flight sharing, for both levels: whole client requests
 * (request-dedup.ts) and subgraph fetches (stages/fetch-sharing.ts, which the entity cache's
 * misses go through too). Under load many requests ask the same thing at the same moment (a
 * popular listing page, its prices and stock), and one answers them all.
 */
export interface Shared<T> {
  value: T;
  /** True for the caller whose `start()` ran; false for one that joined it. */
  leader: boolean;
}

interface Flight<T> {
  followers: number;
  result: Promise<{ value: T; copy: (() => T) | undefined }>;
}

export class InFlight<T> {
  private readonly flights = new Map<string, Flight<T>>();

  /**
   * `snapshot` is called once, when the work settles and only if someone joined, before the
   * leader gets its value; it returns how each follower gets its own copy. Callers that receive
   * objects someone mutates (the gateway merges subgraph responses into its result objects) copy
   * here; an immutable value can be handed out as it is.
   */
  constructor(private readonly snapshot: (value: T) => () => T) {}

  async run(key: string, start: () => Promise<T>): Promise<Shared<T>> {
    const existing = this.flights.get(key);
    if (existing) {
      existing.followers++;
      const { value, copy } = await existing.result;
      return { value: copy ? copy() : value, leader: false };
    }
    const flight: Flight<T> = {
      followers: 0,
      result: start().then(
        (value) => {
          this.settle(key, flight);
          return { value, copy: flight.followers ? this.snapshot(value) : undefined };
        },
        (error: unknown) => {
          this.settle(key, flight);
          throw error;
        },
      ),
    };
    this.flights.set(key, flight);
    const { value } = await flight.result;
    return { value, leader: true };
  }

  /**
   * Later callers start afresh instead of joining what is in flight now: called when what is in
   * flight may carry data older than a change the router has seen (a mutation it forwarded, an
   * invalidation on the bus). Those already waiting still get their answer.
   */
  clear(): void {
    this.flights.clear();
  }

  get size(): number {
    return this.flights.size;
  }

  private settle(key: string, flight: Flight<T>): void {
    if (this.flights.get(key) === flight) this.flights.delete(key);
  }
}

/** A subgraph's answer to one fetch, as the data source and the entity cache share it. */
export interface SubgraphAnswer {
  response: GatewayGraphQLResponse;
  cacheControl: string | null;
}

/**
 * In-flight subgraph fetches. Each follower gets its own copy of the response, parsed from one
 * serialisation taken before the leader's gateway mutates its copy.
 */
export function subgraphFetches(): InFlight<SubgraphAnswer> {
  return new InFlight<SubgraphAnswer>(({ response, cacheControl }) => {
    const shared = JSON.stringify({ data: response.data, errors: response.errors, extensions: response.extensions });
    return () => ({ response: JSON.parse(shared) as GatewayGraphQLResponse, cacheControl });
  });
}

/**
 * What makes two subgraph fetches identical: the subgraph, the identity the router sends for the
 * viewer (so nobody shares another user's answer), the operation and its variables. Request ids
 * and trace headers differ per request and do not change the answer.
 */
export function fetchKey(subgraph: string, viewer: Viewer | null, request: GatewayGraphQLRequest): string {
  const identity = viewer ? `${viewer.userId}\n${viewer.scopes.join(' ')}` : '-';
  return `${subgraph}\n${identity}\n${request.query}\n${JSON.stringify(request.variables ?? {})}`;
}
