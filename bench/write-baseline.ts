/**
 * The baseline of `npm run bench:write` (bench/write.ts): a plain script that writes exactly the
 * rows one `requestAction` writes, with the driver and nothing else (no HTTP, GraphQL, auth,
 * validation or policy). It runs in a CHILD PROCESS of its own (this file, forked by
 * `startBaseline`), so that its CPU time can be read like the server's, from /proc/<pid>/stat.
 *
 * Per request, in one transaction: BEGIN; INSERT one action_requests row RETURNING * (the columns
 * src/approvals/request-action.ts sets, idempotency key and payload hash included; ALLOW: APPROVED
 * with decided_at, decision_reason, valid_until; ESCALATE: PENDING with review_requirements,
 * required groups/approvals, expires_at and remind_at); INSERT its two audit_events rows
 * RETURNING * (ACTION_REQUESTED, then ACTION_APPROVED or ACTION_ESCALATED, with the data Greenlight
 * writes); COMMIT. The payload hash is computed as Greenlight does (SHA-256 of canonical JSON).
 *
 * PostgreSQL: a pg Pool of the server's size (`poolSize`); PGlite: `new PGlite(dir)` migrated with
 * drizzle's PGlite migrator from ./drizzle, one connection (as the server has). The parent drives it
 * over IPC: setup, start (closed or open loop, bench/write-load.ts), measure, finish, close.
 *
 * The same process also serves the same transaction over bare HTTP (`serve`): a node:http server
 * on loopback that takes Greenlight's own `requestAction` body (JSON-parsed, its input used),
 * writes the rows as above and answers the fields the load checks. No GraphQL, auth, validation
 * or policy: it is the floor any HTTP service writing these rows pays on this machine, driven by
 * the same HTTP client as Greenlight.
 */
import { PGlite } from '@electric-sql/pglite';
import canonicalize from 'canonicalize';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { fork, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createDatabase } from '../src/db/client.js';
import { closedLoop, openLoop, type LoadRun, type Op, type Samples } from './write-load.js';
import { inputForPath, WORKLOAD, type WorkloadPath } from './request-workload.js';

export type BaselineTarget = { kind: 'postgres'; url: string; poolSize: number } | { kind: 'pglite'; dir: string };
export type LoadSpec = { mode: 'closed'; concurrency: number } | { mode: 'open'; rate: number };

type Command =
  | { cmd: 'setup'; target: BaselineTarget }
  | { cmd: 'start'; path: WorkloadPath; load: LoadSpec }
  | { cmd: 'measure' }
  | { cmd: 'finish' }
  | { cmd: 'serve' }
  | { cmd: 'close' };
type Reply = { ok: true; samples?: Samples; port?: number } | { ok: false; error: string };

const MIGRATIONS = fileURLToPath(new URL('../drizzle', import.meta.url));

// --- the rows -----------------------------------------------------------------------------------
type Query = (text: string, params: unknown[]) => Promise<{ rows: unknown[] }>;
type RunTx = (work: (q: Query) => Promise<void>) => Promise<void>;

const REQUEST_COLUMNS = `agent_id, on_behalf_of_id, owner_id, action, resource, params, reason, context, idempotency_key,
  payload_hash, redact_paths, effect, evaluation, matched_rules, status`;
const INSERT_ALLOW = `INSERT INTO action_requests (${REQUEST_COLUMNS}, decided_at, decided_by, decision_reason, valid_until)
  VALUES ($1, NULL, NULL, $2, $3, $4, $5, $6, $7, $8, $9, 'ALLOW', $10, $11, 'APPROVED',
    now(), 'POLICY', $12, now() + make_interval(secs => $13)) RETURNING *`;
const INSERT_ESCALATE = `INSERT INTO action_requests (${REQUEST_COLUMNS}, review_requirements, required_groups,
  required_approvals, expires_at, next_escalation_at, remind_at)
  VALUES ($1, NULL, NULL, $2, $3, $4, $5, $6, $7, $8, $9, 'ESCALATE', $10, $11, 'PENDING',
    $12, $13, $14, now() + make_interval(secs => $15), NULL, now() + make_interval(secs => $16)) RETURNING *`;
const INSERT_EVENTS = `INSERT INTO audit_events (type, actor_id, request_id, data)
  VALUES ('ACTION_REQUESTED', $1, $2, $3), ($4::audit_event_type, NULL, $2, $5) RETURNING *`;

/** The evaluation Greenlight stores for the workload's request (its shape, from a real row). */
function evaluationFor(path: WorkloadPath, action: string, resource: string) {
  const rule = WORKLOAD[path].rule;
  const escalate = path === 'ESCALATE';
  const requirements = escalate
    ? [{ ruleId: rule.id, groups: rule.review!.groups, approvals: rule.review!.approvals, escalation: [] }]
    : [];
  return {
    trace: [{ effect: path, failed: null, ruleId: rule.id }],
    effect: path,
    errors: [],
    reason: rule.reason ?? null,
    review: rule.review ?? null,
    amendable: false,
    explanation: `${path} for action "${action}" on "${resource}", decided by rule "${rule.id}" (actions, resources).`,
    matchedRules: [rule.id],
    requirements,
    decidingRules: [rule.id],
    policyVersion: 1,
    standingAllowed: escalate,
    validForSeconds: 900,
    reasonRequiredBy: [],
  };
}

type Input = ReturnType<typeof inputForPath>;
/** The request row's fields the HTTP floor answers with. */
type WrittenRequest = { id: string; status: string; decision_reason: string | null; expires_at: Date | string | null };

/** One request's transaction: the request row, then its two audit events. */
async function writeRequest(runTx: RunTx, agentId: string, path: WorkloadPath, key: string, input: Input): Promise<WrittenRequest> {
  const hash = createHash('sha256')
    .update(canonicalize({ ...input, onBehalfOf: null, context: {} })!)
    .digest('hex');
  const evaluation = evaluationFor(path, input.action, input.resource);
  const rule = WORKLOAD[path].rule;
  const common = [agentId, input.action, input.resource, JSON.stringify(input.params), input.reason, '{}', key, hash, []];
  const requirements = evaluation.requirements.map((r) => ({ ...r, reached: 0 }));
  const timeout = rule.review?.timeoutSeconds ?? 0;
  const params =
    path === 'ALLOW'
      ? [...common, JSON.stringify(evaluation), [rule.id], rule.reason, 900]
      : [...common, JSON.stringify(evaluation), [rule.id], JSON.stringify(requirements), rule.review!.groups, 1, timeout, timeout * 0.8];
  let request: WrittenRequest | undefined;
  await runTx(async (q) => {
    const { rows } = await q(path === 'ALLOW' ? INSERT_ALLOW : INSERT_ESCALATE, params);
    request = rows[0] as WrittenRequest;
    const requested = { agentId, action: input.action, resource: input.resource, params: input.params, context: {} };
    const decided =
      path === 'ALLOW'
        ? { agentId, status: 'APPROVED', decidedBy: 'POLICY', reason: rule.reason, policyVersion: 1, matchedRules: [rule.id], errors: [] }
        : {
            agentId,
            policyVersion: 1,
            matchedRules: [rule.id],
            errors: [],
            requiredGroups: rule.review!.groups,
            requiredApprovals: 1,
            requirements: evaluation.requirements.map(({ ruleId, groups, approvals }) => ({ ruleId, groups, approvals })),
            expiresAt: new Date(request!.expires_at!).toISOString(),
          };
    await q(INSERT_EVENTS, [
      agentId,
      request!.id,
      JSON.stringify({ ...requested, onBehalfOfId: null, idempotencyKey: key, reason: input.reason }),
      path === 'ALLOW' ? 'ACTION_APPROVED' : 'ACTION_ESCALATED',
      JSON.stringify(decided),
    ]);
  });
  return request!;
}

// --- the same transaction behind bare HTTP ------------------------------------------------------
/** The bearer token the HTTP floor expects (checked as a plain comparison: no lookup). */
export const FLOOR_TOKEN = 'bench-write-floor-token';

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Serves `requestAction` bodies on loopback: the rows written as above, the answer in GraphQL's shape. */
async function serveFloor(runTx: RunTx, agentId: string): Promise<number> {
  const answer = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
  };
  const server = createServer({ keepAlive: true }, (req, res) => {
    if (req.headers.authorization !== `Bearer ${FLOOR_TOKEN}`) return void answer(res, 401, { errors: [{ message: 'unauthorized' }] });
    readBody(req)
      .then(async (text) => {
        const { input } = (JSON.parse(text) as { variables: { input: Input & { idempotencyKey: string } } }).variables;
        const { idempotencyKey, ...fields } = input;
        const path: WorkloadPath = fields.action.startsWith('read.') ? 'ALLOW' : 'ESCALATE';
        const row = await writeRequest(runTx, agentId, path, idempotencyKey, fields);
        const expiresAt = row.expires_at === null ? null : new Date(row.expires_at).toISOString();
        const request = { id: row.id, status: row.status, decisionReason: row.decision_reason, expiresAt };
        answer(res, 200, { data: { requestAction: { request, errors: [] } } });
      })
      .catch((error: unknown) => answer(res, 500, { errors: [{ message: String(error) }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return (server.address() as AddressInfo).port;
}

// --- the child process ------------------------------------------------------------------------
async function open(target: BaselineTarget): Promise<{ runTx: RunTx; close: () => Promise<void> }> {
  if (target.kind === 'postgres') {
    const setup = createDatabase({ databaseUrl: target.url, dataDir: 'memory://' });
    await setup.migrate().finally(() => setup.close());
    const pool = new pg.Pool({ connectionString: target.url, max: target.poolSize });
    const runTx: RunTx = async (work) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await work((text, params) => client.query(text, params));
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    };
    return { runTx, close: () => pool.end() };
  }
  const db = new PGlite(target.dir);
  await migrate(drizzle(db), { migrationsFolder: MIGRATIONS });
  const runTx: RunTx = (work) => db.transaction((tx) => work((text, params) => tx.query(text, params))).then(() => undefined);
  return { runTx, close: () => db.close() };
}

function childMain(): void {
  let db: Awaited<ReturnType<typeof open>> | undefined;
  let agentId = '';
  let run: LoadRun | undefined;
  const handle = async (command: Command): Promise<Reply> => {
    switch (command.cmd) {
      case 'setup':
        db = await open(command.target);
        await db.runTx(async (q) => {
          const sql = `INSERT INTO principals (kind, name, roles) VALUES ('AGENT', 'bench-agent', '{AGENT}') RETURNING id`;
          agentId = ((await q(sql, [])).rows[0] as { id: string }).id;
        });
        return { ok: true };
      case 'start': {
        const prefix = randomBytes(6).toString('hex');
        const op: Op = (i) =>
          writeRequest(db!.runTx, agentId, command.path, `${prefix}-${i}`, inputForPath(command.path, i)).then(() => undefined);
        run = command.load.mode === 'closed' ? closedLoop(op, command.load.concurrency) : openLoop(op, command.load.rate);
        return { ok: true };
      }
      case 'measure':
        run!.measure();
        return { ok: true };
      case 'finish':
        return { ok: true, samples: await run!.finish() };
      case 'serve':
        return { ok: true, port: await serveFloor(db!.runTx, agentId) };
      case 'close':
        await run?.finish(); // a load still running (after a failure elsewhere) ends first
        await db?.close();
        return { ok: true };
    }
  };
  process.on('message', (command: Command) => {
    handle(command).then(
      (reply) => {
        process.send!(reply, () => command.cmd === 'close' && process.exit(0));
      },
      (error: unknown) => process.send!({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
  });
  process.on('SIGINT', () => undefined); // the parent stops this process after its own clean-up
  process.on('disconnect', () => process.exit(1)); // never outlive the parent
}

// --- the parent's handle ----------------------------------------------------------------------
export interface Baseline {
  pid: number;
  start(path: WorkloadPath, load: LoadSpec): Promise<void>;
  measure(): Promise<void>;
  finish(): Promise<Samples>;
  /** Starts serving the same transaction over bare HTTP on loopback; resolves with its port. */
  serve(): Promise<number>;
  close(): Promise<void>;
  /** Kills the process (clean-up after a failure). */
  kill(): void;
}

/** Forks the baseline process and sets it up (migrations, its agent) on `target`. */
export async function startBaseline(target: BaselineTarget): Promise<Baseline> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, BENCH_WRITE_ROLE: 'baseline' },
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  const call = (command: Command) =>
    new Promise<Reply>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`baseline process exited (${code}) during ${command.cmd}`));
      child.once('exit', onExit);
      child.once('message', (reply: Reply) => {
        child.off('exit', onExit);
        if (reply.ok) resolve(reply);
        else reject(new Error(`baseline ${command.cmd} failed: ${reply.error}`));
      });
      child.send(command);
    });
  const baseline: Baseline = {
    pid: child.pid!,
    start: (path, load) => call({ cmd: 'start', path, load }).then(() => undefined),
    measure: () => call({ cmd: 'measure' }).then(() => undefined),
    finish: () => call({ cmd: 'finish' }).then((reply) => (reply as { samples: Samples }).samples),
    serve: () => call({ cmd: 'serve' }).then((reply) => (reply as { port: number }).port),
    async close() {
      if (exited) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await call({ cmd: 'close' }).finally(() => clearTimeout(timer));
      await new Promise((resolve) => (exited ? resolve(undefined) : child.once('exit', resolve)));
    },
    kill: () => void (exited || child.kill('SIGKILL')),
  };
  try {
    await call({ cmd: 'setup', target });
  } catch (error) {
    baseline.kill();
    throw error;
  }
  return baseline;
}

if (process.env['BENCH_WRITE_ROLE'] === 'baseline' && process.send) childMain();
