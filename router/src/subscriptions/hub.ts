import type { EventEnvelope, EventStream, Follower } from '@shop/events';
import type { Logger } from '@shop/platform';
import { eventKeys, type EventKey } from './fields.ts';

/** A subscription as the hub sees it: told which of its entities an event changed. */
export interface HubListener {
  /** `occurredAt`: when the event happened (ms since the epoch), for the delivery-latency histogram. */
  deliver(entityId: string, sequence: number, occurredAt?: number): void;
}

interface Heard {
  sequence: number;
  at: number;
  keys: EventKey[];
}

export interface EventHubOptions {
  /** How long heard events are kept for resuming (SUBSCRIPTION_RESUME_WINDOW_MS). */
  windowMs: number;
  /** At most this many are kept, whatever their age (SUBSCRIPTION_RESUME_MAX_EVENTS). */
  maxEvents: number;
  now?: () => number;
}

/**
 * Every event of the stream, routed to the subscriptions on this router that listen on its keys.
 * Each router replica follows the whole stream (a follower per process, as its caches do), so a
 * subscriber on any replica hears every event for it. The hub keeps the keys of recent events
 * (not their data: a bounded window, in events and in time) so an SSE client that comes back with
 * `Last-Event-ID` gets what changed while it was away.
 */
export class EventHub {
  private readonly listeners = new Map<string, Set<HubListener>>();
  /** Heard events, oldest first; `head` is the index of the oldest still kept. */
  private heard: Heard[] = [];
  private head = 0;
  /** Resumes from before this sequence cannot be answered: events after them were missed (a gap in the follower). */
  private gapThrough = 0;
  /** After a gap the next event is taken whatever its sequence: a recreated stream numbers from 1 again. */
  private afterGap = false;
  private latest = 0;
  private readonly now: () => number;

  constructor(private readonly options: EventHubOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The sequence of the last event heard (0: none yet): the id of a snapshot sent now. */
  get latestSequence(): number {
    return this.latest;
  }

  /** Subscriptions listening now (for the gauge). */
  get listenerCount(): number {
    let count = 0;
    for (const set of this.listeners.values()) count += set.size;
    return count;
  }

  /** Whether any subscription on this router listens on a key of `event`. */
  wants(event: EventEnvelope): boolean {
    return eventKeys(event).some(({ key }) => this.listeners.has(key));
  }

  handle(event: EventEnvelope, sequence: number): void {
    // Heard already (a follower restart racing its position), unless the stream went back.
    if (sequence <= this.latest && !this.afterGap) return;
    this.afterGap = false;
    this.latest = sequence;
    const keys = eventKeys(event);
    this.remember({ sequence, at: this.now(), keys });
    const occurredAt = Date.parse(event.occurredAt);
    for (const { key, entityId } of keys) {
      const set = this.listeners.get(key);
      if (!set) continue;
      for (const listener of set) listener.deliver(entityId, sequence, Number.isFinite(occurredAt) ? occurredAt : undefined);
    }
  }

  /** Events this router did not hear are gone: nothing before now can be resumed. */
  gap(): void {
    // What was missed came after the last event heard, so a client that heard that one missed it too.
    // On a recreated stream the old ids mean nothing; they stay refused until the new ones pass them.
    this.gapThrough = this.latest + 1;
    this.afterGap = true;
    this.heard = [];
    this.head = 0;
  }

  add(keys: readonly string[], listener: HubListener): void {
    for (const key of keys) {
      let set = this.listeners.get(key);
      if (!set) this.listeners.set(key, (set = new Set()));
      set.add(listener);
    }
  }

  remove(keys: readonly string[], listener: HubListener): void {
    for (const key of keys) {
      const set = this.listeners.get(key);
      if (!set) continue;
      set.delete(listener);
      if (!set.size) this.listeners.delete(key);
    }
  }

  /**
   * The entities `keys` heard after `sequence`, oldest first, or undefined when this router cannot
   * say (the window no longer reaches back that far, a gap, or an id from the future: another
   * stream).
   */
  since(sequence: number, keys: readonly string[]): { entityId: string; sequence: number }[] | undefined {
    this.prune();
    if (sequence < this.gapThrough || sequence > this.latest) return undefined;
    const oldest = this.heard[this.head];
    // Every event after `sequence` must be held: the oldest kept is at most the one right after it.
    if (!oldest || oldest.sequence > sequence + 1) return sequence === this.latest && this.latest > 0 ? [] : undefined;
    const wanted = new Set(keys);
    const found: { entityId: string; sequence: number }[] = [];
    for (let i = this.head; i < this.heard.length; i++) {
      const heard = this.heard[i]!;
      if (heard.sequence <= sequence) continue;
      for (const { key, entityId } of heard.keys) if (wanted.has(key)) found.push({ entityId, sequence: heard.sequence });
    }
    return found;
  }

  private remember(heard: Heard): void {
    if (this.options.maxEvents === 0 || this.options.windowMs === 0) return;
    this.heard.push(heard);
    this.prune();
  }

  private prune(): void {
    const cutoff = this.now() - this.options.windowMs;
    while (
      this.head < this.heard.length &&
      (this.heard.length - this.head > this.options.maxEvents || this.heard[this.head]!.at < cutoff)
    ) {
      this.head++;
    }
    // Compact now and then, so the array does not grow with everything ever heard.
    if (this.head > 1_024 && this.head * 2 > this.heard.length) {
      this.heard = this.heard.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * Feeds `hub` from the stream until stop(). `beforeDeliver` runs first for each event a
 * subscription here listens to: the router drops the event's cache tags there, so no subscriber is
 * answered from an entry the event made stale (the caches follow the stream on their own, in no
 * set order with this follower).
 */
export function followInto(
  stream: EventStream,
  hub: EventHub,
  log: Logger,
  beforeDeliver?: (event: EventEnvelope) => Promise<unknown>,
): Follower {
  return stream.follow({
    event: async (event, { sequence }) => {
      // Only for an event someone here listens to: the others go to the caches their own way.
      if (beforeDeliver && hub.wants(event)) {
        try {
          await beforeDeliver(event);
        } catch (error) {
          log.warn({ err: error, eventId: event.id }, "subscriptions: dropping an event's cache tags failed; answering it anyway");
        }
      }
      hub.handle(event, sequence);
    },
    gap: () => {
      log.warn('subscriptions: events were missed; SSE clients resuming from before now get current state');
      hub.gap();
    },
  });
}
