/**
 * The report of `npm run bench:write` (bench/write.ts): medians over rounds, the tables (printed,
 * and written to BENCHMARKS.md between the bench:write markers) and the targets.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import type { LatencyStats } from './write-load.js';
import { REQUESTS_IN_FLIGHT_PER_PRINCIPAL } from '../src/quotas/quotas.js';
import type { WorkloadPath } from './request-workload.js';

/** One side's figures in one phase of one round. */
export interface PhaseResult extends LatencyStats {
  /** The measured process's own CPU per request (ms): the server, or the baseline process. */
  cpuMs: number;
  /** Every process of the PostgreSQL cluster (backends and background) per request (ms); null on PGlite. */
  pgCpuMs: number | null;
  /** pg_stat_statements calls in the side's database per request; null on PGlite. */
  statements: number | null;
  /** The bench process's CPU per request (ms): Greenlight's HTTP client; next to nothing for the baseline. */
  benchCpuMs: number;
  /** Cores used meanwhile by processes that are not this benchmark's. */
  otherCores: number;
}
export interface Pair {
  greenlight: PhaseResult;
  baseline: PhaseResult;
  /** The baseline's transaction behind bare HTTP (closed loop only; absent when skipped). */
  floor?: PhaseResult;
}
export type Backend = 'PostgreSQL' | 'PGlite';
export interface ClosedRow {
  backend: Backend;
  path: WorkloadPath;
  concurrency: number;
  rounds: Pair[];
}
export interface OpenRow {
  path: WorkloadPath;
  rounds: (Pair & { rate: number })[];
}
export interface ColdStart {
  backend: Backend;
  first: number;
  restarts: number[];
}
export interface Report {
  command: string;
  date: string;
  machine: string[];
  method: string[];
  closed: ClosedRow[];
  open: OpenRow[];
  coldStarts: ColdStart[];
  notes: string[];
}

export const median = (xs: number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const med = (pairs: Pair[], side: keyof Pair, field: keyof PhaseResult) => {
  const values = pairs.map((p) => p[side]?.[field]).filter((v): v is number => typeof v === 'number');
  return values.length ? median(values) : null;
};
export const ratioOf = (pairs: Pair[]) => median(pairs.map((p) => p.greenlight.rps / p.baseline.rps));

const fmt = (x: number | null, digits = 1) => (x === null || Number.isNaN(x) ? 'n/a' : x.toFixed(digits));

/** An aligned Markdown table: readable on a terminal and rendered as a table in Markdown. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)];
}

function closedTable(rows: ClosedRow[], backend: Backend): string[] {
  const pg = backend === 'PostgreSQL';
  const header = ['path', 'in flight', 'Greenlight req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'baseline req/s', 'p50 ms', 'p99 ms'];
  header.push('p99.9 ms', 'ratio', "rounds' ratios", 'server CPU ms/req', 'baseline CPU ms/req');
  if (pg) header.push('PostgreSQL CPU ms/req GL / base', 'statements/req GL / base');
  const body = rows
    .filter((r) => r.backend === backend)
    .map(({ path, concurrency, rounds: p }) => {
      const cells = [path, String(concurrency), fmt(med(p, 'greenlight', 'rps'), 0), fmt(med(p, 'greenlight', 'p50'), 2)];
      cells.push(fmt(med(p, 'greenlight', 'p99'), 2), fmt(med(p, 'greenlight', 'p999'), 2), fmt(med(p, 'baseline', 'rps'), 0));
      cells.push(fmt(med(p, 'baseline', 'p50'), 2), fmt(med(p, 'baseline', 'p99'), 2), fmt(med(p, 'baseline', 'p999'), 2));
      cells.push(fmt(ratioOf(p), 2), p.map((r) => fmt(r.greenlight.rps / r.baseline.rps, 2)).join(' '));
      cells.push(fmt(med(p, 'greenlight', 'cpuMs'), 3), fmt(med(p, 'baseline', 'cpuMs'), 3));
      if (pg) cells.push(`${fmt(med(p, 'greenlight', 'pgCpuMs'), 3)} / ${fmt(med(p, 'baseline', 'pgCpuMs'), 3)}`);
      if (pg) cells.push(`${fmt(med(p, 'greenlight', 'statements'), 2)} / ${fmt(med(p, 'baseline', 'statements'), 2)}`);
      return cells;
    });
  return body.length ? table(header, body) : [`(${backend} not measured)`];
}

/** The HTTP floor next to the baseline and Greenlight: how much of the gap HTTP alone explains. */
function floorTable(rows: ClosedRow[], backend: Backend): string[] {
  const body = rows
    .filter((r) => r.backend === backend && r.rounds.every((p) => p.floor))
    .map(({ path, concurrency, rounds: p }) => {
      const rounds = p.map((pair) => ({ ...pair, floor: pair.floor! }));
      const ratio = (of: (pair: (typeof rounds)[number]) => number) => fmt(median(rounds.map(of)), 2);
      const cells = [
        path,
        String(concurrency),
        fmt(med(p, 'floor', 'rps'), 0),
        fmt(med(p, 'floor', 'p50'), 2),
        fmt(med(p, 'floor', 'p99'), 2),
      ];
      cells.push(fmt(med(p, 'floor', 'cpuMs'), 3), fmt(med(p, 'floor', 'benchCpuMs'), 3));
      cells.push(ratio((r) => r.floor.rps / r.baseline.rps));
      cells.push(ratio((r) => r.greenlight.rps / r.floor.rps));
      return cells;
    });
  if (body.length === 0) return ['(not measured)'];
  const header = ['path', 'in flight', 'HTTP floor req/s', 'p50 ms', 'p99 ms', 'floor process CPU ms/req', 'HTTP client CPU ms/req'];
  return table(header.concat('floor ÷ baseline', 'Greenlight ÷ floor'), body);
}

function openTable(rows: OpenRow[]): string[] {
  if (rows.length === 0) return ['(not measured)'];
  const header = ['path', 'rate req/s', 'Greenlight p50 ms', 'p99 ms', 'p99.9 ms', 'baseline p50 ms', 'p99 ms', 'p99.9 ms'];
  header.push('achieved req/s GL / base', 'p99 ≤ baseline p99 + 5 ms');
  return table(
    header,
    rows.map(({ path, rounds: p }) => {
      const cells = [path, fmt(median(p.map((r) => r.rate)), 0), fmt(med(p, 'greenlight', 'p50'), 2), fmt(med(p, 'greenlight', 'p99'), 2)];
      cells.push(fmt(med(p, 'greenlight', 'p999'), 2), fmt(med(p, 'baseline', 'p50'), 2), fmt(med(p, 'baseline', 'p99'), 2));
      cells.push(fmt(med(p, 'baseline', 'p999'), 2), `${fmt(med(p, 'greenlight', 'rps'), 0)} / ${fmt(med(p, 'baseline', 'rps'), 0)}`);
      return [...cells, openMet(p) ? 'yes' : 'no'];
    }),
  );
}
const openMet = (p: Pair[]) => med(p, 'greenlight', 'p99')! <= med(p, 'baseline', 'p99')! + 5;

function coldTable(rows: ColdStart[]): string[] {
  if (rows.length === 0) return ['(not measured)'];
  const header = ['database', 'first start ms', 'restart ms (median)', 'restarts ms'];
  return table(
    header,
    rows.map((r) => [r.backend, fmt(r.first, 0), fmt(median(r.restarts), 0), r.restarts.map((x) => fmt(x, 0)).join(', ')]),
  );
}

/** The targets of the issue, each with the measured figure and whether it is met. */
function targets(report: Report): string[] {
  const lines: string[] = [];
  const verdict = (ok: boolean | null) => (ok === null ? 'not measured' : ok ? '**met**' : '**not met**');
  const at32 = (backend: Backend, path: WorkloadPath) =>
    report.closed.find((r) => r.backend === backend && r.path === path && r.concurrency === 32);
  for (const [backend, target] of [
    ['PostgreSQL', 0.75],
    ['PGlite', 0.5],
  ] as const) {
    for (const path of ['ALLOW', 'ESCALATE'] as const) {
      const row = at32(backend, path);
      const ratio = row ? ratioOf(row.rounds) : null;
      lines.push(
        `- ${backend}, ${path}, 32 in flight: ratio ≥ ${target} — measured ${fmt(ratio, 2)}: ${verdict(row ? ratio! >= target : null)}`,
      );
    }
  }
  for (const path of ['ALLOW', 'ESCALATE'] as const) {
    const row = report.open.find((r) => r.path === path);
    const figures = row
      ? `Greenlight ${fmt(med(row.rounds, 'greenlight', 'p99'), 2)} ms vs baseline ${fmt(med(row.rounds, 'baseline', 'p99'), 2)} ms`
      : 'n/a';
    lines.push(
      `- PostgreSQL, ${path}, p99 at 70 % of the maximum rate ≤ baseline p99 + 5 ms — ${figures}: ${verdict(row ? openMet(row.rounds) : null)}`,
    );
  }
  const pglite = report.coldStarts.find((c) => c.backend === 'PGlite');
  lines.push(
    `- \`npm start\` ready on PGlite, first start ≤ 6 s — measured ${pglite ? `${fmt(pglite.first / 1_000, 2)} s` : 'n/a'}: ${verdict(pglite ? pglite.first <= 6_000 : null)}`,
  );
  const restart = pglite ? median(pglite.restarts) : null;
  lines.push(
    `- \`npm start\` ready on PGlite, restart ≤ 2 s — measured ${fmt(restart === null ? null : restart / 1_000, 2)} s (median): ${verdict(pglite ? restart! <= 2_000 : null)}`,
  );
  return lines;
}

/** The whole section, as Markdown lines (also what is printed). */
export function renderReport(report: Report): string[] {
  return [
    `Command: \`${report.command}\` — ${report.date}`,
    '',
    '**Machine**',
    '',
    ...report.machine.map((m) => `- ${m}`),
    '',
    '**Method**',
    '',
    ...report.method.map((m) => `- ${m}`),
    '',
    "**requestAction on PostgreSQL, closed loop** (medians over rounds; ratio = median of the rounds' Greenlight req/s ÷ baseline req/s)",
    '',
    ...closedTable(report.closed, 'PostgreSQL'),
    '',
    "**The HTTP floor, PostgreSQL** (the baseline's transaction behind a bare node:http server in the baseline's process, driven like Greenlight; a reference, not a target)",
    '',
    ...floorTable(report.closed, 'PostgreSQL'),
    '',
    "**p99 at 70 % of the maximum rate, PostgreSQL, open loop** (rate = 0.7 × Greenlight's req/s at 32 in flight in the same round; the same rate for both)",
    '',
    ...openTable(report.open),
    '',
    '**requestAction on PGlite, closed loop**',
    '',
    ...closedTable(report.closed, 'PGlite'),
    '',
    '**The HTTP floor, PGlite**',
    '',
    ...floorTable(report.closed, 'PGlite'),
    '',
    '**Cold start to ready** (`node scripts/start.mjs`, spawn → the "ready at" line)',
    '',
    ...coldTable(report.coldStarts),
    '',
    '**Targets**',
    '',
    ...targets(report),
    ...(report.notes.length ? ['', '**Notes**', '', ...report.notes.map((n) => `- ${n}`)] : []),
  ];
}

/** The machine, and how much other work shared it during the measured windows. */
export function machineLines(report: Report, postgresVersion: string | null): string[] {
  const model = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
  const pairs = [...report.closed.flatMap((r) => r.rounds), ...report.open.flatMap((r) => r.rounds)];
  const other = pairs.flatMap((p) => [p.greenlight.otherCores, p.baseline.otherCores]);
  const others = other.length
    ? `${median(other).toFixed(2)} cores (median over measured windows; max ${Math.max(...other).toFixed(2)})`
    : 'n/a';
  return [
    `${model}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory, Linux ${release()}`,
    `Node.js ${process.version}; PostgreSQL ${postgresVersion ?? 'not used'}`,
    `Shared machine: other work may run meanwhile. Load average at the end ${loadavg()[0]!.toFixed(2)}; processes other than this benchmark's used ${others}`,
  ];
}

/** What the HTTP client (the bench process) cost per Greenlight request: it shares the cores with the server. */
export function clientNotes(report: Report): string[] {
  return (['PostgreSQL', 'PGlite'] as const).flatMap((backend) => {
    const phases = report.closed.filter((r) => r.backend === backend).flatMap((r) => r.rounds.map((p) => p.greenlight.benchCpuMs));
    if (phases.length === 0) return [];
    return [
      `HTTP client (the bench process) CPU per Greenlight request on ${backend}: ${median(phases).toFixed(3)} ms (median over closed-loop phases), on the same cores as the server.`,
    ];
  });
}

export function methodLines(o: {
  logLevel: string;
  poolSize: number;
  agents: number;
  warmupSeconds: number;
  seconds: number;
  runs: number;
}): string[] {
  return [
    `Greenlight: \`node scripts/start.mjs\` (the compiled bundle, lib/bundle/), NODE_ENV=production, LOG_LEVEL=${o.logLevel}, RATE_LIMIT_PER_MINUTE=0; ${o.agents} AGENTs, taking the requests in turn (one agent runs at most ${REQUESTS_IN_FLIGHT_PER_PRINCIPAL} \`requestAction\` calls at once: a fairness quota, not the write path); a policy of 1,000 rules (998 that never match, then the workload's ALLOW and ESCALATE rules); \`requestAction\` over HTTP keep-alive (node:http) from the bench process, each with its own idempotency key, every answer's status checked.`,
    `Baseline: a child process writing the same rows (1 action_requests + 2 audit_events, RETURNING *) in one transaction per request (BEGIN; INSERT; INSERT; COMMIT): a pg Pool of ${o.poolSize} (the server's \`DATABASE_POOL_SIZE\`), or PGlite directly (\`new PGlite(dir)\`, same migrations).`,
    `HTTP floor: the baseline's process also serves its transaction over a bare node:http server on loopback (Greenlight's request bodies JSON-parsed, a fixed bearer token compared, the answer in GraphQL's shape; no GraphQL, auth lookup, validation or policy), driven by the same HTTP client; measured after the baseline in each round.`,
    `PostgreSQL: a private cluster (fsync on, pg_stat_statements tracking all) with one database per side. PGlite: each side its own temp folder.`,
    `Closed loop: C workers each sending when its last request answered; latency from then to the answer. ${o.warmupSeconds} s warm-up, ${o.seconds} s measured per phase; ${o.runs} round(s), Greenlight then baseline for each path and C (after a Greenlight phase, a wait until the server is idle: its audit sealer catching up); medians over rounds (ratio: median of the rounds' ratios).`,
    `Open loop: requests due at 0.7 × Greenlight's req/s at 32 in flight (that round), latency from when due; the same rate for both sides.`,
    `CPU ms/req: the process's own utime+stime (/proc/<pid>/stat) ÷ requests; "server" is Greenlight's process, "baseline" the baseline process (its load loop included; no HTTP on that side). PostgreSQL CPU: all processes of the cluster (backends and background). Statements/req: pg_stat_statements calls in the side's database ÷ requests, BEGIN/COMMIT included, and background statements (audit sealer, event hub, sweeper) included.`,
  ];
}

const START = '<!-- bench:write:start -->';
const END = '<!-- bench:write:end -->';

/** Replaces the bench:write section of `file` (creating the file, or the section, when absent). */
export function writeSection(file: string, lines: string[]): void {
  const section = [START, '## requestAction throughput, latency and start-up (`npm run bench:write`)', '', ...lines, END].join('\n');
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const start = current.indexOf(START);
  const end = current.indexOf(END);
  const next =
    start >= 0 && end > start
      ? current.slice(0, start) + section + current.slice(end + END.length)
      : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, next);
}
