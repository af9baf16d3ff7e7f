/**
 * The subscribers of `npm run bench:subscriptions`: one graphql-ws client (its own WebSocket) per
 * subscriber, each running one operation, every result stamped with performance.now() as it is
 * received and kept for checking once the run is over.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export const PRODUCT_UPDATED =
  'subscription BenchProductLive($ids: [ID!]!) { productUpdated(ids: $ids) { id listPrice(region: IN) { amount } } }';
export const MY_ORDER_UPDATES = 'subscription BenchMyOrderUpdates { myOrderUpdates { id status } }';

export interface Received {
  at: number;
  value: any;
}

export interface Subscriber {
  kind: 'product' | 'order';
  /** The signed-in user (order subscribers); product subscribers are anonymous, as a shop's visitors are. */
  userId?: string | undefined;
  received: Received[];
  errors: unknown[];
  /** Close codes of its socket, if it closed. */
  closes: number[];
  completed: boolean;
  client: Client;
}

export interface SubscriberSpec {
  kind: 'product' | 'order';
  token?: string | undefined;
  userId?: string | undefined;
  variables?: Record<string, unknown>;
}

export function subscribe(wsUrl: string, spec: SubscriberSpec): Subscriber {
  const subscriber: Subscriber = {
    kind: spec.kind,
    userId: spec.userId,
    received: [],
    errors: [],
    closes: [],
    completed: false,
    client: undefined as unknown as Client,
  };
  subscriber.client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    // A subscriber the router cut is counted as cut, not hidden by a reconnect.
    retryAttempts: 0,
    lazy: true,
    connectionParams: spec.token ? { authorization: `Bearer ${spec.token}` } : {},
    on: { closed: (event) => void subscriber.closes.push((event as { code?: number }).code ?? 0) },
  });
  subscriber.client.subscribe(
    { query: spec.kind === 'product' ? PRODUCT_UPDATED : MY_ORDER_UPDATES, variables: spec.variables ?? {} },
    {
      next: (value) => void subscriber.received.push({ at: performance.now(), value }),
      error: (error) => void subscriber.errors.push(error),
      complete: () => {
        subscriber.completed = true;
      },
    },
  );
  return subscriber;
}

export async function disposeAll(subscribers: readonly Subscriber[]): Promise<void> {
  await Promise.all(subscribers.map((s) => s.client.dispose()));
}
