/**
 * Driving load: one autocannon run against a URL with a request generator, every response checked,
 * latencies kept, and the gateway and subgraph processes sampled (proc.ts) over the run.
 */
import autocannon, { type Request as CannonRequest } from 'autocannon';
import { sampleRun, type Measured } from '../proc.ts';
import type { Row } from './report.ts';
import type { Call } from './scenarios.ts';

export interface RunResult {
  requests: number;
  seconds: number;
  errors: number;
  samples: string[];
  latencies: Float64Array;
  gatewayCpu: number | undefined;
  subgraphCpu: number | undefined;
  peakRss: number | undefined;
}

export const percentile = (sorted: Float64Array, p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN;

export async function load(url: string, next: () => Call, seconds: number, connections: number, measure?: Measured): Promise<RunResult> {
  let bad = 0;
  const samples: string[] = [];
  const request: CannonRequest = {
    method: 'POST',
    setupRequest(req, context) {
      const call = next();
      context.call = call;
      return {
        ...req,
        method: 'POST',
        body: call.body,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...(call.token ? { authorization: `Bearer ${call.token}` } : {}),
        },
      };
    },
    onResponse(status, body, context) {
      const call = context.call as Call | undefined;
      let ok = false;
      try {
        const parsed = JSON.parse(body) as { data?: unknown; errors?: unknown[] };
        ok = status === 200 && !parsed.errors?.length && !!call?.check(parsed.data);
      } catch {
        ok = false;
      }
      if (!ok) {
        bad++;
        if (samples.length < 3) samples.push(`HTTP ${status}: ${body.slice(0, 300)}`);
      }
    },
  };
  const latencies: number[] = [];
  const sampling = sampleRun(measure);
  const started = process.hrtime.bigint();
  const instance = autocannon({ url, connections, duration: seconds, timeout: 30, requests: [request] });
  instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => latencies.push(responseTime));
  const result = await instance;
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const { gatewayCpu, subgraphCpu, peakRss } = sampling.finish(elapsed);
  const sorted = Float64Array.from(latencies).sort();
  return {
    requests: latencies.length,
    seconds: elapsed,
    errors: bad + result.errors,
    samples: result.errors ? [...samples, `${result.errors} socket errors (${result.timeouts} timeouts)`] : samples,
    latencies: sorted,
    gatewayCpu,
    subgraphCpu,
    peakRss,
  };
}

/** One measured run as a row of the report. */
export function rowOf(scenario: string, gateway: string, label: string, result: RunResult): Row {
  return {
    scenario,
    gateway,
    label,
    rps: result.requests / result.seconds,
    p50: percentile(result.latencies, 50),
    p95: percentile(result.latencies, 95),
    p99: percentile(result.latencies, 99),
    requests: result.requests,
    errors: result.errors,
    gatewayCpu: result.gatewayCpu,
    subgraphCpu: result.subgraphCpu,
    peakRssMb: result.peakRss !== undefined ? result.peakRss / 1024 / 1024 : undefined,
  };
}
