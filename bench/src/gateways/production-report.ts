/** The production-topology bench's figures (production.ts): summaries, Markdown, the SVG chart and the JSON, and the files they go to. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { SUBGRAPH_NAMES, type SubgraphName } from '@shop/registry';
import { barChart } from './report.ts';

/** One open-loop run: a gateway, a scenario, an arrival rate. */
export interface Point {
  gateway: string;
  label: string;
  scenario: string;
  /** Of the stock gateway's saturation rate. */
  fraction: number;
  /** Arrival rate, requests/s. */
  rate: number;
  scheduled: number;
  requests: number;
  errors: number;
  seconds: number;
  p50: number;
  p95: number;
  p99: number;
  /** CPU seconds over the run, by process group (router = the gateway under test, each subgraph, sandbox, postgres). */
  cpuSeconds: Record<string, number>;
  /** SQL statements each subgraph sent over the run. */
  statements: Record<SubgraphName, number>;
}

export interface ClosedLoop {
  gateway: string;
  scenario: string;
  rps: number;
  p50: number;
  p95: number;
  errors: number;
  requests: number;
}

export interface ProductionMeta {
  date: string;
  commit: string;
  quick: boolean;
  cpu: string;
  node: string;
  products: number;
  warmup: number;
  saturation: number;
  point: number;
  connections: number;
  order: string;
  pinning: string;
  historyUsers: number;
  checkoutUsers: number;
  searchTerms: number;
  /** How busy the machine was (others share it). */
  load?: string;
  /** SUBGRAPH_CACHE the subgraphs ran with (their own in-process caches; default true). */
  subgraphCache?: string;
}

/** One gateway on one scenario, over its three open-loop runs. */
export interface Summary {
  gateway: string;
  label: string;
  scenario: string;
  requests: number;
  errors: number;
  /** CPU ms per request of every process of the topology together. */
  cpuMs: number;
  /** CPU ms per request by process group. */
  cpuMsBy: Record<string, number>;
  /** The gateway's part of cpuMs (0–1). */
  routerShare: number;
  statementsPerRequest: Record<SubgraphName, number>;
  /** p50/p95/p99 at each arrival rate, in FRACTIONS order. */
  latency: { fraction: number; rate: number; p50: number; p95: number; p99: number }[];
}

export function summarise(points: Point[]): Summary[] {
  const keys = [...new Set(points.map((p) => `${p.gateway}\u0000${p.scenario}`))];
  return keys.map((key) => {
    const runs = points.filter((p) => `${p.gateway}\u0000${p.scenario}` === key);
    const first = runs[0]!;
    const requests = runs.reduce((n, p) => n + p.requests, 0);
    const per = (total: number) => (requests ? total / requests : Number.NaN);
    const groups = [...new Set(runs.flatMap((p) => Object.keys(p.cpuSeconds)))];
    const cpuMsBy = Object.fromEntries(groups.map((g) => [g, per(runs.reduce((s, p) => s + (p.cpuSeconds[g] ?? 0), 0) * 1000)]));
    const cpuMs = Object.values(cpuMsBy).reduce((a, b) => a + b, 0);
    return {
      gateway: first.gateway,
      label: first.label,
      scenario: first.scenario,
      requests,
      errors: runs.reduce((n, p) => n + p.errors, 0),
      cpuMs,
      cpuMsBy,
      routerShare: (cpuMsBy.router ?? 0) / cpuMs,
      statementsPerRequest: Object.fromEntries(
        SUBGRAPH_NAMES.map((name) => [name, per(runs.reduce((s, p) => s + p.statements[name], 0))]),
      ) as Record<SubgraphName, number>,
      latency: runs.map(({ fraction, rate, p50, p95, p99 }) => ({ fraction, rate, p50, p95, p99 })),
    };
  });
}

const fixed = (n: number | undefined, digits = 0) => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits));
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || !b ? '–' : `${(a / b).toFixed(2)}×`);
const STOCK = 'apollo';

export function renderProductionMarkdown(
  meta: ProductionMeta,
  saturation: Partial<Record<string, number>>,
  closedLoop: ClosedLoop[],
  summaries: Summary[],
): string {
  const stock = (scenario: string) => summaries.find((s) => s.scenario === scenario && s.gateway === STOCK);
  const closed = (s: Summary) => closedLoop.find((c) => c.gateway === s.gateway && c.scenario === s.scenario);
  const subgraphMs = (s: Summary) => SUBGRAPH_NAMES.reduce((sum, name) => sum + (s.cpuMsBy[name] ?? 0), 0);
  const fractions = [...new Set(summaries.flatMap((s) => s.latency.map((l) => l.fraction)))];
  const lines = [
    `# Production topology: the cost of a request end to end${meta.quick ? ' (quick smoke check: not a measurement)' : ''}`,
    '',
    `${meta.date} at ${meta.commit} · ${meta.cpu} · Node ${meta.node} · ${meta.products.toLocaleString('en')} products · ${meta.pinning}${meta.load ? ` · ${meta.load}` : ''}.`,
    '',
    'Every subgraph built and in its own process on its own PostgreSQL database, the payment sandbox, and the gateway under test in ' +
      'its own process (our router from router/dist with its production heap flags; the stock `@apollo/gateway` and Hive Gateway ' +
      'are bench files run through tsx). The cache-on router keeps its cache in the local Redis. ' +
      (meta.subgraphCache === 'false'
        ? "The subgraphs' own in-process caches are off (SUBGRAPH_CACHE=false; deployed, they are on), so every request the router sends reaches the database. "
        : 'The subgraphs run as deployed, their own in-process caches on (SUBGRAPH_CACHE=true, no Redis for them), so "cache off" rows are the router\'s cache only. ') +
      `Per gateway and scenario: ${meta.warmup} s closed-loop warm-up, ${meta.saturation} s closed loop at ${meta.connections} ` +
      `connections (the saturation rate), then ${meta.point} s open loop at each of ${fractions.map((f) => `${f * 100}%`).join(', ')} ` +
      "of the stock gateway's saturation rate for that scenario (measured first, in this run), latency from each request's scheduled " +
      'send time. The whole machine (2 cores) is shared by the load, every service, PostgreSQL and Redis: the request rates are ' +
      "this machine's, CPU per request is what carries over. One run; ratios are against the stock gateway in the same run.",
    '',
    `Order: ${meta.order} (the first with a double warm-up, as it also warms the subgraphs and the database).`,
    '',
    '## CPU and SQL per request',
    '',
    'Over the three open-loop runs: CPU ms of every process of the topology per request (the gateway, the five subgraphs, the ' +
      "sandbox, the PostgreSQL backends of the five databases; Redis is not counted), the gateway's share of it, and each " +
      "subgraph's SQL statements per request (`db_queries_total`, primary and replica).",
    '',
    `| scenario | gateway | total CPU ms/req | vs stock | gateway ms/req | gateway share | subgraphs ms/req | postgres ms/req | ${SUBGRAPH_NAMES.map((n) => `SQL ${n}`).join(' | ')} | errors |`,
    `| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ${SUBGRAPH_NAMES.map(() => '---:').join(' | ')} | ---: |`,
    ...summaries.map(
      (s) =>
        `| ${s.scenario} | ${s.label} | ${fixed(s.cpuMs, 1)} | ${ratio(s.cpuMs, stock(s.scenario)?.cpuMs)} | ${fixed(s.cpuMsBy.router, 2)} | ` +
        `${fixed(s.routerShare * 100)}% | ${fixed(subgraphMs(s), 1)} | ${fixed(s.cpuMsBy.postgres, 1)} | ` +
        `${SUBGRAPH_NAMES.map((n) => fixed(s.statementsPerRequest[n], 2)).join(' | ')} | ${s.errors} / ${s.requests} |`,
    ),
    '',
    '## Latency at fixed arrival rates, and saturation',
    '',
    'Open loop: p50 / p95 / p99 ms at each arrival rate (the same rates for every gateway); saturation: closed-loop requests/s.',
    '',
    `| scenario | gateway | saturation req/s | vs stock | ${fractions.map((f) => `p50 / p95 / p99 at ${f * 100}%`).join(' | ')} |`,
    `| --- | --- | ---: | ---: | ${fractions.map(() => '---:').join(' | ')} |`,
    ...summaries.map((s) => {
      const c = closed(s);
      return (
        `| ${s.scenario} | ${s.label} | ${fixed(c?.rps)} | ${ratio(c?.rps, saturation[s.scenario])} | ` +
        fractions
          .map((f) => {
            const l = s.latency.find((x) => x.fraction === f);
            return l ? `${fixed(l.p50, 1)} / ${fixed(l.p95, 1)} / ${fixed(l.p99, 1)} (${fixed(l.rate, 1)}/s)` : '–';
          })
          .join(' | ') +
        ' |'
      );
    }),
    '',
    "Scenarios: `listing` = the web client's ProductListing (20 products with price, stock and category; page by Zipf over all " +
      `${(meta.products / 20).toLocaleString('en')} pages); \`search\` = SearchProducts (24 results) for a word or two-word phrase of real product names (${meta.searchTerms} terms ` +
      'from pages spread over the whole catalogue, Zipf over a seeded shuffle); ' +
      `\`detail\` = ProductById (Zipf over all ${meta.products.toLocaleString('en')} ids); ` +
      `\`history\` = OrderHistory signed in (Zipf over ${meta.historyUsers} customers); ` +
      `\`checkout\` = 10% PlaceOrder (${meta.checkoutUsers} other customers) + 50% detail + 30% listing + 10% history. ` +
      'Every response is checked (HTTP 200, no `errors`, expected shape); anything else is an error.',
    '',
    'Reproduce: `npm run build && npm run bench -- --topology production` (PostgreSQL at PGHOST/PGPORT, Redis at REDIS_URL).',
    '',
  ];
  return lines.join('\n');
}

/** Writes production.md, production.svg and production.json into `outDir`; returns the Markdown. */
export function writeProductionReports(
  outDir: string,
  meta: ProductionMeta,
  saturation: Partial<Record<string, number>>,
  closedLoop: ClosedLoop[],
  points: Point[],
  summaries: Summary[],
): string {
  if (!existsSync(outDir)) mkdirSync(outDir, { recursive: true });
  const markdown = renderProductionMarkdown(meta, saturation, closedLoop, summaries);
  const mid = (s: Summary) => s.latency.find((l) => l.fraction === 0.5);
  const svg = barChart(
    `Production topology: cost of a request end to end${meta.quick ? ' (quick smoke check)' : ''}`,
    `${meta.date} · ${meta.cpu} · every subgraph in its own process on PostgreSQL · ${meta.point} s per open-loop point · ${meta.pinning}`,
    summaries,
    [
      { title: 'total CPU ms per request, every process of the topology (lower is better)', value: (s) => s.cpuMs, digits: 1 },
      { title: "p95 ms at 50% of the stock gateway's saturation rate, open loop (lower is better)", value: (s) => mid(s)?.p95, digits: 0 },
      {
        title: 'saturation requests/s, closed loop (higher is better)',
        value: (s) => closedLoop.find((c) => c.gateway === s.gateway && c.scenario === s.scenario)?.rps,
        digits: 0,
      },
    ],
  );
  writeFileSync(`${outDir}production.md`, markdown);
  writeFileSync(`${outDir}production.svg`, svg);
  writeFileSync(`${outDir}production.json`, `${JSON.stringify({ meta, saturation, closedLoop, summaries, points }, null, 2)}\n`);
  return markdown;
}
