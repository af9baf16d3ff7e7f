import { randomUUID } from 'node:crypto';
import { DEFAULT_CACHE_KEY_PREFIX } from './config.ts';
import type { Logger } from './logger.ts';
import { createRedis, type RedisClient, withDeadline } from './redis.ts';

/** How long a write waits for Redis to accept its invalidation before going on without it. */
const PUBLISH_TIMEOUT_MS = 500;

/**
 * The invalidation bus. A service that changes data publishes the tags of what changed
 * (`Product:p42`, `Order:o17`); every cache layer on every replica subscribes and drops the
 * entries carrying those tags.
 *
 * With REDIS_URL: Redis pub/sub on one channel, so every process hears every change. On a Redis
 * Cluster too: a PUBLISH reaches the subscribers of every node (the cluster forwards it), and the
 * subscribing client picks a node of its own and moves to another if that one goes.
 * Without: one handler set per process, shared by everything in it — enough for `npm start`,
 * which runs all services in one process.
 *
 * `publish` resolves only after this bus's own subscribers have dropped the tags, so a service
 * reads its own writes on the very next request; other processes hear it moments later over
 * Redis. It never rejects: a write that committed must not fail because its news could not travel.
 */
export type InvalidationHandler = (tags: string[]) => void | Promise<void>;

export interface InvalidationBus {
  publish(tags: readonly string[]): Promise<void>;
  subscribe(handler: InvalidationHandler): () => void;
  close(): Promise<void>;
}

/** The channel for a key prefix: deployments (or test runs) with their own prefix hear only themselves. */
export const invalidationChannel = (keyPrefix: string) => `${keyPrefix}invalidate`;
export const INVALIDATION_CHANNEL = invalidationChannel(DEFAULT_CACHE_KEY_PREFIX);

const processHandlers = new Map<string, Set<InvalidationHandler>>();

export function createInvalidationBus({
  redisUrl,
  logger,
  channel = INVALIDATION_CHANNEL,
  onPublishError,
}: {
  redisUrl?: string | undefined;
  logger: Logger;
  channel?: string;
  onPublishError?: (error: unknown) => void;
}): InvalidationBus {
  const deliver = async (handlers: Iterable<InvalidationHandler>, tags: readonly string[]) => {
    const results = await Promise.allSettled([...handlers].map(async (handler) => handler([...tags])));
    for (const result of results) {
      if (result.status === 'rejected') logger.error({ err: result.reason, tags }, 'an invalidation handler failed');
    }
  };

  if (!redisUrl) {
    let handlers = processHandlers.get(channel);
    if (!handlers) processHandlers.set(channel, (handlers = new Set()));
    const shared = handlers;
    return {
      async publish(tags) {
        if (tags.length) await deliver(shared, tags);
      },
      subscribe(handler) {
        shared.add(handler);
        return () => shared.delete(handler);
      },
      async close() {},
    };
  }

  // Messages carry the publishing bus's id: it has already delivered to its own subscribers and
  // ignores its echo, so each subscriber hears each change once.
  const origin = randomUUID();
  const local = new Set<InvalidationHandler>();
  // The client's timeout is a backstop; the wait is bounded by withDeadline, which does not take a
  // stalled event loop for a slow Redis.
  const publisher = createRedis(redisUrl, { logger, commandTimeoutMs: 4 * PUBLISH_TIMEOUT_MS });
  let subscriber: RedisClient | undefined;
  const ensureSubscriber = () => {
    if (subscriber) return;
    // A subscribed connection cannot run other commands, so it is a client of its own; it
    // resubscribes by itself after reconnecting.
    const client = createRedis(redisUrl, { logger, commandTimeoutMs: 0 });
    subscriber = client;
    client.on('ready', () => void client.subscribe(channel).catch(() => {}));
    client.on('message', (from: string, message: string) => {
      if (from !== channel) return;
      const tags = parseMessage(message, origin);
      if (tags === undefined) logger.warn({ message }, 'ignored a malformed invalidation message');
      else if (tags.length) void deliver(local, tags);
    });
  };
  return {
    async publish(tags) {
      if (!tags.length) return;
      const remote = withDeadline(publisher.publish(channel, JSON.stringify({ origin, tags })), PUBLISH_TIMEOUT_MS).then(
        () => {},
        (error: unknown) => {
          // Redis is down or slow: this process's caches heard it; others may only expire by TTL.
          onPublishError?.(error);
          logger.warn({ err: error, tags }, 'could not publish invalidation to Redis; delivered in this process');
        },
      );
      await Promise.all([deliver(local, tags), remote]);
    },
    subscribe(handler) {
      ensureSubscriber();
      local.add(handler);
      return () => local.delete(handler);
    },
    async close() {
      local.clear();
      publisher.disconnect();
      subscriber?.disconnect();
    },
  };
}

/** The tags of a message from another bus; [] for this bus's own echo; undefined when malformed. */
function parseMessage(message: string, ownOrigin: string): string[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return undefined;
  }
  const strings = (value: unknown) => (Array.isArray(value) ? value.filter((t): t is string => typeof t === 'string') : undefined);
  // A bare array is what a publisher without an origin sends (a script, an older replica).
  if (Array.isArray(parsed)) return strings(parsed);
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { origin, tags } = parsed as { origin?: unknown; tags?: unknown };
  if (origin === ownOrigin) return [];
  return strings(tags);
}
