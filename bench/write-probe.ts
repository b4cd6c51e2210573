/**
 * What `npm run bench:write` (bench/write.ts) reads besides latencies: processes' CPU time from
 * /proc, and PostgreSQL's statement counts from pg_stat_statements.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type pg from 'pg';

// --- /proc readings -----------------------------------------------------------------------------
const TICK_MS = 1_000 / 100; // USER_HZ: 100 on Linux

/** A process's own CPU time so far (user + system), in ms; 0 once it is gone. */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS; // utime, stime (fields 14, 15)
  } catch {
    return 0;
  }
}

/** The ids of `ppid`'s child processes (for PostgreSQL: its backends and background workers). */
export function childPids(ppid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** CPU time the whole machine spent busy so far (every core; idle and iowait excluded), in ms. */
export function machineBusyMs(): number {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = values.map(Number) as number[];
  return (user! + nice! + system! + irq! + softirq! + steal!) * TICK_MS;
}

// --- PostgreSQL ---------------------------------------------------------------------------------
/** PostgreSQL's view: statement counts and the cluster's processes. */
export interface Probe {
  client: pg.Client;
  postmaster: number;
}
export const probeReset = (probe: Probe) => probe.client.query('SELECT pg_stat_statements_reset()');
export async function probeCalls(probe: Probe, database: string): Promise<number> {
  const sql = `SELECT coalesce(sum(calls), 0)::bigint AS n FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1`;
  return Number((await probe.client.query<{ n: string }>(sql, [database])).rows[0]!.n);
}
/** BENCH_DEBUG=1: the statements behind the count, most frequent first (calls per second of the window). */
export async function printStatements(probe: Probe, database: string, seconds: number): Promise<void> {
  const sql = `SELECT calls, toplevel, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS query FROM pg_stat_statements s
    JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1 ORDER BY calls DESC LIMIT 20`;
  const { rows } = await probe.client.query<{ calls: string; toplevel: boolean; query: string }>(sql, [database]);
  for (const row of rows)
    console.log(`  ${database} ${(Number(row.calls) / seconds).toFixed(0).padStart(6)}/s ${row.toplevel ? ' ' : 'n'} ${row.query}`);
}
/** The cluster's processes: the postmaster and its children (backends, background workers). */
export const clusterPids = (postmaster: number) => [postmaster, ...childPids(postmaster)];

/** CPU time so far (ms) of each process. */
export const cpuByPid = (pids: Iterable<number>) => new Map([...pids].map((pid) => [pid, processCpuMs(pid)]));
/**
 * CPU spent between two readings by the processes alive at the second (a process that started in
 * between counts whole; one that ended is left out, rather than subtracting all it ever used).
 */
export const cpuDelta = (before: Map<number, number>, after: Map<number, number>) =>
  [...after].reduce((sum, [pid, ms]) => sum + Math.max(0, ms - (before.get(pid) ?? 0)), 0);
