import type { Logger } from '@shop/platform';
import { inBackground, type Write } from '@shop/subgraph-kit';
import { createPricingWrites } from './db/repository.ts';
import { promotionEnded, promotionStarted } from './events.ts';

/** Promotions claimed per statement: bounds one write's size when many start or end at once. */
export const TICK_BATCH = 100;
/** Batches per tick; what is left waits for the next tick rather than hold the tick open. */
const MAX_BATCHES_PER_TICK = 20;

/**
 * One tick: announces every promotion whose start or end time has passed and was not announced
 * yet, each in a write that marks it announced and queues its event together, so a start or end
 * is announced exactly once (by whichever replica claims it). Starts come before ends: a promotion
 * whose whole window passed between two ticks (or while every replica was down) did apply to
 * prices, so it is announced as started, then ended, in that order. Returns how many events it queued.
 */
export async function tickPromotions(write: Write, batch = TICK_BATCH): Promise<number> {
  let queued = 0;
  for (let i = 0; i < MAX_BATCHES_PER_TICK; i++) {
    const claimed = await write(async (tx) => {
      const writes = createPricingWrites(tx);
      const started = await writes.claimDueStarts(batch);
      const ended = await writes.claimDueEnds(batch);
      const products = await writes.productsOf([...new Set([...started, ...ended].map((p) => p.id))]);
      const events = [
        ...started.map((p) => promotionStarted(p, products.get(p.id) ?? [])),
        ...ended.map((p) => promotionEnded(p, products.get(p.id) ?? [])),
      ];
      return { value: { started: started.length, ended: ended.length }, events };
    });
    queued += claimed.started + claimed.ended;
    if (claimed.started < batch && claimed.ended < batch) break;
  }
  return queued;
}

/**
 * Runs `tickPromotions` every `intervalMs` (one tick at a time: the next is scheduled when one
 * finishes) until the returned function is called. A failed tick is logged and retried at the
 * next: nothing was marked, so nothing is lost.
 */
export function startPromotionTicker({ write, intervalMs, logger }: { write: Write; intervalMs: number; logger: Logger }): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(async () => {
      try {
        // Background work: its statements count in db_background_queries_total, not in requests'.
        const queued = await inBackground(() => tickPromotions(write));
        if (queued) logger.info({ events: queued }, 'announced promotions whose start or end time passed');
      } catch (error) {
        if (!stopped) logger.warn({ err: error }, 'the promotion ticker failed; it tries again at the next tick');
      }
      schedule();
    }, intervalMs);
    // The ticker alone must not keep the process alive.
    timer.unref();
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
