import type { FormattedExecutionResult } from 'graphql';
import type { HubListener } from './hub.ts';

/** One result for a subscriber; `sequence` is the stream position it answers (SSE sends it as the event id). */
export interface LiveResult {
  result: FormattedExecutionResult;
  sequence?: number | undefined;
  /** When the event it answers happened (ms since the epoch). */
  occurredAt?: number | undefined;
  /** The subscription ends after this one (access lost, token expired). */
  final?: boolean | undefined;
}

/**
 * One running subscription: the events the hub hands it, turned into results one at a time, as
 * its transport asks for the next one (an async iterator, which graphql-ws and the SSE transport
 * both drive). What waits is a set of entity ids, not results: a burst of events for one order
 * while the subscriber is busy is answered once, with the order as it is then, so a subscription
 * holds at most one pending entry per entity it watches, however fast events come.
 */
export class LiveSubscription implements AsyncIterableIterator<LiveResult>, HubListener {
  /** Entity id → the latest change to it (sequence, when), oldest change first. */
  private readonly pending = new Map<string, { sequence: number; occurredAt: number | undefined }>();
  private wake: (() => void) | undefined;
  private finished = false;
  private ending: LiveResult | undefined;
  private endAfterNext = false;

  constructor(
    private readonly resolveEntity: (entityId: string, sequence: number) => Promise<LiveResult>,
    private readonly onFinish: () => void,
  ) {}

  get done(): boolean {
    return this.finished;
  }

  deliver(entityId: string, sequence: number, occurredAt?: number): void {
    if (this.finished || this.ending) return;
    this.pending.delete(entityId); // re-inserted: answered in the order of its latest change
    this.pending.set(entityId, { sequence, occurredAt });
    this.poke();
  }

  /** Ends the subscription, after one last result when given (the transport sends it, then completes). */
  end(last?: LiveResult): void {
    if (this.finished) return;
    if (last) this.ending = { ...last, final: true };
    else this.finish();
    this.poke();
  }

  async next(): Promise<IteratorResult<LiveResult, undefined>> {
    for (;;) {
      if (this.finished || this.endAfterNext) {
        this.finish();
        return { done: true, value: undefined };
      }
      if (this.ending) {
        const last = this.ending;
        this.endAfterNext = true;
        return { done: false, value: last };
      }
      const first = this.pending.entries().next();
      if (!first.done) {
        const [entityId, { sequence, occurredAt }] = first.value;
        this.pending.delete(entityId);
        const answer = { ...(await this.resolveEntity(entityId, sequence)), occurredAt };
        if (this.finished) return { done: true, value: undefined };
        if (this.ending) continue; // ended while resolving: the ending is what goes out
        if (answer.final) this.endAfterNext = true;
        return { done: false, value: answer };
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  async return(): Promise<IteratorResult<LiveResult, undefined>> {
    this.finish();
    return { done: true, value: undefined };
  }

  async throw(error?: unknown): Promise<IteratorResult<LiveResult, undefined>> {
    this.finish();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.pending.clear();
    this.poke();
    this.onFinish();
  }
}
