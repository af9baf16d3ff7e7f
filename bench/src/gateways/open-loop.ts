/**
 * Open-loop load: requests sent at a fixed arrival rate whatever the server does, each latency
 * measured from the time the request was scheduled, not from when a free connection let it go, so
 * a server that falls behind shows its queue in the figures (no coordinated omission). undici's
 * Pool with far more connections than requests in flight at these rates; every response checked as
 * the closed-loop runs (load.ts) check it.
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import type { Call } from './scenarios.ts';

export interface OpenLoopResult {
  /** Requests scheduled (and sent). */
  scheduled: number;
  /** Responses received (right or wrong); scheduled − this timed out or failed on the socket. */
  requests: number;
  errors: number;
  samples: string[];
  /** From the first scheduled send to the last response. */
  seconds: number;
  /** Milliseconds from each request's scheduled send time to its response's end, sorted. */
  latencies: Float64Array;
}

export async function openLoop(
  url: string,
  next: () => Call,
  rate: number,
  seconds: number,
  options: { connections?: number; timeoutMs?: number } = {},
): Promise<OpenLoopResult> {
  const { origin, pathname } = new URL(url);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const pool = new Pool(origin, { connections: options.connections ?? 256, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const total = Math.max(1, Math.round(rate * seconds));
  const interval = 1000 / rate;
  const latencies: number[] = [];
  const samples: string[] = [];
  let errors = 0;
  let requests = 0;
  const inFlight: Promise<void>[] = [];
  const send = async (call: Call, scheduledAt: number) => {
    try {
      const res = await pool.request({
        path: pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...(call.token ? { authorization: `Bearer ${call.token}` } : {}),
        },
        body: call.body,
      });
      const body = await res.body.text();
      latencies.push(performance.now() - scheduledAt);
      requests++;
      let ok = false;
      try {
        const parsed = JSON.parse(body) as { data?: unknown; errors?: unknown[] };
        ok = res.statusCode === 200 && !parsed.errors?.length && call.check(parsed.data);
      } catch {
        ok = false;
      }
      if (!ok) {
        errors++;
        if (samples.length < 3) samples.push(`HTTP ${res.statusCode}: ${body.slice(0, 300)}`);
      }
    } catch (error) {
      errors++;
      if (samples.length < 3) samples.push(`socket: ${(error as Error).message}`);
    }
  };
  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    // Send every request whose time has come; the timer only decides how soon we look again.
    const now = performance.now();
    while (sent < total && start + sent * interval <= now) {
      const scheduledAt = start + sent * interval;
      sent++;
      inFlight.push(send(next(), scheduledAt));
    }
    if (sent < total) await new Promise((r) => setTimeout(r, Math.max(0, Math.min(5, start + sent * interval - performance.now()))));
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  await pool.close();
  return {
    scheduled: total,
    requests,
    errors,
    samples,
    seconds: elapsed,
    latencies: Float64Array.from(latencies).sort(),
  };
}
