import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { GraphQLFormattedError } from 'graphql';
import type { TransportParts } from './connections.ts';
import { BoundedStream, identityOf, paramsOf, slowConsumerError } from './http.ts';
import { formatted, TOO_MANY_SUBSCRIPTIONS, type SubscriptionManager } from './manager.ts';

const BOUNDARY = 'graphql';
// Each part is written with the boundary that closes it: a client hands a part on only once it
// sees the next boundary, so a result must not wait for the one after it.
const OPEN = `\r\n--${BOUNDARY}`;
const END = '--\r\n';

/** Apollo's multipart subscriptions: what Apollo Client (and Apollo Kotlin and iOS) send a subscription with over plain HTTP. */
export const wantsMultipartSubscription = (request: FastifyRequest): boolean =>
  /multipart\/mixed[^,]*subscriptionSpec/i.test(String(request.headers.accept ?? ''));

export interface MultipartTransport {
  /** Ends every response with a last SHUTTING_DOWN error part, so clients subscribe again (elsewhere). */
  close(): void;
}

/**
 * GraphQL subscriptions over multipart HTTP (Apollo's protocol, `Accept:
 * multipart/mixed;subscriptionSpec="1.0"`), on `path` itself: a POST (or GET) of the
 * subscription answered with `multipart/mixed; boundary="graphql"`, one part per result
 * (`{"payload": {...}}`), `{}` as the heartbeat, and a last part with top-level `errors` when the
 * router ends it. An app-level preHandler, so the request has passed the route's rate limit,
 * size and shape checks, and no cache or request sharing (route preHandlers) sees it.
 */
export function registerMultipart({
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
}): MultipartTransport {
  let closing = false;
  const open = new Set<BoundedStream>();
  const part = (body: unknown) => `\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(body)}\r\n--${BOUNDARY}`;
  const final = (errors: readonly GraphQLFormattedError[]) => `${part({ payload: null, errors })}${END}`;

  app.addHook('preHandler', async (request, reply) => {
    if (request.routeOptions.url !== path || !wantsMultipartSubscription(request)) return;
    if (request.method !== 'POST' && request.method !== 'GET') return;
    const refuse = (status: number, errors: GraphQLFormattedError[]) =>
      reply.code(status).header('content-type', 'application/json; charset=utf-8').send({ errors });
    if (closing) return refuse(503, [formatted('The router is shutting down; subscribe again', 'SHUTTING_DOWN')]);
    const identity = await identityOf(request, verify);
    if ('message' in identity) return refuse(401, [identity]);
    const params = paramsOf(request);
    if ('message' in params) return refuse(400, [params]);
    const release = limiter.acquire(request.ip, 'multipart');
    if (typeof release !== 'function') {
      return refuse(release.refused === 'per_ip' ? 429 : 503, [
        formatted(release.message, release.refused === 'per_ip' ? TOO_MANY_SUBSCRIPTIONS : 'SERVICE_UNAVAILABLE'),
      ]);
    }
    let opened: Awaited<ReturnType<SubscriptionManager['open']>>;
    try {
      opened = await manager.open(params, identity);
    } catch (error) {
      release();
      throw error;
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': `multipart/mixed; boundary="${BOUNDARY}"; subscriptionSpec="1.0"`,
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    if (Array.isArray(opened)) {
      // Refused for what it asks: one result with the errors, and the end.
      res.end(`${OPEN}${part({ payload: { errors: opened } })}${END}`);
      release();
      return reply;
    }
    const live = opened;
    const out = new BoundedStream(res, config.maxBufferedBytes, metrics, () => final([slowConsumerError(config.maxBufferedBytes)]));
    open.add(out);
    // A heartbeat at once: the client has the headers and a first part before any event.
    out.write(`${OPEN}${part({})}`);
    const heartbeat = setInterval(() => out.write(part({})), config.keepAliveMs);
    heartbeat.unref();
    res.once('close', () => {
      clearInterval(heartbeat);
      open.delete(out);
      release();
      void live.return();
    });
    void (async () => {
      for (;;) {
        const step = await live.next();
        if (step.done) break;
        const { result, occurredAt } = step.value;
        if (occurredAt !== undefined) metrics.subscriptionDelivery.observe((Date.now() - occurredAt) / 1_000);
        if (!out.write(part({ payload: result }))) return void (await live.return());
      }
      if (out.open && !closing) res.end(END);
    })().catch((error: unknown) => {
      log.error({ err: error }, 'subscriptions: a multipart subscription failed');
      if (out.open) res.end(final([formatted('The subscription failed', 'INTERNAL_SERVER_ERROR')]));
    });
    return reply;
  });

  return {
    close() {
      closing = true;
      for (const out of [...open]) {
        // Its connection goes too: left idle on keep-alive it would hold the listener's close.
        if (out.open)
          out.res.end(final([formatted('The router is shutting down; subscribe again', 'SHUTTING_DOWN')]), () => out.res.socket?.destroy());
      }
      open.clear();
    },
  };
}
