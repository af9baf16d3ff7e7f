import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * The event metrics every service reports on its own registry (its `/metrics`):
 *  - `events_published_total`: events the relay got the stream to store;
 *  - `outbox_publish_lag_seconds`: from a write's commit to the stream storing its event;
 *  - `outbox_pending_events`: events committed and not yet stored by the stream (read at scrape);
 *  - `events_consumed_total{consumer,outcome}`: outcome `processed`, `duplicate` (already
 *    processed: no effect) or `failed` (the handler threw; it will be retried);
 *  - `events_redelivered_total{consumer}`: deliveries after the first;
 *  - `events_dead_lettered_total{consumer}`: events given up on and sent to the dead-letter subject;
 *  - `events_consumer_lag{consumer}`: events of its types stored and not yet acknowledged (read at scrape);
 *  - `events_followed_total`, `events_follow_gaps_total`: events a process's caches heard, and
 *    times they found events missing that the stream no longer had (every cache was dropped).
 */
export interface EventMetrics {
  published: Counter;
  publishLag: Histogram;
  outboxPending: Gauge<'schema'>;
  consumed: Counter<'consumer' | 'outcome'>;
  redelivered: Counter<'consumer'>;
  deadLettered: Counter<'consumer'>;
  consumerLag: Gauge<'consumer'>;
  followed: Counter;
  followGaps: Counter;
  /** Called at scrape time to fill the gauges read from elsewhere (the outbox table, the stream). */
  onCollect(collect: () => Promise<void>): void;
}

export function createEventMetrics(registry: Registry): EventMetrics {
  const collectors: (() => Promise<void>)[] = [];
  const registers = [registry];
  // Both gauges read at scrape time await the same round of collectors: prom-client asks every
  // metric at once, so a gauge without its own `collect` would be serialised before the round ended.
  let round: Promise<void> | undefined;
  const collectAll = (): Promise<void> =>
    (round ??= Promise.allSettled(collectors.map((c) => c())).then(() => {
      round = undefined;
    }));
  return {
    published: new Counter({ name: 'events_published_total', help: 'Events the outbox relay got the stream to store', registers }),
    publishLag: new Histogram({
      name: 'outbox_publish_lag_seconds',
      help: "From a write's commit to the stream storing its event",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    outboxPending: new Gauge({
      name: 'outbox_pending_events',
      help: 'Events committed to the outbox and not yet stored by the stream',
      labelNames: ['schema'],
      registers,
      collect: collectAll,
    }),
    consumed: new Counter({
      name: 'events_consumed_total',
      help: 'Events handled by a durable consumer, by outcome (processed, duplicate, failed)',
      labelNames: ['consumer', 'outcome'],
      registers,
    }),
    redelivered: new Counter({
      name: 'events_redelivered_total',
      help: 'Deliveries of an event after its first, by consumer',
      labelNames: ['consumer'],
      registers,
    }),
    deadLettered: new Counter({
      name: 'events_dead_lettered_total',
      help: 'Events a consumer gave up on and sent to the dead-letter subject',
      labelNames: ['consumer'],
      registers,
    }),
    consumerLag: new Gauge({
      name: 'events_consumer_lag',
      help: 'Events of a consumer’s types stored on the stream and not yet acknowledged',
      labelNames: ['consumer'],
      registers,
      collect: collectAll,
    }),
    followed: new Counter({ name: 'events_followed_total', help: "Events this process's caches heard from the stream", registers }),
    followGaps: new Counter({
      name: 'events_follow_gaps_total',
      help: 'Times a follower found events missing that the stream no longer held (its caches were dropped)',
      registers,
    }),
    onCollect(collect) {
      collectors.push(collect);
    },
  };
}
