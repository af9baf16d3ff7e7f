import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
  StorageType,
} from '@nats-io/jetstream';
import { connect, headers, type NatsConnection, nanos } from '@nats-io/transport-node';
import type { Logger } from '@shop/platform';
import type { EventEnvelope } from './envelope.ts';
import type { EventMetrics } from './metrics.ts';
import {
  assertConsumerSpec,
  type Consumer,
  type ConsumerSpec,
  DEFAULT_BACKOFF_MS,
  DEFAULT_MAX_DELIVER,
  deadLetterSubjectOf,
  type EventHandler,
  type EventStream,
  type Follower,
  type FollowHandlers,
  subjectOf,
} from './stream.ts';

const DAY_MS = 86_400_000;
/** How long the stream keeps an event: consumers away for less than this catch up on everything. */
export const STREAM_MAX_AGE_MS = 7 * DAY_MS;
/** A re-publish of an id within this window is dropped by the stream (consumers are idempotent beyond it). */
export const DUPLICATE_WINDOW_MS = 2 * 60_000;
const DLQ_MAX_AGE_MS = 30 * DAY_MS;
/** A publish not acknowledged in this time fails (the outbox relay retries it). */
const PUBLISH_TIMEOUT_MS = 5_000;
/** The stream redelivers an event whose handler has not answered in this time; a running handler extends it. */
const ACK_WAIT_MS = 60_000;
/** Events a durable consumer holds in the client at once (their ack wait runs while they wait their turn). */
const CONSUMER_BATCH = 16;
const FOLLOW_BATCH = 256;
/** Consumer info at scrape time gives up after this (a scrape must not hang on an absent NATS). */
const LAG_TIMEOUT_MS = 2_000;
const RESTART_MIN_MS = 250;
const RESTART_MAX_MS = 30_000;
/** Header values are one line and bounded. */
const MAX_HEADER_CHARS = 1_000;

export interface JetStreamFollower extends Follower {
  /** Resolves once the follower is listening: every event published after it is heard. */
  readonly ready: Promise<void>;
}

export interface JetStreamEventStream extends EventStream {
  readonly kind: 'jetstream';
  follow(handlers: FollowHandlers): JetStreamFollower;
  /** The dead-letter stream's name (`<stream>_DLQ`). */
  readonly deadLetterStream: string;
}

/** The URL without credentials, for messages and logs. */
function redact(url: string): string {
  try {
    const parsed = new URL(url.includes('://') ? url : `nats://${url}`);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return '(unparseable URL)';
  }
}

const oneLine = (text: string) => text.replace(/[\r\n]+/g, ' ').slice(0, MAX_HEADER_CHARS);
const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));
const sleep = (ms: number) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    t.unref();
  });
const restartDelay = (failures: number) => Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** Math.min(failures, 10));

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer from NATS in ${ms} ms`)), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Multiple filter subjects per consumer came with nats-server 2.10; older servers get one wildcard and a filter here. */
function supportsMultipleFilters(nc: NatsConnection): boolean {
  const [major = 0, minor = 0] = (nc.info?.version ?? '0.0.0').split('.').map((n) => Number.parseInt(n, 10));
  return major > 2 || (major === 2 && minor >= 10);
}

/** The narrowest single subject covering `types`: the type's own, `<prefix>.<aggregate>.*`, or `<prefix>.>`. */
function coveringSubject(prefix: string, types: readonly string[]): string {
  if (types.length === 1) return subjectOf(prefix, types[0] as string);
  const aggregates = new Set(types.map((t) => t.slice(0, t.indexOf('.'))));
  return aggregates.size === 1 ? `${prefix}.${[...aggregates][0]}.*` : `${prefix}.>`;
}

/**
 * The stream on NATS JetStream. On connect it makes sure the stream (`stream`, subjects
 * `<prefix>.>`, file storage, 7 days, 2-minute duplicate window) and its dead-letter stream
 * (`<stream>_DLQ`, subjects `<prefix>-dlq.>`) exist. The connection reconnects forever in the
 * background, so a NATS restart is survived by publishers, consumers and followers alike; only the
 * first connect fails (with an error naming NATS_URL).
 */
export async function connectJetStream({
  url,
  stream,
  subjectPrefix: prefix,
  logger,
  metrics,
  connectTimeoutMs = 5_000,
}: {
  url: string;
  stream: string;
  subjectPrefix: string;
  logger: Logger;
  metrics?: EventMetrics | undefined;
  connectTimeoutMs?: number;
}): Promise<JetStreamEventStream> {
  const where = redact(url);
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: url,
      name: `shop-events-${stream}`,
      timeout: connectTimeoutMs,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1_000,
    });
  } catch (error) {
    throw new Error(`could not connect to NATS at NATS_URL ${where}: ${errorText(error).replaceAll(url, where)}`);
  }
  const deadLetterStream = `${stream}_DLQ`;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc, { timeout: PUBLISH_TIMEOUT_MS });
    js = jetstream(nc, { timeout: PUBLISH_TIMEOUT_MS });
    await ensureStreams(jsm, stream, prefix);
  } catch (error) {
    await nc.close().catch(() => {});
    throw new Error(`NATS at NATS_URL ${where} has no usable JetStream stream ${stream}: ${errorText(error)}`);
  }
  const multipleFilters = supportsMultipleFilters(nc);

  /** Told on every reconnect (followers restart from their position at once: see startFollower). */
  const reconnected = new Set<() => void>();
  // Connection news, logged once each: what an operator needs when events stop flowing.
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') logger.warn({ server: redact(status.server) }, 'lost the connection to NATS; reconnecting');
      else if (status.type === 'reconnect') {
        logger.info({ server: redact(status.server) }, 'reconnected to NATS');
        for (const listener of reconnected) listener();
        // A server that came back without its store (or another server of the URL list) may lack the streams.
        ensureStreams(jsm, stream, prefix).catch((error: unknown) =>
          logger.warn({ err: error, stream }, 'could not make sure the event streams exist after reconnecting'),
        );
      } else if (status.type === 'error') logger.warn({ err: status.error }, 'NATS reported an error');
    }
  })().catch(() => {});

  let closed = false;
  const running = new Set<{ stop(): Promise<void> }>();

  async function publish(events: readonly EventEnvelope[]): Promise<void> {
    if (closed) throw new Error('the event stream is closed');
    // Pipelined: every publish is on the wire before the first ack comes back; the stream stores them in order.
    const results = await Promise.allSettled(
      events.map((e) => js.publish(subjectOf(prefix, e.type), JSON.stringify(e), { msgID: e.id, timeout: PUBLISH_TIMEOUT_MS })),
    );
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length) {
      throw new Error(`the stream stored ${results.length - failed.length} of ${results.length} events: ${errorText(failed[0]?.reason)}`, {
        cause: failed[0]?.reason,
      });
    }
  }

  function consume(spec: ConsumerSpec, handler: EventHandler): Consumer {
    if (closed) throw new Error('the event stream is closed');
    assertConsumerSpec(spec);
    const consumer = startDurable({ spec, handler, js, jsm, stream, prefix, multipleFilters, logger, metrics });
    const entry = {
      stop: async () => {
        running.delete(entry);
        await consumer.stop();
      },
    };
    running.add(entry);
    return entry;
  }

  function follow(handlers: FollowHandlers): JetStreamFollower {
    if (closed) throw new Error('the event stream is closed');
    const follower = startFollower({ handlers, js, jsm, stream, prefix, logger, metrics });
    reconnected.add(follower.restart);
    const entry = {
      ready: follower.ready,
      stop: async () => {
        running.delete(entry);
        reconnected.delete(follower.restart);
        await follower.stop();
      },
    };
    running.add(entry);
    return entry;
  }

  return {
    kind: 'jetstream',
    deadLetterStream,
    publish,
    consume,
    follow,
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...running].map((r) => r.stop()));
      // Drain flushes what is still on its way (acks, naks); a connection that is away is just closed.
      try {
        if (nc.isClosed()) return;
        await withTimeout(nc.drain(), 5_000);
      } catch {
        await nc.close().catch(() => {});
      }
    },
  };
}

async function ensureStreams(jsm: JetStreamManager, stream: string, prefix: string) {
  await ensureStream(jsm, { name: stream, subjects: [`${prefix}.>`], maxAgeMs: STREAM_MAX_AGE_MS });
  await ensureStream(jsm, { name: `${stream}_DLQ`, subjects: [`${prefix}-dlq.>`], maxAgeMs: DLQ_MAX_AGE_MS });
}

async function ensureStream(jsm: JetStreamManager, { name, subjects, maxAgeMs }: { name: string; subjects: string[]; maxAgeMs: number }) {
  const config = { subjects, max_age: nanos(maxAgeMs), duplicate_window: nanos(DUPLICATE_WINDOW_MS) };
  let exists = true;
  try {
    await jsm.streams.info(name);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    exists = false;
  }
  if (!exists) {
    try {
      await jsm.streams.add({ name, storage: StorageType.File, ...config });
      return;
    } catch (error) {
      // Another process created it in between: fall through to the update.
      if (!/already in use|already exists/i.test(errorText(error))) throw error;
    }
  }
  await jsm.streams.update(name, config);
}

function isNotFound(error: unknown): boolean {
  return /not found/i.test(errorText(error));
}

interface DurableOptions {
  spec: ConsumerSpec;
  handler: EventHandler;
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  prefix: string;
  multipleFilters: boolean;
  logger: Logger;
  metrics: EventMetrics | undefined;
}

/**
 * A durable pull consumer: ack explicit, one event handled at a time per process. A failure is
 * nak'ed with the backoff of its attempt; on the `maxDeliver`-th failure the event goes to the
 * dead-letter subject and is terminated. The server's own max_deliver is unlimited: deliveries
 * that never reached a handler's verdict (a replica stopping, one that died mid-handler) count
 * as deliveries too, and a server-side limit would drop such an event silently, without a dead
 * letter. `attempt` is therefore the delivery count, which such deliveries also raise. Consuming
 * restarts, with backoff, whenever the client's iterator ends: NATS away at start, the consumer or
 * the stream deleted, a permissions error.
 */
function startDurable({ spec, handler, js, jsm, stream, prefix, multipleFilters, logger, metrics }: DurableOptions): Consumer {
  const name = spec.name;
  const types = new Set<string>(spec.types);
  const maxDeliver = Math.max(1, spec.maxDeliver ?? DEFAULT_MAX_DELIVER);
  const backoffMs = spec.backoffMs?.length ? spec.backoffMs : DEFAULT_BACKOFF_MS;
  let stopped = false;
  let messages: ConsumerMessages | undefined;
  let ensured = false;
  let inFlight: Promise<void> | undefined;
  let wake: (() => void) | undefined;

  if (!types.size) {
    logger.warn({ consumer: name }, 'an event consumer with no types consumes nothing');
    return { stop: async () => {} };
  }

  const subjects = [...types].map((t) => subjectOf(prefix, t));
  // The other field is cleared explicitly: an update merges into the stored config, and a consumer may not have both.
  const filter: Partial<ConsumerConfig> = multipleFilters
    ? subjects.length === 1
      ? { filter_subject: subjects[0] as string, filter_subjects: undefined }
      : { filter_subjects: subjects, filter_subject: undefined }
    : { filter_subject: coveringSubject(prefix, [...types]), filter_subjects: undefined };
  const config: Partial<ConsumerConfig> = {
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    // A new name gets every event the stream still holds; a known one resumes where it left off.
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(ACK_WAIT_MS),
    max_deliver: -1,
    max_ack_pending: 1_000,
    ...filter,
  };

  async function ensureConsumer() {
    try {
      await jsm.consumers.info(stream, name);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      try {
        await jsm.consumers.add(stream, config);
        return;
      } catch (addError) {
        if (!/already (exists|in use)/i.test(errorText(addError))) throw addError;
      }
    }
    // Create-or-update: a deployment that changed the types or the retry policy takes effect.
    const { durable_name: _durable, ack_policy: _ack, deliver_policy: _deliver, ...changeable } = config;
    await jsm.consumers.update(stream, name, changeable);
  }

  metrics?.onCollect(async () => {
    if (stopped || !ensured) return;
    const info = await withTimeout(jsm.consumers.info(stream, name), LAG_TIMEOUT_MS);
    metrics.consumerLag.set({ consumer: name }, info.num_pending + info.num_ack_pending);
  });

  async function deadLetter(m: JsMsg, event: EventEnvelope | undefined, attempts: number, error: unknown) {
    const h = headers();
    h.set('Shop-Consumer', name);
    h.set('Shop-Error', oneLine(errorText(error)) || 'unknown error');
    h.set('Shop-Attempts', String(attempts));
    h.set('Shop-Stream-Sequence', String(m.seq));
    if (event?.id) h.set('Shop-Event-Id', oneLine(event.id));
    const type = event?.type && types.has(event.type) ? event.type : 'unknown';
    try {
      await js.publish(deadLetterSubjectOf(prefix, name, type), m.data, {
        headers: h,
        // The same event dead-lettered twice by one consumer (a lost term) is stored once.
        msgID: `${name}:${event?.id ?? m.seq}`,
        timeout: PUBLISH_TIMEOUT_MS,
      });
    } catch (publishError) {
      logger.error({ err: publishError, consumer: name, seq: m.seq }, 'could not dead-letter an event; it comes again');
      m.nak(backoffMs[backoffMs.length - 1]);
      return;
    }
    // No reason: `+TERM <reason>` needs nats-server 2.10.4, and an older one would not take it as a term at all.
    m.term();
    metrics?.deadLettered.inc({ consumer: name });
    logger.error(
      { err: error, consumer: name, eventId: event?.id, type: event?.type, attempts },
      'an event consumer gave up on an event; it is dead-lettered',
    );
  }

  async function handle(m: JsMsg) {
    const attempt = m.info.deliveryCount;
    let event: EventEnvelope;
    try {
      event = m.json<EventEnvelope>();
      if (typeof event !== 'object' || event === null || typeof event.id !== 'string' || typeof event.type !== 'string') {
        throw new Error('not an event envelope');
      }
    } catch (error) {
      await deadLetter(m, undefined, attempt, new Error(`malformed event: ${errorText(error)}`));
      return;
    }
    // A server without multiple filter subjects sends a wider subject: the other types are not ours.
    if (!types.has(event.type)) {
      m.ack();
      return;
    }
    if (attempt > 1) metrics?.redelivered.inc({ consumer: name });
    // A long handler tells the server it is still at it, so the event is not given to another replica meanwhile.
    const keepAlive = setInterval(() => m.working(), ACK_WAIT_MS / 3);
    keepAlive.unref();
    try {
      await handler(event, { attempt });
      m.ack();
    } catch (error) {
      if (attempt >= maxDeliver) await deadLetter(m, event, attempt, error);
      else m.nak(backoffMs[Math.min(attempt - 1, backoffMs.length - 1)]);
    } finally {
      clearInterval(keepAlive);
    }
  }

  const loop = (async () => {
    let failures = 0;
    while (!stopped) {
      try {
        if (!ensured) {
          await ensureConsumer();
          ensured = true;
        }
        const consumer = await js.consumers.get(stream, name);
        const current = await consumer.consume({ max_messages: CONSUMER_BATCH });
        messages = current;
        // close() unsubscribes at once and settles only once the iterator is read to its end: close, then read on.
        let closed = false;
        const close = () => {
          if (closed) return;
          closed = true;
          void current.close().catch(() => {});
        };
        if (stopped) close();
        // The consumer (or the stream: NATS came back without its store) gone: end this iterator and create it again.
        void (async () => {
          for await (const status of current.status()) {
            if (status.type === 'consumer_deleted' || status.type === 'consumer_not_found' || status.type === 'stream_not_found') {
              ensured = false;
              await current.close();
              return;
            }
          }
        })().catch(() => {});
        for await (const m of current) {
          if (stopped) {
            // Not ours to handle any more: another replica may take it now rather than after the ack wait.
            // Unsubscribe before the first nak: the server hands a nak'ed event to a waiting pull request that
            // still has interest, and this one's own would take it back into an inbox about to close, where it
            // would sit for the whole ack wait. The iterator then ends after the messages it still holds.
            close();
            m.nak();
            continue;
          }
          failures = 0;
          inFlight = handle(m);
          await inFlight;
          inFlight = undefined;
        }
      } catch (error) {
        if (stopped) break;
        failures++;
        ensured = false;
        logger.warn({ err: error, consumer: name, failures }, 'an event consumer could not consume; it starts again');
      }
      if (!stopped) {
        await Promise.race([sleep(restartDelay(failures)), new Promise<void>((resolve) => (wake = resolve))]);
      }
    }
  })();

  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      wake?.();
      await inFlight?.catch(() => {});
      // Not awaited: close() settles when the loop has read the iterator to its end.
      void messages?.close().catch(() => {});
      await loop;
    },
  };
}

interface FollowerOptions {
  handlers: FollowHandlers;
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  prefix: string;
  logger: Logger;
  metrics: EventMetrics | undefined;
}

/**
 * A follower: an ordered consumer from the stream's end at the time follow() was called. It keeps
 * its own last sequence: after a disconnect (the library recreates the ordered consumer from there,
 * or this restarts it) it resumes right after it. When the events it would resume with are gone
 * from the stream (older than max_age, or the stream was recreated), it calls `gap`.
 */
function startFollower({ handlers, js, jsm, stream, prefix, logger, metrics }: FollowerOptions): {
  ready: Promise<void>;
  /**
   * Starts the ordered consumer again from the last sequence heard. Called on every reconnect: the
   * library would recreate it by itself only once its idle heartbeats are missed (tens of seconds),
   * and a process that was cut off must catch up as soon as it is back.
   */
  restart(): void;
  stop(): Promise<void>;
} {
  let stopped = false;
  let lastSeq: number | undefined;
  let messages: ConsumerMessages | undefined;
  let wake: (() => void) | undefined;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  const gap = (why: string) => {
    logger.warn({ stream, why }, 'events this process did not hear are gone from the stream');
    metrics?.followGaps.inc();
    try {
      handlers.gap?.();
    } catch (error) {
      logger.error({ err: error }, 'an event follower failed on a gap');
    }
  };

  /**
   * After a (re)start of the ordered consumer: is what comes after `lastSeq` still there?
   * Returns true when the consumer must start again from a new position (the stream went back).
   */
  async function checkStream(): Promise<boolean> {
    const before = lastSeq;
    if (before === undefined) return false;
    const { state } = await jsm.streams.info(stream);
    if (state.last_seq < before) {
      // The stream is not the one we followed (recreated, its store lost): start again after its end.
      lastSeq = state.last_seq;
      gap('the stream went back');
      return true;
    }
    if (state.first_seq > before + 1 && lastSeq === before) {
      lastSeq = state.first_seq - 1;
      gap('the stream no longer holds the events after the last one heard');
    }
    return false;
  }

  const loop = (async () => {
    let failures = 0;
    while (!stopped) {
      try {
        if (lastSeq === undefined) lastSeq = (await jsm.streams.info(stream)).state.last_seq;
        else await checkStream();
        const consumer = await js.consumers.get(stream, {
          filter_subjects: `${prefix}.>`,
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: lastSeq + 1,
        });
        const current = await consumer.consume({ max_messages: FOLLOW_BATCH });
        messages = current;
        markReady();
        if (stopped) void current.close().catch(() => {});
        void (async () => {
          for await (const status of current.status()) {
            if (status.type === 'ordered_consumer_recreated') {
              if (await checkStream().catch(() => false)) await current.close();
            } else if (status.type === 'consumer_deleted' || status.type === 'stream_not_found') {
              // The stream was deleted (or the consumer under us): start again, which checks what the stream now holds.
              await current.close();
              return;
            }
          }
        })().catch(() => {});
        for await (const m of current) {
          if (stopped) break;
          failures = 0;
          const seq = m.seq;
          const last = lastSeq ?? seq - 1;
          if (seq <= last) continue; // already heard (a reset racing the position)
          if (seq > last + 1) {
            // Events in between: gone from the stream (a gap), or deleted one by one (nothing missed).
            const first = await jsm.streams
              .info(stream)
              .then((i) => i.state.first_seq)
              .catch(() => Number.POSITIVE_INFINITY);
            if (first > last + 1) gap('events between the last one heard and the next are gone');
          }
          lastSeq = seq;
          let event: EventEnvelope;
          try {
            event = m.json<EventEnvelope>();
          } catch (error) {
            logger.warn({ err: error, seq }, 'ignored a malformed event on the stream');
            continue;
          }
          metrics?.followed.inc();
          try {
            await handlers.event(event, { sequence: seq });
          } catch (error) {
            logger.error({ err: error, eventId: event.id, type: event.type }, 'an event follower failed');
          }
        }
      } catch (error) {
        if (stopped) break;
        failures++;
        logger.warn({ err: error, failures }, 'the event follower stopped; it starts again');
      }
      if (!stopped) await Promise.race([sleep(restartDelay(failures)), new Promise<void>((resolve) => (wake = resolve))]);
    }
  })();

  return {
    ready,
    restart() {
      if (stopped) return;
      void messages?.close().catch(() => {});
      wake?.();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      markReady();
      wake?.();
      void messages?.close().catch(() => {});
      await loop;
    },
  };
}
