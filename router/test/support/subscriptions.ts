import { afterAll, afterEach, beforeAll } from 'vitest';
import { startIssuer } from './issuer.ts';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type FieldNode, Kind, type OperationDefinitionNode, parse } from 'graphql';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { createEnvelope, createInProcessStream, type EventData, type EventType, event } from '@shop/events';
import { createLogger } from '@shop/platform';
import { readConfig } from '../../src/config.ts';
import type { RouterMetrics } from '../../src/metrics.ts';
import { buildRouter, type Router } from '../../src/server.ts';
import { delay, type FakeReply, type ReceivedRequest, startFakeSubgraph, type FakeSubgraph } from './fake-subgraph.ts';

/** The orders + products supergraph with a Subscription type; its source SDLs are in its header. */
export const SUBSCRIPTIONS_SUPERGRAPH = fileURLToPath(new URL('../fixtures/subscriptions-supergraph.graphql', import.meta.url));

export const PRODUCT_LIVE = 'subscription ProductLive($ids: [ID!]!) { productUpdated(ids: $ids) { id name blob } }';
export const ORDER_LIVE = 'subscription OrderLive($id: ID!) { orderUpdated(id: $id) { id status } }';
export const MY_ORDERS = 'subscription MyOrders { myOrderUpdates { id status } }';

/** The root field a fake subgraph was asked for, its response key and the fields selected under it. */
function rootOf(query: string, variables: Record<string, unknown>): { key: string; id: string; fields: { key: string; name: string }[] } {
  const operation = parse(query).definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const root = operation.selectionSet.selections.find((s): s is FieldNode => s.kind === Kind.FIELD)!;
  const fields = (root.selectionSet?.selections ?? [])
    .filter((s): s is FieldNode => s.kind === Kind.FIELD)
    .map((f) => ({ key: f.alias?.value ?? f.name.value, name: f.name.value }));
  // The gateway names its variables as it likes: the `id` argument says which one it is.
  const arg = root.arguments?.find((a) => a.name.value === 'id')?.value;
  const id = arg?.kind === Kind.VARIABLE ? variables[arg.name.value] : arg?.kind === Kind.STRING ? arg.value : undefined;
  return { key: root.alias?.value ?? root.name.value, id: String(id), fields };
}

/** An entity with exactly the selected fields, as a real subgraph answers. */
function entity(fields: { key: string; name: string }[], values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(fields.map(({ key, name }) => [key, name in values ? values[name] : null]));
}

export interface SubscriptionFakes {
  products: FakeSubgraph;
  orders: FakeSubgraph;
  /** Size of each product's `blob` (slow-consumer tests make every answer large). */
  blobBytes: number;
  /** The name `product(id:)` answers (default `Product <id>`). */
  productName: ((id: string) => string) | undefined;
  /** Cache-Control of the products fake's answers (default: none, so no cache keeps them). */
  productsCacheControl: string | undefined;
  /** Overrides the orders fake's answer to `order(id:)` (undefined: the default answer). */
  orderReply: ((request: ReceivedRequest, id: string) => FakeReply | undefined) | undefined;
  /** Back to the default answers (after each test). */
  reset(): void;
  close(): Promise<void>;
}

/** The two fakes: `product(id:)` answers `{ id, name: "Product <id>", blob }`, `order(id:)` answers `{ id, status: SHIPPED }`. */
export async function startSubscriptionFakes(): Promise<SubscriptionFakes> {
  const fakes: SubscriptionFakes = {
    blobBytes: 0,
    productName: undefined,
    productsCacheControl: undefined,
    orderReply: undefined,
  } as SubscriptionFakes;
  fakes.products = await startFakeSubgraph(({ query, variables }) => {
    const root = rootOf(query, variables);
    const id = root.id;
    const name = fakes.productName?.(id) ?? `Product ${id}`;
    const body = { data: { [root.key]: entity(root.fields, { __typename: 'Product', id, name, blob: 'x'.repeat(fakes.blobBytes) }) } };
    return fakes.productsCacheControl ? { body, cacheControl: fakes.productsCacheControl } : { body };
  });
  fakes.orders = await startFakeSubgraph((request) => {
    const root = rootOf(request.query, request.variables);
    const id = root.id;
    const custom = fakes.orderReply?.(request, id);
    if (custom) return custom;
    return { body: { data: { [root.key]: entity(root.fields, { __typename: 'Order', id, status: 'SHIPPED' }) } } };
  });
  fakes.reset = () => {
    fakes.blobBytes = 0;
    fakes.productName = undefined;
    fakes.productsCacheControl = undefined;
    fakes.orderReply = undefined;
  };
  fakes.close = async () => {
    await fakes.products.close();
    await fakes.orders.close();
  };
  return fakes;
}

export interface SubscriptionRouter {
  router: Router;
  port: number;
  /** `ws://127.0.0.1:<port>/graphql` */
  wsUrl: string;
  /** `http://127.0.0.1:<port>/graphql/stream` */
  sseUrl: string;
  /** `http://127.0.0.1:<port>` */
  httpUrl: string;
  /** Publishes one event into the stream the router follows (its in-process scope). */
  publish<T extends EventType>(type: T, aggregateId: string, data: EventData[T], tags?: string[]): Promise<void>;
  /** The sum of a counter's or gauge's values whose labels include `labels`. */
  metric(name: keyof RouterMetrics, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

/**
 * The real router over the subscriptions supergraph, listening on a free port, following its own
 * in-process event stream (no NATS_URL): a fresh stream name per router so tests never hear each
 * other's events.
 */
export async function startSubscriptionRouter(
  fakes: SubscriptionFakes,
  env: Record<string, string | undefined> = {},
): Promise<SubscriptionRouter> {
  const streamName = `SUBS_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const subjectPrefix = 'subs';
  const router = await buildRouter({
    config: readConfig({
      PORT: '0',
      LOG_LEVEL: 'silent',
      SUPERGRAPH_PATH: SUBSCRIPTIONS_SUPERGRAPH,
      PRODUCTS_URL: fakes.products.url,
      ORDERS_URL: fakes.orders.url,
      ROUTER_CACHE: 'false',
      // Many connections from 127.0.0.1; the HTTP rate limit is not under test.
      RATE_LIMIT: 'false',
      NATS_STREAM: streamName,
      NATS_SUBJECT_PREFIX: subjectPrefix,
      ...env,
    }),
  });
  await router.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = router.app.server.address() as AddressInfo;
  // The same scope as the router's own stream (packages/events/src/open.ts): what is published here reaches its follower.
  const stream = createInProcessStream({ scope: `${streamName}/${subjectPrefix}`, logger: createLogger('test', 'silent') });
  let closed = false;
  return {
    router,
    port,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    sseUrl: `http://127.0.0.1:${port}/graphql/stream`,
    httpUrl: `http://127.0.0.1:${port}`,
    publish: (type, aggregateId, data, tags = []) => stream.publish([createEnvelope(event(type, aggregateId, data, tags))]),
    async metric(name, labels = {}) {
      const metric = router.metrics[name] as unknown as {
        get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }>;
      };
      const { values } = await metric.get();
      return values
        .filter((v) => Object.entries(labels).every(([key, value]) => String(v.labels[key]) === value))
        .reduce((sum, v) => sum + v.value, 0);
    },
    async close() {
      if (closed) return;
      closed = true;
      await router.close();
      await stream.close();
    },
  };
}

/** Polls `check` until it holds (or throws after `timeoutMs`, naming `what`). */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

/** Waits until the router runs `count` subscription operations (the hub hears their events from then on). */
export const waitForActive = (target: SubscriptionRouter, count: number) =>
  waitFor(`${count} active subscriptions`, async () => (await target.metric('subscriptionsActive')) === count);

/** A graphql-ws client over `ws`, retrying nothing: each test sees the router's own answers. */
export function wsClient(url: string, connectionParams?: Record<string, unknown>): WsClient {
  return createWsClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams,
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined,
  });
}

/** A graphql-sse client in single-connection or distinct-connections mode. */
export function sseClient(url: string, options: { token?: string; singleConnection?: boolean } = {}) {
  return createSseClient({
    url,
    singleConnection: options.singleConnection ?? false,
    retryAttempts: 0,
    headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
  });
}

/** What one subscription received: results, its error, whether it completed. */
export interface Received {
  results: { data?: unknown; errors?: readonly { message: string; extensions?: Record<string, unknown> }[] }[];
  error: unknown;
  completed: boolean;
  done: Promise<void>;
  dispose: () => void;
}

/** Subscribes through a graphql-ws or graphql-sse client and records what arrives. */
export function record(
  client: { subscribe: (payload: any, sink: any) => () => void },
  payload: { query: string; variables?: Record<string, unknown>; operationName?: string },
): Received {
  let finish!: () => void;
  const received: Received = {
    results: [],
    error: undefined,
    completed: false,
    done: new Promise<void>((resolve) => (finish = resolve)),
    dispose: () => undefined,
  };
  received.dispose = client.subscribe(payload, {
    next: (result: Received['results'][number]) => received.results.push(result),
    error: (error: unknown) => {
      received.error = error;
      finish();
    },
    complete: () => {
      received.completed = true;
      finish();
    },
  });
  return received;
}

/** A raw WebSocket on the graphql-transport-ws subprotocol, with its close code and the messages it got. */
export interface RawSocket {
  ws: WebSocket;
  messages: { type: string; id?: string; payload?: any }[];
  opened: Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
  /** The status of a refused upgrade (429, 503), if it was refused. */
  refused: Promise<number | undefined>;
  send(message: Record<string, unknown>): void;
  /** Resolves with the first message of `type` (after any already received). */
  next(type: string): Promise<{ type: string; id?: string; payload?: any }>;
}

export function rawSocket(url: string, options: WebSocket.ClientOptions = {}): RawSocket {
  const ws = new WebSocket(url, 'graphql-transport-ws', options);
  const messages: RawSocket['messages'] = [];
  const waiters: { type: string; resolve: (m: RawSocket['messages'][number]) => void }[] = [];
  ws.on('message', (data) => {
    const message = JSON.parse(String(data)) as RawSocket['messages'][number];
    messages.push(message);
    for (const waiter of waiters.filter((w) => w.type === message.type)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(message);
    }
  });
  ws.on('error', () => undefined);
  let refusedStatus: number | undefined;
  const refused = new Promise<number | undefined>((resolve) => {
    ws.once('unexpected-response', (_req, res) => {
      refusedStatus = res.statusCode;
      res.resume();
      resolve(res.statusCode);
    });
    ws.once('open', () => resolve(undefined));
    ws.once('close', () => resolve(refusedStatus));
  });
  return {
    ws,
    messages,
    opened: new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('close', () => reject(new Error('closed before it opened')));
    }),
    closed: new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) }))),
    refused,
    send: (message) => ws.send(JSON.stringify(message)),
    next(type) {
      const seen = messages.find((m) => m.type === type);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ type, resolve }));
    },
  };
}

/** A raw socket that has been acknowledged (connection_init → connection_ack). */
export async function initedSocket(url: string, payload: Record<string, unknown> = {}, options: WebSocket.ClientOptions = {}) {
  const socket = rawSocket(url, options);
  await socket.opened;
  socket.send({ type: 'connection_init', payload });
  await socket.next('connection_ack');
  return socket;
}

/** One SSE response read as text, split into its events (`event`, `data`, `id`). */
export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

export function parseSse(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block.split('\n').some((line) => line.startsWith('event:')))
    .map((block) => {
      const out: SseEvent = { event: '', data: '' };
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) out.event = line.slice(6).trim();
        else if (line.startsWith('data:')) out.data += line.slice(5).trim();
        else if (line.startsWith('id:')) out.id = line.slice(3).trim();
      }
      return out;
    });
}

/** A distinct-mode SSE stream opened with fetch: its status and the text read so far. */
export interface SseStream {
  status: number;
  text: () => string;
  events: () => SseEvent[];
  /** Resolves when the response body ends (true) or errors (false). */
  ended: Promise<boolean>;
  abort: () => void;
}

export async function openSse(
  url: string,
  body: { query: string; variables?: Record<string, unknown> },
  headers: Record<string, string> = {},
): Promise<SseStream> {
  const controller = new AbortController();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify(body),
    signal: controller.signal,
  });
  let text = '';
  const ended = (async () => {
    if (!response.body) return true;
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body) text += decoder.decode(chunk as Uint8Array, { stream: true });
      return true;
    } catch {
      return false;
    }
  })();
  return { status: response.status, text: () => text, events: () => parseSse(text), ended, abort: () => controller.abort() };
}

/**
 * The set-up every subscription test file shares: the fakes and a token issuer for the file, and
 * `routerWith(env)`, a router over them that closes after the test, as does whatever is pushed on
 * `cleanup` (last first). Call at the top of the file.
 */
export function subscriptionSuite() {
  const cleanup: (() => Promise<unknown> | unknown)[] = [];
  const suite = {
    fakes: undefined as unknown as SubscriptionFakes,
    issuer: undefined as unknown as Awaited<ReturnType<typeof startIssuer>>,
    cleanup,
    async routerWith(env: Record<string, string> = {}): Promise<SubscriptionRouter> {
      const target = await startSubscriptionRouter(suite.fakes, { JWKS_URL: suite.issuer.jwksUrl, ...env });
      cleanup.push(() => target.close());
      return target;
    },
  };
  beforeAll(async () => {
    suite.fakes = await startSubscriptionFakes();
    suite.issuer = await startIssuer();
  });
  afterAll(async () => {
    await suite.fakes?.close();
    await suite.issuer?.close();
  });
  afterEach(async () => {
    suite.fakes.reset();
    for (const step of cleanup.splice(0).reverse()) await step();
  });
  return suite;
}
