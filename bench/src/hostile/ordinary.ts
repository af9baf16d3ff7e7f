/**
 * Ordinary traffic beside the hostile stream: the web client's own operations from 127.0.0.1 at a
 * fixed rate (open loop: a slow router does not slow the senders down, as real visitors would not
 * wait for each other), every answer checked for HTTP 200, no errors and the expected data. A 429
 * counts as a failure: the rate limit must refuse the attacker, not the customer.
 */
import { clientOperation, type Session } from '../graphql.ts';
import { rng, zipf } from '../workload.ts';
import { graphqlPost, jsonOf, type Senders } from './client.ts';

const LISTING = clientOperation('ProductListing');
const DETAIL = clientOperation('ProductById');
const SEARCH = clientOperation('SearchProducts');
const LOG_IN = clientOperation('LogIn');
const HISTORY = clientOperation('OrderHistory');
const SEARCH_WORDS = ['chair', 'lamp', 'kettle', 'Acme', 'Northwind', 'wireless', 'jacket', 'Compact', 'camera', 'mug'];

export const ORDINARY_KINDS = ['listing', 'product', 'search', 'signIn', 'myOrders'] as const;
export type OrdinaryKind = (typeof ORDINARY_KINDS)[number];

export interface OrdinaryTally {
  sent: number;
  failed: number;
  /** Failures while a burst (F4's sign-in flood, F8's signed-in flood) was running, by burst. */
  failedDuring: Record<string, number>;
  byKind: Record<OrdinaryKind, { sent: number; failed: number }>;
  /** The worst latency of any ordinary answer, ms. */
  worstMs: number;
  samples: string[];
}

export interface OrdinaryOptions {
  senders: Senders;
  origin: string;
  products: number;
  /** Seeded customers `user<N>@example.com` / `password` that sign in during the run. */
  signInUsers: readonly number[];
  /** Customers already signed in, whose order history is read. */
  sessions: readonly Session[];
  ratePerSecond: number;
  /**
   * The share of requests that sign in. The router limits sign-ins per address, and all ordinary
   * traffic comes from one; the bench keeps under that limit, which is not the one under test.
   */
  signInShare: number;
  /** Names the bursts running now, to attribute failures to them. */
  activeBursts: () => string[];
  seed?: number;
}

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null;

/** Starts the stream; `stop()` ends it and resolves once the answers still in flight are in. */
export function startOrdinary(options: OrdinaryOptions): { tally: OrdinaryTally; stop: () => Promise<void> } {
  const random = rng(options.seed ?? 7);
  const page = zipf(Math.min(100, Math.floor(options.products / 20)), random);
  const product = zipf(options.products, random);
  const tally: OrdinaryTally = {
    sent: 0,
    failed: 0,
    failedDuring: {},
    byKind: Object.fromEntries(ORDINARY_KINDS.map((k) => [k, { sent: 0, failed: 0 }])) as OrdinaryTally['byKind'],
    worstMs: 0,
    samples: [],
  };
  const signIn = Math.max(0, Math.min(1, options.signInShare)) * 100;
  const rest = (100 - signIn) / 95;
  const weights: [OrdinaryKind, number][] = [
    ['listing', 30 * rest],
    ['product', 30 * rest],
    ['search', 20 * rest],
    ['myOrders', 15 * rest],
    ['signIn', signIn],
  ];
  let signIns = 0;

  const next = (): { kind: OrdinaryKind; body: Record<string, unknown>; token?: string; check: (data: any) => boolean } => {
    let r = random() * 100;
    const kind = weights.find(([, w]) => (r -= w) < 0)?.[0] ?? 'listing';
    switch (kind) {
      case 'listing': {
        const p = page();
        const after = p === 1 ? null : Buffer.from(`product:${(p - 1) * 20}`).toString('base64url');
        return {
          kind,
          body: { query: LISTING, variables: { region: 'IN', first: 20, after } },
          check: (data) =>
            Array.isArray(data?.products?.edges) &&
            data.products.edges.length === 20 &&
            data.products.edges.every(({ node }: any) => typeof node?.id === 'string'),
        };
      }
      case 'product': {
        const id = `p${product()}`;
        return {
          kind,
          body: { query: DETAIL, variables: { id, region: 'IN' } },
          check: (data) => data?.product?.id === id && typeof data.product.name === 'string',
        };
      }
      case 'search': {
        const query = SEARCH_WORDS[Math.floor(random() * SEARCH_WORDS.length)]!;
        return {
          kind,
          body: { query: SEARCH, variables: { query, region: 'IN', first: 10 } },
          check: (data) => typeof data?.searchProducts?.totalCount === 'number' && Array.isArray(data.searchProducts.edges),
        };
      }
      case 'signIn': {
        const n = options.signInUsers[signIns++ % options.signInUsers.length]!;
        const email = `user${n}@example.com`;
        return {
          kind,
          body: { query: LOG_IN, variables: { email, password: 'password' } },
          check: (data) => typeof data?.logIn?.token === 'string' && data.logIn.user?.email === email,
        };
      }
      case 'myOrders': {
        const session = options.sessions[Math.floor(random() * options.sessions.length)]!;
        return {
          kind,
          body: { query: HISTORY, variables: { first: 10 } },
          token: session.token,
          check: (data) => data?.me?.id === session.userId && Array.isArray(data.me.orders?.edges),
        };
      }
    }
  };

  const inFlight = new Set<Promise<void>>();
  const fire = () => {
    const call = next();
    const bursts = options.activeBursts();
    tally.sent++;
    tally.byKind[call.kind].sent++;
    const started = performance.now();
    const done = options.senders
      .send(options.origin, '127.0.0.1', graphqlPost(call.body, call.token ? { authorization: `Bearer ${call.token}` } : {}))
      .then((outcome) => {
        tally.worstMs = Math.max(tally.worstMs, performance.now() - started);
        const body = jsonOf(outcome);
        const ok = outcome.status === 200 && isObject(body) && !body.errors?.length && call.check(body.data);
        if (ok) return;
        tally.failed++;
        tally.byKind[call.kind].failed++;
        for (const burst of new Set([...bursts, ...options.activeBursts()]))
          tally.failedDuring[burst] = (tally.failedDuring[burst] ?? 0) + 1;
        if (tally.samples.length < 5)
          tally.samples.push(`${call.kind}: ${outcome.transport ?? `HTTP ${outcome.status} ${outcome.text.slice(0, 240)}`}`);
      });
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
  };
  const startedAt = performance.now();
  // Open loop on a clock: however late a tick runs, the count sent so far catches up with the rate.
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - startedAt) / 1000) * options.ratePerSecond);
    while (tally.sent < due) fire();
  }, 20);
  return {
    tally,
    async stop() {
      clearInterval(timer);
      await Promise.allSettled([...inFlight]);
    },
  };
}
