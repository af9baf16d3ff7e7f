import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GraphQLFormattedError } from 'graphql';
import type { TransportParts } from './connections.ts';
import { BoundedStream, identityOf, paramsOf, slowConsumerError } from './http.ts';
import type { LiveSubscription } from './live.ts';
import { formatted, TOO_MANY_SUBSCRIPTIONS, type SubscriberIdentity, type SubscriptionManager } from './manager.ts';

/** graphql-sse's names for the single-connection token. */
const TOKEN_HEADER = 'x-graphql-event-stream-token';
const TOKEN_QUERY = 'token';

interface OpenStream {
  res: ServerResponse;
  /** Every write, bounded in unsent bytes (SUBSCRIPTION_MAX_BUFFERED_BYTES). */
  out: BoundedStream;
  ping: NodeJS.Timeout;
  idle?: NodeJS.Timeout | undefined;
  release: () => void;
}

/** A single-connection-mode reservation (PUT), its stream once opened (GET) and its operations (POST). */
interface Reservation {
  owner: string;
  release: () => void;
  expiry?: NodeJS.Timeout | undefined;
  stream?: OpenStream | undefined;
  ops: Map<string, LiveSubscription>;
  opening: number;
}

export interface SseTransport {
  /** Ends every stream (no `complete`: clients reconnect elsewhere, with Last-Event-ID). */
  close(): void;
}

/**
 * GraphQL over Server-Sent Events at `path`, the graphql-sse package's protocol in both modes:
 * - distinct connections: `GET` (query string) or `POST` (JSON) with `Accept: text/event-stream`,
 *   one operation per response: `event: next` per result, `event: complete` at its end;
 * - single connection: `PUT` reserves a token (201, text/plain), `GET` with the token opens the
 *   stream, `POST {…, extensions: { operationId }}` runs an operation on it (202), `DELETE
 *   ?operationId=` stops one.
 * Each result from an event carries `id: <stream sequence>`; a client that comes back with
 * `Last-Event-ID` (as EventSource does by itself) first gets what changed while it was away,
 * within SUBSCRIPTION_RESUME_WINDOW_MS (distinct mode, where one response is one operation).
 */
export function registerSse({
  app,
  path,
  config,
  manager,
  verify,
  limiter,
  log,
  metrics,
}: TransportParts & {
  app: FastifyInstance;
}): SseTransport {
  let closing = false;
  const streams = new Set<OpenStream>();
  const reservations = new Map<string, Reservation>();

  const ownerOf = (identity: SubscriberIdentity) => identity.viewer?.userId ?? '';

  function json(reply: FastifyReply, status: number, errors: readonly GraphQLFormattedError[]) {
    return reply.code(status).header('content-type', 'application/json; charset=utf-8').send({ errors });
  }

  const statusOf = (error: GraphQLFormattedError | undefined) => {
    switch (error?.extensions?.code) {
      case 'UNAUTHENTICATED':
        return 401;
      case 'FORBIDDEN':
        return 403;
      case TOO_MANY_SUBSCRIPTIONS:
        return 429;
      case 'SHUTTING_DOWN':
      case 'SERVICE_UNAVAILABLE':
      case 'SUBGRAPH_UNAVAILABLE':
        return 503;
      default:
        return 400;
    }
  };

  /** Starts an event-stream response; every write to it goes through `write`, which holds the byte bound. */
  function openStream(reply: FastifyReply, release: () => void): OpenStream {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      // Proxies that buffer (nginx) would hold every update back.
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    const stream: OpenStream = {
      res,
      out: new BoundedStream(res, config.maxBufferedBytes, metrics, () =>
        message('next', { errors: [slowConsumerError(config.maxBufferedBytes)] }),
      ),
      release,
      ping: setInterval(() => write(stream, ':\n\n'), config.keepAliveMs),
    };
    stream.ping.unref();
    streams.add(stream);
    res.once('close', () => {
      clearInterval(stream.ping);
      clearTimeout(stream.idle);
      streams.delete(stream);
      release();
    });
    return stream;
  }

  const write = (stream: OpenStream, text: string): boolean => stream.out.write(text);

  const message = (event: 'next' | 'complete', data: unknown, id?: number) =>
    `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata:${data === null ? '' : ` ${JSON.stringify(data)}`}\n\n`;

  /** Sends `live`'s results to `stream` until it ends; `operationId` in single-connection mode. */
  async function pump(stream: OpenStream, live: LiveSubscription, operationId: string | undefined): Promise<void> {
    // Single-connection mode: the reservation's own close handler ends every operation on it (one
    // listener per stream, however many operations).
    if (operationId === undefined) stream.res.once('close', () => void live.return());
    for (;;) {
      const step = await live.next();
      if (step.done) break;
      const { result, sequence, occurredAt } = step.value;
      if (occurredAt !== undefined) metrics.subscriptionDelivery.observe((Date.now() - occurredAt) / 1_000);
      if (!write(stream, message('next', operationId ? { id: operationId, payload: result } : result, sequence))) {
        await live.return();
        return;
      }
    }
    // Ended by the router's shutdown: no `complete`, so the client reconnects (elsewhere).
    if (closing) return;
    write(stream, message('complete', operationId ? { id: operationId } : null));
  }

  function armIdle(reservation: Reservation) {
    const stream = reservation.stream;
    if (!stream) return;
    clearTimeout(stream.idle);
    if (reservation.ops.size || reservation.opening) return;
    stream.idle = setTimeout(() => {
      metrics.subscriptionRefusals.inc({ reason: 'idle' });
      stream.res.end();
    }, config.idleTimeoutMs);
    stream.idle.unref();
  }

  function tokenOf(request: FastifyRequest): string | undefined {
    const header = request.headers[TOKEN_HEADER];
    if (typeof header === 'string' && header) return header;
    const query = (request.query as Record<string, unknown> | undefined)?.[TOKEN_QUERY];
    return typeof query === 'string' && query ? query : undefined;
  }

  app.route({
    method: ['GET', 'POST', 'PUT', 'DELETE'],
    url: path,
    bodyLimit: config.maxMessageBytes,
    async handler(request, reply) {
      if (closing) return json(reply, 503, [formatted('The router is shutting down; connect again', 'SHUTTING_DOWN')]);
      const identity = await identityOf(request, verify);
      if ('message' in identity) return json(reply, statusOf(identity), [identity]);
      const accept = String(request.headers.accept ?? '*/*');
      const wantsStream = accept.split(',').some((part) => part.trim().startsWith('text/event-stream'));
      const token = tokenOf(request);
      const reservation = token ? reservations.get(token) : undefined;
      if (token && !reservation) return json(reply, 404, [formatted('Stream not found', 'NOT_FOUND')]);
      if (reservation && reservation.owner !== ownerOf(identity))
        return json(reply, 403, [formatted('This stream belongs to someone else', 'FORBIDDEN')]);

      // Single connection: reserve a token.
      if (request.method === 'PUT') {
        if (!['*/*', 'text/plain'].some((type) => accept.includes(type))) return reply.code(406).send();
        const release = limiter.acquire(request.ip, 'sse');
        if (typeof release !== 'function')
          return json(reply, release.refused === 'per_ip' ? 429 : 503, [
            formatted(release.message, release.refused === 'per_ip' ? TOO_MANY_SUBSCRIPTIONS : 'SERVICE_UNAVAILABLE'),
          ]);
        const issued = randomUUID();
        const entry: Reservation = { owner: ownerOf(identity), release, ops: new Map(), opening: 0 };
        // A token nobody opens within the init timeout is dropped, as a silent WebSocket is.
        entry.expiry = setTimeout(() => {
          if (entry.stream) return;
          reservations.delete(issued);
          release();
        }, config.initTimeoutMs);
        entry.expiry.unref();
        reservations.set(issued, entry);
        return reply.code(201).header('content-type', 'text/plain; charset=utf-8').send(issued);
      }

      if (request.method === 'DELETE') {
        if (!reservation) return json(reply, 404, [formatted('Stream not found', 'NOT_FOUND')]);
        const operationId = (request.query as Record<string, unknown> | undefined)?.operationId;
        if (typeof operationId !== 'string' || !operationId) return json(reply, 400, [formatted('Operation ID is missing', 'BAD_REQUEST')]);
        const live = reservation.ops.get(operationId);
        reservation.ops.delete(operationId);
        await live?.return();
        armIdle(reservation);
        return reply.code(200).send();
      }

      // Single connection: open the reserved stream.
      if (reservation && wantsStream) {
        if (reservation.stream) return json(reply, 409, [formatted('Stream already open', 'BAD_REQUEST')]);
        clearTimeout(reservation.expiry);
        const stream = openStream(reply, reservation.release);
        reservation.stream = stream;
        stream.res.once('close', () => {
          for (const live of reservation.ops.values()) void live.return();
          reservation.ops.clear();
          reservations.delete(token!);
        });
        armIdle(reservation);
        return reply;
      }

      // Single connection: an operation onto the open stream.
      if (reservation) {
        if (request.method !== 'POST') return reply.code(405).header('allow', 'GET, POST, PUT, DELETE').send();
        const stream = reservation.stream;
        if (!stream) return json(reply, 404, [formatted('Stream not open: GET it with the token first', 'NOT_FOUND')]);
        const params = paramsOf(request);
        if ('message' in params) return json(reply, 400, [params]);
        const operationId = params.extensions?.operationId;
        if (typeof operationId !== 'string' || !operationId || operationId.length > 128) {
          return json(reply, 400, [formatted('extensions.operationId (1 to 128 characters) is missing', 'BAD_REQUEST')]);
        }
        if (reservation.ops.has(operationId))
          return json(reply, 409, [formatted(`Operation ${operationId} is already running`, 'BAD_REQUEST')]);
        if (reservation.ops.size + reservation.opening >= config.maxPerConnection) {
          metrics.subscriptionRefusals.inc({ reason: 'per_connection' });
          return json(reply, 429, [
            formatted(`At most ${config.maxPerConnection} subscriptions per connection at once`, TOO_MANY_SUBSCRIPTIONS, {
              limit: config.maxPerConnection,
            }),
          ]);
        }
        const { operationId: _, ...extensions } = params.extensions ?? {};
        reservation.opening++;
        clearTimeout(stream.idle);
        let opened: Awaited<ReturnType<SubscriptionManager['open']>>;
        try {
          opened = await manager.open({ ...params, extensions }, identity);
        } finally {
          reservation.opening--;
        }
        if (Array.isArray(opened)) {
          // Refusals go on the stream as the operation's one result, as graphql-sse does with
          // validation errors: its client retries any non-202 answer as a network failure.
          write(stream, message('next', { id: operationId, payload: { errors: opened } }));
          write(stream, message('complete', { id: operationId }));
          armIdle(reservation);
          return reply.code(202).send();
        }
        const live = opened;
        if (stream.res.writableEnded || stream.res.destroyed) {
          await live.return();
          return json(reply, 404, [formatted('Stream not open', 'NOT_FOUND')]);
        }
        reservation.ops.set(operationId, live);
        void pump(stream, live, operationId)
          .catch((error: unknown) => log.error({ err: error }, 'subscriptions: an SSE operation failed'))
          .finally(() => {
            if (reservation.ops.get(operationId) === live) reservation.ops.delete(operationId);
            armIdle(reservation);
          });
        return reply.code(202).send();
      }

      // Distinct connections: this response is the operation's stream.
      if (!wantsStream) return json(reply, 406, [formatted('Send Accept: text/event-stream, or reserve a stream with PUT', 'BAD_REQUEST')]);
      const params = paramsOf(request);
      if ('message' in params) return json(reply, 400, [params]);
      const lastEventId = request.headers['last-event-id'];
      const resumeAfter = typeof lastEventId === 'string' && /^\d{1,15}$/.test(lastEventId.trim()) ? Number(lastEventId.trim()) : undefined;
      const release = limiter.acquire(request.ip, 'sse');
      if (typeof release !== 'function')
        return json(reply, release.refused === 'per_ip' ? 429 : 503, [
          formatted(release.message, release.refused === 'per_ip' ? TOO_MANY_SUBSCRIPTIONS : 'SERVICE_UNAVAILABLE'),
        ]);
      let opened: Awaited<ReturnType<SubscriptionManager['open']>>;
      try {
        opened = await manager.open(params, identity, { resumeAfter });
      } catch (error) {
        release();
        throw error;
      }
      if (Array.isArray(opened)) {
        if (opened.some((error) => statusOf(error) === 429 || statusOf(error) === 503)) {
          release();
          return json(reply, statusOf(opened[0]), opened);
        }
        // Refused for what it asks (validation, limits, access): one result with the errors, then
        // complete, on a 200 stream as graphql-sse does; its client retries non-2xx answers.
        const stream = openStream(reply, release);
        write(stream, message('next', { errors: opened }));
        write(stream, message('complete', null));
        stream.res.end();
        return reply;
      }
      const live = opened;
      // The client may have gone while Apollo checked the operation (its request body is read, so
      // the request stream itself is always "destroyed" by now: the socket says).
      if (request.raw.socket.destroyed || reply.raw.destroyed) {
        release();
        await live.return();
        return reply;
      }
      const stream = openStream(reply, release);
      void pump(stream, live, undefined)
        .catch((error: unknown) => log.error({ err: error }, 'subscriptions: an SSE stream failed'))
        .finally(() => {
          if (!stream.res.writableEnded) stream.res.end();
        });
      return reply;
    },
  });

  return {
    close() {
      closing = true;
      for (const reservation of reservations.values()) {
        clearTimeout(reservation.expiry);
        if (!reservation.stream) reservation.release();
      }
      for (const stream of [...streams]) {
        clearInterval(stream.ping);
        // Its connection goes too: left idle on keep-alive it would hold the listener's close
        // until the client dropped it.
        stream.res.end(() => stream.res.socket?.destroy());
      }
      reservations.clear();
    },
  };
}
