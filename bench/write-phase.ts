/**
 * One measured phase of `npm run bench:write` (bench/write.ts): a side (Greenlight, the baseline or
 * the HTTP floor) under one load, warm-up then the measured window, and its figures per request
 * (latencies, its own CPU, PostgreSQL's CPU and statements, the HTTP client's CPU, other load).
 */
import { Agent } from 'node:http';
import type { WorkloadPath } from './request-workload.js';
import type { LoadSpec } from './write-baseline.js';
import { closedLoop, latencyStats, openLoop, sleep, type LoadRun, type Op, type Samples } from './write-load.js';
import {
  clusterPids,
  cpuByPid,
  cpuDelta,
  machineBusyMs,
  printStatements,
  probeCalls,
  probeReset,
  processCpuMs,
  type Probe,
} from './write-probe.js';
import type { PhaseResult } from './write-report.js';

/** One side of a comparison, driven the same way whatever runs it. */
export interface Side {
  pid: number;
  /** Its PostgreSQL database (for pg_stat_statements); null on PGlite. */
  database: string | null;
  start(path: WorkloadPath, load: LoadSpec): Promise<void>;
  measure(): Promise<void>;
  finish(): Promise<Samples>;
}

/** A side driven over HTTP from this process: Greenlight, or the baseline's HTTP floor. */
export function httpSide(pid: number, database: string | null, ops: (path: WorkloadPath, agent: Agent) => Op): Side {
  let run: LoadRun | undefined;
  let agent: Agent | undefined;
  return {
    pid,
    database,
    async start(path, load) {
      agent = new Agent({ keepAlive: true, maxSockets: load.mode === 'closed' ? load.concurrency : 1_024 });
      const op = ops(path, agent);
      run = load.mode === 'closed' ? closedLoop(op, load.concurrency) : openLoop(op, load.rate);
    },
    measure: async () => run!.measure(),
    async finish() {
      const samples = await run!.finish();
      agent!.destroy();
      return samples;
    },
  };
}

/** How phases run: their lengths, the benchmark's own child processes (to tell other load apart), BENCH_DEBUG. */
export interface PhaseOptions {
  warmupSeconds: number;
  seconds: number;
  ours: ReadonlySet<number>;
  debug: boolean;
}

function snapshot(pid: number, probe: Probe | undefined, ours: ReadonlySet<number>) {
  const self = process.cpuUsage();
  const pg = cpuByPid(probe ? clusterPids(probe.postmaster) : []);
  return {
    at: performance.now(),
    side: processCpuMs(pid),
    pg,
    ours: cpuByPid(ours),
    bench: (self.user + self.system) / 1_000,
    machine: machineBusyMs(),
  };
}

/** Warm-up, then the measured window; the side's figures per request. */
export async function measureSidePhase(
  side: Side,
  path: WorkloadPath,
  load: LoadSpec,
  probe: Probe | undefined,
  options: PhaseOptions,
): Promise<PhaseResult> {
  await side.start(path, load);
  await sleep(options.warmupSeconds * 1_000);
  if (probe) await probeReset(probe);
  const resetAt = performance.now();
  const before = snapshot(side.pid, probe, options.ours);
  await side.measure();
  await sleep(options.seconds * 1_000);
  const after = snapshot(side.pid, probe, options.ours);
  const calls = probe && side.database ? await probeCalls(probe, side.database) : null;
  const callsAt = performance.now();
  if (probe && side.database && options.debug) await printStatements(probe, side.database, (callsAt - resetAt) / 1_000);
  const samples = await side.finish();
  if (samples.failures > 0) throw new Error(`${samples.failures} ${path} requests failed; the first: ${samples.firstError}`);
  const stats = latencyStats(samples);
  const ms = after.at - before.at;
  const mine = cpuDelta(before.ours, after.ours) + cpuDelta(before.pg, after.pg) + after.bench - before.bench;
  const perRequest = (delta: number) => delta / ms / (stats.rps / 1_000); // CPU ms per ms ÷ requests per ms
  return {
    ...stats,
    cpuMs: perRequest(after.side - before.side),
    pgCpuMs: probe ? perRequest(cpuDelta(before.pg, after.pg)) : null,
    benchCpuMs: perRequest(after.bench - before.bench),
    statements: calls === null ? null : calls / ((callsAt - resetAt) / 1_000) / stats.rps,
    otherCores: Math.max(0, after.machine - before.machine - mine) / ms,
  };
}
