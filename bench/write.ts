/**
 * Greenlight write-path benchmark: `npm run bench:write` writes BENCHMARKS.md (the section between
 * the bench:write markers) with the figures, and prints them.
 * Env: BENCH_RUNS=3 rounds, BENCH_SECONDS=8 measured per phase, BENCH_WARMUP_SECONDS=2 per phase,
 * BENCH_CONCURRENCY=16,32,64 requests in flight, BENCH_SKIP=postgres,pglite,openloop,coldstart,floor (any),
 * BENCH_LOG_LEVEL=warn (the servers'), BENCH_DEBUG=1 (print each phase's most frequent statements),
 * BENCH_WRITE=1 to write BENCHMARKS.md from a partial or shortened run (0: never write; by default
 * only a full run with the default settings writes).
 *
 * What runs:
 * - Greenlight: the server as deployed, a child process `node scripts/start.mjs` (the compiled
 *   lib/; built first when src/ is newer), NODE_ENV=production, LOG_LEVEL=warn, no per-agent rate
 *   limit, on a private PostgreSQL cluster (test/support/private-cluster.ts, fsync on, with
 *   pg_stat_statements tracking all statements) or on PGlite in a temp DATA_DIR. Set up over
 *   GraphQL with the admin token: several AGENTs taking the requests in turn (see AGENTS in
 *   bench/write-server.ts) and a published policy of 1,000 rules (998 that never match the
 *   workload, then its ALLOW and ESCALATE rules: bench/request-workload.ts).
 *   The bench process sends `requestAction` over real HTTP (node:http, keep-alive), every request
 *   with its own idempotency key, and checks each answer's status (ALLOW → APPROVED, ESCALATE →
 *   PENDING); any failure stops the benchmark.
 * - Baseline (bench/write-baseline.ts): a child process writing the same rows with the driver in
 *   one transaction per request (BEGIN; INSERT action_requests RETURNING *; INSERT the two
 *   audit_events RETURNING *; COMMIT), a pg Pool of the server's size (10), or PGlite directly,
 *   into a database of its own with the same migrations.
 * - HTTP floor (the same baseline process, `serve`): the baseline's transaction behind a bare
 *   node:http server, driven by the same HTTP client as Greenlight with the same request bodies.
 *   It is not a target: it shows what HTTP alone costs on this machine, so that the gap between it
 *   and Greenlight is what Greenlight's own layers (GraphQL, auth, validation, policy) cost.
 * - Each phase: warm-up, then a measured window. Closed loop: C workers each sending its next
 *   request when the last one answered (bench/write-load.ts). Per round, for each path and C,
 *   Greenlight then the baseline, back to back, so that noise from the shared machine hits both;
 *   after a Greenlight phase the benchmark waits for the server to go idle (its audit sealer
 *   catching up) before the baseline runs. Figures are medians over rounds; the ratio is the
 *   median of the rounds' ratios.
 * - Open loop at 70 % of the maximum rate (PostgreSQL): requests due at 0.7 × Greenlight's req/s
 *   at 32 in flight (that round's), latency from when each was due; the same rate for both sides.
 * - CPU per request: the measured process's own utime + stime (/proc/<pid>/stat) over the window ÷
 *   requests (the server; the baseline process, its load loop included). PostgreSQL CPU: every
 *   process of the private cluster (backends, background writers, autovacuum). Statements per
 *   request: pg_stat_statements calls in the side's database (reset at the window's start, BEGIN
 *   and COMMIT included, and background statements such as the audit sealer's and the sweeper's).
 * - Cold start: spawn `node scripts/start.mjs` (PORT=0) → its "ready at" line; a first start on
 *   an empty DATA_DIR / new database, then three restarts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createPrivateCluster } from '../test/support/private-cluster.js';
import type { WorkloadPath } from './request-workload.js';
import { FLOOR_TOKEN, startBaseline, type LoadSpec } from './write-baseline.js';
import { sleep } from './write-load.js';
import { httpSide, measureSidePhase, type Side } from './write-phase.js';
import {
  clientNotes,
  machineLines,
  methodLines,
  renderReport,
  writeSection,
  type Backend,
  type ClosedRow,
  type OpenRow,
  type PhaseResult,
  type Report,
} from './write-report.js';
import { processCpuMs, type Probe } from './write-probe.js';
import { AGENTS, coldStartMs, ensureBuilt, requestOps, SERVER_POOL_SIZE, startLoadServer, type LoadServer } from './write-server.js';

const setting = (name: string, fallback: string) => process.env[name] || fallback;
const RUNS = Number(setting('BENCH_RUNS', '3'));
const SECONDS = Number(setting('BENCH_SECONDS', '8'));
const WARMUP_SECONDS = Number(setting('BENCH_WARMUP_SECONDS', '2'));
const CONCURRENCY = setting('BENCH_CONCURRENCY', '16,32,64').split(',').map(Number);
const SKIP = new Set(
  setting('BENCH_SKIP', '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
const LOG_LEVEL = setting('BENCH_LOG_LEVEL', 'warn');
const KNOBS = ['BENCH_RUNS', 'BENCH_SECONDS', 'BENCH_WARMUP_SECONDS', 'BENCH_CONCURRENCY', 'BENCH_SKIP', 'BENCH_LOG_LEVEL'];
const FULL = KNOBS.every((name) => !process.env[name]);
const WRITE = process.env['BENCH_WRITE'] === '1' || (process.env['BENCH_WRITE'] !== '0' && FULL);
const PATHS: WorkloadPath[] = ['ALLOW', 'ESCALATE'];
const RESULT_FILE = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url));

// Everything created is undone in reverse order at the end, after a failure and on Ctrl-C.
const cleanups: (() => Promise<unknown>)[] = [];
const ours = new Set<number>(); // our child processes, to tell other load apart
const notes: string[] = [];

function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `greenlight-bench-write-${label}-`));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// --- phases -------------------------------------------------------------------------------------
const phase = { warmupSeconds: WARMUP_SECONDS, seconds: SECONDS, ours, debug: Boolean(process.env['BENCH_DEBUG']) };
const measurePhase = (side: Side, path: WorkloadPath, load: LoadSpec, probe: Probe | undefined) =>
  measureSidePhase(side, path, load, probe, phase);

/** Waits until the server has had nothing to do for half a second (its sealer caught up), at most 30 s. */
async function settle(pid: number): Promise<void> {
  for (let waited = 0; waited < 30_000; waited += 500) {
    const before = processCpuMs(pid);
    await sleep(500);
    if (processCpuMs(pid) - before <= 20) return;
  }
  notes.push(`The server was still busy 30 s after a phase (pid ${pid}); the next phase started anyway.`);
}

/** An unmeasured run of both paths, so that the first measured phase does not pay for JIT warm-up. */
async function prime(side: Side): Promise<void> {
  for (const path of PATHS) {
    await side.start(path, { mode: 'closed', concurrency: 16 });
    await sleep(WARMUP_SECONDS * 1_000);
    const samples = await side.finish();
    if (samples.failures > 0) throw new Error(`warm-up: ${samples.failures} requests failed; the first: ${samples.firstError}`);
  }
}

const line = (r: PhaseResult) => `${r.rps.toFixed(0)} req/s p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)} ms`;

/** BENCH_RUNS rounds of every path and in-flight count (and, on PostgreSQL, the open loop). */
async function runRounds(
  backend: Backend,
  sides: { gl: Side; base: Side; floor: Side | null },
  probe: Probe | undefined,
  report: Report,
): Promise<void> {
  const { gl, base, floor } = sides;
  await prime(gl);
  await prime(base);
  if (floor) await prime(floor);
  await settle(gl.pid);
  const rows = new Map<string, ClosedRow>();
  const openRows = new Map<WorkloadPath, OpenRow>();
  for (let round = 1; round <= RUNS; round++) {
    for (const path of PATHS) {
      for (const concurrency of CONCURRENCY) {
        const greenlight = await measurePhase(gl, path, { mode: 'closed', concurrency }, probe);
        await settle(gl.pid);
        const baseline = await measurePhase(base, path, { mode: 'closed', concurrency }, probe);
        const http = floor ? await measurePhase(floor, path, { mode: 'closed', concurrency }, probe) : undefined;
        const key = `${path}/${concurrency}`;
        if (!rows.has(key)) rows.set(key, { backend, path, concurrency, rounds: [] });
        rows.get(key)!.rounds.push({ greenlight, baseline, ...(http ? { floor: http } : {}) });
        const ratio = (greenlight.rps / baseline.rps).toFixed(2);
        console.log(
          `round ${round}/${RUNS} ${backend} ${path} ${concurrency} in flight: Greenlight ${line(greenlight)} | baseline ${line(baseline)} | ratio ${ratio}${http ? ` | HTTP floor ${line(http)}` : ''}`,
        );
      }
    }
    if (backend !== 'PostgreSQL' || SKIP.has('openloop')) continue;
    for (const path of PATHS) {
      const closed = [...rows.values()].filter((r) => r.path === path);
      const at32 =
        closed.find((r) => r.concurrency === 32) ??
        closed.sort((a, b) => b.rounds.at(-1)!.greenlight.rps - a.rounds.at(-1)!.greenlight.rps)[0]!;
      if (at32.concurrency !== 32 && round === 1)
        notes.push(`32 not in BENCH_CONCURRENCY: the open-loop rate is 0.7 × the rate at ${at32.concurrency} in flight.`);
      const rate = 0.7 * at32.rounds.at(-1)!.greenlight.rps;
      const greenlight = await measurePhase(gl, path, { mode: 'open', rate }, probe);
      await settle(gl.pid);
      const baseline = await measurePhase(base, path, { mode: 'open', rate }, probe);
      if (!openRows.has(path)) openRows.set(path, { path, rounds: [] });
      openRows.get(path)!.rounds.push({ greenlight, baseline, rate });
      console.log(
        `round ${round}/${RUNS} ${backend} ${path} open loop at ${rate.toFixed(0)} req/s: Greenlight ${line(greenlight)} | baseline ${line(baseline)}`,
      );
    }
  }
  report.closed.push(...rows.values());
  report.open.push(...openRows.values());
}

// --- the two databases --------------------------------------------------------------------------
async function onDatabase<T>(url: string, database: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const target = new URL(url);
  target.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: target.toString() });
  await client.connect();
  return work(client).finally(() => client.end());
}
const urlOf = (url: string, database: string) => Object.assign(new URL(url), { pathname: `/${database}` }).toString();

async function trackServer(server: LoadServer, label: string): Promise<LoadServer> {
  ours.add(server.pid);
  cleanups.push(async () => {
    await server.stop();
    if (server.problems.length > 0)
      notes.push(`${label} server logged ${server.problems.length} warnings/errors; the first: ${server.problems[0]}`);
  });
  return server;
}

async function startBaselineTracked(target: Parameters<typeof startBaseline>[0]) {
  const baseline = await startBaseline(target);
  ours.add(baseline.pid);
  cleanups.push(() => baseline.close().catch(() => baseline.kill()));
  return baseline;
}
const baselineSide = (b: Awaited<ReturnType<typeof startBaseline>>, database: string | null): Side => ({ ...b, database });
const greenlightSide = (server: LoadServer, database: string | null): Side => httpSide(server.pid, database, server.op);
/** The baseline's transaction behind bare HTTP (in the baseline's process), unless BENCH_SKIP has floor. */
const floorSide = async (b: Awaited<ReturnType<typeof startBaseline>>, database: string | null): Promise<Side | null> =>
  SKIP.has('floor') ? null : httpSide(b.pid, database, requestOps(await b.serve(), [FLOOR_TOKEN]));

async function postgresSection(clusterUrl: string, probe: Probe, report: Report): Promise<void> {
  const server = await trackServer(
    await startLoadServer({ databaseUrl: urlOf(clusterUrl, 'bench_greenlight'), dataDir: tempDir('keys'), logLevel: LOG_LEVEL }),
    'PostgreSQL',
  );
  const baseline = await startBaselineTracked({ kind: 'postgres', url: urlOf(clusterUrl, 'bench_baseline'), poolSize: SERVER_POOL_SIZE });
  const sides = {
    gl: greenlightSide(server, 'bench_greenlight'),
    base: baselineSide(baseline, 'bench_baseline'),
    floor: await floorSide(baseline, 'bench_baseline'),
  };
  await runRounds('PostgreSQL', sides, probe, report);
  // Same rows on both sides? Rows per request and the sizes of what was written.
  const shape = async (database: string) =>
    onDatabase(clusterUrl, database, async (c) => {
      const sql = `SELECT (SELECT count(*) FROM audit_events WHERE request_id IS NOT NULL)::float / count(*) AS events,
        avg(pg_column_size(r.*))::int AS request_bytes, (SELECT avg(pg_column_size(data))::int FROM audit_events WHERE request_id IS NOT NULL) AS data_bytes
        FROM action_requests r`;
      const row = (await c.query<{ events: number; request_bytes: number; data_bytes: number }>(sql)).rows[0]!;
      return `${row.events.toFixed(2)} audit events per request, ${row.request_bytes} B per action_requests row, ${row.data_bytes} B of event data`;
    });
  notes.push(`Rows written (PostgreSQL): Greenlight ${await shape('bench_greenlight')}; baseline ${await shape('bench_baseline')}.`);
  await server.stop(); // idle servers still sweep and poll: not during the next section
  await baseline.close();
}

async function pgliteSection(report: Report): Promise<void> {
  const server = await trackServer(await startLoadServer({ dataDir: tempDir('pglite-server'), logLevel: LOG_LEVEL }), 'PGlite');
  const baseline = await startBaselineTracked({ kind: 'pglite', dir: tempDir('pglite-baseline') });
  const sides = { gl: greenlightSide(server, null), base: baselineSide(baseline, null), floor: await floorSide(baseline, null) };
  await runRounds('PGlite', sides, undefined, report);
  await server.stop();
  await baseline.close();
}

async function coldStarts(clusterUrl: string | undefined, report: Report): Promise<void> {
  const targets: { backend: Backend; databaseUrl?: string }[] = [{ backend: 'PGlite' }];
  if (clusterUrl) targets.push({ backend: 'PostgreSQL', databaseUrl: urlOf(clusterUrl, 'bench_cold') });
  for (const { backend, databaseUrl } of targets) {
    const settings = { dataDir: tempDir('cold'), ...(databaseUrl ? { databaseUrl } : {}) };
    const first = await coldStartMs(settings);
    const restarts: number[] = [];
    for (let i = 0; i < 3; i++) restarts.push(await coldStartMs(settings));
    report.coldStarts.push({ backend, first, restarts });
    console.log(`cold start ${backend}: first ${first.toFixed(0)} ms, restarts ${restarts.map((r) => r.toFixed(0)).join(', ')} ms`);
  }
}

// --- the run ------------------------------------------------------------------------------------
async function main(report: Report): Promise<void> {
  console.log(
    `bench:write: ${RUNS} round(s), ${SECONDS} s measured (+${WARMUP_SECONDS} s warm-up) per phase, in flight ${CONCURRENCY.join(', ')}`,
  );
  await ensureBuilt();
  let cluster: Awaited<ReturnType<typeof createPrivateCluster>> | undefined;
  let probe: Probe | undefined;
  let postgresVersion: string | null = null;
  if (!SKIP.has('postgres')) {
    cluster = await createPrivateCluster({
      durable: true,
      settings: { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all' },
    });
    cleanups.push(() => cluster!.destroy());
    const client = new pg.Client({ connectionString: cluster.url });
    await client.connect();
    cleanups.push(() => client.end());
    await client.query('CREATE EXTENSION pg_stat_statements');
    for (const name of ['bench_greenlight', 'bench_baseline', 'bench_cold']) {
      await client.query(`CREATE DATABASE ${name}`);
      await onDatabase(cluster.url, name, (c) => c.query('CREATE EXTENSION pg_stat_statements'));
    }
    postgresVersion = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
    probe = { client, postmaster: Number(readFileSync(join(cluster.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]) };
  }
  if (!SKIP.has('coldstart')) await coldStarts(cluster?.url, report);
  if (cluster && probe) await postgresSection(cluster.url, probe, report);
  if (!SKIP.has('pglite')) await pgliteSection(report);
  report.machine.push(...machineLines(report, postgresVersion));
  notes.push(...clientNotes(report));
}

let cleaning: Promise<void> | undefined;
const cleanUp = () =>
  (cleaning ??= (async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error('clean-up failed:', error));
  })());

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    console.error(`\n${signal}: stopping the servers, removing the cluster and temp folders`);
    void cleanUp().finally(() => process.exit(130));
  });

const report: Report = {
  command: `${KNOBS.concat('BENCH_WRITE')
    .flatMap((name) => (process.env[name] ? [`${name}=${process.env[name]}`] : []))
    .join(' ')} npm run bench:write`.trim(),
  date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  machine: [],
  method: methodLines({
    logLevel: LOG_LEVEL,
    poolSize: SERVER_POOL_SIZE,
    agents: AGENTS,
    warmupSeconds: WARMUP_SECONDS,
    seconds: SECONDS,
    runs: RUNS,
  }),
  closed: [],
  open: [],
  coldStarts: [],
  notes,
};

main(report)
  .then(async () => {
    await cleanUp();
    const lines = renderReport(report);
    console.log(`\n${lines.join('\n')}\n`);
    if (WRITE) {
      writeSection(RESULT_FILE, lines);
      console.log(`Wrote ${RESULT_FILE}`);
    } else console.log('Not writing BENCHMARKS.md: a partial or shortened run (BENCH_WRITE=1 writes anyway).');
  })
  .catch(async (error: unknown) => {
    console.error(error);
    await cleanUp();
    process.exitCode = 1;
  })
  .finally(() => process.exit());
