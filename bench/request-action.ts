/**
 * Greenlight benchmark: start-up time and sequential `requestAction` throughput, against a raw-SQL
 * baseline, in one run. Run with `npm run bench:request` (env: BENCH_N, BENCH_WARMUP, DATABASE_URL).
 *
 * 1. Start-up: wall time from calling `buildApp(...)` on a fresh database (new temp dir, memory://,
 *    or a new PostgreSQL database) until `start()` resolves (migrations, bootstrap admin, listening
 *    on a free loopback port). Median/min/max of STARTS runs.
 * 2. Greenlight: ONE client, sequential. An agent calls the `requestAction` GraphQL mutation through
 *    `app.yoga.fetch` (the HTTP path minus the socket: parse, bearer-token auth query, validation,
 *    policy evaluation, one transaction with 1 action_requests + 2 audit_events inserts, JSON
 *    response). Requests alternate between an ALLOW and an ESCALATE rule.
 * 3. Raw SQL baseline: the same rows (1 action_requests + 2 audit_events, RETURNING *, in one
 *    transaction) written directly with the driver (pg Pool client / PGlite instance) into a
 *    separate fresh database with the same migrations. No auth, GraphQL, validation or policy.
 *
 * Greenlight and baseline run interleaved in ROUNDS rounds on the same machine at the same time so
 * that noise from the shared machine hits both alike; rps is the median over rounds, p50/p99 are
 * over all measured requests. ratio = greenlight rps / raw rps: 1.0 would mean Greenlight costs
 * nothing over its own writes; 0.25 means each request costs 4x the bare transaction. The ratio is
 * comparable across machines much more than the absolute figures are.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { buildApp, type App } from '../src/app.js';
import { inputFor, MUTATION, POLICY } from './request-workload.js';
import { generateSigningKeyPem } from '../src/audit/keys.js';
import { defaultAuditConfig, defaultReceiptConfig, defaultSecurityConfig } from '../src/config.js';
import { createPrincipal } from '../src/auth/principals.js';
import { createDatabase } from '../src/db/client.js';
import { publishPolicy } from '../src/policies/publish.js';

const SIGNING_KEY = generateSigningKeyPem();
const N = Number(process.env['BENCH_N'] ?? 2_000);
const WARMUP = Number(process.env['BENCH_WARMUP'] ?? 200);
const ROUNDS = 5;
const STARTS = 5;
const ADMIN_TOKEN = 'bench-admin-token-0123456789';
const SERVER_URL = process.env['DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/postgres';
const MIGRATIONS = fileURLToPath(new URL('../drizzle', import.meta.url));

type Kind = 'pglite memory://' | 'pglite on-disk' | 'postgres';
interface Target {
  databaseUrl: string | undefined;
  dataDir: string;
  drop: () => Promise<void>;
}

// Everything created is registered here and removed in `main`'s finally, even after a failure.
const cleanups: (() => Promise<void>)[] = [];

async function onServer<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: SERVER_URL });
  await client.connect();
  return run(client).finally(() => client.end());
}

/** A new empty database; its `drop` runs at most once and is also registered for the final cleanup. */
async function freshTarget(kind: Kind): Promise<Target> {
  const target = (databaseUrl: string | undefined, dataDir: string, remove: () => Promise<unknown>): Target => {
    let dropped: Promise<void> | undefined;
    const drop = () => (dropped ??= remove().then(() => undefined));
    cleanups.push(drop);
    return { databaseUrl, dataDir, drop };
  };
  if (kind === 'pglite memory://') return target(undefined, 'memory://', async () => {});
  if (kind === 'pglite on-disk') {
    const dir = mkdtempSync(join(tmpdir(), 'greenlight-bench-'));
    return target(undefined, dir, async () => rmSync(dir, { recursive: true, force: true }));
  }
  const name = `greenlight_bench_${randomBytes(6).toString('hex')}`;
  await onServer((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return target(url.toString(), 'memory://', () => onServer((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)));
}

const build = (t: Target) =>
  buildApp(
    {
      port: 0,
      host: '127.0.0.1',
      databaseUrl: t.databaseUrl,
      dataDir: t.dataDir,
      adminToken: ADMIN_TOKEN,
      sweepIntervalMs: 1_000,
      audit: defaultAuditConfig({ signingKey: SIGNING_KEY }),
      receipts: defaultReceiptConfig(),
      // Throughput is the point here: no per-agent rate limit.
      security: defaultSecurityConfig({ requestsPerMinute: 0 }),
      databaseWaitMs: 0,
    },
    { logging: 'error' },
  );

async function startupMs(kind: Kind): Promise<number> {
  const target = await freshTarget(kind);
  let app: App | undefined;
  try {
    const t0 = performance.now();
    app = await build(target);
    await app.start();
    return performance.now() - t0;
  } finally {
    await app?.stop();
    await target.drop(); // at once, so start-up runs do not pile up temp dirs and databases
  }
}

// --- the workload: even i -> ALLOW rule, odd i -> ESCALATE rule ------------------------------

type Op = (i: number) => Promise<void>;

async function greenlightOp(target: Target): Promise<{ op: Op; close: () => Promise<void> }> {
  const app = await build(target);
  try {
    const admin = (await app.deps.auth.authenticate(ADMIN_TOKEN, undefined)).principal;
    const agent = await createPrincipal(app.deps, admin, { kind: 'AGENT', name: 'bench-agent', roles: ['AGENT'] });
    await publishPolicy(app.deps, admin, POLICY);
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${agent.token}` };
    const op: Op = async (i) => {
      const body = JSON.stringify({ query: MUTATION, variables: { input: inputFor(i) } });
      const response = await app.yoga.fetch('http://localhost/graphql', { method: 'POST', headers, body });
      const result = (await response.json()) as { data?: { requestAction?: { request?: { status: string } } } };
      const status = result.data?.requestAction?.request?.status;
      if (status !== (i % 2 === 0 ? 'APPROVED' : 'PENDING')) throw new Error(`unexpected response: ${JSON.stringify(result)}`);
    };
    return { op, close: () => app.stop() };
  } catch (error) {
    await app.stop();
    throw error;
  }
}

// --- the raw-SQL baseline ---------------------------------------------------------------------
type Query = (text: string, params: unknown[]) => Promise<{ rows: unknown[] }>;
type RunTx = (work: (q: Query) => Promise<void>) => Promise<void>;

const INSERT_ALLOW = `INSERT INTO action_requests (agent_id, action, resource, params, reason, payload_hash, status, effect,
  evaluation, decided_at, decided_by, decision_reason)
  VALUES ($1, $2, $3, $4, $5, $6, 'APPROVED', 'ALLOW', $7, now(), 'POLICY', $8) RETURNING *`;
const INSERT_ESCALATE = `INSERT INTO action_requests (agent_id, action, resource, params, reason, payload_hash, status, effect,
  evaluation, required_groups, required_approvals, expires_at)
  VALUES ($1, $2, $3, $4, $5, $6, 'PENDING', 'ESCALATE', $7, $8, $9, now() + make_interval(secs => $10)) RETURNING *`;
const INSERT_EVENTS = `INSERT INTO audit_events (type, actor_id, request_id, data)
  VALUES ('ACTION_REQUESTED', $1, $2, $3), ($4::audit_event_type, NULL, $2, $5) RETURNING *`;

async function rawOp(target: Target): Promise<{ op: Op; close: () => Promise<void> }> {
  let runTx: RunTx;
  let close: () => Promise<void>;
  if (target.databaseUrl) {
    const setup = createDatabase({ databaseUrl: target.databaseUrl, dataDir: target.dataDir });
    await setup.migrate().finally(() => setup.close());
    const pool = new pg.Pool({ connectionString: target.databaseUrl, max: 1 });
    runTx = async (work) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await work((text, params) => client.query(text, params));
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      } finally {
        client.release();
      }
    };
    close = () => pool.end();
  } else {
    const db = new PGlite(target.dataDir);
    await migrate(drizzle(db), { migrationsFolder: MIGRATIONS });
    runTx = (work) => db.transaction((tx) => work((text, params) => tx.query(text, params)));
    close = () => db.close();
  }
  let agentId = '';
  await runTx(async (q) => {
    const { rows } = await q(`INSERT INTO principals (kind, name, roles) VALUES ('AGENT', 'bench-agent', '{AGENT}') RETURNING id`, []);
    agentId = (rows[0] as { id: string }).id;
  });
  const op: Op = async (i) => {
    const input = inputFor(i);
    const allow = i % 2 === 0;
    const hash = createHash('sha256').update(JSON.stringify(input)).digest('hex');
    const rule = allow ? 'allow-reads' : 'escalate-deploys';
    const review = allow ? null : { groups: ['sre'], approvals: 1, timeoutSeconds: 3_600 };
    const evaluation = JSON.stringify({
      effect: allow ? 'ALLOW' : 'ESCALATE',
      matchedRules: [rule],
      decidingRules: [rule],
      policyVersion: 1,
      explanation: `Rule "${rule}" decided.`,
      reason: allow ? 'reads are safe' : null,
      review,
    });
    const base = [agentId, input.action, input.resource, JSON.stringify(input.params), input.reason, hash, evaluation];
    await runTx(async (q) => {
      const { rows } = await q(allow ? INSERT_ALLOW : INSERT_ESCALATE, allow ? [...base, 'reads are safe'] : [...base, ['sre'], 1, 3_600]);
      const request = rows[0] as { id: string; expires_at: Date | null };
      const requested = {
        agentId,
        action: input.action,
        resource: input.resource,
        onBehalfOfId: null,
        idempotencyKey: null,
        reason: input.reason,
      };
      const decided = allow
        ? { agentId, status: 'APPROVED', decidedBy: 'POLICY', reason: 'reads are safe', policyVersion: 1, matchedRules: [rule] }
        : { agentId, policyVersion: 1, matchedRules: [rule], requiredGroups: ['sre'], requiredApprovals: 1, expiresAt: request.expires_at };
      await q(INSERT_EVENTS, [
        agentId,
        request.id,
        JSON.stringify(requested),
        allow ? 'ACTION_APPROVED' : 'ACTION_ESCALATED',
        JSON.stringify(decided),
      ]);
    });
  };
  return { op, close };
}

// --- measurement ------------------------------------------------------------------------------
interface Stats {
  rps: number;
  p50: number;
  p99: number;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/** Warms both up, then alternates rounds of N / ROUNDS sequential requests between them. */
async function interleaved(ops: Op[]): Promise<Stats[]> {
  const perRound = Math.ceil(N / ROUNDS);
  for (const op of ops) for (let i = 0; i < WARMUP; i++) await op(i);
  const latencies = ops.map(() => [] as number[]);
  const roundRps = ops.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [k, op] of ops.entries()) {
      const t0 = performance.now();
      for (let j = 0; j < perRound; j++) {
        const s = performance.now();
        await op(WARMUP + round * perRound + j);
        latencies[k]!.push(performance.now() - s);
      }
      roundRps[k]!.push(perRound / ((performance.now() - t0) / 1_000));
    }
  }
  return ops.map((_, k) => {
    const sorted = latencies[k]!.sort((a, b) => a - b);
    return { rps: median(roundRps[k]!), p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
  });
}

const fmt = (x: number, digits = 1) => x.toFixed(digits);
/** Prints one table row: the first cell left-aligned, the others right-aligned to their widths. */
const row = (widths: number[], cells: string[]) =>
  console.log(`  ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[0]!) : cell.padStart(widths[i]!))).join('')}`);

async function main(): Promise<void> {
  // The default local server is optional; an explicit DATABASE_URL that does not work is an error.
  const pgUp =
    Boolean(process.env['DATABASE_URL']) ||
    (await onServer((c) => c.query('SELECT 1')).then(
      () => true,
      () => false,
    ));
  const kinds: Kind[] = ['pglite memory://', 'pglite on-disk', ...(pgUp ? (['postgres'] as const) : [])];
  const pgNote = pgUp ? `PostgreSQL: ${SERVER_URL.replace(/\/\/[^@/]*@/, '//')}` : 'PostgreSQL skipped (unreachable)';
  console.log(`Greenlight requestAction benchmark: node ${process.version}, ${cpus().length} CPUs, ${pgNote}`);
  console.log(`N=${N} measured requests per side (${ROUNDS} interleaved rounds), ${WARMUP} warm-up, one sequential client\n`);

  console.log(`Start-up: buildApp(fresh database) -> start() resolved, ${STARTS} runs`);
  const startWidths = [18, 11, 9, 9];
  row(startWidths, ['database', 'median ms', 'min ms', 'max ms']);
  for (const kind of kinds) {
    const times: number[] = [];
    for (let i = 0; i < STARTS; i++) times.push(await startupMs(kind));
    row(startWidths, [kind, fmt(median(times)), fmt(Math.min(...times)), fmt(Math.max(...times))]);
  }

  console.log(`\nSequential requestAction (yoga.fetch, alternating ALLOW/ESCALATE) vs raw SQL (same rows, one transaction)`);
  const widths = [18, 15, 8, 8, 10, 8, 8, 14];
  row(widths, ['database', 'greenlight rps', 'p50 ms', 'p99 ms', 'raw rps', 'p50 ms', 'p99 ms', 'ratio gl/raw']);
  for (const kind of kinds) {
    const greenlight = await greenlightOp(await freshTarget(kind));
    let raw: Awaited<ReturnType<typeof rawOp>> | undefined;
    try {
      raw = await rawOp(await freshTarget(kind));
      const [gl, bl] = (await interleaved([greenlight.op, raw.op])) as [Stats, Stats];
      row(widths, [
        kind,
        fmt(gl.rps, 0),
        fmt(gl.p50, 2),
        fmt(gl.p99, 2),
        fmt(bl.rps, 0),
        fmt(bl.p50, 2),
        fmt(bl.p99, 2),
        fmt(gl.rps / bl.rps, 2),
      ]);
    } finally {
      await greenlight.close();
      await raw?.close();
    }
  }
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => console.error('cleanup failed:', error));
    process.exit();
  });
