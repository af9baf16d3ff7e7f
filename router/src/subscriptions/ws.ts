import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { buildSchema, GraphQLError, parse, type ExecutionArgs, type FormattedExecutionResult } from 'graphql';
import { CloseCode, GRAPHQL_TRANSPORT_WS_PROTOCOL, makeServer } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { RequestLimit } from '../rate-limit.ts';
import { CLIENT_NAME_HEADER, clientName } from '../client-name.ts';
import type { TransportParts } from './connections.ts';
import type { LiveSubscription } from './live.ts';
import { TOO_MANY_SUBSCRIPTIONS, type SubscriberIdentity, type SubscriptionManager } from './manager.ts';

/** WebSocket close codes the router uses beyond graphql-ws's own (4400, 4401, 4403, 4408, 4409, 4429, 4500). */
export const WS_CLOSE = {
  /** Router shutting down: reconnect elsewhere. */
  goingAway: 1001,
  /** Idle (no subscription for SUBSCRIPTION_IDLE_TIMEOUT_MS). */
  idle: 1000,
  /** Slow consumer: more than SUBSCRIPTION_MAX_BUFFERED_BYTES waiting to be sent. */
  slowConsumer: 1008,
  /** graphql-ws: a bad token at connection_init. */
  forbidden: CloseCode.Forbidden,
} as const;

interface Extra {
  socket: WebSocket;
  request: IncomingMessage;
  ip: string;
  identity?: SubscriberIdentity;
  /** Running operations by graphql-ws id, and those being opened (a subscribe waits for Apollo). */
  lives: Map<string, LiveSubscription>;
  opening: number;
}

/**
 * graphql-ws only asks for the operation's type once onSubscribe has done the real work; the
 * operation it then "subscribes" to is the LiveSubscription in the context value.
 */
const LIVE_SCHEMA = buildSchema('type Query { live: Boolean } type Subscription { live: Boolean }');
const LIVE_DOCUMENT = parse('subscription { live }');

export interface WebSocketTransport {
  /** Closes every socket with 1001 (clients reconnect elsewhere) and stops accepting upgrades. */
  close(): Promise<void>;
}

/**
 * GraphQL over WebSocket (`graphql-transport-ws`, the graphql-ws package's protocol) on the HTTP
 * server's upgrade of `path`. graphql-ws runs the protocol (connection_init and its timeout, ack,
 * ping/pong, subscribe/next/error/complete, duplicate ids); this file holds the socket to the
 * router's bounds: connections per address and in all (refused before the upgrade, with 429/503),
 * message size (ws maxPayload: 1009), keep-alive pings (a socket that misses a pong is cut), the
 * idle timeout, operations per connection, and the byte bound on what waits to be sent.
 */
export function attachWebSocket({
  server,
  clientIpOf,
  requestLimit,
  path,
  config,
  manager,
  verify,
  limiter,
  log,
  metrics,
}: TransportParts & {
  server: Server;
  clientIpOf: (request: IncomingMessage) => string;
  /** RATE_LIMIT's buckets: each subscribe counts as one request, as an SSE one does on its HTTP request. */
  requestLimit: RequestLimit | undefined;
}): WebSocketTransport {
  let closing = false;
  const sockets = new Set<WebSocket>();
  const alive = new WeakMap<WebSocket, boolean>();
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.maxMessageBytes,
    // Compression would trade the byte bound for CPU and memory per socket.
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has(GRAPHQL_TRANSPORT_WS_PROTOCOL) ? GRAPHQL_TRANSPORT_WS_PROTOCOL : false),
  });

  const gql = makeServer<Record<string, unknown> | undefined, Extra>({
    schema: LIVE_SCHEMA,
    connectionInitWaitTimeout: config.initTimeoutMs,
    // Each result is already formatted (Apollo's executeOperation gave it): sent as it is. Without
    // this graphql-ws calls toJSON() on each error, which formatted errors have not, and a result
    // with errors (FORBIDDEN, an expired token) turns into an `error` message instead.
    onNext: (_ctx, _id, _payload, _args, result) => result as FormattedExecutionResult,
    async onConnect(ctx) {
      const params = ctx.connectionParams ?? {};
      const raw = params.authorization ?? params.Authorization ?? (typeof params.token === 'string' ? `Bearer ${params.token}` : undefined);
      const named =
        ctx.extra.request.headers[CLIENT_NAME_HEADER] ?? (typeof params.clientName === 'string' ? params.clientName : undefined);
      const identity: SubscriberIdentity = { viewer: null, clientIp: ctx.extra.ip, clientName: clientName(named) };
      if (raw !== undefined) {
        if (typeof raw !== 'string') throw new SocketRefusal(WS_CLOSE.forbidden, 'UNAUTHENTICATED: authorization must be "Bearer <token>"');
        try {
          const token = await verify(raw);
          identity.viewer = token?.viewer ?? null;
          identity.expiresAt = token?.expiresAt;
        } catch (error) {
          throw new SocketRefusal(WS_CLOSE.forbidden, `UNAUTHENTICATED: ${error instanceof Error ? error.message : 'token is not valid'}`);
        }
      }
      ctx.extra.identity = identity;
      armIdle(ctx.extra);
      return true;
    },
    async onSubscribe(ctx, id, payload) {
      const extra = ctx.extra;
      if (extra.lives.size + extra.opening >= config.maxPerConnection) {
        metrics.subscriptionRefusals.inc({ reason: 'per_connection' });
        return [
          new GraphQLError(`At most ${config.maxPerConnection} subscriptions per connection at once`, {
            extensions: { code: TOO_MANY_SUBSCRIPTIONS, limit: config.maxPerConnection },
          }),
        ];
      }
      // Its place is taken before anything is awaited: subscribes sent together all count.
      extra.opening++;
      disarmIdle(extra);
      let opened: Awaited<ReturnType<SubscriptionManager['open']>>;
      try {
        const limited = await requestLimit?.(extra.identity?.viewer ?? null, extra.ip);
        opened =
          limited && !limited.allowed
            ? [
                {
                  message: `Too many requests; retry in ${limited.retryAfterSeconds} s`,
                  extensions: { code: 'RATE_LIMITED', retryAfterSeconds: limited.retryAfterSeconds },
                },
              ]
            : await manager.open(payload, extra.identity!);
      } finally {
        extra.opening--;
      }
      if (Array.isArray(opened)) {
        armIdle(extra);
        return opened.map((error) => new GraphQLError(error.message, { extensions: error.extensions }));
      }
      const live = opened;
      if (extra.socket.readyState !== extra.socket.OPEN) {
        void live.return();
        return [new GraphQLError('The connection closed', { extensions: { code: 'BAD_REQUEST' } })];
      }
      extra.lives.set(id, live);
      return { schema: LIVE_SCHEMA, document: LIVE_DOCUMENT, contextValue: { live, id, extra } } satisfies ExecutionArgs;
    },
    subscribe(args) {
      const { live, id, extra } = args.contextValue as { live: LiveSubscription; id: string; extra: Extra };
      const settle = () => {
        if (extra.lives.get(id) === live) extra.lives.delete(id);
        if (!extra.lives.size) armIdle(extra);
      };
      // Not an async generator: return() must end a subscription waiting for its next event at once.
      const results: AsyncIterableIterator<{ data?: unknown; errors?: readonly unknown[] }> = {
        async next() {
          const step = await live.next();
          if (step.done) {
            settle();
            return { done: true, value: undefined };
          }
          if (step.value.occurredAt !== undefined) metrics.subscriptionDelivery.observe((Date.now() - step.value.occurredAt) / 1_000);
          return { done: false, value: step.value.result as { data?: unknown } };
        },
        async return() {
          await live.return();
          settle();
          return { done: true, value: undefined };
        },
        async throw(error) {
          settle();
          await live.return();
          throw error;
        },
        [Symbol.asyncIterator]() {
          return this;
        },
      };
      return results as never;
    },
  });

  function armIdle(extra: Extra) {
    disarmIdle(extra);
    if (extra.lives.size || extra.opening) return;
    idleTimers.set(
      extra,
      setTimeout(() => {
        metrics.subscriptionRefusals.inc({ reason: 'idle' });
        extra.socket.close(WS_CLOSE.idle, `Idle: no subscription for ${config.idleTimeoutMs} ms`);
      }, config.idleTimeoutMs),
    );
  }
  function disarmIdle(extra: Extra) {
    clearTimeout(idleTimers.get(extra));
    idleTimers.delete(extra);
  }
  const idleTimers = new Map<Extra, NodeJS.Timeout>();

  // One sweep for every socket: a socket that did not answer the last ping is cut.
  const keepAlive = setInterval(() => {
    for (const socket of sockets) {
      if (alive.get(socket) === false) {
        metrics.subscriptionRefusals.inc({ reason: 'keepalive' });
        socket.terminate();
        continue;
      }
      alive.set(socket, false);
      socket.ping();
    }
  }, config.keepAliveMs);
  keepAlive.unref();

  function refuseUpgrade(socket: Duplex, status: number, text: string, message: string) {
    const body = JSON.stringify({
      errors: [{ message, extensions: { code: status === 429 ? TOO_MANY_SUBSCRIPTIONS : 'SERVICE_UNAVAILABLE' } }],
    });
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = request.url ?? '';
    const pathname = url.split('?', 1)[0];
    if (pathname !== path) {
      socket.destroy();
      return;
    }
    if (closing) {
      refuseUpgrade(socket, 503, 'Service Unavailable', 'The router is shutting down; connect again');
      return;
    }
    const ip = clientIpOf(request);
    const release = limiter.acquire(ip, 'ws');
    if (typeof release !== 'function') {
      refuseUpgrade(
        socket,
        release.refused === 'per_ip' ? 429 : 503,
        release.refused === 'per_ip' ? 'Too Many Requests' : 'Service Unavailable',
        release.message,
      );
      return;
    }
    socket.on('error', () => {});
    wss.handleUpgrade(request, socket, head, (ws) => {
      sockets.add(ws);
      alive.set(ws, true);
      ws.on('pong', () => alive.set(ws, true));
      const extra: Extra = { socket: ws, request, ip, lives: new Map(), opening: 0 };
      let cut = false;
      const closed = gql.opened(
        {
          protocol: ws.protocol,
          send(data) {
            if (ws.readyState !== ws.OPEN || cut) return;
            // One answer larger than the bound still goes to a client that has read everything before it.
            if (ws.bufferedAmount > 0 && ws.bufferedAmount + Buffer.byteLength(data) > config.maxBufferedBytes) {
              // A client that does not read is not buffered for without end: it is told why and cut.
              cut = true;
              metrics.subscriptionRefusals.inc({ reason: 'slow_consumer' });
              ws.close(WS_CLOSE.slowConsumer, `Slow consumer: over ${config.maxBufferedBytes} bytes unsent`);
              // It may never read the close frame either.
              setTimeout(() => ws.terminate(), 1_000).unref();
              return;
            }
            ws.send(data);
          },
          close(code, reason) {
            ws.close(code, reason);
          },
          onMessage(cb) {
            ws.on('message', (data) => {
              cb(String(data)).catch((error: unknown) => {
                if (error instanceof SocketRefusal) {
                  ws.close(error.code, error.reason);
                  return;
                }
                log.error({ err: error }, 'subscriptions: a WebSocket message failed');
                ws.close(CloseCode.InternalServerError, 'Internal server error');
              });
            });
          },
        },
        extra,
      );
      ws.once('close', (code, reason) => {
        sockets.delete(ws);
        disarmIdle(extra);
        release();
        for (const live of extra.lives.values()) void live.return();
        extra.lives.clear();
        void closed(code, String(reason));
      });
      ws.on('error', (error) => log.debug({ err: error }, 'subscriptions: WebSocket error'));
    });
  };
  server.on('upgrade', onUpgrade);

  return {
    async close() {
      closing = true;
      clearInterval(keepAlive);
      server.off('upgrade', onUpgrade);
      const all = [...sockets];
      await Promise.all(
        all.map(
          (ws) =>
            new Promise<void>((resolve) => {
              if (ws.readyState === ws.CLOSED) return resolve();
              const timer = setTimeout(() => {
                ws.terminate();
                resolve();
              }, 2_000);
              timer.unref();
              ws.once('close', () => {
                clearTimeout(timer);
                resolve();
              });
              ws.close(WS_CLOSE.goingAway, 'Router shutting down; reconnect');
            }),
        ),
      );
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** Thrown in a graphql-ws hook to close the socket with this code and reason (at most 123 bytes). */
class SocketRefusal extends Error {
  readonly reason: string;
  constructor(
    readonly code: number,
    reason: string,
  ) {
    super(reason);
    this.reason = Buffer.byteLength(reason) > 123 ? `${reason.slice(0, 100)}…` : reason;
  }
}
