/** The gateway comparison's Markdown table and SVG bar chart (hand-written SVG, no chart library), and the files they go to. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';

export interface Row extends Bar {
  scenario: string;
  /** Gateway id (`router-nodedup`, `router`, `router-cache`, `apollo`, `hive`, or `direct`). */
  gateway: string;
  label: string;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  requests: number;
  errors: number;
  /** Cores used by the gateway process over the measured run (CPU seconds / wall seconds). */
  gatewayCpu: number | undefined;
  /** Cores used by the subgraph process over the same run. */
  subgraphCpu: number | undefined;
  peakRssMb: number | undefined;
}

export interface Meta {
  date: string;
  quick: boolean;
  cpu: string;
  node: string;
  database: string;
  products: number;
  duration: number;
  warmup: number;
  connections: number;
  pinning: string;
  /** The order the gateways ran in. */
  order: string;
  historyUsers: number;
  checkoutUsers: number;
}

const BASELINE = 'apollo';
const fixed = (n: number | undefined, digits = 0) => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits));
/** Gateway CPU milliseconds per request: the efficiency figure, meaningful even when the subgraphs are the bottleneck. */
export const cpuMsPerRequest = (row: Row) =>
  row.gatewayCpu === undefined || row.rps === 0 ? undefined : (row.gatewayCpu * 1000) / row.rps;
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || !b ? '–' : `${(a / b).toFixed(2)}×`);

export function renderMarkdown(rows: Row[], meta: Meta): string {
  const baseline = (scenario: string) => rows.find((r) => r.scenario === scenario && r.gateway === BASELINE);
  const lines = [
    `# Gateway comparison${meta.quick ? ' (quick smoke check: not a measurement)' : ''}`,
    '',
    `${meta.date} · ${meta.cpu} · Node ${meta.node} · data on ${meta.database} (${meta.products.toLocaleString('en')} products) · ` +
      `autocannon, ${meta.connections} connections, ${meta.warmup} s warm-up then ${meta.duration} s measured per row · ${meta.pinning}.`,
    '',
    'Ratios are against the stock `@apollo/gateway` measured in the same run ' +
      '(req/s: higher is better; CPU per request: lower is better). ' +
      "Gateway CPU is the gateway process's CPU time over the measured seconds (1.00 = one core busy); " +
      'CPU ms/req is that divided by the request rate. ' +
      "Peak RSS is the highest VmRSS sampled every 250 ms during the row's warm-up and measured run. " +
      'For `direct` (a product query sent straight to the products subgraph, no gateway) ' +
      'the gateway columns are those of the subgraph process.',
    '',
    `Order: ${meta.order}; each gateway ran every scenario in a fresh child process started once for all its scenarios.`,
    '',
    '| scenario | gateway | req/s | req/s vs stock | p50 ms | p95 ms | p99 ms | errors | ' +
      'gateway CPU (cores) | CPU ms/req | CPU/req vs stock | peak RSS MB | subgraphs CPU (cores) |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => {
      const base = baseline(r.scenario);
      const isDirect = r.gateway === 'direct';
      return (
        `| ${r.scenario} | ${r.label} | ${fixed(r.rps)} | ${isDirect || !base ? '–' : ratio(r.rps, base.rps)} | ` +
        `${fixed(r.p50, 1)} | ${fixed(r.p95, 1)} | ${fixed(r.p99, 1)} | ` +
        `${r.errors} / ${r.requests} | ${fixed(r.gatewayCpu, 2)} | ${fixed(cpuMsPerRequest(r), 2)} | ` +
        `${isDirect || !base ? '–' : ratio(cpuMsPerRequest(r), cpuMsPerRequest(base))} | ` +
        `${fixed(r.peakRssMb)} | ${isDirect ? '(same)' : fixed(r.subgraphCpu, 2)} |`
      );
    }),
    '',
    "Scenarios: `listing` = the web client's ProductListing " +
      '(20 products with price, list price, stock and category; page by Zipf over every page of the catalogue); ' +
      `\`detail\` = ProductById (Zipf over all ${meta.products.toLocaleString('en')} ids); ` +
      '`search` = SearchProducts for a word or two-word phrase of real product names (Zipf over a seeded shuffle); ' +
      `\`history\` = OrderHistory signed in (Zipf over ${meta.historyUsers} customers); ` +
      `\`checkout\` = 10% PlaceOrder (1–2 lines, unique idempotency key, ${meta.checkoutUsers} other customers) + ` +
      '50% detail + 30% listing + 10% history. ' +
      'Every response is checked (HTTP 200, no `errors`, expected shape); anything else is an error.',
    '',
  ];
  return lines.join('\n');
}

const COLORS: Record<string, string> = {
  'router-nodedup': '#9bbcf2',
  router: '#2f6fdf',
  'router-cache': '#1aa179',
  apollo: '#8a8f98',
  hive: '#e8a33d',
  'hive-rust': '#b5651d',
  direct: '#c94f4f',
};
const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** One bar of a grouped chart: its group (the scenario), its series (the gateway, coloured by id) and label. */
export interface Bar {
  scenario: string;
  gateway: string;
  label: string;
}

export interface Panel<R extends Bar> {
  title: string;
  value: (r: R) => number | undefined;
  digits: number;
}

/** Grouped bar panels, one group per scenario and one bar per gateway, stacked vertically; a legend below. */
export function barChart<R extends Bar>(title: string, subtitle: string, rows: R[], panels: Panel<R>[]): string {
  const scenarios = [...new Set(rows.map((r) => r.scenario))];
  const gateways = [...new Map(rows.map((r) => [r.gateway, r.label])).entries()];
  const width = 960;
  const panelHeight = 300;
  const left = 70;
  const right = 20;
  const top = 60;
  const plotWidth = width - left - right;
  const group = plotWidth / Math.max(1, scenarios.length);
  const parts: string[] = [];

  const panel = (y0: number, { title, value, digits }: Panel<R>) => {
    const plotHeight = panelHeight - 70;
    const max = Math.max(1e-9, ...rows.map((r) => value(r) ?? 0));
    const scale = niceMax(max);
    parts.push(`<text x="${left}" y="${y0 + 14}" font-size="14" font-weight="bold">${escapeXml(title)}</text>`);
    for (let i = 0; i <= 4; i++) {
      const v = (scale * i) / 4;
      const y = y0 + 24 + plotHeight - (plotHeight * i) / 4;
      parts.push(`<line x1="${left}" x2="${width - right}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
      parts.push(`<text x="${left - 6}" y="${y + 4}" font-size="11" text-anchor="end" fill="#555">${formatTick(v)}</text>`);
    }
    scenarios.forEach((scenario, si) => {
      const inGroup = rows.filter((r) => r.scenario === scenario);
      const barWidth = Math.min(40, (group - 20) / Math.max(1, inGroup.length));
      const x0 = left + si * group + (group - barWidth * inGroup.length) / 2;
      inGroup.forEach((r, bi) => {
        const v = value(r);
        if (v === undefined || !Number.isFinite(v)) return;
        const h = (plotHeight * v) / scale;
        const x = x0 + bi * barWidth;
        const y = y0 + 24 + plotHeight - h;
        parts.push(
          `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barWidth - 3).toFixed(1)}" height="${h.toFixed(1)}" ` +
            `fill="${COLORS[r.gateway] ?? '#999'}"><title>${escapeXml(`${r.label}, ${scenario}: ${v.toFixed(digits)}`)}</title></rect>`,
        );
        parts.push(
          `<text x="${(x + (barWidth - 3) / 2).toFixed(1)}" y="${(y - 3).toFixed(1)}" ` +
            `font-size="9" text-anchor="middle" fill="#333">${v.toFixed(digits)}</text>`,
        );
      });
      parts.push(
        `<text x="${(left + si * group + group / 2).toFixed(1)}" y="${y0 + 24 + plotHeight + 16}" ` +
          `font-size="12" text-anchor="middle">${escapeXml(scenario)}</text>`,
      );
    });
  };

  parts.push(`<text x="${left}" y="22" font-size="16" font-weight="bold">${escapeXml(title)}</text>`);
  parts.push(`<text x="${left}" y="40" font-size="11" fill="#555">${escapeXml(subtitle)}</text>`);
  for (const [i, p] of panels.entries()) panel(top + i * panelHeight, p);
  const legendY = top + panels.length * panelHeight + 10;
  // Three legend entries per line: the labels are long.
  gateways.forEach(([id, label], i) => {
    const x = left + (i % 3) * 290;
    const y = legendY + Math.floor(i / 3) * 18;
    parts.push(`<rect x="${x}" y="${y}" width="12" height="12" fill="${COLORS[id] ?? '#999'}"/>`);
    parts.push(`<text x="${x + 16}" y="${y + 10}" font-size="12">${escapeXml(label)}</text>`);
  });
  const height = legendY + Math.ceil(gateways.length / 3) * 18 + 12;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      'font-family="system-ui, sans-serif">',
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

/** Two grouped bar panels: requests/s and gateway CPU ms per request, one group per scenario. */
export function renderSvg(allRows: Row[], meta: Meta): string {
  // The direct subgraph rate is an order of magnitude above any gateway's: it is printed, not drawn.
  const direct = allRows.find((r) => r.gateway === 'direct');
  const rows = allRows.filter((r) => r.gateway !== 'direct');
  return barChart(
    `Gateway comparison${meta.quick ? ' (quick smoke check)' : ''}`,
    `${meta.date} · ${meta.cpu} · ${meta.database} · ${meta.connections} connections · ${meta.duration} s per run · ${meta.pinning}`,
    rows,
    [
      {
        title: `requests/s (higher is better)${direct ? ` · not drawn: products subgraph direct ${direct.rps.toFixed(0)} req/s, the ceiling` : ''}`,
        value: (r) => r.rps,
        digits: 0,
      },
      { title: 'gateway CPU ms per request (lower is better)', value: cpuMsPerRequest, digits: 2 },
    ],
  );
}

function niceMax(max: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= max) return step * magnitude;
  return 10 * magnitude;
}

function formatTick(v: number): string {
  if (v === 0) return '0';
  return v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2);
}

/** Writes gateways.md (`markdown`, as renderMarkdown gave it), gateways.svg and gateways.json into `outDir`, created if missing. */
export function writeReports(outDir: string, rows: Row[], meta: Meta, markdown = renderMarkdown(rows, meta)): void {
  if (!existsSync(outDir)) mkdirSync(outDir, { recursive: true });
  writeFileSync(`${outDir}gateways.md`, markdown);
  writeFileSync(`${outDir}gateways.svg`, renderSvg(rows, meta));
  writeFileSync(`${outDir}gateways.json`, `${JSON.stringify({ meta, rows }, null, 2)}\n`);
}
