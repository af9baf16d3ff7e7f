/**
 * Outbox lag under checkout load: the whole stack (startStack, free ports, small seed, embedded
 * PGlite, the payment sandbox, RATE_LIMIT=false), placeOrder through the router at a fixed arrival
 * rate with at most `concurrency` in flight for `seconds`, then each subgraph's
 * `outbox_publish_lag_seconds` (from a write creating its events, inside its transaction, to the
 * stream storing them) read from /metrics, as the difference between a scrape taken once the
 * set-up's own events were published and one taken once the load's were.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { SUBGRAPH_NAMES, type SubgraphName } from '@shop/registry';
import { startStack, type Stack } from '@shop/stack';
import { SMALL_SEED } from '@shop/subgraph-kit';
import {
  addHistograms,
  type Histogram,
  histogramDelta,
  histogramQuantile,
  parseHistogram,
  progress,
  RUN_ID,
  sampleQuantile,
} from './support.ts';
import { inBatches, logIn, post, type Session } from '../graphql.ts';

export interface LagOptions {
  /** Orders started per second (open loop: an arrival finding `concurrency` in flight is not sent, and counted). */
  rate: number;
  concurrency: number;
  seconds: number;
  users: number;
  products: number;
}

export interface LagStream {
  label: string;
  /** Absent: the in-process stream. */
  nats?: { url: string; stream: string; subjectPrefix: string; where: string };
}

export interface Quantiles {
  count: number;
  p50: number | undefined;
  p99: number | undefined;
  max: number | undefined;
  /** p99 fell in the +Inf bucket: it is at least `p99`. */
  p99Above: boolean;
  meanSeconds: number | undefined;
}

/** One stack run: what one stack, one stream and one stretch of load produced, unsummarised. */
export interface LagSlice {
  label: string;
  stream: 'in-process' | 'jetstream';
  where: string;
  paymentMethod: boolean;
  seconds: number;
  /** The 1-minute load average when the load began: others' work on the machine moves every figure. */
  loadAverage: number;
  offered: number;
  sent: number;
  notSent: number;
  placed: number;
  failed: Record<string, number>;
  latenciesMs: number[];
  /** Seconds from the last order answering until every outbox was empty again. */
  settleSeconds: number;
  /** outbox_publish_lag_seconds observed during the slice, per subgraph that had any. */
  lag: Partial<Record<SubgraphName, Histogram>>;
  published: Partial<Record<SubgraphName, number>>;
}

/** The slices of one stream, together. */
export interface LagResult {
  label: string;
  stream: 'in-process' | 'jetstream';
  where: string;
  paymentMethod: boolean;
  seconds: number;
  rate: number;
  concurrency: number;
  offered: number;
  sent: number;
  notSent: number;
  placed: number;
  failed: Record<string, number>;
  orderLatencyMs: { p50: number | undefined; p99: number | undefined };
  all: Quantiles;
  bySubgraph: Partial<Record<SubgraphName, Quantiles & { published: number }>>;
  slices: { seconds: number; loadAverage: number; placed: number; settleSeconds: number; lag: Quantiles }[];
}

export interface LagSkipped {
  label: string;
  skipped: string;
}

/** Keys that would change what is measured if the caller's shell had them set. */
const DROPPED_ENV =
  /^(.*_DATABASE_URL|REDIS_URL|NATS_URL|NATS_STREAM|NATS_SUBJECT_PREFIX|PAYMENT_PROVIDER_URL|SANDBOX_.*|PGLITE_DATA_DIR)$/;

const PLACE_ORDER = 'mutation BenchPlaceOrder($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }';

function quantiles(h: Histogram): Quantiles {
  const p99 = histogramQuantile(0.99, h);
  const max = [...h.buckets].reverse().find((b, i, all) => b.count > (all[i + 1]?.count ?? 0));
  return {
    count: h.count,
    p50: histogramQuantile(0.5, h)?.seconds,
    p99: p99?.seconds,
    p99Above: p99?.above ?? false,
    // The upper bound of the highest bucket that received anything: the largest lag is no more than this.
    max: max?.le,
    meanSeconds: h.count ? h.sum / h.count : undefined,
  };
}

const metricsUrl = (stack: Stack, name: SubgraphName) => stack.subgraphUrls[name].replace(/\/graphql$/, '/metrics');

async function scrape(stack: Stack): Promise<Record<SubgraphName, { lag: Histogram; published: number; pending: number }>> {
  const entries = await Promise.all(
    SUBGRAPH_NAMES.map(async (name) => {
      const text = await (await fetch(metricsUrl(stack, name), { signal: AbortSignal.timeout(10_000) })).text();
      const sumOf = (metric: string) =>
        text
          .split('\n')
          .filter((l) => l.startsWith(`${metric} `) || l.startsWith(`${metric}{`))
          .reduce((s, l) => s + Number(l.split(' ').at(-1)), 0);
      return [
        name,
        {
          lag: parseHistogram(text, 'outbox_publish_lag_seconds'),
          published: sumOf('events_published_total'),
          pending: sumOf('outbox_pending_events'),
        },
      ] as const;
    }),
  );
  return Object.fromEntries(entries) as Record<SubgraphName, { lag: Histogram; published: number; pending: number }>;
}

/** Scrapes until no subgraph has an unpublished event (bounded), and returns that scrape. */
async function settled(stack: Stack, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await scrape(stack);
    const pending = Object.values(now).reduce((s, m) => s + m.pending, 0);
    if (pending === 0 || Date.now() > deadline) return { scrape: now, pending };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Whether the schema's PlaceOrderInput has `paymentMethod` (the orders engineer is adding it). */
async function hasPaymentMethod(routerUrl: string, token: string): Promise<boolean> {
  try {
    const data = await post(
      routerUrl,
      '{ __type(name: "PlaceOrderInput") { inputFields { name } } }',
      {},
      { authorization: `Bearer ${token}` },
    );
    const fields = (data.__type?.inputFields ?? []) as { name: string }[];
    if (fields.length) return fields.some((f) => f.name === 'paymentMethod');
  } catch {
    // Introspection refused: fall through to asking the validator.
  }
  // An empty selection of lines is invalid either way; the question is only what the validator names.
  const res = await fetch(routerUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: PLACE_ORDER, variables: { input: { idempotencyKey: 'probe', region: 'IN', lines: [] } } }),
  });
  const text = await res.text();
  return /paymentMethod/.test(text);
}

async function raiseStock(stack: Stack, routerSecret: string, admin: Session, products: readonly string[]) {
  const headers = { 'x-router-secret': routerSecret, 'x-user-id': admin.userId, 'x-user-scopes': 'admin' };
  const inventory = stack.subgraphUrls.inventory;
  const { warehouses } = await post(inventory, '{ warehouses(region: IN) { id } }', {}, headers);
  const adjustments = products.flatMap((productId) => (warehouses as { id: string }[]).map((w) => ({ productId, warehouseId: w.id })));
  for (let i = 0; i < adjustments.length; i += 50) {
    const fields = adjustments
      .slice(i, i + 50)
      .map(
        (a, j) =>
          `a${j}: adjustStock(productId: ${JSON.stringify(a.productId)}, warehouseId: ${JSON.stringify(a.warehouseId)}, delta: 100000) { available }`,
      );
    await post(inventory, `mutation { ${fields.join(' ')} }`, {}, headers);
  }
}

interface LoadOutcome {
  offered: number;
  sent: number;
  notSent: number;
  placed: number;
  failed: Record<string, number>;
  latenciesMs: number[];
}

async function load(stack: Stack, sessions: readonly Session[], products: readonly string[], withPayment: boolean, o: LagOptions) {
  const outcome: LoadOutcome = { offered: 0, sent: 0, notSent: 0, placed: 0, failed: {}, latenciesMs: [] };
  const fail = (code: string) => void (outcome.failed[code] = (outcome.failed[code] ?? 0) + 1);
  const inFlight = new Set<Promise<void>>();
  const total = Math.round(o.rate * o.seconds);
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1_000) / o.rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    outcome.offered++;
    if (inFlight.size >= o.concurrency) {
      outcome.notSent++;
      continue;
    }
    outcome.sent++;
    const session = sessions[i % sessions.length] as Session;
    const input = {
      idempotencyKey: `bench-events-${RUN_ID}-${i}`,
      region: 'IN',
      ...(withPayment ? { paymentMethod: 'tok_visa' } : {}),
      lines: [{ productId: products[(i * 7) % products.length], quantity: 1 }],
    };
    const sentAt = performance.now();
    const request = (async () => {
      try {
        const res = await fetch(stack.routerUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${session.token}` },
          body: JSON.stringify({ query: PLACE_ORDER, variables: { input } }),
          signal: AbortSignal.timeout(30_000),
        });
        const body = (await res.json()) as { data?: { placeOrder?: { id?: string } }; errors?: { extensions?: { code?: string } }[] };
        if (res.status === 200 && !body.errors?.length && body.data?.placeOrder?.id) {
          outcome.placed++;
          outcome.latenciesMs.push(performance.now() - sentAt);
        } else fail(body.errors?.[0]?.extensions?.code ?? `HTTP ${res.status}`);
      } catch (error) {
        fail(error instanceof Error && error.name === 'TimeoutError' ? 'timeout' : 'no answer');
      }
    })();
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  }
  await Promise.all(inFlight);
  return outcome;
}

/** One stack, one stream, one load; the stack is closed (and its stream's connections with it) before this returns. */
export async function lagSlice(stream: LagStream, o: LagOptions): Promise<LagSlice> {
  const routerSecret = randomBytes(24).toString('base64url');
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !DROPPED_ENV.test(key)));
  progress(`${stream.label}: starting the stack (small seed)…`);
  const stack = await startStack({
    env: {
      ...env,
      LOG_LEVEL: 'fatal',
      SEED: 'true',
      // The bench sends every order from one address; it measures the outbox, not the limit.
      RATE_LIMIT: 'false',
      ROUTER_SECRET: routerSecret,
      // On PGlite every subgraph queues its statements on one connection: under load a checkout's
      // quote could wait out the production 3 s there (as in the gateway comparison).
      DEPENDENCY_TIMEOUT_MS: '10000',
      ...(stream.nats
        ? { NATS_URL: stream.nats.url, NATS_STREAM: stream.nats.stream, NATS_SUBJECT_PREFIX: stream.nats.subjectPrefix }
        : {}),
    },
    freePorts: true,
    seedSize: SMALL_SEED,
  });
  try {
    progress(`${stream.label}: the stack is up; signing in and raising stock…`);
    const userCount = Math.min(o.users, SMALL_SEED.users);
    const sessions = await inBatches(
      Array.from({ length: userCount }, (_, i) => i + 1),
      4,
      (n) => logIn(stack.routerUrl, `user${n}@example.com`, 'password'),
    );
    const admin = await logIn(stack.routerUrl, 'admin@example.com', 'admin');
    const products = Array.from({ length: Math.min(o.products, SMALL_SEED.products) }, (_, i) => `p${i + 1}`);
    // No order may fail OUT_OF_STOCK: that would be a checkout that wrote nothing.
    await raiseStock(stack, routerSecret, admin, products);
    const withPayment = await hasPaymentMethod(stack.routerUrl, (sessions[0] as Session).token);
    // A warm-up order per user (not measured): first calls compile queries and open connections.
    await inBatches(sessions, 4, (s) =>
      post(
        stack.routerUrl,
        PLACE_ORDER,
        {
          input: {
            idempotencyKey: `bench-events-warmup-${randomUUID()}`,
            region: 'IN',
            ...(withPayment ? { paymentMethod: 'tok_visa' } : {}),
            lines: [{ productId: products[0], quantity: 1 }],
          },
        },
        { authorization: `Bearer ${s.token}` },
      ),
    );
    const before = await settled(stack, 15_000);
    progress(
      `${stream.label}: ${o.rate} orders/s, at most ${o.concurrency} in flight, for ${o.seconds} s` +
        `${withPayment ? '' : ' (no paymentMethod in PlaceOrderInput)'}…`,
    );
    const loadAverage = loadavg()[0] ?? 0;
    const outcome = await load(stack, sessions, products, withPayment, o);
    const loadEnded = performance.now();
    progress(`${stream.label}: ${outcome.placed} orders placed; waiting for every outbox to empty…`);
    const after = await settled(stack, 30_000);
    const settleSeconds = (performance.now() - loadEnded) / 1_000;
    if (after.pending) progress(`${stream.label}: ${after.pending} events still pending after 30 s`);
    const lag: LagSlice['lag'] = {};
    const published: LagSlice['published'] = {};
    for (const name of SUBGRAPH_NAMES) {
      const delta = histogramDelta(after.scrape[name].lag, before.scrape[name].lag);
      if (delta.count <= 0) continue;
      lag[name] = delta;
      published[name] = after.scrape[name].published - before.scrape[name].published;
    }
    return {
      label: stream.label,
      stream: stream.nats ? 'jetstream' : 'in-process',
      where: stream.nats ? stream.nats.where : 'in-process',
      paymentMethod: withPayment,
      seconds: o.seconds,
      loadAverage,
      offered: outcome.offered,
      sent: outcome.sent,
      notSent: outcome.notSent,
      placed: outcome.placed,
      failed: outcome.failed,
      latenciesMs: outcome.latenciesMs,
      settleSeconds,
      lag,
      published,
    };
  } finally {
    await stack.close();
  }
}

/** The slices of one stream as one figure: histograms and counts added, order latencies pooled. */
export function summariseLag(slices: readonly LagSlice[], o: LagOptions): LagResult {
  const first = slices[0];
  if (!first) throw new Error('no slices to summarise');
  const failed: Record<string, number> = {};
  for (const slice of slices) for (const [code, n] of Object.entries(slice.failed)) failed[code] = (failed[code] ?? 0) + n;
  const sum = (pick: (s: LagSlice) => number) => slices.reduce((total, slice) => total + pick(slice), 0);
  const latencies = slices.flatMap((slice) => slice.latenciesMs);
  const bySubgraph: LagResult['bySubgraph'] = {};
  for (const name of SUBGRAPH_NAMES) {
    const histograms = slices.flatMap((slice) => (slice.lag[name] ? [slice.lag[name]] : []));
    if (histograms.length)
      bySubgraph[name] = { ...quantiles(addHistograms(histograms)), published: sum((slice) => slice.published[name] ?? 0) };
  }
  return {
    label: first.label,
    stream: first.stream,
    where: first.where,
    paymentMethod: slices.every((slice) => slice.paymentMethod),
    seconds: sum((slice) => slice.seconds),
    rate: o.rate,
    concurrency: o.concurrency,
    offered: sum((slice) => slice.offered),
    sent: sum((slice) => slice.sent),
    notSent: sum((slice) => slice.notSent),
    placed: sum((slice) => slice.placed),
    failed,
    orderLatencyMs: { p50: sampleQuantile(0.5, latencies), p99: sampleQuantile(0.99, latencies) },
    all: quantiles(addHistograms(slices.flatMap((slice) => Object.values(slice.lag)))),
    bySubgraph,
    slices: slices.map((slice) => ({
      seconds: slice.seconds,
      loadAverage: slice.loadAverage,
      placed: slice.placed,
      settleSeconds: slice.settleSeconds,
      lag: quantiles(addHistograms(Object.values(slice.lag))),
    })),
  };
}
