import type { Logger } from '@shop/platform';
import type { EventEnvelope } from './envelope.ts';
import type { EventMetrics } from './metrics.ts';
import {
  assertConsumerSpec,
  type Consumer,
  type ConsumerSpec,
  DEFAULT_BACKOFF_MS,
  DEFAULT_MAX_DELIVER,
  type EventHandler,
  type EventStream,
  type Follower,
  type FollowHandlers,
} from './stream.ts';

export const DEFAULT_IN_PROCESS_MAX_EVENTS = 50_000;
/** Dead letters kept per scope for inspection (tests, a debugging session); the oldest go first. */
const MAX_DEAD_LETTERS = 1_000;

/** An event a durable consumer gave up on after `maxDeliver` attempts. */
export interface DeadLetter {
  consumer: string;
  event: EventEnvelope;
  attempts: number;
  error: string;
  at: string;
}

/** The in-process stream, with what it dead-lettered readable (JetStream keeps them on its `_DLQ` stream). */
export interface InProcessEventStream extends EventStream {
  readonly kind: 'in-process';
  /** The dead letters of this scope, oldest first; only `consumer`'s when given. */
  deadLetters(consumer?: string): readonly DeadLetter[];
}

interface Member {
  handler: EventHandler;
  /** Its handle's logger and metrics: what it handles is counted on its service's registry. */
  reporter: Reporter;
  stopped: boolean;
  inFlight: Promise<void> | undefined;
}

interface Retry {
  event: EventEnvelope;
  attempt: number;
}

/**
 * A durable consumer name in a scope. Its position outlives its members (a handle that closed, a
 * subgraph rebuilt in a test), so a name that comes back resumes where it left off, as a JetStream
 * durable does. One event is in flight per name at a time, so members see events in stream order;
 * a failed event waits for its retry off to the side and does not hold up the ones behind it.
 */
interface Group {
  scope: Scope;
  name: string;
  types: Set<string>;
  maxDeliver: number;
  backoffMs: readonly number[];
  /** The sequence of the next event to deliver for the first time. */
  nextSeq: number;
  members: Member[];
  /** Round-robin among members: the index of the member that takes the next event. */
  turn: number;
  /** Failed events whose backoff has passed, to deliver before new ones. */
  ready: Retry[];
  /** Failed events waiting for their backoff. */
  waiting: Set<Retry>;
  timers: Set<ReturnType<typeof setTimeout>>;
  running: boolean;
  /** The delivery in flight (it counts in the lag until its handler has finished). */
  current: Retry | undefined;
}

interface Reporter {
  logger: Logger;
  metrics: EventMetrics | undefined;
}

interface FollowerState {
  handlers: FollowHandlers;
  /** Events not yet handed to the follower, with their sequence in the log. */
  queue: { event: EventEnvelope; sequence: number }[];
  draining: Promise<void> | undefined;
  stopped: boolean;
  reporter: Reporter;
}

interface Scope {
  /** seq -> event, oldest first (a Map keeps insertion order, so the oldest is the first key). */
  log: Map<number, EventEnvelope>;
  /** The ids of the events in `log`: a re-publish of one of them is dropped. */
  ids: Set<string>;
  nextSeq: number;
  maxEvents: number;
  groups: Map<string, Group>;
  followers: Set<FollowerState>;
  deadLetters: DeadLetter[];
}

/** One log per scope per process, shared by every handle opened on it (the router and five subgraphs of `npm start`). */
const scopes = new Map<string, Scope>();

const firstSeq = (scope: Scope): number => {
  for (const seq of scope.log.keys()) return seq;
  return scope.nextSeq;
};

/**
 * The stream without NATS: an in-memory log per `scope` (the stream and subject prefix), shared by
 * everything in this process. It keeps the last `maxEvents` events (and drops a re-publish of any of
 * them), runs durable consumers by name with retries, backoff and dead letters, and feeds followers.
 * Nothing survives the process: the outbox tables are what make events durable here (a restarted
 * `npm start` republishes nothing, and its consumers start from the log's beginning).
 *
 * Delivery is never inside `publish`'s call stack: handlers run on later turns of the event loop,
 * and `publish` resolves once the events are stored.
 */
export function createInProcessStream({
  scope: scopeName,
  logger,
  metrics,
  maxEvents = DEFAULT_IN_PROCESS_MAX_EVENTS,
}: {
  scope: string;
  logger: Logger;
  metrics?: EventMetrics | undefined;
  maxEvents?: number;
}): InProcessEventStream {
  let scope = scopes.get(scopeName);
  if (!scope) {
    scope = { log: new Map(), ids: new Set(), nextSeq: 1, maxEvents, groups: new Map(), followers: new Set(), deadLetters: [] };
    scopes.set(scopeName, scope);
  }
  const shared = scope;
  const reporter: Reporter = { logger, metrics };
  let closed = false;
  const ownConsumers = new Set<{ group: Group; member: Member }>();
  const ownFollowers = new Set<FollowerState>();

  function schedule(group: Group) {
    if (group.running) return;
    group.running = true;
    // A later turn: never inside the publisher's call stack.
    setImmediate(() => void runGroup(group));
  }

  function lagOf(group: Group): number {
    let lag = group.ready.length + group.waiting.size + (group.current ? 1 : 0);
    for (const [seq, event] of shared.log) if (seq >= group.nextSeq && group.types.has(event.type)) lag++;
    return lag;
  }

  return {
    kind: 'in-process',

    async publish(events) {
      if (closed) throw new Error('the event stream is closed');
      const stored: { event: EventEnvelope; sequence: number }[] = [];
      for (const event of events) {
        if (shared.ids.has(event.id)) continue;
        const sequence = shared.nextSeq++;
        shared.log.set(sequence, event);
        shared.ids.add(event.id);
        stored.push({ event, sequence });
      }
      while (shared.log.size > shared.maxEvents) {
        const oldest = firstSeq(shared);
        const dropped = shared.log.get(oldest);
        shared.log.delete(oldest);
        if (dropped) shared.ids.delete(dropped.id);
      }
      if (!stored.length) return;
      for (const group of shared.groups.values()) if (group.members.some((m) => !m.stopped)) schedule(group);
      for (const follower of shared.followers) {
        follower.queue.push(...stored);
        if (follower.queue.length > shared.maxEvents) {
          // A follower this far behind would hold the whole log twice: it starts again from now, and its
          // caches drop everything, as a JetStream follower does when the stream no longer has what it missed.
          follower.queue = [];
          follower.reporter.metrics?.followGaps.inc();
          runGap(follower);
          continue;
        }
        drainFollower(follower);
      }
    },

    consume(spec, handler): Consumer {
      if (closed) throw new Error('the event stream is closed');
      assertConsumerSpec(spec);
      let group = shared.groups.get(spec.name);
      if (!group) {
        group = {
          scope: shared,
          name: spec.name,
          types: new Set(),
          maxDeliver: DEFAULT_MAX_DELIVER,
          backoffMs: DEFAULT_BACKOFF_MS,
          // A new durable name gets every event still in the log.
          nextSeq: firstSeq(shared),
          members: [],
          turn: 0,
          ready: [],
          waiting: new Set(),
          timers: new Set(),
          running: false,
          current: undefined,
        };
        shared.groups.set(spec.name, group);
      }
      // The latest registration sets the filter and the retry policy, as a create-or-update of a JetStream consumer does.
      applySpec(group, spec);
      const member: Member = { handler, reporter, stopped: false, inFlight: undefined };
      const g = group;
      metrics?.onCollect(async () => {
        if (!member.stopped) metrics.consumerLag.set({ consumer: spec.name }, lagOf(g));
      });
      group.members.push(member);
      const entry = { group, member };
      ownConsumers.add(entry);
      schedule(group);
      return {
        async stop() {
          member.stopped = true;
          g.members = g.members.filter((m) => m !== member);
          ownConsumers.delete(entry);
          await member.inFlight;
        },
      };
    },

    follow(handlers): Follower {
      if (closed) throw new Error('the event stream is closed');
      const follower: FollowerState = { handlers, queue: [], draining: undefined, stopped: false, reporter };
      shared.followers.add(follower);
      ownFollowers.add(follower);
      return {
        async stop() {
          follower.stopped = true;
          follower.queue = [];
          shared.followers.delete(follower);
          ownFollowers.delete(follower);
          await follower.draining;
        },
      };
    },

    deadLetters(consumer) {
      return consumer === undefined ? [...shared.deadLetters] : shared.deadLetters.filter((d) => d.consumer === consumer);
    },

    async close() {
      if (closed) return;
      closed = true;
      const stopping: Promise<void>[] = [];
      for (const { group, member } of ownConsumers) {
        member.stopped = true;
        group.members = group.members.filter((m) => m !== member);
        if (member.inFlight) stopping.push(member.inFlight);
      }
      ownConsumers.clear();
      for (const follower of ownFollowers) {
        follower.stopped = true;
        follower.queue = [];
        shared.followers.delete(follower);
        if (follower.draining) stopping.push(follower.draining);
      }
      ownFollowers.clear();
      await Promise.allSettled(stopping);
    },
  };
}

function applySpec(group: Group, spec: ConsumerSpec) {
  group.types = new Set<string>(spec.types);
  group.maxDeliver = Math.max(1, spec.maxDeliver ?? DEFAULT_MAX_DELIVER);
  group.backoffMs = spec.backoffMs?.length ? spec.backoffMs : DEFAULT_BACKOFF_MS;
}

/** The next delivery of a group: a retry that is due, else the next new event of its types. */
function nextDelivery(scope: Scope, group: Group): Retry | undefined {
  const retry = group.ready.shift();
  if (retry) return retry;
  // Events the log dropped before the group reached them are gone (the log is bounded).
  if (group.nextSeq < firstSeq(scope)) group.nextSeq = firstSeq(scope);
  while (group.nextSeq < scope.nextSeq) {
    const event = scope.log.get(group.nextSeq++);
    if (event && group.types.has(event.type)) return { event, attempt: 1 };
  }
  return undefined;
}

async function runGroup(group: Group): Promise<void> {
  try {
    for (;;) {
      const members = group.members.filter((m) => !m.stopped);
      if (!members.length) return;
      const delivery = nextDelivery(group.scope, group);
      if (!delivery) return;
      const member = members[group.turn++ % members.length] as Member;
      group.current = delivery;
      try {
        await deliver(group, member, delivery);
      } finally {
        group.current = undefined;
      }
    }
  } finally {
    group.running = false;
  }
}

async function deliver(group: Group, member: Member, { event, attempt }: Retry): Promise<void> {
  const { logger, metrics } = member.reporter;
  if (attempt > 1) metrics?.redelivered.inc({ consumer: group.name });
  let failure: unknown;
  let failed = false;
  const run = (async () => {
    try {
      await member.handler(event, { attempt });
    } catch (error) {
      failed = true;
      failure = error;
    }
  })();
  member.inFlight = run;
  await run;
  if (member.inFlight === run) member.inFlight = undefined;
  if (!failed) return;
  if (attempt >= group.maxDeliver) {
    deadLetter(group, member.reporter, event, attempt, failure);
    return;
  }
  const backoff = group.backoffMs[Math.min(attempt - 1, group.backoffMs.length - 1)] ?? 0;
  const retry: Retry = { event, attempt: attempt + 1 };
  group.waiting.add(retry);
  const timer = setTimeout(() => {
    group.timers.delete(timer);
    group.waiting.delete(retry);
    group.ready.push(retry);
    if (!group.running && group.members.some((m) => !m.stopped)) {
      group.running = true;
      void runGroup(group);
    }
  }, backoff);
  // A retry waiting must not keep a finished process (a test, a stopped server) alive.
  timer.unref();
  group.timers.add(timer);
  logger.debug({ consumer: group.name, eventId: event.id, attempt, backoff }, 'an event will be delivered again');
}

function deadLetter(group: Group, { logger, metrics }: Reporter, event: EventEnvelope, attempts: number, error: unknown) {
  const { scope } = group;
  const message = error instanceof Error ? error.message : String(error);
  scope.deadLetters.push({ consumer: group.name, event, attempts, error: message, at: new Date().toISOString() });
  if (scope.deadLetters.length > MAX_DEAD_LETTERS) scope.deadLetters.splice(0, scope.deadLetters.length - MAX_DEAD_LETTERS);
  metrics?.deadLettered.inc({ consumer: group.name });
  logger.error(
    { consumer: group.name, eventId: event.id, type: event.type, attempts, err: error },
    'an event consumer gave up on an event; it is dead-lettered',
  );
}

function drainFollower(follower: FollowerState) {
  if (follower.draining) return;
  follower.draining = (async () => {
    // A later turn: never inside the publisher's call stack.
    await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      for (;;) {
        if (follower.stopped) return;
        const next = follower.queue.shift();
        if (!next) return;
        const { event, sequence } = next;
        follower.reporter.metrics?.followed.inc();
        try {
          await follower.handlers.event(event, { sequence });
        } catch (error) {
          follower.reporter.logger.error({ err: error, eventId: event.id, type: event.type }, 'an event follower failed');
        }
      }
    } finally {
      follower.draining = undefined;
      // Events that arrived after the loop looked for the last time.
      if (follower.queue.length && !follower.stopped) drainFollower(follower);
    }
  })();
}

function runGap(follower: FollowerState) {
  setImmediate(() => {
    if (follower.stopped) return;
    try {
      follower.handlers.gap?.();
    } catch (error) {
      follower.reporter.logger.error({ err: error }, 'an event follower failed on a gap');
    }
  });
}

/** Tests: forget every in-process log (each test file's streams start empty). */
export function resetInProcessStreams(): void {
  for (const scope of scopes.values()) for (const group of scope.groups.values()) for (const t of group.timers) clearTimeout(t);
  scopes.clear();
}
