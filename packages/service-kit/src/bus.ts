import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Logger } from './logger.ts';
import { createRedis } from './redis.ts';

/**
 * The invalidation bus. A service that changes data publishes the tags of what changed
 * (`Product:p42`, `Order:o17`); every cache layer on every replica subscribes and drops the
 * entries carrying those tags.
 *
 * With REDIS_URL: Redis pub/sub on one channel, so every process hears every change.
 * Without: one emitter per process, shared by everything in it — enough for `npm start`, which
 * runs all services in one process.
 */
export interface InvalidationBus {
  publish(tags: readonly string[]): Promise<void>;
  subscribe(handler: (tags: string[]) => void): () => void;
  close(): Promise<void>;
}

export const INVALIDATION_CHANNEL = 'shop:invalidate';

const processEmitter = new EventEmitter().setMaxListeners(100);

export function createInvalidationBus({ redisUrl, logger, onPublishError }: {
  redisUrl?: string | undefined;
  logger: Logger;
  onPublishError?: (error: unknown) => void;
}): InvalidationBus {
  if (!redisUrl) {
    return {
      async publish(tags) {
        if (tags.length) processEmitter.emit('tags', [...tags]);
      },
      subscribe(handler) {
        processEmitter.on('tags', handler);
        return () => processEmitter.off('tags', handler);
      },
      async close() {},
    };
  }
  const publisher = createRedis(redisUrl, { logger, commandTimeoutMs: 500 });
  let subscriber: Redis | undefined;
  const local = new EventEmitter().setMaxListeners(100);
  const ensureSubscriber = () => {
    if (subscriber) return;
    // A subscribed connection cannot run other commands, so it is a client of its own; it
    // resubscribes by itself after reconnecting.
    subscriber = createRedis(redisUrl, { logger, commandTimeoutMs: 0 });
    subscriber.on('ready', () => void subscriber!.subscribe(INVALIDATION_CHANNEL).catch(() => {}));
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== INVALIDATION_CHANNEL) return;
      try {
        const tags = JSON.parse(message) as unknown;
        if (Array.isArray(tags)) local.emit('tags', tags.filter((t): t is string => typeof t === 'string'));
      } catch {
        logger.warn({ message }, 'ignored a malformed invalidation message');
      }
    });
  };
  return {
    async publish(tags) {
      if (!tags.length) return;
      try {
        await publisher.publish(INVALIDATION_CHANNEL, JSON.stringify(tags));
      } catch (error) {
        // Redis is down: this process's caches still hear it; others expire by TTL.
        onPublishError?.(error);
        logger.warn({ err: error, tags }, 'could not publish invalidation; delivering in this process only');
        local.emit('tags', [...tags]);
      }
    },
    subscribe(handler) {
      ensureSubscriber();
      local.on('tags', handler);
      return () => local.off('tags', handler);
    },
    async close() {
      publisher.disconnect();
      subscriber?.disconnect();
    },
  };
}
