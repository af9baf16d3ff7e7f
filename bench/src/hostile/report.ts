/** The hostile-traffic bench's results as Markdown (results/hostile-<date>.md) beside the JSON. */
import type { OrdinaryTally } from './ordinary.ts';
import type { SlowBodyResult } from './slow-bodies.ts';
import type { FindingTally } from './tally.ts';

export interface HostileResults {
  meta: {
    date: string;
    commit: string;
    mode: 'production' | 'development';
    quick: boolean;
    cpu: string;
    node: string;
    database: string;
    products: number;
    seed: number;
    seconds: number;
    routerFlags: string;
    rateLimit: { max: number; ipMax: number; windowMs: number };
    ordinaryRate: number;
    pinning: string;
    slowBodyJudgedAfterS: number;
  };
  summary: {
    hostileSent: number;
    /** Of those, the mix (F1–F3, F6, F7, F10–F13 and the existing generator); the rest are the F4 and F8 bursts and F9's connections. */
    mixSent: number;
    fiveHundreds: number;
    transportFailures: number;
    ordinarySent: number;
    ordinaryFailed: number;
    routerPeakRssMb: number | undefined;
    routerHwmMb: number | undefined;
    healthPolls: number;
    healthFailures: number;
    healthWorstMs: number;
    died: string[];
    timedOut: boolean;
    notDefended: number;
    elapsedSeconds: number;
  };
  findings: Record<string, FindingTally & { what: string }>;
  slowBodies: SlowBodyResult[];
  signUpFlood: { accounts: number; refusedSignUps: number; sent: number; accepted: number; seconds: number; allowed: number } | undefined;
  ordinary: OrdinaryTally;
  failures: string[];
}

const statuses = (s: Record<string, number>) =>
  Object.entries(s)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([code, n]) => `${code}×${n}`)
    .join(' ') || '–';
const mb = (n: number | undefined) => (n === undefined ? '–' : `${n.toFixed(0)} MB`);

export function renderHostileMarkdown(r: HostileResults): string {
  const { meta, summary } = r;
  const lines: string[] = [];
  lines.push(`# Hostile traffic: ${meta.mode}${meta.quick ? ' (quick smoke run)' : ''}`, '');
  lines.push(
    `Measured ${meta.date} on commit \`${meta.commit}\`: ${meta.cpu}, Node ${meta.node}, ${meta.database}, ` +
      `${meta.products.toLocaleString('en')} products; ` +
      `router as its own process with \`${meta.routerFlags}\`, NODE_ENV=${meta.mode}, ` +
      `rate limit on (${meta.rateLimit.max} per ${meta.rateLimit.windowMs / 1000} s per key, ${meta.rateLimit.ipMax} per address); ` +
      `hostile traffic from 127.0.0.2–127.0.0.9, ordinary traffic from 127.0.0.1 at ${meta.ordinaryRate} req/s; ` +
      `${meta.seconds} s of hostile traffic, seed ${meta.seed}; ${meta.pinning}.`,
    '',
  );
  lines.push(
    '| hostile requests (of them the mix) | 5xx | failed connections | ordinary requests | ordinary failed | ' +
      'router peak RSS | `/health` worst | processes died |',
  );
  lines.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  lines.push(
    `| ${summary.hostileSent.toLocaleString('en')} (${summary.mixSent.toLocaleString('en')}) | ` +
      `${summary.fiveHundreds} | ${summary.transportFailures} | ` +
      `${summary.ordinarySent.toLocaleString('en')} | ${summary.ordinaryFailed} | ` +
      `${mb(summary.routerHwmMb ?? summary.routerPeakRssMb)} | ` +
      `${summary.healthWorstMs.toFixed(0)} ms` +
      `${summary.healthFailures ? ` (${summary.healthFailures} of ${summary.healthPolls} failed)` : ''} | ` +
      `${summary.died.length ? summary.died.join('; ') : 'none'} |`,
  );
  lines.push('');
  if (summary.timedOut) lines.push('**The run hit its hard time limit and was cut short.**', '');
  lines.push(
    'Per finding. "not defended": answers showing the finding still open (see the bench README for each verdict); ' +
      '"–": not judged per answer.',
    '',
  );
  lines.push('| # | sent | statuses | not defended / judged | what was sent |');
  lines.push('| --- | ---: | --- | ---: | --- |');
  for (const [id, f] of Object.entries(r.findings)) {
    const judged = f.defended + f.notDefended;
    lines.push(
      `| ${id} | ${f.sent.toLocaleString('en')} | ${statuses(f.statuses)} | ${judged ? `${f.notDefended} / ${judged}` : '–'} | ${f.what} |`,
    );
  }
  lines.push('');
  if (r.slowBodies.length) {
    lines.push(
      `Slow bodies (F9): connections that never finish their body; "held past judging": still open after ${meta.slowBodyJudgedAfterS} s.`,
      '',
    );
    lines.push(
      '| listener | opened | closed by the server | longest before closing | ' +
        'still open at the end (closed by the bench) | held past judging | answers |',
    );
    lines.push('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const s of r.slowBodies) {
      lines.push(
        `| ${s.target} | ${s.opened}${s.failedToOpen ? ` (+${s.failedToOpen} refused)` : ''} | ${s.closedByServer} | ` +
          `${s.longestHeldMs === undefined ? '–' : `${(s.longestHeldMs / 1000).toFixed(0)} s`} | ` +
          `${s.heldToEnd} | ${s.heldPastJudging} | ${statuses(s.answers)} |`,
      );
    }
    lines.push('');
  }
  if (r.signUpFlood) {
    const f = r.signUpFlood;
    lines.push(
      `Signed-in flood (F8): ${f.accounts} accounts signed up from 127.0.0.9 (${f.refusedSignUps} sign-ups refused); ` +
        `then ${f.sent.toLocaleString('en')} requests as them and anonymously in ${f.seconds.toFixed(1)} s, ` +
        `${f.accepted.toLocaleString('en')} answered 200; ` +
        `the address's allowance over the windows that touches is ${f.allowed.toLocaleString('en')}` +
        `${f.sent > f.allowed ? '' : ' (not judged: no more sent than that)'}.`,
      '',
    );
  }
  const o = r.ordinary;
  lines.push(
    `Ordinary traffic: ${Object.entries(o.byKind)
      .map(([k, v]) => `${k} ${v.sent}${v.failed ? ` (${v.failed} failed)` : ''}`)
      .join(', ')}; worst latency ${o.worstMs.toFixed(0)} ms` +
      `${
        Object.keys(o.failedDuring).length
          ? `; failures during bursts: ${Object.entries(o.failedDuring)
              .map(([b, n]) => `${b} ${n}`)
              .join(', ')}`
          : ''
      }.`,
    '',
  );
  if (r.failures.length) {
    lines.push('Failed goals:', '', ...r.failures.map((f) => `- ${f}`), '');
  }
  const samples = [
    ...Object.entries(r.findings).flatMap(([id, f]) => f.samples.map((s) => `${id}: ${s}`)),
    ...o.samples.map((s) => `ordinary ${s}`),
  ];
  if (samples.length) {
    lines.push(
      'First answers that were not defended or failed (truncated):',
      '',
      '```',
      ...samples.map((s) => s.replace(/\s+/g, ' ').slice(0, 300)),
      '```',
      '',
    );
  }
  return lines.join('\n');
}
