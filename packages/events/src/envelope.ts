import { v7 as uuidv7 } from 'uuid';
import { aggregateOf, type EventData, type EventType } from './catalogue.ts';

/**
 * What travels on the stream, one per change (see DESIGN.md "Events").
 *  - `id`: a UUIDv7 (time-ordered), also the stream's message id: a re-publish is dropped.
 *  - `version`: the version of this type's `data` shape (1 for all today); a consumer that meets
 *    a version it does not know leaves the event to the dead-letter subject rather than guess.
 *  - `tags`: the cache tags (`Product:p42`, bare `Product` for lists) the change makes stale;
 *    every cache layer on every replica drops them when the event arrives.
 *  - `traceparent`: the W3C trace context of the request that made the change, when traced.
 */
export interface EventEnvelope<T extends EventType = EventType> {
  id: string;
  type: T;
  aggregate: string;
  aggregateId: string;
  version: number;
  occurredAt: string;
  data: EventData[T];
  tags: string[];
  traceparent?: string | undefined;
}

/** What a write declares; `createEnvelope` adds the id, aggregate, version and time. */
export interface NewEvent<T extends EventType = EventType> {
  type: T;
  aggregateId: string;
  data: EventData[T];
  /** The cache tags this change makes stale ([] when it changed nothing a cache shows). */
  tags: readonly string[];
}

/** A `NewEvent` of any type, as a write's list holds them. */
export type AnyNewEvent = { [T in EventType]: NewEvent<T> }[EventType];

export const ENVELOPE_VERSION = 1;

/** Builds a NewEvent with its type checked against the catalogue. */
export function event<T extends EventType>(type: T, aggregateId: string, data: EventData[T], tags: readonly string[]): NewEvent<T> {
  return { type, aggregateId, data, tags };
}

export function createEnvelope(
  { type, aggregateId, data, tags }: NewEvent,
  { now = new Date(), traceparent }: { now?: Date; traceparent?: string | undefined } = {},
): EventEnvelope {
  return {
    id: uuidv7({ msecs: now.getTime() }),
    type,
    aggregate: aggregateOf(type),
    aggregateId,
    version: ENVELOPE_VERSION,
    occurredAt: now.toISOString(),
    data,
    tags: [...tags],
    ...(traceparent ? { traceparent } : {}),
  };
}

/** Every tag of a set of events, once each. */
export function tagsOfEvents(events: readonly { tags: readonly string[] }[]): string[] {
  return [...new Set(events.flatMap((e) => e.tags))];
}
