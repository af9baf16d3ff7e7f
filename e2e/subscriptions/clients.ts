import type { ExecutionResult } from 'graphql';
import { createClient as createSseClient, type Client as SseClient } from 'graphql-sse';
import { createClient as createWsClient, type Client as WsClient, type SubscribePayload } from 'graphql-ws';
import WebSocket from 'ws';
import { metricsUrlOf, routerUrl } from '../setup/client.ts';

/**
 * The real graphql-ws and graphql-sse clients against the shared stack's router, wrapped so a test
 * can collect what a subscription received, wait for a result it expects (with a timeout) and end
 * everything it opened. The router sends nothing when a subscription starts, so `Harness.ready`
 * waits for the router's `subscriptions_active` gauge instead of sleeping.
 */

export type Result = ExecutionResult<any, unknown> & {
  errors?: readonly { message: string; extensions?: { code?: string; [k: string]: unknown } }[];
};

const DEFAULT_TIMEOUT_MS = 10_000;

export const wsUrl = () => routerUrl().replace(/^http/, 'ws');
export const streamUrl = () => new URL('/graphql/stream', routerUrl()).toString();

/** What one subscription received: results in order, then an error or the end. */
export class Collected {
  readonly results: Result[] = [];
  error: unknown = undefined;
  completed = false;
  private readonly waiters = new Set<() => void>();
  dispose: () => void = () => {};

  readonly sink = {
    next: (value: Result) => {
      this.results.push(value);
      this.wake();
    },
    error: (error: unknown) => {
      this.error = error;
      this.wake();
    },
    complete: () => {
      this.completed = true;
      this.wake();
    },
  };

  get ended(): boolean {
    return this.completed || this.error !== undefined;
  }

  /** The first result (received already or to come) that satisfies `predicate`. */
  async until(predicate: (result: Result) => boolean, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Result> {
    let found: Result | undefined;
    await this.waitFor(
      () => {
        found = this.results.find(predicate);
        return found !== undefined;
      },
      timeoutMs,
      'no matching result',
    );
    return found!;
  }

  /** Resolves once the subscription errored or completed. */
  async end(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    await this.waitFor(() => this.ended, timeoutMs, 'the subscription did not end');
  }

  private waitFor(done: () => boolean, timeoutMs: number, message: string): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.error !== undefined && !done()) return fail(`${message}: it errored with ${describe(this.error)}`);
        if (!done()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const fail = (why: string) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        reject(new Error(`${why}; received ${JSON.stringify(this.results)}`));
      };
      const timer = setTimeout(() => fail(`${message} within ${timeoutMs} ms`), timeoutMs);
      this.waiters.add(check);
    });
  }

  private wake() {
    for (const waiter of [...this.waiters]) waiter();
  }
}

function describe(error: unknown): string {
  if (Array.isArray(error)) return JSON.stringify(error);
  if (error && typeof error === 'object' && 'code' in error) {
    const close = error as { code: number; reason?: string };
    return `close ${close.code} ${close.reason ?? ''}`;
  }
  return String(error);
}

/** The router's `subscriptions_active` gauge by root field. */
export async function activeSubscriptions(): Promise<Record<string, number>> {
  const text = await (await fetch(metricsUrlOf(routerUrl()))).text();
  const counts: Record<string, number> = {};
  for (const line of text.split('\n')) {
    // Labels in any order (the registry adds service="router" to each).
    const match = /^subscriptions_active\{([^}]*)\} (\S+)$/.exec(line);
    const field = match && /(?:^|,)field="([^"]+)"/.exec(match[1]!)?.[1];
    if (field) counts[field] = Number(match[2]);
  }
  return counts;
}

async function poll(check: () => Promise<boolean>, timeoutMs: number, message: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${message} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export interface WsOptions {
  token?: string;
  /** Sent as the `apollographql-client-name` header of the upgrade. */
  clientName?: string;
}

export interface SseOptions {
  token?: string;
  singleConnection?: boolean;
  clientName?: string;
}

/**
 * One test's clients. `ready` waits until the router runs as many more subscriptions of a field
 * as the test opened; `close` disposes every client and waits until the router has let go of
 * them, so the next test's baseline is steady.
 */
export class Harness {
  private readonly disposers: (() => void)[] = [];

  private constructor(private readonly baseline: Record<string, number>) {}

  static async start(): Promise<Harness> {
    return new Harness(await activeSubscriptions());
  }

  ws({ token, clientName }: WsOptions = {}): { client: WsClient; subscribe: (payload: SubscribePayload) => Collected } {
    const headers: Record<string, string> = clientName ? { 'apollographql-client-name': clientName } : {};
    // graphql-ws's client cannot set headers itself: its socket is ws's WebSocket given them.
    class WithHeaders extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, { headers });
      }
    }
    const client = createWsClient({
      url: wsUrl(),
      webSocketImpl: WithHeaders,
      connectionParams: token ? { authorization: `Bearer ${token}` } : {},
      retryAttempts: 0,
      lazy: true,
    });
    // dispose() settles with the socket's close, which is a rejection when it was already closed.
    this.disposers.push(() => void Promise.resolve(client.dispose()).catch(() => {}));
    return {
      client,
      subscribe: (payload) => {
        const collected = new Collected();
        collected.dispose = client.subscribe(payload, collected.sink);
        this.disposers.push(collected.dispose);
        return collected;
      },
    };
  }

  sse({ token, singleConnection = false, clientName }: SseOptions = {}): {
    client: SseClient<boolean>;
    subscribe: (payload: Record<string, unknown>) => Collected;
  } {
    const headers: Record<string, string> = {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(clientName ? { 'apollographql-client-name': clientName } : {}),
    };
    const client = createSseClient<boolean>({ url: streamUrl(), headers, singleConnection, retryAttempts: 0 });
    this.disposers.push(() => client.dispose());
    return {
      client,
      subscribe: (payload) => {
        const collected = new Collected();
        // graphql-sse takes `query` as a string; a persisted id alone has none, and it sends the object as it is.
        collected.dispose = client.subscribe(payload as unknown as { query: string }, collected.sink);
        this.disposers.push(collected.dispose);
        return collected;
      },
    };
  }

  /** Waits until the router runs at least `more[field]` subscriptions of each field beyond the baseline. */
  async ready(more: Record<string, number>, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    await poll(
      async () => {
        const now = await activeSubscriptions();
        return Object.entries(more).every(([field, n]) => (now[field] ?? 0) >= (this.baseline[field] ?? 0) + n);
      },
      timeoutMs,
      `the router did not start ${JSON.stringify(more)} more subscriptions`,
    );
  }

  /** Waits until the router runs no more subscriptions than at the start (what was opened has ended). */
  async settled(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    await poll(
      async () => {
        const now = await activeSubscriptions();
        return Object.entries(now).every(([field, n]) => n <= (this.baseline[field] ?? 0));
      },
      timeoutMs,
      'the router still runs subscriptions this test opened',
    );
  }

  async close(): Promise<void> {
    for (const dispose of this.disposers.splice(0).reverse()) {
      try {
        dispose();
      } catch {
        // Already ended: nothing to let go of.
      }
    }
    await this.settled();
  }
}

/** One server-sent event as read off the wire. */
export interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
}

/**
 * A distinct-mode SSE subscription read with plain fetch, so the `id:` lines (which graphql-sse's
 * client does not show) can be seen and sent back as `Last-Event-ID`.
 */
export async function rawSse(
  payload: Record<string, unknown>,
  { token, lastEventId }: { token?: string; lastEventId?: string } = {},
): Promise<{ status: number; next: (timeoutMs?: number) => Promise<SseEvent>; abort: () => void }> {
  const controller = new AbortController();
  const response = await fetch(streamUrl(), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
    },
    body: JSON.stringify(payload),
    signal: controller.signal,
  });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const next = async (timeoutMs = DEFAULT_TIMEOUT_MS): Promise<SseEvent> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event: SseEvent = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue; // keep-alive comment
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'id' || field === 'event' || field === 'data') event[field] = value;
        }
        if (event.event || event.data !== undefined) return event;
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no server-sent event within ${timeoutMs} ms; unread: ${JSON.stringify(buffer)}`);
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([
        reader.read(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no server-sent event within ${timeoutMs} ms`)), left);
        }),
      ]).finally(() => clearTimeout(timer));
      if (chunk.done) throw new Error(`the stream ended; unread: ${JSON.stringify(buffer)}`);
      buffer += decoder.decode(chunk.value, { stream: true });
    }
  };
  return { status: response.status, next, abort: () => controller.abort() };
}
