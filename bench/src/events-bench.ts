/**
 * `npm run bench:events`: what the outbox relay sustains and how far behind the stream a checkout's
 * events land, for issue 14. Writes bench/results/events.json and events.md (`--quick`:
 * bench/results/quick/, git-ignored).
 *
 * 1. Relay throughput (events-relay.ts): N events (20,000) queued the way writes queue them, then
 *    createOutboxRelay(...).drain() timed, on (a) embedded PGlite + the in-process stream and (b)
 *    real Postgres (a database the bench creates and drops) + NATS JetStream (a private nats-server
 *    on a free port, else NATS_URL; a stream of the bench's own, deleted after).
 * 2. Outbox lag under checkout load (events-lag.ts): the stack on free ports with the small seed,
 *    placeOrder through the router at a fixed rate, then each subgraph's outbox_publish_lag_seconds
 *    from /metrics: p50/p99 from the histogram buckets, and the count; with the in-process stream
 *    and with NATS JetStream.
 * Anything not reachable (Postgres, nats-server) is skipped with the reason printed; nothing fails the run for it.
 *
 *   --quick            smoke run (about a minute on 2 cores, most of it starting two stacks): 2,000 events, 5 s of load per stream
 *   --events N         events per relay run (20,000; 2,000 with --quick)
 *   --writers N        writes in flight while queueing them (8)
 *   --batch N          the relay's batch size (500, its default)
 *   --rate R           orders started per second (10: what a 2-core machine shared with others serves without
 *                      saturating; a saturated stack's lag is its event loop's, not the relay's)
 *   --concurrency C    orders in flight at most (16)
 *   --seconds D        seconds of checkout load per stream (40; 5 with --quick), split over the slices
 *   --slices K         stacks per stream, run ABBA… (2: in-process, NATS, NATS, in-process; 1 with --quick)
 *   --users N          seed users placing orders (8, of the small seed's 20)
 *   --only relay|lag   one half
 */
import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type LagResult, type LagSkipped, type LagSlice, lagSlice, type Quantiles, summariseLag } from './events/lag.ts';
import { type RelayResult, type RelaySkipped, relayOnPglite, relayOnPostgres } from './events/relay.ts';
import { benchNats, progress, RUN_ID, scratchPostgres } from './events/support.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    events: { type: 'string' },
    writers: { type: 'string' },
    batch: { type: 'string' },
    rate: { type: 'string' },
    concurrency: { type: 'string' },
    seconds: { type: 'string' },
    users: { type: 'string' },
    only: { type: 'string' },
    slices: { type: 'string' },
  },
});
const QUICK = !!values.quick;
const positive = (name: string, value: string | undefined, fallback: number, max: number): number => {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > max) throw new Error(`--${name} must be a number in (0, ${max}], got ${value}`);
  return n;
};
const RELAY = {
  events: Math.round(positive('events', values.events, QUICK ? 2_000 : 20_000, 1_000_000)),
  writers: Math.round(positive('writers', values.writers, 8, 64)),
  batchSize: Math.round(positive('batch', values.batch, 500, 10_000)),
  roundTrips: QUICK ? 50 : 200,
};
const LAG = {
  rate: positive('rate', values.rate, 10, 1_000),
  concurrency: Math.round(positive('concurrency', values.concurrency, 16, 256)),
  seconds: positive('seconds', values.seconds, QUICK ? 5 : 40, 600),
  users: Math.round(positive('users', values.users, 8, 20)),
  products: 20,
};
/**
 * The load runs in slices, in the order in-process, NATS, NATS, in-process (one stack each), so
 * others' work drifting over the run weighs on both streams alike; --quick runs one slice each.
 */
const SLICES = values.slices === undefined ? (QUICK ? 1 : 2) : Math.round(positive('slices', values.slices, 2, 10));
if (values.only && !['relay', 'lag'].includes(values.only)) throw new Error(`--only must be relay or lag, got ${values.only}`);
const runRelay = values.only !== 'lag';
const runLag = values.only !== 'relay';

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));
const started = Date.now();
// Others' work on the machine moves every figure: the load average before and after goes with them.
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

const relay: (RelayResult | RelaySkipped)[] = [];
const lag: (LagResult | LagSkipped)[] = [];
/** Runs that failed with everything reachable: a bug, not a fresh machine, so the exit code says so. */
const failures: unknown[] = [];

const nats = await benchNats();
if (!nats.ok) progress(`NATS: ${nats.reason}`);
const relayStream = `BENCH_RELAY_${RUN_ID}`;
const lagStream = `BENCH_LAG_${RUN_ID}`;
const lagStreams: string[] = [];
try {
  if (runRelay) {
    relay.push(await relayOnPglite(RELAY));
    const pg = await scratchPostgres();
    if (!pg.ok) relay.push({ label: 'Postgres + NATS JetStream', skipped: pg.reason });
    else if (!nats.ok) relay.push({ label: 'Postgres + NATS JetStream', skipped: nats.reason });
    try {
      if (pg.ok && nats.ok) relay.push(await relayOnPostgres(RELAY, pg.value, nats.value, relayStream));
    } catch (error) {
      relay.push({ label: 'Postgres + NATS JetStream', skipped: `failed: ${errorText(error)}` });
      failures.push(error);
    } finally {
      if (pg.ok) await pg.value.drop();
    }
  }
  if (runLag) {
    const perSlice = { ...LAG, seconds: LAG.seconds / SLICES };
    const slices = { inProcess: [] as LagSlice[], nats: [] as LagSlice[] };
    let natsFailed: string | undefined;
    for (let k = 0; k < SLICES; k++) {
      for (const which of k % 2 === 0 ? (['inProcess', 'nats'] as const) : (['nats', 'inProcess'] as const)) {
        if (which === 'inProcess') slices.inProcess.push(await lagSlice({ label: 'in-process stream' }, perSlice));
        else if (nats.ok && !natsFailed) {
          const stream = `${lagStream}_${k}`;
          lagStreams.push(stream, `${stream}_DLQ`);
          try {
            slices.nats.push(
              await lagSlice(
                { label: 'NATS JetStream', nats: { ...nats.value, stream, subjectPrefix: `bench-lag-${RUN_ID}-${k}` } },
                perSlice,
              ),
            );
          } catch (error) {
            natsFailed = `failed: ${errorText(error)}`;
            failures.push(error);
          }
        }
      }
    }
    lag.push(summariseLag(slices.inProcess, LAG));
    if (!nats.ok) lag.push({ label: 'NATS JetStream', skipped: nats.reason });
    else if (natsFailed) lag.push({ label: 'NATS JetStream', skipped: natsFailed });
    else lag.push(summariseLag(slices.nats, LAG));
  }
} finally {
  // The streams go (and their dead-letter streams): nothing of the bench's stays on a shared NATS.
  if (nats.ok) await nats.value.dispose([relayStream, `${relayStream}_DLQ`, ...lagStreams]);
}

const totalSeconds = (Date.now() - started) / 1_000;
const loadAfter = loadavg()[0] ?? 0;
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (seconds: number | undefined, above = false) =>
  seconds === undefined ? '—' : !Number.isFinite(seconds) ? '> 60 s' : `${above ? '≥ ' : ''}${(seconds * 1_000).toFixed(1)} ms`;
const isSkipped = <T extends object>(r: T | { skipped: string }): r is { label: string; skipped: string } => 'skipped' in r;
const quantileCells = (q: Quantiles) => [int(q.count), ms(q.p50), ms(q.p99, q.p99Above), ms(q.max), ms(q.meanSeconds)];

const lines: string[] = [
  `# Outbox relay and event lag (\`npm run bench:events${QUICK ? ' -- --quick' : ''}\`)`,
  '',
  `Measured ${new Date(started).toISOString()} on commit ${commit}, ${cpus().length} CPUs, Node ${process.version}; ` +
    `the run took ${totalSeconds.toFixed(0)} s; 1-minute load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after.`,
  '',
];
if (runRelay) {
  lines.push(
    '## Relay throughput',
    '',
    `${int(RELAY.events)} events queued by checkout-shaped writes (4 events per transaction through insertOutboxEvents, ` +
      `${RELAY.writers} writers), then one \`createOutboxRelay(...).drain()\` timed (batch size ${RELAY.batchSize}): ` +
      'read a batch, publish it, mark it published, until the outbox is empty. Schema `bench`, the kit’s migrations via prepareStorage. ' +
      `Then ${RELAY.roundTrips} times in a row: one checkout’s write (4 events) queued and drained alone on the idle relay, ` +
      'the floor under the lag a single write sees.',
    '',
    '| database + stream | events | drain | events/s (relay) | of the drain, in stream.publish | queueing them: events/s | ' +
      'on the stream afterwards | one write drained alone: p50 / p99 |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const r of relay) {
    if (isSkipped(r)) lines.push(`| ${r.label} | skipped: ${r.skipped} | | | | | | |`);
    else {
      lines.push(
        `| ${r.label} (${r.where}) | ${int(r.events)} | ${r.drainSeconds.toFixed(2)} s | **${int(r.eventsPerSecond)}** | ` +
          `${((100 * r.publishSeconds) / r.drainSeconds).toFixed(0)}% | ` +
          `${int(r.insertEventsPerSecond)} | ${int(r.onStream)} | ` +
          `${r.oneWriteDrainMs.p50?.toFixed(2) ?? '—'} ms / ${r.oneWriteDrainMs.p99?.toFixed(2) ?? '—'} ms |`,
      );
    }
  }
  lines.push('');
}
if (runLag) {
  lines.push(
    '## Outbox lag under checkout load',
    '',
    `The stack (startStack, free ports, small seed, one embedded PGlite, the payment sandbox, RATE_LIMIT=false); ` +
      `placeOrder through the router, one line of quantity 1 over ${LAG.products} products whose stock was raised first, ` +
      `${LAG.users} signed-in seed users, ${LAG.rate} orders/s offered with at most ${LAG.concurrency} in flight ` +
      `(an arrival finding them all busy is not sent, and counted), for ${LAG.seconds} s per stream` +
      (SLICES > 1
        ? `, in ${SLICES} slices of ${LAG.seconds / SLICES} s per stream, one stack each, run in-process, NATS, NATS, in-process…, ` +
          'so others’ work drifting over the run weighs on both alike. '
        : '. ') +
      '`outbox_publish_lag_seconds` is from a write creating its events (inside its transaction) to the stream storing them; ' +
      'figures are the difference of /metrics scrapes taken before the load and after every outbox was empty again, ' +
      'p50/p99 interpolated in the histogram buckets as Prometheus’ histogram_quantile does (buckets 5, 10, 25, 50, 100, 250 ms, …).',
    '',
    '| stream | orders placed / sent (not sent), placed/s | failed | order p50 / p99 | events | lag p50 | lag p99 | lag ≤ (highest bucket hit) | lag mean |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const r of lag) {
    if (isSkipped(r)) lines.push(`| ${r.label} | skipped: ${r.skipped} | | | | | | | |`);
    else {
      const failed =
        Object.entries(r.failed)
          .map(([code, n]) => `${code} ${n}`)
          .join(', ') || '0';
      const orderMs = (n: number | undefined) => (n === undefined ? '—' : `${n.toFixed(0)} ms`);
      lines.push(
        `| ${r.label} | ${int(r.placed)} / ${int(r.sent)} (${int(r.notSent)}), ${(r.placed / r.seconds).toFixed(1)}/s | ${failed} | ` +
          `${orderMs(r.orderLatencyMs.p50)} / ${orderMs(r.orderLatencyMs.p99)} | ${quantileCells(r.all).join(' | ')} |`,
      );
    }
  }
  lines.push('', 'By subgraph (the ones whose outbox had events):', '');
  lines.push(
    '| stream | subgraph | events published | events | lag p50 | lag p99 | lag ≤ | lag mean |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const r of lag) {
    if (isSkipped(r)) continue;
    for (const [name, q] of Object.entries(r.bySubgraph))
      lines.push(`| ${r.label} | ${name} | ${int(q.published)} | ${quantileCells(q).join(' | ')} |`);
  }
  lines.push('', 'Slice by slice (1-minute load average of the machine when each slice’s load began):', '');
  lines.push(
    '| stream | slice | load average | orders placed | events | lag p50 | lag p99 | settled after |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const r of lag) {
    if (isSkipped(r)) continue;
    for (const [i, slice] of r.slices.entries()) {
      lines.push(
        `| ${r.label} | ${i + 1} | ${slice.loadAverage.toFixed(1)} | ${int(slice.placed)} | ${int(slice.lag.count)} | ` +
          `${ms(slice.lag.p50)} | ${ms(slice.lag.p99, slice.lag.p99Above)} | ${slice.settleSeconds.toFixed(1)} s |`,
      );
    }
  }
  const noPayment = lag.some((r) => !isSkipped(r) && !r.paymentMethod);
  if (noPayment) lines.push('', 'PlaceOrderInput had no `paymentMethod` when this ran: orders were placed without it.');
  lines.push('');
}
const markdown = lines.join('\n');

const outDir = fileURLToPath(new URL(QUICK ? '../results/quick/' : '../results/', import.meta.url));
mkdirSync(outDir, { recursive: true });
const json = {
  measuredAt: new Date(started).toISOString(),
  commit,
  cpus: cpus().length,
  node: process.version,
  quick: QUICK,
  seconds: totalSeconds,
  loadAverage: { before: loadBefore, after: loadAfter },
  options: { relay: RELAY, lag: LAG },
  relay,
  lag,
};
// Infinity (a lag beyond the last bucket) has no JSON form: written as the string "+Inf".
writeFileSync(`${outDir}events.json`, `${JSON.stringify(json, (_k, v) => (v === Number.POSITIVE_INFINITY ? '+Inf' : v), 2)}\n`);
writeFileSync(`${outDir}events.md`, `${markdown}\n`);
process.stdout.write(`${markdown}\nwritten: ${outDir}events.md, events.json\n`);
for (const error of failures) progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
// Pools and timers of closed services must not hold the bench open.
process.exit(failures.length ? 1 : 0);
