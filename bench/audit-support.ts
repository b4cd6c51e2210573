/**
 * What the sections of `bench/audit.ts` share: the server to benchmark on, fresh databases that
 * are dropped at the end (even after a failure or Ctrl-C), the audit settings of the benchmarked
 * apps, number formatting and the summary table.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { generateSigningKeyPem } from '../src/audit/keys.js';
import { defaultAuditConfig, defaultSecurityConfig } from '../src/config.js';

/** A positive integer from the environment variable `name`, or `fallback`. */
export const num = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return Math.floor(value);
};

/** The PEM the apps and the seed sign checkpoints with. */
export const SIGNING_KEY = generateSigningKeyPem();
/** The apps' audit settings: the defaults (seal every 250 ms, checkpoint every 1,000 events). */
export const AUDIT = defaultAuditConfig({ signingKey: SIGNING_KEY });
/** The benchmarks load the server as hard as they can: no per-principal limits. */
export const UNLIMITED = defaultSecurityConfig({ requestsPerMinute: 0, socketsPerPrincipal: 100_000 });
const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
/** The PostgreSQL server: DATABASE_URL, or a local default. */
export const SERVER_URL = process.env['DATABASE_URL'] || DEFAULT_URL;

/**
 * Everything created is registered here and removed in the final cleanup (`finish`), even after a
 * failure: connections and apps first (`cleanups`), then the databases (`drops`), also on Ctrl-C.
 */
export const cleanups: (() => Promise<void>)[] = [];
const drops: (() => Promise<void>)[] = [];
let interrupted = false;

/** Runs `run` on a connection of its own to the server's default database. */
export async function onServer<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: SERVER_URL });
  await client.connect();
  return run(client).finally(() => client.end());
}

/** A new empty database on the server; dropped (WITH FORCE) in the final cleanup. */
export async function freshDatabase(prefix: string): Promise<string> {
  if (interrupted) throw new Error('interrupted');
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await onServer((c) => c.query(`CREATE DATABASE ${name}`));
  const drop = () => onServer((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined);
  if (interrupted) {
    await drop();
    throw new Error('interrupted');
  }
  drops.push(drop);
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

// --- statistics and printing ------------------------------------------------------------------
/** A sorted copy. */
export const sortNum = (xs: number[]) => [...xs].sort((a, b) => a - b);
/** The q-quantile of sorted samples (nearest rank). */
export const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
/** The median of samples in any order. */
export const median = (xs: number[]) => quantile(sortNum(xs), 0.5);
/** `x` with `digits` decimals. */
export const fmt = (x: number, digits = 1) => x.toFixed(digits);
/** `x` rounded, with thousands separators. */
export const int = (x: number) => Math.round(x).toLocaleString('en-US');
/** Prints one table row: the first cell left-aligned, the others right-aligned, in these widths. */
export const row = (widths: number[], cells: string[]) =>
  console.log(`  ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[0]!) : cell.padStart(widths[i]!))).join('')}`);

/** One line of the summary table that ends the output. */
export interface SummaryRow {
  figure: string;
  value: string;
  target: string;
  met: boolean | null;
}
/** The summary table, filled by the sections. */
export const summary: SummaryRow[] = [];
/** Reports a section that failed, and counts it as a target not met. */
export const failed = (figure: string, target: string, error: unknown) => {
  console.error(`\n${figure}: FAILED`, error);
  summary.push({ figure, value: 'error', target, met: false });
};

function printSummary(): void {
  if (summary.length === 0) return;
  console.log('\nSummary');
  const widths = [48, 28, 18, 9];
  row(widths, ['figure', 'value', 'target', 'met']);
  for (const s of summary) row(widths, [s.figure, s.value, s.target, s.met === null ? '-' : s.met ? 'met' : 'NOT MET']);
}

/** Runs the benchmark, then prints the summary, cleans up and exits (also on Ctrl-C). */
export function runBenchmark(main: () => Promise<void>): void {
  main()
    .catch((error) => {
      console.error(error);
      process.exitCode = 1;
    })
    .finally(async () => {
      printSummary();
      for (const cleanup of [...cleanups.reverse(), ...drops]) await cleanup().catch((error) => console.error('cleanup failed:', error));
      process.exit();
    });

  // Interrupted: drop the databases (FORCE ends the connections still open on them) and leave.
  process.once('SIGINT', () => {
    interrupted = true;
    console.error('\ninterrupted: dropping the benchmark databases');
    void Promise.allSettled(drops.map((drop) => drop())).finally(() => process.exit(130));
  });
}
