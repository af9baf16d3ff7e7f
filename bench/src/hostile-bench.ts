/**
 * `npm run bench:hostile`: the findings of the hostile-traffic review and the hostile-input generator, at least
 * 10,000 hostile requests, against the router started as `npm start -w @shop/router` starts it
 * (its own process, its start script's heap flags, rate limiting on), while ordinary customers
 * use the shop beside it. Reports 5xx, ordinary failures, router peak RSS, `/health` worst
 * latency and whether any process died; exits 1 when any of those goals, or any finding's
 * defence, fails. Everything is on loopback, bounded in count and time, and stops by itself.
 *
 * - Subgraphs: one child process (gateways/stack-server.ts) on the embedded PGlite, seeded.
 * - Router: router/src/index.ts in its own process, NODE_ENV as `--mode`, ROUTER_SECRET, the
 *   default rate limit. Its pid is the one whose VmRSS/VmHWM is sampled.
 * - Hostile traffic from 127.0.0.2…127.0.0.9 (undici `connect.localAddress`), so the per-IP limit
 *   sees several attackers; ordinary traffic and `/health` polls from 127.0.0.1.
 * - If a process dies, the run stops at once, reports it, and exits 1.
 *
 *   --mode production|development   default production
 *   --quick            ~30 s smoke run: small seed, 1,200 mix draws over 25 s, shorter bursts
 *   --seconds S        how long the hostile mix runs (default 180; 25 with --quick)
 *   --hostile N        mix draws (default 10,400; 1,200 with --quick); bursts come on top
 *   --rate R           ordinary requests per second (default 15)
 *   --slow N           slow-body connections to the router (default 100; 20 with --quick), a tenth
 *                      of that to each subgraph
 *   --seed N           the hostile stream's seed (default: from the clock; printed for replay)
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '@shop/platform/testing';
import { FULL_SEED, SMALL_SEED } from '@shop/subgraph-kit';
import { SUBGRAPH_NAMES } from '@shop/registry';
import { readConfig as readRouterConfig } from '@shop/router/config';
import { leakPattern } from '@shop/stack/hostile-requests';
import { inBatches, logIn } from './graphql.ts';
import { Senders } from './hostile/client.ts';
import { FINDINGS, runMix, runSignInFlood, runSignUpFlood, type FindingContext } from './hostile/findings.ts';
import { startOrdinary } from './hostile/ordinary.ts';
import { renderHostileMarkdown, type HostileResults } from './hostile/report.ts';
import { openSlowBodies } from './hostile/slow-bodies.ts';
import { Tallies } from './hostile/tally.ts';
import { pinCpus, procStatusBytes } from './proc.ts';
import { ROOT, ROUTER_NODE_FLAGS, spawnTs, startSubgraphs, stopChild, waitForGateway } from './processes.ts';
import { subgraphUrlEnv } from '@shop/registry';

// ---------------------------------------------------------------- options

const { values } = parseArgs({
  options: {
    mode: { type: 'string' },
    quick: { type: 'boolean' },
    seconds: { type: 'string' },
    hostile: { type: 'string' },
    rate: { type: 'string' },
    slow: { type: 'string' },
    seed: { type: 'string' },
  },
});
const MODE = (values.mode ?? 'production') as 'production' | 'development';
if (MODE !== 'production' && MODE !== 'development') throw new Error('--mode must be production or development');
const QUICK = !!values.quick;
const SECONDS = Number(values.seconds ?? (QUICK ? 25 : 180));
const DRAWS = Number(values.hostile ?? (QUICK ? 1_200 : 10_400));
const ORDINARY_RATE = Number(values.rate ?? 15);
const SLOW = Number(values.slow ?? (QUICK ? 20 : 100));
const SEED = Number(values.seed ?? Date.now() % 2 ** 31);
for (const [name, n] of [
  ['--seconds', SECONDS],
  ['--hostile', DRAWS],
  ['--rate', ORDINARY_RATE],
  ['--slow', SLOW],
  ['--seed', SEED],
] as const) {
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number`);
}
const SEED_SIZE = QUICK ? SMALL_SEED : FULL_SEED;
/** Bursts: F4's sign-in flood and F8's signed-in flood, each started part-way through the mix. */
const SIGN_IN_FLOOD = { at: 0.25, seconds: QUICK ? 5 : 20, maxRequests: QUICK ? 1_000 : 4_000 };
// F8 floods for a fixed time rather than a count: the verdict needs more sent than the address's
// allowance over the windows the flood touched (see runSignUpFlood).
const SIGN_UP_FLOOD = { at: QUICK ? 0.4 : 0.55, signUps: 12, seconds: QUICK ? 8 : 25 };
/**
 * A slow body still open after this long is F9 not defended: the listeners' request timeout
 * (REQUEST_TIMEOUT_MS, 30 s by default) plus Node's 30 s interval for checking it, plus slack.
 * Younger ones are not judged, so a run shorter than this (--quick) judges none.
 */
const SLOW_BODY_JUDGED_AFTER_MS = 90_000;
/** Past this the run is cut short, whatever is still in flight: the bench never hangs. */
const HARD_LIMIT_MS = (SECONDS + 90) * 1000;
const HOSTILE_SOURCES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.8'];

const T0 = Date.now();
const log = (message: string) => console.log(`[${((Date.now() - T0) / 1000).toFixed(0).padStart(4)} s] ${message}`);
/** Waits `ms`, or less if `signal` aborts first. */
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

// ---------------------------------------------------------------- configuration

const CPUS = os.availableParallelism(); // before pinning, which narrows what this process sees
const PIN = pinCpus();
const routerSecret = randomBytes(24).toString('base64url');
// Production refuses to start the users subgraph without a stable signing key.
const jwtPrivateKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  .privateKey.export({ format: 'pem', type: 'pkcs8' })
  .toString();
/** The embedded defaults: no Redis, no Postgres, and the router's own rate-limit defaults. */
const inherited = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => key !== 'REDIS_URL' && !key.endsWith('_DATABASE_URL') && !key.startsWith('RATE_LIMIT')),
);
const commonEnv: NodeJS.ProcessEnv = { ...inherited, NODE_ENV: MODE, ROUTER_SECRET: routerSecret, JWT_PRIVATE_KEY: jwtPrivateKey };
const commit = (() => {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT }).toString().trim() !== '';
    return dirty ? `${sha} + uncommitted changes` : sha;
  } catch {
    return 'unknown';
  }
})();

log(
  `hostile traffic, ${MODE}${QUICK ? ', quick smoke run' : ''}: ${DRAWS} mix draws over ${SECONDS} s + bursts, ` +
    `ordinary ${ORDINARY_RATE} req/s, ${SLOW} slow bodies; seed ${SEED} (replay with --seed ${SEED})`,
);
log(`starting subgraphs (PGlite in memory, ${SEED_SIZE.products} products, NODE_ENV=${MODE})`);
// Production does not seed by default; the bench needs the catalogue and the seeded customers.
const stack = await startSubgraphs({ ...commonEnv, SEED: 'true' }, QUICK ? 'small' : 'full', PIN?.rest);
const routerPort = await freePort();
const routerEnv: NodeJS.ProcessEnv = {
  ...commonEnv,
  ...subgraphUrlEnv(stack.subgraphUrls),
  PORT: String(routerPort),
  HOST: '127.0.0.1',
  LOG_LEVEL: 'error',
  SUPERGRAPH_PATH: `${ROOT}schema/supergraph.graphql`,
};
// Fails here, before any load, if the production configuration is incomplete.
const routerConfig = readRouterConfig(routerEnv);
if (!routerConfig.rateLimit.enabled) throw new Error('the rate limit must be on: it is part of the defence');

const routerStarted = Date.now();
const router = spawnTs('router/src/index.ts', routerEnv, PIN?.gateway, ROUTER_NODE_FLAGS, 'pipe');
/** The router's last words (a heap or stack overflow is printed to stderr), kept for the report. */
let routerStderr = '';
router.stderr?.on('data', (chunk: Buffer) => {
  process.stderr.write(chunk);
  routerStderr = (routerStderr + chunk.toString('utf8')).slice(-4_000);
});
const origin = `http://127.0.0.1:${routerPort}`;
await waitForGateway(`${origin}/graphql`, router);
log(`router ready in ${((Date.now() - routerStarted) / 1000).toFixed(1)} s (pid ${router.pid}, ${ROUTER_NODE_FLAGS.join(' ')})`);

// Customers for "my orders", signed in straight at the users subgraph (with the router's secret,
// as the router would send it) so the router's sign-in limits see only the run's own traffic.
const sessions = await inBatches(
  Array.from({ length: Math.min(20, SEED_SIZE.users) }, (_, i) => i + 1),
  4,
  (n) => logIn(stack.subgraphUrls.users, `user${n}@example.com`, 'password', { 'x-router-secret': routerSecret }),
);

// ---------------------------------------------------------------- watching the processes

const abort = new AbortController();
const died: string[] = [];
let timedOut = false;
/** Set once the bench itself stops the processes: an exit after that is not a death. */
let stopping = false;
const watchExit = (name: string, child: ChildProcess) =>
  child.once('exit', (code, signal) => {
    if (stopping) return;
    const lastWords = name === 'router' ? routerStderr.trim().split('\n').filter(Boolean).slice(-2).join(' / ').slice(0, 300) : '';
    died.push(`${name} at ${((Date.now() - T0) / 1000).toFixed(0)} s (${signal ?? `exit ${code}`}${lastWords ? `: ${lastWords}` : ''})`);
    log(`✗ ${died.at(-1)}`);
    abort.abort();
  });
watchExit('router', router);
watchExit('subgraphs', stack.child);
const hardLimit = setTimeout(() => {
  timedOut = true;
  log(`✗ hard time limit (${HARD_LIMIT_MS / 1000} s) reached; stopping`);
  abort.abort();
}, HARD_LIMIT_MS);

let peakRss: number | undefined;
let hwm: number | undefined;
const memory = setInterval(() => {
  const rss = procStatusBytes(router.pid, 'VmRSS');
  if (rss !== undefined) peakRss = Math.max(peakRss ?? 0, rss);
  hwm = procStatusBytes(router.pid, 'VmHWM') ?? hwm;
}, 250);

const healthSender = new Senders(1);
const health = { polls: 0, failures: 0, worstMs: 0 };
const healthLoop = (async () => {
  while (!abort.signal.aborted && !stopping) {
    const started = performance.now();
    const outcome = await healthSender.send(origin, '127.0.0.1', { method: 'GET', path: '/health', headers: {} });
    const ms = performance.now() - started;
    health.polls++;
    health.worstMs = Math.max(health.worstMs, ms);
    if (outcome.status !== 200) health.failures++;
    await sleep(Math.max(0, 100 - ms), abort.signal);
  }
})();

// ---------------------------------------------------------------- traffic

const senders = new Senders(32);
const tallies = new Tallies();
const ctx: FindingContext = {
  senders,
  tallies,
  leak: leakPattern(Object.values(stack.subgraphUrls).map((url) => new URL(url).port)),
  routerOrigin: origin,
  subgraphUrls: stack.subgraphUrls,
  production: MODE === 'production',
  products: SEED_SIZE.products,
  runId: `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`,
  signal: abort.signal,
  seed: SEED,
};
const activeBursts = new Set<string>();
const ordinary = startOrdinary({
  senders,
  origin,
  products: SEED_SIZE.products,
  signInUsers: Array.from({ length: Math.min(50, SEED_SIZE.users) - 1 }, (_, i) => i + 2), // user1 is F4's target
  sessions,
  ratePerSecond: ORDINARY_RATE,
  // 5%, or half what the sign-in limit lets one address send if that is less.
  signInShare: Math.min(
    0.05,
    (0.5 * routerConfig.rateLimit.signIn.max) / (routerConfig.rateLimit.signIn.windowMs / 1000) / Math.max(1, ORDINARY_RATE),
  ),
  activeBursts: () => [...activeBursts],
});
// F9 against every listener: the router, and a tenth as many on each subgraph's port.
const slowBodies = openSlowBodies(
  [
    { name: 'router', url: `${origin}/graphql`, count: SLOW },
    ...SUBGRAPH_NAMES.map((name) => ({ name, url: stack.subgraphUrls[name], count: Math.ceil(SLOW / 10) })),
  ],
  HOSTILE_SOURCES.slice(1),
  10_000,
  SLOW_BODY_JUDGED_AFTER_MS,
);
const mixDeadline = Date.now() + SECONDS * 1000;
log(
  `traffic: mix at ${(DRAWS / SECONDS).toFixed(0)} draws/s over ${HOSTILE_SOURCES.join(', ')}, ` +
    `ordinary ${ORDINARY_RATE} req/s from 127.0.0.1`,
);

const floodAllowance = { max: routerConfig.rateLimit.ipMax, windowMs: routerConfig.rateLimit.windowMs };
const burst = async <T>(name: string, at: number, run: () => Promise<T>): Promise<T | undefined> => {
  await sleep(at * SECONDS * 1000, abort.signal);
  if (abort.signal.aborted) return undefined;
  activeBursts.add(name);
  log(`burst ${name} starts`);
  try {
    return await run();
  } finally {
    activeBursts.delete(name);
    log(`burst ${name} done`);
  }
};
const progress = setInterval(
  () => {
    const t = tallies.totals();
    log(
      `  hostile ${t.sent} sent (${t.fiveHundreds} 5xx, ${t.transport} failed connections); ` +
        `ordinary ${ordinary.tally.sent} sent, ${ordinary.tally.failed} failed; ` +
        `router RSS ${((peakRss ?? 0) / 2 ** 20).toFixed(0)} MB peak; /health worst ${health.worstMs.toFixed(0)} ms`,
    );
  },
  QUICK ? 5_000 : 15_000,
);

const [drawn, , signUpFlood] = await Promise.all([
  runMix(ctx, DRAWS, DRAWS / SECONDS, 16, HOSTILE_SOURCES, mixDeadline),
  burst('F4 sign-in flood', SIGN_IN_FLOOD.at, () => runSignInFlood(ctx, '127.0.0.2', SIGN_IN_FLOOD.seconds, SIGN_IN_FLOOD.maxRequests)),
  burst('F8 signed-in flood', SIGN_UP_FLOOD.at, () =>
    runSignUpFlood(ctx, '127.0.0.9', SIGN_UP_FLOOD.signUps, SIGN_UP_FLOOD.seconds, floodAllowance, mixDeadline),
  ),
]);
log(`hostile traffic done: ${drawn} mix draws`);

// ---------------------------------------------------------------- stop and report

await ordinary.stop();
const slowResults = slowBodies.results();
slowBodies.close();
stopping = true;
clearInterval(progress);
clearInterval(memory);
clearTimeout(hardLimit);
await healthLoop;
await Promise.all([senders.destroy(), healthSender.destroy()]);
await stopChild(router);
await stopChild(stack.child);

const totals = tallies.totals();
const findings: HostileResults['findings'] = {};
for (const id of Object.keys(FINDINGS)) {
  if (id === 'F9') {
    const sum = (field: 'opened' | 'closedByServer' | 'heldPastJudging') => slowResults.reduce((n, s) => n + s[field], 0);
    const answers: Record<string, number> = {};
    for (const s of slowResults) for (const [status, n] of Object.entries(s.answers)) answers[status] = (answers[status] ?? 0) + n;
    findings.F9 = {
      what: FINDINGS.F9!,
      sent: sum('opened'),
      statuses: answers,
      codes: {},
      defended: sum('closedByServer'),
      notDefended: sum('heldPastJudging'),
      problems: 0,
      samples: [],
    };
    continue;
  }
  const tally = tallies.byFinding.get(id);
  findings[id] = {
    what: FINDINGS[id]!,
    ...(tally ?? { sent: 0, statuses: {}, codes: {}, defended: 0, notDefended: 0, problems: 0, samples: [] }),
  };
}
const notDefended = Object.values(findings).reduce((n, f) => n + f.notDefended, 0);
const failures: string[] = [];
if (died.length) failures.push(`process died: ${died.join('; ')}`);
if (timedOut) failures.push('hit the hard time limit');
if (totals.fiveHundreds) failures.push(`${totals.fiveHundreds} hostile requests answered 5xx`);
if (totals.transport) failures.push(`${totals.transport} hostile requests got no answer (connection failed or timed out)`);
if (ordinary.tally.failed) failures.push(`${ordinary.tally.failed} of ${ordinary.tally.sent} ordinary requests failed`);
if (health.failures) failures.push(`${health.failures} of ${health.polls} /health polls failed`);
if (notDefended)
  failures.push(
    `${notDefended} hostile answers not defended (${Object.entries(findings)
      .filter(([, f]) => f.notDefended)
      .map(([id, f]) => `${id} ${f.notDefended}`)
      .join(', ')})`,
  );
const problems = Object.values(findings).reduce((n, f) => n + f.problems, 0);
if (problems) failures.push(`${problems} hostile answers broke the error rules (5xx, no GraphQL error shape, or a leak of internals)`);

const results: HostileResults = {
  meta: {
    date: new Date().toISOString(),
    commit,
    mode: MODE,
    quick: QUICK,
    cpu: `${os.cpus()[0]?.model ?? 'unknown CPU'} × ${CPUS}`,
    node: process.version,
    database: 'PGlite (in memory)',
    products: SEED_SIZE.products,
    seed: SEED,
    seconds: SECONDS,
    routerFlags: ROUTER_NODE_FLAGS.join(' '),
    rateLimit: { max: routerConfig.rateLimit.max, ipMax: routerConfig.rateLimit.ipMax, windowMs: routerConfig.rateLimit.windowMs },
    ordinaryRate: ORDINARY_RATE,
    slowBodyJudgedAfterS: SLOW_BODY_JUDGED_AFTER_MS / 1000,
    pinning: PIN ? `router on CPU ${PIN.gateway}, load and subgraphs on CPU ${PIN.rest}` : 'no CPU pinning',
  },
  summary: {
    hostileSent: totals.sent + findings.F9!.sent,
    mixSent: totals.sent - findings.F4!.sent - findings.F8!.sent,
    fiveHundreds: totals.fiveHundreds,
    transportFailures: totals.transport,
    ordinarySent: ordinary.tally.sent,
    ordinaryFailed: ordinary.tally.failed,
    routerPeakRssMb: peakRss === undefined ? undefined : peakRss / 2 ** 20,
    routerHwmMb: hwm === undefined ? undefined : hwm / 2 ** 20,
    healthPolls: health.polls,
    healthFailures: health.failures,
    healthWorstMs: health.worstMs,
    died,
    timedOut,
    notDefended,
    elapsedSeconds: (Date.now() - T0) / 1000,
  },
  findings,
  slowBodies: slowResults,
  signUpFlood: signUpFlood ?? undefined,
  ordinary: ordinary.tally,
  failures,
};
const markdown = renderHostileMarkdown(results);
console.log(`\n${markdown}`);
const outDir = fileURLToPath(new URL(QUICK ? '../results/quick/' : '../results/', import.meta.url));
if (!existsSync(outDir)) mkdirSync(outDir, { recursive: true });
const name = `hostile-${results.meta.date.slice(0, 10)}${MODE === 'development' ? '-development' : ''}`;
writeFileSync(`${outDir}${name}.md`, markdown);
writeFileSync(`${outDir}${name}.json`, `${JSON.stringify(results, null, 2)}\n`);
log(`wrote ${outDir}${name}.md and .json`);
if (failures.length) {
  console.error(`FAILED:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
  process.exitCode = 1;
}
process.exit();
