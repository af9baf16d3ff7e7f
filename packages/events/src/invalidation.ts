import { createInvalidationBus, type InvalidationBus, type InvalidationHandler, type Logger } from '@shop/platform';
import type { EventMetrics } from './metrics.ts';
import type { EventStream, Follower } from './stream.ts';

/**
 * The tag a bus hands its handlers when it may have missed changes (its stream follower found a
 * gap: events it never heard are gone from the stream). A handler that receives `['*']` must drop
 * EVERYTHING it caches, not entries tagged `*`.
 */
export const ALL_TAGS = '*';

/**
 * Invalidation over the event stream. Every event carries the cache tags it makes stale; each
 * process follows the stream and drops them, so the outbox that made the event durable also makes
 * its invalidation reach every replica (a Redis message sent after the commit could be lost).
 *
 * `publish` delivers to this bus's own handlers only and resolves after they ran: the writer reads
 * its own writes at once, and the other processes hear it when the outbox relay puts the event on
 * the stream. It never rejects (a failing handler is logged). The follower starts on the first
 * `subscribe`, so a process that caches nothing follows nothing.
 */
export function createStreamInvalidationBus({
  stream,
  logger,
}: {
  stream: EventStream;
  logger: Logger;
  /** Accepted for symmetry with openInvalidationBus; the stream counts followed events and gaps itself. */
  metrics?: EventMetrics | undefined;
}): InvalidationBus {
  const handlers = new Set<InvalidationHandler>();
  let follower: Follower | undefined;
  let closed = false;

  const deliver = async (tags: readonly string[]) => {
    const results = await Promise.allSettled([...handlers].map(async (handler) => handler([...tags])));
    for (const result of results) {
      if (result.status === 'rejected') logger.error({ err: result.reason, tags }, 'an invalidation handler failed');
    }
  };

  const ensureFollower = () => {
    if (follower || closed) return;
    follower = stream.follow({
      event: async (event) => {
        if (event.tags.length) await deliver(event.tags);
      },
      gap: () => {
        logger.warn('the event stream no longer holds events this process missed; every cache is dropped');
        void deliver([ALL_TAGS]);
      },
    });
  };

  return {
    async publish(tags) {
      if (tags.length) await deliver(tags);
    },
    subscribe(handler) {
      handlers.add(handler);
      ensureFollower();
      return () => handlers.delete(handler);
    },
    async close() {
      closed = true;
      handlers.clear();
      const f = follower;
      follower = undefined;
      await f?.stop();
    },
  };
}

/**
 * The invalidation bus of a service: over the stream when it is JetStream (every process hears
 * every event's tags), else the Redis (REDIS_URL) or in-process bus of @shop/platform, unchanged.
 */
export function openInvalidationBus({
  stream,
  redisUrl,
  channel,
  logger,
  metrics,
  onPublishError,
}: {
  stream: EventStream;
  redisUrl: string | undefined;
  channel?: string | undefined;
  logger: Logger;
  metrics?: EventMetrics | undefined;
  onPublishError?: ((error: unknown) => void) | undefined;
}): InvalidationBus {
  if (stream.kind === 'jetstream') return createStreamInvalidationBus({ stream, logger, metrics });
  return createInvalidationBus({
    redisUrl,
    logger,
    ...(channel !== undefined ? { channel } : {}),
    ...(onPublishError ? { onPublishError } : {}),
  });
}
