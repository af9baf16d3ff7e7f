import { EVENT_TYPES, type EventType } from './catalogue.ts';
import type { EventEnvelope } from './envelope.ts';

/**
 * The stream port. Two implementations: NATS JetStream (`jetstream.ts`, when NATS_URL is set)
 * and an in-process stream (`in-process.ts`, `npm start` with nothing installed). Both give:
 *  - `publish`: stored once per event id (a re-publish of the same id is dropped);
 *  - `consume`: a durable consumer — every event of its types reaches ONE process among those
 *    that run a consumer of that name (replicas of a service share the work), again after a
 *    restart from where the name left off; a handler that throws gets the event again after a
 *    backoff, and after `maxDeliver` attempts the event goes to the dead-letter subject;
 *  - `follow`: every event, to EVERY follower (each process's caches), from the moment it starts;
 *    after a disconnect it resumes from its last position, and calls `gap` when events it missed
 *    are no longer in the stream.
 */
export interface EventStream {
  readonly kind: 'jetstream' | 'in-process';
  /** Resolves when the stream has stored every event (or already had it); rejects when it could not. */
  publish(events: readonly EventEnvelope[]): Promise<void>;
  consume(spec: ConsumerSpec, handler: EventHandler): Consumer;
  follow(handlers: FollowHandlers): Follower;
  close(): Promise<void>;
}

export interface ConsumerSpec {
  /** The durable name, unique per service and purpose (`inventory-order-shipped`). */
  name: string;
  types: readonly EventType[];
  /** Attempts before the event goes to the dead-letter subject (default DEFAULT_MAX_DELIVER). */
  maxDeliver?: number | undefined;
  /** Wait before each retry, by attempt (the last repeats); default DEFAULT_BACKOFF_MS. */
  backoffMs?: readonly number[] | undefined;
}

export const DEFAULT_MAX_DELIVER = 5;
export const DEFAULT_BACKOFF_MS: readonly number[] = [250, 1_000, 5_000, 15_000];

export interface Delivery {
  /** 1 on first delivery, 2 on the first retry, … */
  attempt: number;
}

export type EventHandler = (event: EventEnvelope, delivery: Delivery) => Promise<void>;

export interface Consumer {
  /** Stops taking events; resolves once the handler in flight (if any) has finished. */
  stop(): Promise<void>;
}

export interface FollowHandlers {
  /**
   * `sequence` is the event's position in the stream: it grows with every event, and with
   * JetStream every process that follows the stream sees the same number for the same event (the
   * router's SSE event ids are these, so a client resumes on any replica).
   */
  event(event: EventEnvelope, position: { sequence: number }): void | Promise<void>;
  /** Events this follower missed are gone from the stream: drop everything derived from them. */
  gap?(): void;
}

export interface Follower {
  stop(): Promise<void>;
}

/** The subject an event type travels on: `shop.order.shipped`. */
export const subjectOf = (prefix: string, type: EventType | string): string => `${prefix}.${type}`;
/** Where a consumer's failed event goes: `shop-dlq.inventory-order-shipped.order.shipped`. */
export const deadLetterSubjectOf = (prefix: string, consumer: string, type: string): string => `${prefix}-dlq.${consumer}.${type}`;

/**
 * Throws on a spec neither stream could run: a durable name JetStream would refuse (both streams
 * check it, so `npm start` fails the same way a deployment would), or a type not in the catalogue.
 */
export function assertConsumerSpec(spec: ConsumerSpec): void {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(spec.name)) {
    throw new Error(`consumer name "${spec.name}" must be 1 to 128 letters, digits, '_' or '-'`);
  }
  for (const type of spec.types) {
    if (!Object.hasOwn(EVENT_TYPES, type)) throw new Error(`consumer ${spec.name}: "${type}" is not an event type of the catalogue`);
  }
  if (spec.maxDeliver !== undefined && !(Number.isInteger(spec.maxDeliver) && spec.maxDeliver >= 1)) {
    throw new Error(`consumer ${spec.name}: maxDeliver must be a whole number of at least 1`);
  }
  if (spec.backoffMs?.some((ms) => !(Number.isFinite(ms) && ms >= 0))) {
    throw new Error(`consumer ${spec.name}: backoffMs must be durations of at least 0 ms`);
  }
}
