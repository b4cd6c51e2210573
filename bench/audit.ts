/**
 * Greenlight audit-log benchmark on PostgreSQL: `npm run bench:audit`
 * (env: DATABASE_URL, BENCH_EVENTS, BENCH_SAMPLES, BENCH_ROUNDS, BENCH_REQUESTS, BENCH_VERIFY_RUNS,
 * BENCH_SECTIONS).
 *
 * BENCH_SECTIONS picks the sections to run, comma-separated from `query`, `verify`, `sealer`
 * (default: all three). The seed (1.) runs only when `query` or `verify` is picked, so
 * `BENCH_SECTIONS=sealer` measures the sealer's overhead (4.) alone, without seeding a million events.
 *
 * 1. Seed: a new database `bench_audit_<random>` on the server (dropped at the end, even after a
 *    failure), migrated with `createDatabase().migrate()`, then BENCH_EVENTS sealed audit events
 *    (default 1,000,000) inserted directly in chunks of 5,000 (UNNEST arrays, OVERRIDING SYSTEM
 *    VALUE), with every index and trigger of the schema in place. Events concern ~1,000 agents
 *    (`data.agentId`, 200-400 bytes of realistic JSON per event), their `created_at` spread over
 *    the last 30 days in `seq` order; `seq`, `prev_hash` and `hash` are computed here with the
 *    chain's own `eventHash`, and a checkpoint signed with the app's keyring (same PEM) every 1,000
 *    events (plus one at the head, as the sealer's time-based checkpoint would). Then VACUUM
 *    ANALYZE (what autovacuum would do shortly after such a load; doing it now keeps it from
 *    running in the middle of the measurements).
 * 2. Query: `listSealedAuditEvents` for one 50-event page filtered by a random agent and a random
 *    1-day window, newest-first (SEQ_DESC, the common case) and oldest-first (SEQ_ASC) alternating,
 *    BENCH_SAMPLES samples each after a warm-up; p50/p95/p99/max. EXPLAIN (ANALYZE, BUFFERS) of
 *    the exact SQL it sends (captured with a drizzle logger) shows which index serves it.
 * 3. Verification: `verifyAuditLog` over the whole chain (must report ok), events/s, median of
 *    BENCH_VERIFY_RUNS runs (default 3).
 * 4. Sealer overhead: one app (`buildApp`) on a fresh small database, an agent and an ALLOW/ESCALATE
 *    policy as in bench/request-action.ts, sequential `requestAction` calls through `yoga.fetch`.
 *    BENCH_ROUNDS rounds (default 5) of BENCH_REQUESTS requests (default 400) per side alternate
 *    between "sealer running" (`startSealer` on the app's database with the app's audit settings:
 *    every 250 ms, checkpoint every 1,000 events) and "sealer stopped" (which side goes first
 *    alternates too). Before each running round the backlog left by the stopped round is sealed,
 *    untimed, so the running side pays only for sealing its own events, as in steady state.
 *    p50/p99 over all measured requests per side; ratio = p99 running / p99 stopped.
 *
 * Targets (from the issue): page p95 ≤ 10 ms; verification ≥ 100,000 events/s; requestAction p99
 * with the sealer running ≤ +10 % over stopped. A summary table ends the output.
 *
 * Section 4 is in bench/audit-sealer.ts; what the sections share (fresh databases and their
 * cleanup, formatting, the summary) in bench/audit-support.ts.
 */
import { cpus } from 'node:os';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { REQUEST_WARMUP, sealerOverhead, TARGET_P99_RATIO } from './audit-sealer.js';
import {
  AUDIT,
  cleanups,
  failed,
  fmt,
  freshDatabase,
  int,
  num,
  onServer,
  quantile,
  row,
  runBenchmark,
  SERVER_URL,
  sortNum,
  summary,
  median,
} from './audit-support.js';
import { eventHash, GENESIS_HASH } from '../src/audit/chain.js';
import { loadAuditKeyring, type AuditKeyring } from '../src/audit/keys.js';
import { listSealedAuditEvents, type AuditOrder } from '../src/audit/query.js';
import { verifyAuditLog } from '../src/audit/verify-log.js';
import { createDatabase, type Database, type DatabaseHandle } from '../src/db/client.js';
import * as schema from '../src/db/schema.js';
import { prng } from '../test/support/prng.js';

const EVENTS = num('BENCH_EVENTS', 1_000_000);
const SAMPLES = num('BENCH_SAMPLES', 500);
const ROUNDS = num('BENCH_ROUNDS', 5);
const REQUESTS = num('BENCH_REQUESTS', 400);
const VERIFY_RUNS = num('BENCH_VERIFY_RUNS', 3);
const ALL_SECTIONS = ['query', 'verify', 'sealer'] as const;
type Section = (typeof ALL_SECTIONS)[number];
const SECTIONS: ReadonlySet<Section> = (() => {
  const picked = (process.env['BENCH_SECTIONS'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = picked.filter((s) => !(ALL_SECTIONS as readonly string[]).includes(s));
  if (unknown.length > 0) throw new Error(`BENCH_SECTIONS: unknown section(s) ${unknown.join(', ')}; pick from ${ALL_SECTIONS.join(', ')}`);
  return new Set(picked.length > 0 ? (picked as Section[]) : ALL_SECTIONS);
})();
const QUERY_WARMUP = 100;
const AGENTS = 1_000;
const REVIEWERS = 25;
const CHUNK = 5_000;
const CHECKPOINT_EVERY = 1_000;
const PAGE = 50;
const DAY_MS = 86_400_000;
const SPAN_MS = 30 * DAY_MS;
const SEED = 7;

const TARGET_P95_MS = 10;
const TARGET_VERIFY_EPS = 100_000;

// --- 1. the seed ------------------------------------------------------------------------------
const random = prng(SEED);
const hex = (n: number) => Array.from({ length: n }, () => random.int(16).toString(16)).join('');
const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[random.int(4)]}${hex(3)}-${hex(12)}`;

const SERVICES = [
  'payments-api',
  'ledger',
  'search',
  'catalog',
  'orders',
  'users',
  'auth',
  'mailer',
  'cdn',
  'billing',
  'inventory',
  'reports',
];
const ENVS = ['prod', 'staging', 'dev'];
const VERBS = [
  'read.config',
  'read.logs',
  'deploy.update',
  'deploy.rollback',
  'db.migrate',
  'scale.replicas',
  'secrets.rotate',
  'cache.flush',
];
const RULES = ['allow-reads', 'escalate-deploys', 'block-prod-deletes', 'escalate-migrations', 'allow-staging', 'rate-limit-rotations'];
const GROUPS = ['sre', 'payments', 'dba', 'security'];
const REASONS = [
  'scheduled maintenance',
  'ticket OPS-1432: raise the timeout',
  'roll out the hotfix for checkout errors',
  'nightly report',
  'incident INC-2291 follow-up',
];

interface Seeded {
  url: string;
  database: DatabaseHandle;
  keyring: AuditKeyring;
  agents: string[];
  /** created_at of seq 1 and of the last event, in ms since the epoch. */
  fromMs: number;
  toMs: number;
}

/** `YYYY-MM-DDTHH:MM:SS.ffffffZ` from microseconds since the epoch: the chain's canonical form. */
const isoMicros = (us: number) => `${new Date(Math.floor(us / 1_000)).toISOString().slice(0, -1)}${String(us % 1_000).padStart(3, '0')}Z`;

/** One event's type, actor and data, drawn from a mix like a busy deployment's. */
function drawEvent(
  agents: string[],
  reviewers: string[],
  admin: string,
  createdUs: number,
): { type: string; actorId: string | null; data: Record<string, unknown> } {
  const agentId = random.pick(agents);
  const service = random.pick(SERVICES);
  const resource = `${random.pick(ENVS)}/${service}/${random.chance(0.5) ? 'config' : `instance-${random.int(40)}`}`;
  const rule = random.pick(RULES);
  const roll = random.next();
  if (roll < 0.35) {
    const action = random.pick(VERBS);
    return {
      type: 'ACTION_REQUESTED',
      actorId: agentId,
      data: {
        agentId,
        action,
        resource,
        params: action.startsWith('deploy')
          ? { image: `${service}:1.${random.int(30)}.${random.int(10)}`, replicas: 1 + random.int(12) }
          : { key: 'timeout', value: 100 * random.int(50) },
        context: { ticket: `OPS-${1_000 + random.int(9_000)}`, pipeline: `ci-${random.int(500)}` },
        onBehalfOfId: null,
        idempotencyKey: random.chance(0.3) ? `idem-${hex(16)}` : null,
        reason: random.pick(REASONS),
      },
    };
  }
  if (roll < 0.6) {
    return {
      type: 'ACTION_APPROVED',
      actorId: null,
      data: {
        agentId,
        status: 'APPROVED',
        decidedBy: 'POLICY',
        reason: 'reads are safe',
        policyVersion: 1 + random.int(20),
        matchedRules: [rule],
        errors: [],
      },
    };
  }
  if (roll < 0.7) {
    const groups = [random.pick(GROUPS)];
    return {
      type: 'ACTION_ESCALATED',
      actorId: null,
      data: {
        agentId,
        policyVersion: 1 + random.int(20),
        matchedRules: [rule],
        errors: [],
        requiredGroups: groups,
        requiredApprovals: 1,
        requirements: [{ ruleId: rule, groups, approvals: 1 }],
        expiresAt: new Date(createdUs / 1_000 + 3_600_000).toISOString(),
      },
    };
  }
  if (roll < 0.75) {
    return {
      type: 'ACTION_BLOCKED',
      actorId: null,
      data: {
        agentId,
        status: 'BLOCKED',
        decidedBy: 'POLICY',
        reason: 'deletes in prod are never automated',
        policyVersion: 1 + random.int(20),
        matchedRules: [rule],
        errors: [],
      },
    };
  }
  if (roll < 0.83) {
    const reviewerId = random.pick(reviewers);
    return {
      type: 'REVIEW_SUBMITTED',
      actorId: reviewerId,
      data: {
        agentId,
        reviewerId,
        verdict: random.chance(0.85) ? 'APPROVE' : 'REJECT',
        comment: random.chance(0.5) ? 'looks fine, go ahead' : null,
        approvalsReceived: 1,
        revision: 0,
      },
    };
  }
  if (roll < 0.88) {
    const reviewerId = random.pick(reviewers);
    return {
      type: 'ACTION_APPROVED',
      actorId: reviewerId,
      data: { agentId, status: 'APPROVED', decidedBy: 'REVIEWER', reason: 'quorum reached', revision: 0 },
    };
  }
  if (roll < 0.89)
    return {
      type: 'ACTION_REJECTED',
      actorId: random.pick(reviewers),
      data: { agentId, status: 'REJECTED', decidedBy: 'REVIEWER', reason: 'not during the freeze', revision: 0 },
    };
  if (roll < 0.9)
    return {
      type: 'ACTION_EXPIRED',
      actorId: null,
      data: { agentId, status: 'EXPIRED', decidedBy: 'TIMEOUT', reason: 'no reviewer decided in time' },
    };
  if (roll < 0.999) {
    return {
      type: 'OUTCOME_REPORTED',
      actorId: agentId,
      data: {
        agentId,
        outcome: random.chance(0.95) ? 'SUCCEEDED' : 'FAILED',
        detail: random.chance(0.5) ? `exit 0 after ${random.int(900)} s; ${service} healthy` : null,
      },
    };
  }
  return {
    type: 'POLICY_PUBLISHED',
    actorId: admin,
    data: {
      policyId: uuid(),
      version: 1 + random.int(20),
      previousVersion: random.int(20),
      contentHash: hex(64),
      ruleCount: 40 + random.int(60),
      defaultEffect: 'BLOCK',
      message: 'tighten prod deploys',
    },
  };
}

const INSERT_EVENTS = `INSERT INTO audit_events (id, type, actor_id, request_id, data, created_at, seq, prev_hash, hash, sealed_at) OVERRIDING SYSTEM VALUE
  SELECT id, type::audit_event_type, actor_id, NULL, data::jsonb, created_at::timestamptz, seq, prev_hash, hash, created_at::timestamptz + interval '300 milliseconds'
  FROM unnest($1::bigint[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[])
    AS u(id, type, actor_id, data, created_at, seq, prev_hash, hash)`;
const INSERT_CHECKPOINTS = `INSERT INTO audit_checkpoints (seq, hash, key_id, signature, created_at)
  SELECT seq, hash, key_id, signature, created_at::timestamptz + interval '400 milliseconds'
  FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[]) AS u(seq, hash, key_id, signature, created_at)`;

async function seed(): Promise<Seeded> {
  const url = await freshDatabase('bench_audit');
  const database = createDatabase({ databaseUrl: url, dataDir: 'memory://' });
  cleanups.push(() => database.close());
  await database.migrate();
  // The same key source as buildApp's: an app configured with AUDIT (the same PEM).
  const keyring = loadAuditKeyring({ pem: AUDIT.signingKey, file: AUDIT.signingKeyFile }, (message) => console.warn(message));

  const agents = Array.from({ length: AGENTS }, uuid);
  const reviewers = Array.from({ length: REVIEWERS }, uuid);
  const admin = uuid();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  // Seeding writes rows already sealed, which the append-only trigger refuses to the
  // application: this fixture connection switches triggers off, as a superuser may.
  await client.query('SET session_replication_role = replica');
  const nowUs = Date.now() * 1_000;
  const fromUs = nowUs - SPAN_MS * 1_000;
  const stepUs = (SPAN_MS * 1_000) / EVENTS;
  let lastUs = 0;
  try {
    await client.query(
      `INSERT INTO principals (id, kind, name, roles, groups)
       SELECT id, kind::principal_kind, name, roles::role[], groups::text[] FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[]) AS u(id, kind, name, roles, groups)`,
      [
        [...agents, ...reviewers, admin],
        [...agents.map(() => 'AGENT'), ...reviewers.map(() => 'HUMAN'), 'HUMAN'],
        [...agents.map((_, i) => `agent-${i}`), ...reviewers.map((_, i) => `reviewer-${i}`), 'admin'],
        [...agents.map(() => '{AGENT}'), ...reviewers.map(() => '{REVIEWER}'), '{ADMIN}'],
        [...agents.map(() => '{}'), ...reviewers.map((_, i) => `{${GROUPS[i % GROUPS.length]}}`), '{}'],
      ],
    );

    let prevHash = GENESIS_HASH;
    let lastCreated = '';
    let bytes = 0;
    let inflight: Promise<unknown> = Promise.resolve();
    const t0 = performance.now();
    let lastReport = t0;
    for (let start = 1; start <= EVENTS; start += CHUNK) {
      const end = Math.min(EVENTS, start + CHUNK - 1);
      const cols = {
        id: [] as number[],
        type: [] as string[],
        actor: [] as (string | null)[],
        data: [] as string[],
        created: [] as string[],
        seq: [] as number[],
        prev: [] as string[],
        hash: [] as string[],
      };
      const cps = { seq: [] as number[], hash: [] as string[], keyId: [] as string[], signature: [] as string[], created: [] as string[] };
      for (let seq = start; seq <= end; seq++) {
        // Increasing with seq (strictly, to the microsecond), jittered within the step.
        const us = Math.max(lastUs + 1, Math.floor(fromUs + (seq - 1) * stepUs + random.next() * stepUs * 0.9));
        lastUs = us;
        const createdAt = isoMicros(us);
        const event = drawEvent(agents, reviewers, admin, us);
        const hash = eventHash(prevHash, {
          id: seq,
          type: event.type,
          actorId: event.actorId,
          requestId: null,
          data: event.data,
          createdAt,
        });
        const json = JSON.stringify(event.data);
        bytes += json.length;
        cols.id.push(seq);
        cols.type.push(event.type);
        cols.actor.push(event.actorId);
        cols.data.push(json);
        cols.created.push(createdAt);
        cols.seq.push(seq);
        cols.prev.push(prevHash);
        cols.hash.push(hash);
        if (seq % CHECKPOINT_EVERY === 0 || seq === EVENTS) {
          cps.seq.push(seq);
          cps.hash.push(hash);
          cps.keyId.push(keyring.keyId);
          cps.signature.push(keyring.sign({ seq, hash }));
          cps.created.push(createdAt);
        }
        prevHash = hash;
        lastCreated = createdAt;
      }
      // The database inserts this chunk while the next one is being computed.
      await inflight;
      inflight = client
        .query(INSERT_EVENTS, [cols.id, cols.type, cols.actor, cols.data, cols.created, cols.seq, cols.prev, cols.hash])
        .then(() =>
          cps.seq.length > 0 ? client.query(INSERT_CHECKPOINTS, [cps.seq, cps.hash, cps.keyId, cps.signature, cps.created]) : undefined,
        );
      if (performance.now() - lastReport > 30_000) {
        lastReport = performance.now();
        console.log(`  ... ${int(end)} events computed in ${fmt((lastReport - t0) / 1_000)} s`);
      }
    }
    await inflight;
    const insertS = (performance.now() - t0) / 1_000;
    await client.query(`SELECT setval(pg_get_serial_sequence('audit_events', 'id'), $1)`, [EVENTS]);
    const t1 = performance.now();
    await client.query('VACUUM (ANALYZE) audit_events');
    await client.query('VACUUM (ANALYZE) audit_checkpoints');
    await client.query('ANALYZE principals');
    const vacuumS = (performance.now() - t1) / 1_000;
    const size = await client.query<{ table: string; indexes: string }>(
      `SELECT pg_size_pretty(pg_table_size('audit_events')) AS table, pg_size_pretty(pg_indexes_size('audit_events')) AS indexes`,
    );
    const checkpoints = Math.ceil(EVENTS / CHECKPOINT_EVERY);
    console.log(
      `  ${int(EVENTS)} events + ${int(checkpoints)} checkpoints inserted in ${fmt(insertS)} s (${int(EVENTS / insertS)} events/s, hashing and signing included), ` +
        `VACUUM ANALYZE ${fmt(vacuumS)} s`,
    );
    console.log(
      `  data ${fmt(bytes / EVENTS, 0)} bytes/event on average; audit_events ${size.rows[0]!.table} + indexes ${size.rows[0]!.indexes}; last created_at ${lastCreated}`,
    );
    summary.push({
      figure: `seed ${int(EVENTS)} sealed events (+ VACUUM ANALYZE)`,
      value: `${fmt(insertS + vacuumS)} s`,
      target: '-',
      met: null,
    });
  } finally {
    await client.end();
  }
  return { url, database, keyring, agents, fromMs: fromUs / 1_000, toMs: lastUs / 1_000 };
}

// --- 2. filtered pages ------------------------------------------------------------------------
async function queries(seeded: Seeded): Promise<void> {
  const { database, agents, fromMs, toMs } = seeded;
  const db = database.db;
  const pick = prng(SEED + 1);
  const draw = () => {
    const since = new Date(fromMs + pick.next() * (toMs - fromMs - DAY_MS));
    return { agentId: pick.pick(agents), since, until: new Date(since.getTime() + DAY_MS) };
  };
  const orders: AuditOrder[] = ['SEQ_DESC', 'SEQ_ASC'];
  for (let i = 0; i < QUERY_WARMUP; i++) await listSealedAuditEvents(db, draw(), { afterSeq: null, limit: PAGE, order: orders[i % 2]! });

  const latencies: Record<AuditOrder, number[]> = { SEQ_DESC: [], SEQ_ASC: [] };
  const rows: Record<AuditOrder, number[]> = { SEQ_DESC: [], SEQ_ASC: [] };
  for (let i = 0; i < SAMPLES; i++) {
    // Both orders get the same filter, in alternating order, so noise hits both alike.
    const filter = draw();
    const pair = i % 2 === 0 ? orders : [...orders].reverse();
    for (const order of pair) {
      const t0 = performance.now();
      const page = await listSealedAuditEvents(db, filter, { afterSeq: null, limit: PAGE, order });
      latencies[order].push(performance.now() - t0);
      rows[order].push(page.length);
    }
  }
  const widths = [12, 10, 9, 9, 9, 9, 12];
  row(widths, ['order', 'samples', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'rows/page']);
  for (const order of orders) {
    const sorted = sortNum(latencies[order]);
    const meanRows = rows[order].reduce((a, b) => a + b, 0) / rows[order].length;
    row(widths, [
      order,
      String(sorted.length),
      fmt(quantile(sorted, 0.5), 2),
      fmt(quantile(sorted, 0.95), 2),
      fmt(quantile(sorted, 0.99), 2),
      fmt(sorted.at(-1)!, 2),
      fmt(meanRows, 1),
    ]);
    const p95 = quantile(sorted, 0.95);
    summary.push({
      figure: `page p95, agent + 1-day window, ${order}`,
      value: `${fmt(p95, 2)} ms`,
      target: `≤ ${TARGET_P95_MS} ms`,
      met: p95 <= TARGET_P95_MS,
    });
  }

  // The exact SQL listSealedAuditEvents sends, captured by a logging drizzle on its own pool.
  const pool = new pg.Pool({ connectionString: seeded.url, max: 1 });
  try {
    let captured: { sql: string; params: unknown[] } | undefined;
    const logging = drizzle(pool, {
      schema,
      logger: { logQuery: (sql, params) => void (captured = { sql, params }) },
    }) as unknown as Database;
    for (const order of orders) {
      const filter = draw();
      await listSealedAuditEvents(logging, filter, { afterSeq: null, limit: PAGE, order });
      const { sql, params } = captured!;
      const plan = await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
      console.log(`\n  EXPLAIN (ANALYZE, BUFFERS), ${order}, agent ${filter.agentId}, ${filter.since.toISOString()} + 1 day:`);
      console.log(`    ${sql.replace(/\s+/g, ' ')}`);
      for (const line of plan.rows) console.log(`    ${line['QUERY PLAN']}`);
    }
  } finally {
    await pool.end();
  }
}

// --- 3. verification --------------------------------------------------------------------------
async function verification(seeded: Seeded): Promise<void> {
  const widths = [6, 10, 14, 13, 14, 6];
  row(widths, ['run', 'seconds', 'events', 'events/s', 'checkpoints', 'ok']);
  const rates: number[] = [];
  let allOk = true;
  for (let run = 1; run <= VERIFY_RUNS; run++) {
    const t0 = performance.now();
    const report = await verifyAuditLog(seeded.database.db, seeded.keyring);
    const seconds = (performance.now() - t0) / 1_000;
    const rate = report.eventsChecked / seconds;
    rates.push(rate);
    allOk &&= report.ok && report.eventsChecked === EVENTS && report.lastCheckpointSeq === EVENTS;
    row(widths, [String(run), fmt(seconds, 2), int(report.eventsChecked), int(rate), int(report.checkpointsChecked), String(report.ok)]);
    if (!report.ok) console.log(`  chain broken: ${report.reason} at seq ${report.firstBrokenSeq}: ${report.message}`);
  }
  summary.push({ figure: 'chain verifies (every event, every checkpoint)', value: allOk ? 'ok' : 'BROKEN', target: 'ok', met: allOk });
  const rate = median(rates);
  summary.push({
    figure: `verifyAuditLog, median of ${VERIFY_RUNS}`,
    value: `${int(rate)} ev/s`,
    target: `≥ ${int(TARGET_VERIFY_EPS)} ev/s`,
    met: rate >= TARGET_VERIFY_EPS,
  });
}

// --- main ---------------------------------------------------------------------------------------
async function main(): Promise<void> {
  const defaulted = process.env['DATABASE_URL'] ? '' : ' (DATABASE_URL unset: using the default)';
  console.log(
    `Greenlight audit-log benchmark: node ${process.version}, ${cpus().length} CPUs, PostgreSQL ${SERVER_URL.replace(/\/\/[^@/]*@/, '//')}${defaulted}`,
  );
  const version = await onServer((c) => c.query<{ server_version: string }>('SHOW server_version'));
  console.log(
    `PostgreSQL ${version.rows[0]!.server_version}; BENCH_EVENTS=${EVENTS} BENCH_SAMPLES=${SAMPLES} BENCH_ROUNDS=${ROUNDS} BENCH_REQUESTS=${REQUESTS} BENCH_VERIFY_RUNS=${VERIFY_RUNS} ` +
      `BENCH_SECTIONS=${[...SECTIONS].join(',')}\n`,
  );

  if (SECTIONS.has('query') || SECTIONS.has('verify')) {
    console.log(
      `1. Seeding ${int(EVENTS)} sealed audit events (${AGENTS} agents, 30 days, checkpoint every ${CHECKPOINT_EVERY}) into a fresh database`,
    );
    const seeded = await seed();

    if (SECTIONS.has('query')) {
      console.log(
        `\n2. listSealedAuditEvents: one ${PAGE}-event page, random agent + random 1-day window, ${SAMPLES} samples per order after ${QUERY_WARMUP} warm-up`,
      );
      await queries(seeded).catch((error) => failed('page query', `≤ ${TARGET_P95_MS} ms`, error));
    }

    if (SECTIONS.has('verify')) {
      console.log(`\n3. verifyAuditLog over the whole chain, ${VERIFY_RUNS} run(s)`);
      await verification(seeded).catch((error) => failed('verifyAuditLog', `≥ ${int(TARGET_VERIFY_EPS)} ev/s`, error));
    }
  }

  if (SECTIONS.has('sealer')) {
    console.log(
      `\n4. Sequential requestAction (yoga.fetch, alternating ALLOW/ESCALATE) with the sealer running vs stopped: ` +
        `${ROUNDS} interleaved rounds x ${REQUESTS} requests per side, ${REQUEST_WARMUP} warm-up, seal every ${AUDIT.sealIntervalMs} ms`,
    );
    await sealerOverhead(ROUNDS, REQUESTS).catch((error) =>
      failed('requestAction p99, sealer running / stopped', `≤ ${fmt(TARGET_P99_RATIO, 2)}`, error),
    );
  }
}

runBenchmark(main);
