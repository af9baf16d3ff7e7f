/**
 * `npm run bench:subscriptions`: 1,000 concurrent graphql-ws subscribers on one router while
 * writes stream in, for issue 15. Writes bench/results/subscriptions.md (`--quick`:
 * bench/results/quick/, git-ignored).
 *
 * - The subgraphs: one child process (gateways/stack-server.ts: startStack, small seed, one embedded
 *   PGlite, the payment sandbox), publishing to a private nats-server (else NATS_URL) on a stream
 *   of the bench's own, deleted afterwards.
 * - The router: router/src/index.ts in its own process (the production heap flags), following that
 *   stream, so its VmRSS is the router's alone. RATE_LIMIT=false and the per-IP and per-user
 *   subscription bounds raised: every subscriber connects from 127.0.0.1.
 * - Subscribers (this process): 80% anonymous `productUpdated(ids: <the hot products>)`, 20%
 *   `myOrderUpdates` of 20 signed-in customers; one WebSocket each (the graphql-ws client over ws).
 * - Writes (through the router): the admin's setListPrice on the hot products in turn, each with
 *   an amount of its own, and the customers' placeOrder, at fixed rates for `--seconds`.
 * - Delivery latency: from the write's answer reaching the bench (its commit is before that) to a
 *   subscriber receiving the result that shows it, measured in this process with performance.now();
 *   also from the write being sent (the commit is after that), and the router's own
 *   subscription_delivery_seconds (event occurredAt → result written), from /metrics.
 * - Every result is checked: a product result must carry an amount some write set on that very
 *   product, an order result an order that subscriber's customer placed, status PLACED. After the
 *   writes stop, each product subscriber's last price of each product must be the last one written.
 *
 *   --quick            smoke run: 100 subscribers, 5 s of writes
 *   --subscribers N    subscribers (1,000; 100 with --quick), 80% products, 20% orders
 *   --hot K            hot products every product subscriber watches (4)
 *   --rate R           price writes per second (10)
 *   --order-rate R     orders placed per second (2)
 *   --seconds D        seconds of writes (25; 5 with --quick)
 */
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '@shop/platform/testing';
import { subgraphUrlEnv } from '@shop/registry';
import { benchNats, histogramDelta, histogramQuantile, parseHistogram, RUN_ID, sampleQuantile, streamMessages } from './events/support.ts';
import { inBatches, logIn, post, type Session } from './graphql.ts';
import { cpuSeconds, procStatusBytes, rssBytes } from './proc.ts';
import { ROUTER_NODE_FLAGS, spawnTs, startSubgraphs, stopChild, waitForGateway } from './processes.ts';
import { disposeAll, subscribe, type Subscriber } from './subscriptions/subscribers.ts';
import { orderWrites, priceWrites, type OrderWrite, type PriceWrite } from './subscriptions/writes.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    subscribers: { type: 'string' },
    hot: { type: 'string' },
    rate: { type: 'string' },
    'order-rate': { type: 'string' },
    seconds: { type: 'string' },
  },
});
const QUICK = !!values.quick;
const positive = (name: string, value: string | undefined, fallback: number, max: number): number => {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > max) throw new Error(`--${name} must be a number in (0, ${max}], got ${value}`);
  return n;
};
const SUBSCRIBERS = Math.round(positive('subscribers', values.subscribers, QUICK ? 100 : 1_000, 5_000));
const ORDER_SUBSCRIBERS = Math.round(SUBSCRIBERS * 0.2);
const PRODUCT_SUBSCRIBERS = SUBSCRIBERS - ORDER_SUBSCRIBERS;
const HOT = Math.round(positive('hot', values.hot, 4, 20));
const PRICE_RATE = positive('rate', values.rate, 10, 500);
const ORDER_RATE = positive('order-rate', values['order-rate'], 2, 100);
const SECONDS = positive('seconds', values.seconds, QUICK ? 5 : 25, 120);
const CUSTOMERS = 20;
const HOT_PRODUCTS = Array.from({ length: HOT }, (_, i) => `p${i + 1}`);
/** What orders buy: not the hot products, whose only events must be the price writes. */
const ORDER_PRODUCTS = Array.from({ length: 20 }, (_, i) => `p${101 + i}`);

/** Keys that would change what is measured if the caller's shell had them set (as in the events bench). */
const DROPPED_ENV =
  /^(.*_DATABASE_URL|REDIS_URL|NATS_URL|NATS_STREAM|NATS_SUBJECT_PREFIX|PAYMENT_PROVIDER_URL|SANDBOX_.*|PGLITE_DATA_DIR|CACHE_KEY_PREFIX)$/;

const started = Date.now();
const loadBefore = loadavg()[0] ?? 0;
const commit = (() => {
  try {
    const head = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
    const dirty = execSync('git status --porcelain --untracked-files=no', { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head} (+ uncommitted changes)` : head;
  } catch {
    return 'unknown';
  }
})();
const STARTED = performance.now();
function progress(message: string): void {
  process.stderr.write(`[subscriptions +${((performance.now() - STARTED) / 1_000).toFixed(1)}s] ${message}\n`);
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const nats = await benchNats();
if (!nats.ok) {
  progress(`NATS: ${nats.reason}; the router must follow the subgraphs' stream from its own process, so nothing was measured`);
  process.exit(1);
}
const stream = `BENCH_SUBS_${RUN_ID}`;
const streamEnv = { NATS_URL: nats.value.url, NATS_STREAM: stream, NATS_SUBJECT_PREFIX: `bench-subs-${RUN_ID}` };
const routerSecret = randomBytes(24).toString('base64url');
const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !DROPPED_ENV.test(key)));

let subgraphs: Awaited<ReturnType<typeof startSubgraphs>> | undefined;
let router: ReturnType<typeof spawnTs> | undefined;
let subscribers: Subscriber[] = [];
let failed = false;
try {
  progress(`starting the subgraphs (small seed, PGlite, ${nats.value.where})…`);
  subgraphs = await startSubgraphs({ ...inherited, ...streamEnv, ROUTER_SECRET: routerSecret, SEED: 'true' }, 'small', undefined);
  const port = await freePort();
  router = spawnTs(
    'router/src/index.ts',
    {
      ...inherited,
      ...streamEnv,
      ...subgraphUrlEnv(subgraphs.subgraphUrls),
      ROUTER_SECRET: routerSecret,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'error',
      RATE_LIMIT: 'false',
      // Every subscriber is on 127.0.0.1 and 200 of them share 20 customers.
      SUBSCRIPTION_MAX_CONNECTIONS_PER_IP: String(SUBSCRIBERS + 100),
      SUBSCRIPTION_MAX_PER_USER: String(SUBSCRIBERS),
    },
    undefined,
    ROUTER_NODE_FLAGS,
  );
  const routerUrl = `http://127.0.0.1:${port}/graphql`;
  const wsUrl = `ws://127.0.0.1:${port}/graphql`;
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
  await waitForGateway(routerUrl, router);
  const routerPid = router.pid;
  progress(`router up (pid ${routerPid}, ${ROUTER_NODE_FLAGS.join(' ')}); signing in, raising stock…`);

  const scrape = async () => (await fetch(metricsUrl)).text();
  const sum = (text: string, name: string, labels = '') =>
    text
      .split('\n')
      .filter((l) => (l.startsWith(`${name}{`) && l.includes(labels)) || (!labels && l.startsWith(`${name} `)))
      .reduce((s, l) => s + Number(l.split(' ').at(-1)), 0);
  async function untilActive(n: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const active = sum(await scrape(), 'subscriptions_active');
      if (active === n || Date.now() > deadline) return active;
      await sleep(100);
    }
  }

  const admin = await logIn(routerUrl, 'admin@example.com', 'admin');
  const customers = await inBatches(
    Array.from({ length: CUSTOMERS }, (_, i) => i + 1),
    4,
    (n) => logIn(routerUrl, `user${n}@example.com`, 'password'),
  );
  await raiseStock(subgraphs.subgraphUrls.inventory, admin);

  // Warm-up (not measured): a few subscribers and writes, so the code paths are loaded and compiled
  // before the "before" figure; '499.99' is no measured write's amount, so a stale one would show.
  {
    const warm = [
      ...Array.from({ length: 5 }, () => subscribe(wsUrl, { kind: 'product', variables: { ids: HOT_PRODUCTS } })),
      subscribe(wsUrl, { kind: 'order', token: (customers[0] as Session).token, userId: (customers[0] as Session).userId }),
    ];
    await untilActive(warm.length, 15_000);
    for (const id of HOT_PRODUCTS)
      await post(
        routerUrl,
        'mutation($p: ID!) { setListPrice(productId: $p, region: IN, amount: "499.99") { id } }',
        { p: id },
        { authorization: `Bearer ${admin.token}` },
      );
    await orderWrites(routerUrl, customers.slice(0, 1), ORDER_PRODUCTS, `${RUN_ID}-warm`, { rate: 5, seconds: 0.4, concurrency: 2 });
    await sleep(1_000);
    await disposeAll(warm);
    await untilActive(0, 10_000);
  }
  await sleep(2_000);
  const memory = () => ({ rss: rssBytes(routerPid) ?? 0 });
  const before = memory();

  progress(`opening ${SUBSCRIBERS} subscribers (${PRODUCT_SUBSCRIBERS} productUpdated, ${ORDER_SUBSCRIBERS} myOrderUpdates)…`);
  const rampStarted = performance.now();
  for (let i = 0; i < SUBSCRIBERS; i += 50) {
    for (let j = i; j < Math.min(i + 50, SUBSCRIBERS); j++) {
      if (j < PRODUCT_SUBSCRIBERS) subscribers.push(subscribe(wsUrl, { kind: 'product', variables: { ids: HOT_PRODUCTS } }));
      else {
        const customer = customers[(j - PRODUCT_SUBSCRIBERS) % customers.length] as Session;
        subscribers.push(subscribe(wsUrl, { kind: 'order', token: customer.token, userId: customer.userId }));
      }
    }
    await untilActive(subscribers.length, 30_000);
  }
  const active = await untilActive(SUBSCRIBERS, 30_000);
  const rampSeconds = (performance.now() - rampStarted) / 1_000;
  if (active !== SUBSCRIBERS) throw new Error(`${active} of ${SUBSCRIBERS} subscriptions running after the ramp`);
  await sleep(3_000);
  const scrapeBefore = await scrape();
  const withAll = memory();
  progress(
    `${SUBSCRIBERS} running after ${rampSeconds.toFixed(1)} s; router RSS ${mib(before.rss)} → ${mib(withAll.rss)}; ` +
      `writes for ${SECONDS} s (${PRICE_RATE} prices/s, ${ORDER_RATE} orders/s)…`,
  );

  let peakRss = withAll.rss;
  const sampler = setInterval(() => void (peakRss = Math.max(peakRss, rssBytes(routerPid) ?? 0)), 250);
  const cpuBefore = cpuSeconds(routerPid);
  const eventsBefore = await streamMessages(nats.value.url, stream);
  const ownCpuBefore = process.cpuUsage();
  const writesStarted = performance.now();
  const [prices, orders] = await Promise.all([
    priceWrites(routerUrl, admin, HOT_PRODUCTS, { rate: PRICE_RATE, seconds: SECONDS, concurrency: 16 }),
    orderWrites(routerUrl, customers, ORDER_PRODUCTS, RUN_ID, { rate: ORDER_RATE, seconds: SECONDS, concurrency: 8 }),
  ]);
  const writeSeconds = (performance.now() - writesStarted) / 1_000;
  // Settled: no result for a second (at most 15 s), so the last writes' results are all in.
  const settleStarted = performance.now();
  for (let last = -1; ; ) {
    const now = subscribers.reduce((s, sub) => s + sub.received.length, 0);
    if (now === last || performance.now() - settleStarted > 15_000) break;
    last = now;
    await sleep(1_000);
  }
  const deliverySeconds = (performance.now() - writesStarted) / 1_000;
  const cpuAfter = cpuSeconds(routerPid);
  const events = (await streamMessages(nats.value.url, stream)) - eventsBefore;
  const ownCpu = process.cpuUsage(ownCpuBefore);
  clearInterval(sampler);
  const scrapeAfter = await scrape();
  const after = memory();
  const hwm = procStatusBytes(routerPid, 'VmHWM');
  const stillActive = sum(scrapeAfter, 'subscriptions_active');

  const checked = check(subscribers, prices.writes, orders.writes);
  const routerDelivery = histogramDelta(
    parseHistogram(scrapeAfter, 'subscription_delivery_seconds'),
    parseHistogram(scrapeBefore, 'subscription_delivery_seconds'),
  );
  const delta = (name: string, labels = '') => sum(scrapeAfter, name, labels) - sum(scrapeBefore, name, labels);
  const executed = delta('subscription_results_total', 'outcome="executed"');
  const shared = delta('subscription_results_total', 'outcome="shared"');
  const resultErrors = delta('subscription_results_total', 'outcome="error"');
  const refusals = delta('subscription_refusals_total');
  const cut = subscribers.filter((s) => s.closes.length || s.errors.length || s.completed).length;
  failed =
    checked.mismatches > 0 ||
    checked.stale > 0 ||
    checked.finalWrong > 0 ||
    checked.ordersMissing > 0 ||
    cut > 0 ||
    stillActive !== SUBSCRIBERS;

  const okPrices = prices.writes.filter((w) => w.ok).length;
  const okOrders = orders.writes.filter((w) => w.ok).length;
  const failures = (f: Record<string, number>) =>
    Object.entries(f)
      .map(([code, n]) => `${code} ${n}`)
      .join(', ') || '0';
  const routerQ = (q: number) => {
    const r = histogramQuantile(q, routerDelivery);
    return r === undefined ? '—' : `${r.above ? '≥ ' : ''}${(r.seconds * 1_000).toFixed(1)} ms`;
  };
  const msq = (xs: number[], q: number) => {
    const v = sampleQuantile(q, xs);
    return v === undefined ? '—' : `${v.toFixed(1)} ms`;
  };
  const kib = (bytes: number) => (bytes / 1024).toFixed(1);
  const totalSeconds = (Date.now() - started) / 1_000;
  const lines = [
    `# Subscriptions: ${int(SUBSCRIBERS)} graphql-ws subscribers on one router (\`npm run bench:subscriptions${QUICK ? ' -- --quick' : ''}\`)`,
    '',
    `Measured ${new Date(started).toISOString()} on commit ${commit}, ${cpus().length} CPUs, ${mib(totalmem())} RAM, Node ${process.version}; ` +
      `the run took ${totalSeconds.toFixed(0)} s; 1-minute load average ${loadBefore.toFixed(1)} before, ${(loadavg()[0] ?? 0).toFixed(1)} after. ` +
      'Everything on loopback, on the same 2 cores: the router, the subgraphs, NATS and the subscribers compete for them.',
    '',
    '## Set-up',
    '',
    `- Subgraphs: one child process (startStack, small seed, one embedded PGlite, the payment sandbox), publishing through their outboxes to ` +
      `NATS JetStream (${nats.value.where}, a stream of the bench's own, deleted afterwards).`,
    `- Router: \`router/src/index.ts\` in its own process (${ROUTER_NODE_FLAGS.join(' ')}), following that stream; RATE_LIMIT=false, ` +
      `SUBSCRIPTION_MAX_CONNECTIONS_PER_IP and SUBSCRIPTION_MAX_PER_USER raised (every subscriber is on 127.0.0.1), every other bound at its default; ` +
      `ROUTER_CACHE=${inherited.ROUTER_CACHE ?? 'true (its default)'}.`,
    `- Subscribers (the bench process): ${int(PRODUCT_SUBSCRIBERS)} anonymous \`productUpdated(ids: [${HOT_PRODUCTS.join(', ')}]) { id listPrice(region: IN) { amount } }\`, ` +
      `${int(ORDER_SUBSCRIBERS)} \`myOrderUpdates { id status }\` (${CUSTOMERS} signed-in customers, ${ORDER_SUBSCRIBERS / CUSTOMERS} each); ` +
      `one WebSocket each (graphql-ws client over ws), opened 50 at a time in ${rampSeconds.toFixed(1)} s.`,
    `- Writes through the router for ${SECONDS} s: the admin's \`setListPrice\` on the hot products in turn, ${PRICE_RATE}/s, each with an amount of its own ` +
      `(→ one price.changed event, answered to every product subscriber); customers' \`placeOrder\` (one line, other products), ${ORDER_RATE}/s ` +
      `(→ order.placed, answered to that customer's ${ORDER_SUBSCRIBERS / CUSTOMERS} subscribers). Open loop, at most 16 / 8 in flight.`,
    '- Latency: from the write’s answer reaching the bench to a subscriber receiving the result that shows it (the commit happened before the answer, ' +
      'so this is a lower bound on commit → client), and from the write being sent (an upper bound); both on this process’s performance.now(). ' +
      'The router’s own `subscription_delivery_seconds` (event occurredAt → result written to the socket) is from /metrics, p50/p99 interpolated in its buckets.',
    '- Checking: every result is checked. A product result must carry an amount some write set on that same product (coalescing may skip ' +
      'amounts, never invent one); an order result an order its own customer placed, status PLACED, every placed order reaching all of its customer’s ' +
      'subscribers; once the writes stop, every product subscriber’s last amount for each product must be the last one written.',
    '- Freshness: amounts only grow, so a product result repeating (or going back to) an amount its subscriber was already shown answered ' +
      'its event from a state without that event’s write (a cache the event had not yet invalidated); such results are counted and fail the run.',
    '- Memory: the router process’s VmRSS from /proc, once 2 s after a warm-up (5 + 1 subscribers and a few writes, then closed) and once 3 s after ' +
      `the last of the ${int(SUBSCRIBERS)} subscriptions ran, before any write; no GC is forced, so the difference moves between runs by ` +
      'whatever the heap had not yet collected (take it as an order of magnitude, not to the KiB).',
    '',
    '## Results',
    '',
    '| | |',
    '| --- | ---: |',
    `| subscribers running (graphql-ws, one socket each) | ${int(active)} (still ${int(stillActive)} at the end; ${cut} cut or ended) |`,
    `| router RSS before subscribers / with ${int(SUBSCRIBERS)} (idle) | ${mib(before.rss)} / ${mib(withAll.rss)} |`,
    `| → per subscriber (RSS difference / subscribers) | **${kib((withAll.rss - before.rss) / SUBSCRIBERS)} KiB** |`,
    `| router RSS during the writes: peak sampled / VmHWM / at the end | ${mib(peakRss)} / ${hwm ? mib(hwm) : '—'} / ${mib(after.rss)} |`,
    `| router CPU during the writes | ${cpuBefore !== undefined && cpuAfter !== undefined ? `${((cpuAfter - cpuBefore) / deliverySeconds).toFixed(2)} cores` : '—'} |`,
    `| the bench process (${int(SUBSCRIBERS)} clients receiving, parsing, the writers) CPU meanwhile | ${((ownCpu.user + ownCpu.system) / 1e6 / deliverySeconds).toFixed(2)} cores |`,
    `| price writes: ok / sent (not sent), failed | ${int(okPrices)} / ${int(prices.writes.length)} (${prices.notSent}), ${failures(prices.failed)} |`,
    `| orders placed: ok / sent (not sent), failed | ${int(okOrders)} / ${int(orders.writes.length)} (${orders.notSent}), ${failures(orders.failed)} |`,
    `| events stored on the stream meanwhile (the router follows them all) | ${int(events)}, **${(events / writeSeconds).toFixed(1)}/s** over ${writeSeconds.toFixed(1)} s |`,
    `| results delivered (received by the subscribers) | ${int(checked.results)}, **${int(checked.results / writeSeconds)}/s** |`,
    `| …of which product / order | ${int(checked.productResults)} / ${int(checked.orderResults)} |`,
    `| product results possible (ok writes × subscribers) / coalesced away | ${int(okPrices * PRODUCT_SUBSCRIBERS)} / ${int(okPrices * PRODUCT_SUBSCRIBERS - checked.productResults)} |`,
    `| router executions per result (executed / shared / error) | ${int(executed)} / ${int(shared)} / ${int(resultErrors)} |`,
    `| subscription refusals during the run | ${int(refusals)} |`,
    `| **results checked / wrong** | **${int(checked.results)} / ${int(checked.mismatches)}** |`,
    `| product results repeating an amount already shown (an event answered without its write) | ${int(checked.stale)} |`,
    `| product subscribers with every product's last amount right | ${int(PRODUCT_SUBSCRIBERS - checked.finalWrong)} of ${int(PRODUCT_SUBSCRIBERS)} |`,
    `| (subscriber, order) deliveries missing | ${int(checked.ordersMissing)} of ${int(okOrders * (ORDER_SUBSCRIBERS / CUSTOMERS))} |`,
    '',
    '| delivery latency | results | p50 | p99 | max |',
    '| --- | ---: | ---: | ---: | ---: |',
    `| product: write answered → received | ${int(checked.productFromAnswer.length)} | ${msq(checked.productFromAnswer, 0.5)} | ${msq(checked.productFromAnswer, 0.99)} | ${msq(checked.productFromAnswer, 1)} |`,
    `| product: write sent → received | ${int(checked.productFromSent.length)} | ${msq(checked.productFromSent, 0.5)} | ${msq(checked.productFromSent, 0.99)} | ${msq(checked.productFromSent, 1)} |`,
    `| order: placeOrder answered → received | ${int(checked.orderFromAnswer.length)} | ${msq(checked.orderFromAnswer, 0.5)} | ${msq(checked.orderFromAnswer, 0.99)} | ${msq(checked.orderFromAnswer, 1)} |`,
    `| order: placeOrder sent → received | ${int(checked.orderFromSent.length)} | ${msq(checked.orderFromSent, 0.5)} | ${msq(checked.orderFromSent, 0.99)} | ${msq(checked.orderFromSent, 1)} |`,
    `| router: event occurredAt → written (subscription_delivery_seconds) | ${int(routerDelivery.count)} | ${routerQ(0.5)} | ${routerQ(0.99)} | |`,
    '',
    `A negative "answered → received" means the result reached the subscriber before the mutation's own answer reached the writer ` +
      `(${int(checked.beforeAnswer)} results did). ` +
      'Client-side figures include the bench process’s own event loop (it receives and parses every result of every subscriber, on the same ' +
      'cores as the router); the router’s figure ends when the result is handed to the socket. ' +
      `Fan-out spread (per price write, first to last of its ${int(PRODUCT_SUBSCRIBERS)} subscribers receiving it): ` +
      `p50 ${msq(checked.spreads, 0.5)}, p99 ${msq(checked.spreads, 0.99)}, max ${msq(checked.spreads, 1)}; ` +
      `writes whose first subscriber waited over 100 ms after the answer: ${int(checked.slowFirst)} of ${int(checked.spreads.length)}.`,
    '',
  ];
  const report = lines.join('\n');
  const outDir = fileURLToPath(new URL(QUICK ? '../results/quick/' : '../results/', import.meta.url));
  mkdirSync(outDir, { recursive: true });
  writeFileSync(`${outDir}subscriptions.md`, `${report}\n`);
  process.stdout.write(`${report}\nwritten: ${outDir}subscriptions.md\n`);
  if (failed) progress('failed: a result was wrong or missing, or a subscriber was cut (see the table)');
} catch (error) {
  failed = true;
  progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
} finally {
  await Promise.race([disposeAll(subscribers), sleep(5_000)]);
  subscribers = [];
  if (router) await stopChild(router);
  if (subgraphs) await stopChild(subgraphs.child);
  await nats.value.dispose([stream, `${stream}_DLQ`]).catch(() => {});
}
// Sockets, pools and timers of what was closed must not hold the bench open.
process.exit(failed ? 1 : 0);

function int(n: number) {
  return Math.round(n).toLocaleString('en-US');
}
function mib(bytes: number) {
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

/** No order may fail OUT_OF_STOCK: stock of the order products raised at the inventory subgraph, with the router's secret. */
async function raiseStock(inventoryUrl: string, admin: Session) {
  const headers = { 'x-router-secret': routerSecret, 'x-user-id': admin.userId, 'x-user-scopes': 'admin' };
  const { warehouses } = await post(inventoryUrl, '{ warehouses(region: IN) { id } }', {}, headers);
  const fields = ORDER_PRODUCTS.flatMap((productId) => (warehouses as { id: string }[]).map((w) => ({ productId, warehouseId: w.id }))).map(
    (a, j) =>
      `a${j}: adjustStock(productId: ${JSON.stringify(a.productId)}, warehouseId: ${JSON.stringify(a.warehouseId)}, delta: 100000) { available }`,
  );
  for (let i = 0; i < fields.length; i += 50) await post(inventoryUrl, `mutation { ${fields.slice(i, i + 50).join(' ')} }`, {}, headers);
}

/** Every result against what was written. */
function check(all: readonly Subscriber[], prices: readonly PriceWrite[], orders: readonly OrderWrite[]) {
  const byAmount = new Map(prices.filter((w) => w.ok).map((w) => [w.amount, w]));
  const lastWritten = new Map<string, PriceWrite>();
  for (const w of prices) {
    if (!w.ok) continue;
    const seen = lastWritten.get(w.productId);
    if (!seen || (w.answeredAt ?? 0) > (seen.answeredAt ?? 0)) lastWritten.set(w.productId, w);
  }
  const placed = new Map(orders.filter((w) => w.ok).map((w) => [w.orderId as string, w]));
  const out = {
    results: 0,
    productResults: 0,
    orderResults: 0,
    mismatches: 0,
    finalWrong: 0,
    ordersMissing: 0,
    beforeAnswer: 0,
    productFromAnswer: [] as number[],
    productFromSent: [] as number[],
    orderFromAnswer: [] as number[],
    orderFromSent: [] as number[],
    /** Per price write: from the first to the last product subscriber receiving it. */
    spreads: [] as number[],
    slowFirst: 0,
    /** Product results that repeated (or went back to) an amount the subscriber had already been shown. */
    stale: 0,
  };
  const receipts = new Map<PriceWrite, { first: number; last: number }>();
  for (const s of all) {
    const last = new Map<string, string>();
    const ordersSeen = new Set<string>();
    for (const { at, value } of s.received) {
      out.results++;
      if (s.kind === 'product') {
        out.productResults++;
        const product = value?.data?.productUpdated;
        const write = byAmount.get(product?.listPrice?.amount);
        if (value?.errors || !write || write.productId !== product?.id) {
          out.mismatches++;
          continue;
        }
        // Amounts grow with every write: a result showing the amount of the one before (or an older
        // one) answered its event from a state that did not have the write yet.
        const previous = last.get(product.id);
        if (previous !== undefined && Number(product.listPrice.amount) <= Number(previous)) out.stale++;
        last.set(product.id, product.listPrice.amount);
        const span = receipts.get(write);
        if (!span) receipts.set(write, { first: at, last: at });
        else {
          span.first = Math.min(span.first, at);
          span.last = Math.max(span.last, at);
        }
        out.productFromSent.push(at - write.sentAt);
        out.productFromAnswer.push(at - (write.answeredAt as number));
        if (at < (write.answeredAt as number)) out.beforeAnswer++;
      } else {
        out.orderResults++;
        const order = value?.data?.myOrderUpdates;
        const write = placed.get(order?.id);
        if (value?.errors || !write || write.userId !== s.userId || order?.status !== 'PLACED') {
          out.mismatches++;
          continue;
        }
        ordersSeen.add(order.id);
        out.orderFromSent.push(at - write.sentAt);
        out.orderFromAnswer.push(at - (write.answeredAt as number));
        if (at < (write.answeredAt as number)) out.beforeAnswer++;
      }
    }
    if (s.kind === 'product') {
      if ([...lastWritten].some(([id, w]) => last.get(id) !== w.amount)) out.finalWrong++;
    } else {
      for (const [id, w] of placed) if (w.userId === s.userId && !ordersSeen.has(id)) out.ordersMissing++;
    }
  }
  for (const [write, { first, last }] of receipts) {
    out.spreads.push(last - first);
    if (first - (write.answeredAt as number) > 100) out.slowFirst++;
  }
  return out;
}
