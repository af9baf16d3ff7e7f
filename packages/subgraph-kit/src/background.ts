import { AsyncLocalStorage } from 'node:async_hooks';

const scope = new AsyncLocalStorage<true>();

/**
 * Runs `work` as the service's own background work (the outbox relay, scrape-time gauges, event
 * consumers): its SQL statements count in `db_background_queries_total`, not `db_queries_total`,
 * so the statements a request costs stay readable from the counter (and statement-count tests are
 * not disturbed by a relay poll landing between two scrapes).
 */
export function inBackground<T>(work: () => T): T {
  return scope.run(true, work);
}

/** True inside `inBackground` (across awaits). */
export function isBackground(): boolean {
  return scope.getStore() === true;
}
