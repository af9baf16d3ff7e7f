import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { listenerTimeouts, type Logger } from '@shop/platform';
import type { RouterConfig } from './config.ts';
import { fastifyTrustProxy } from './rate-limit.ts';
import { BODY_LIMIT } from './stages/errors.ts';

/** The router's HTTP server, before any stage or route is on it. */
export function createHttpApp(config: RouterConfig, log: Logger): FastifyInstance {
  return Fastify({
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    // A client trickling its headers or body, or idling on keep-alive, is cut off (408 / close).
    ...listenerTimeouts(config.listener),
    // On close, idle keep-alive sockets are closed at once; busy ones finish their request (sent
    // with `Connection: close`), so keep-alive clients cannot hold a draining router open.
    forceCloseConnections: 'idle',
    // TRUST_PROXY: behind a load balancer, request.ip (the rate limit's key) is the real client's.
    trustProxy: fastifyTrustProxy(config.trustProxy),
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && /^[\w-]{1,64}$/.test(given) ? given : randomUUID();
    },
  }) as unknown as FastifyInstance;
}
