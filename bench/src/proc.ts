/**
 * What a benchmark reads about processes from the operating system: CPU pinning with taskset, and
 * CPU time and memory from /proc/<pid>/stat and /proc/<pid>/status. Everything here is undefined
 * (not an error) where taskset or /proc is missing.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Pinning {
  /** The CPU the measured gateway runs on. */
  gateway: string;
  /** The CPUs for everything else: this process (the load) and the subgraphs. */
  rest: string;
}

/**
 * With taskset and ≥ 2 CPUs: gateways on the last CPU, everything else (load, subgraphs) on the
 * rest; this process is moved there now. Undefined (and nothing pinned) otherwise.
 */
export function pinCpus(): Pinning | undefined {
  const cpuCount = os.availableParallelism();
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  if (cpuCount < 2) return undefined;
  const pin = { gateway: String(cpuCount - 1), rest: cpuCount === 2 ? '0' : `0-${cpuCount - 2}` };
  execFileSync('taskset', ['-a', '-pc', pin.rest, String(process.pid)], { stdio: 'ignore' });
  return pin;
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) a process has used so far; undefined without /proc. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14 and 15)
  } catch {
    return undefined;
  }
}

/** A line `<field>: <n> kB` of /proc/<pid>/status, in bytes; undefined without it (or once the process is gone). */
export function procStatusBytes(pid: number | undefined, field: 'VmRSS' | 'VmHWM'): number | undefined {
  if (!pid) return undefined;
  try {
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export const rssBytes = (pid: number | undefined) => procStatusBytes(pid, 'VmRSS');

/** The processes one measured run samples: the gateway (CPU and peak RSS) and the subgraphs (CPU). */
export interface Measured {
  gatewayPid?: number | undefined;
  subgraphPid?: number | undefined;
}

export interface RunSample {
  /** Cores the gateway used over the run (CPU seconds / wall seconds). */
  gatewayCpu: number | undefined;
  subgraphCpu: number | undefined;
  /** The highest VmRSS of the gateway, sampled every 250 ms. */
  peakRss: number | undefined;
}

const rate = (before: number | undefined, after: number | undefined, seconds: number) =>
  before !== undefined && after !== undefined ? (after - before) / seconds : undefined;

/** Starts sampling before a run; `finish(elapsedSeconds)` right after it stops the sampler and gives the figures. */
export function sampleRun(measure: Measured | undefined): { finish(elapsedSeconds: number): RunSample } {
  let peakRss = rssBytes(measure?.gatewayPid);
  const sampler = setInterval(() => {
    const rss = rssBytes(measure?.gatewayPid);
    if (rss !== undefined) peakRss = Math.max(peakRss ?? 0, rss);
  }, 250);
  const cpuBefore = cpuSeconds(measure?.gatewayPid);
  const subgraphCpuBefore = cpuSeconds(measure?.subgraphPid);
  return {
    finish(elapsed) {
      const cpuAfter = cpuSeconds(measure?.gatewayPid);
      const subgraphCpuAfter = cpuSeconds(measure?.subgraphPid);
      clearInterval(sampler);
      return {
        gatewayCpu: rate(cpuBefore, cpuAfter, elapsed),
        subgraphCpu: rate(subgraphCpuBefore, subgraphCpuAfter, elapsed),
        peakRss,
      };
    },
  };
}
