/** The command line of `npm run bench` (see ../gateway-bench.ts for each option). */
import { parseArgs } from 'node:util';
import { FULL_SEED, SMALL_SEED, type SeedSize } from '@shop/subgraph-kit';
import { GATEWAY_IDS, type GatewayId } from './catalogue.ts';
import { SCENARIOS, type Scenario } from './scenarios.ts';

export interface GatewayBenchOptions {
  quick: boolean;
  /** Measured seconds per run. */
  duration: number;
  /** Warm-up seconds before each measured run. */
  warmup: number;
  connections: number;
  seed: SeedSize;
  scenarios: Scenario[];
  /** In the order they run. */
  gateways: GatewayId[];
}

/** A comma-separated pick from `all` (each checked); `fallback` (default all) when none is given. */
export function list<T extends string>(raw: string | undefined, all: readonly T[], what: string, fallback: readonly T[] = all): T[] {
  if (!raw) return [...fallback];
  const picked = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const p of picked) if (!all.includes(p as T)) throw new Error(`unknown ${what} "${p}"; one of ${all.join(', ')}`);
  return picked as T[];
}

/** The options both gateway benches take (this one and the production topology's). */
export const COMMON_OPTIONS = {
  quick: { type: 'boolean' },
  scenario: { type: 'string' },
  gateways: { type: 'string' },
  warmup: { type: 'string' },
  connections: { type: 'string' },
} as const;

/** Parses and checks the arguments; throws with the reason on a bad one. */
export function parseGatewayBenchArgs(args: string[]): GatewayBenchOptions {
  const { values } = parseArgs({ args, options: { ...COMMON_OPTIONS, duration: { type: 'string' } } });
  const quick = !!values.quick;
  const duration = Number(values.duration ?? (quick ? 2 : 20));
  const warmup = Number(values.warmup ?? (quick ? 1 : 5));
  const connections = Number(values.connections ?? (quick ? 10 : 50));
  const scenarios = list(values.scenario, SCENARIOS, 'scenario');
  // The smoke check skips `router-nodedup`: the same router process as `router`, only configured
  // differently, and leaving it out keeps --quick within its two minutes.
  const gateways =
    values.gateways || !quick ? list(values.gateways, GATEWAY_IDS, 'gateway') : GATEWAY_IDS.filter((id) => id !== 'router-nodedup');
  for (const [name, n] of [
    ['--duration', duration],
    ['--warmup', warmup],
    ['--connections', connections],
  ] as const) {
    if (!Number.isFinite(n) || n < (name === '--warmup' ? 0 : 1)) throw new Error(`${name} must be a positive number`);
  }
  return { quick, duration, warmup, connections, seed: quick ? SMALL_SEED : FULL_SEED, scenarios, gateways };
}
