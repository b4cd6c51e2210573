/**
 * The Greenlight side of `npm run bench:write` (bench/write.ts): the server as it is deployed, a
 * child process `node scripts/start.mjs` (what `npm start` runs: the compiled lib/main.js), set up
 * and driven over real HTTP; and its cold start.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { REQUESTS_IN_FLIGHT_PER_PRINCIPAL } from '../src/quotas/quotas.js';
import { freePort } from '../test/support/private-cluster.js';
import { MUTATION, inputForPath, policyWithRules, WORKLOAD, type WorkloadPath } from './request-workload.js';
import type { Op } from './write-load.js';
import { sleep } from './write-load.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const ADMIN_TOKEN = 'bench-write-admin-token-0123456789';
/** The server's pool (`DATABASE_POOL_SIZE`, set here to its default); the baseline's pool is the same size. */
export const SERVER_POOL_SIZE = 10;
export const POLICY_RULES = 1_000;
/** The most requests in flight the benchmark sends (BENCH_CONCURRENCY's default top). */
const MAX_IN_FLIGHT = 64;
/**
 * The agents the load is spread over, in turn. Greenlight runs at most
 * REQUESTS_IN_FLIGHT_PER_PRINCIPAL `requestAction` calls of one agent at once, a fairness quota
 * like the per-minute rate limit (which the benchmark turns off): with one agent, 32 in flight
 * would measure that quota, not the write path. These agents together admit MAX_IN_FLIGHT.
 */
export const AGENTS = MAX_IN_FLIGHT / REQUESTS_IN_FLIGHT_PER_PRINCIPAL;

// --- the server process -------------------------------------------------------------------------
/** Builds lib/ when src/ is newer (as scripts/start.mjs would, but before any timing starts). */
export async function ensureBuilt(): Promise<void> {
  const newest = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir).map((name) =>
        statSync(join(dir, name)).isDirectory() ? newest(join(dir, name)) : statSync(join(dir, name)).mtimeMs,
      ),
    );
  const stamp = join(ROOT, 'lib', '.built');
  if (existsSync(stamp) && newest(join(ROOT, 'src')) <= statSync(stamp).mtimeMs) return;
  await promisify(execFile)(process.execPath, [join(ROOT, 'scripts', 'build-server.mjs')], { cwd: ROOT });
}

export interface ServerEnv {
  databaseUrl?: string;
  dataDir: string;
  port: number;
  logLevel: string;
}

export interface ServerProcess {
  pid: number;
  /** Resolves with the time (performance.now()) of the first stdout line matching `pattern`. */
  lineMatching(pattern: RegExp, timeoutMs: number): Promise<{ line: string; at: number }>;
  /** Lines it wrote at level warn or above, and whatever reached standard error. */
  problems: string[];
  /** SIGTERM, then waits for it to exit (SIGKILL after 20 s). */
  stop(): Promise<void>;
}

/** Spawns `node scripts/start.mjs` with the settings given (and no per-agent rate limit). */
export function spawnServer(settings: ServerEnv): ServerProcess {
  const { DATABASE_URL: _url, DATA_DIR: _dir, ...inherited } = process.env;
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    ...(settings.databaseUrl ? { DATABASE_URL: settings.databaseUrl } : {}),
    DATA_DIR: settings.dataDir,
    PORT: String(settings.port),
    HOST: '127.0.0.1',
    ADMIN_TOKEN,
    RATE_LIMIT_PER_MINUTE: '0',
    DATABASE_POOL_SIZE: String(SERVER_POOL_SIZE),
    LOG_LEVEL: settings.logLevel,
    LOG_FORMAT: 'json',
    NODE_ENV: 'production',
  };
  const child: ChildProcess = spawn(process.execPath, ['scripts/start.mjs'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const problems: string[] = [];
  const waiters: { pattern: RegExp; resolve: (hit: { line: string; at: number }) => void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const at = performance.now();
    for (const waiter of [...waiters])
      if (waiter.pattern.test(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve({ line, at });
      }
    const level = /"level":(\d+)/.exec(line)?.[1];
    if (level && Number(level) >= 40 && problems.length < 1_000) problems.push(line);
  });
  createInterface({ input: child.stderr! }).on('line', (line) => problems.length < 1_000 && problems.push(`stderr: ${line}`));
  return {
    pid: child.pid!,
    problems,
    lineMatching: (pattern, timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms: ${problems.join('\n')}`)),
          timeoutMs,
        );
        void exited.then(() => reject(new Error(`server exited before ${pattern}: ${problems.join('\n')}`)));
        waiters.push({ pattern, resolve: (hit) => (clearTimeout(timer), resolve(hit)) });
      }),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Spawn → the "ready at" line on standard output, in ms; the server is stopped afterwards. */
export async function coldStartMs(settings: Omit<ServerEnv, 'port' | 'logLevel'>): Promise<number> {
  const t0 = performance.now();
  const server = spawnServer({ ...settings, port: 0, logLevel: 'info' });
  try {
    const { at } = await server.lineMatching(/ready at http/, 120_000);
    return at - t0;
  } finally {
    await server.stop();
  }
}

async function graphql(url: string, token: string, query: string, variables: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const result = (await response.json()) as { data?: Record<string, { errors?: unknown[] } & Record<string, unknown>>; errors?: unknown };
  const payload = result.data && Object.values(result.data)[0];
  if (!payload || result.errors || (payload.errors?.length ?? 0) > 0) throw new Error(`set-up failed: ${JSON.stringify(result)}`);
  return payload;
}

/** A Greenlight server under load: an agent and the 1,000-rule policy, requests over keep-alive HTTP. */
export interface LoadServer extends ServerProcess {
  /** A request of `path` with a unique idempotency key, sent on `agent`; checks the status. */
  op(path: WorkloadPath, agent: Agent): Op;
}

/** Starts a server (a free port chosen beforehand: at LOG_LEVEL=warn there is no ready line) and sets it up. */
export async function startLoadServer(settings: Omit<ServerEnv, 'port'>): Promise<LoadServer> {
  const port = await freePort();
  const server = spawnServer({ ...settings, port });
  try {
    const base = `http://127.0.0.1:${port}`;
    for (
      let waited = 0;
      !(await fetch(`${base}/health/ready`).then(
        (r) => r.ok,
        () => false,
      ));
      waited += 100
    ) {
      if (waited > 120_000) throw new Error(`server not ready after 120 s: ${server.problems.join('\n')}`);
      await sleep(100);
    }
    const url = `${base}/graphql`;
    const create = 'mutation($input: CreatePrincipalInput!) { createPrincipal(input: $input) { token errors { __typename message } } }';
    const tokens: string[] = [];
    for (let a = 0; a < AGENTS; a++) {
      const input = { kind: 'AGENT', name: `bench-agent-${a}`, roles: ['AGENT'] };
      tokens.push((await graphql(url, ADMIN_TOKEN, create, { input })).token as string);
    }
    const publish =
      'mutation($input: PublishPolicyInput!) { publishPolicy(input: $input) { policy { version } errors { __typename message } } }';
    await graphql(url, ADMIN_TOKEN, publish, { input: policyWithRules(POLICY_RULES) });
    return { ...server, op: requestOps(port, tokens) };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/**
 * `requestAction` over HTTP to the server on `port`, the i-th request with `tokens[i % n]`: for each
 * path, requests with unique idempotency keys, each answer's status checked. Also drives the
 * baseline's HTTP floor.
 */
export function requestOps(port: number, tokens: string[]): (path: WorkloadPath, agent: Agent) => Op {
  const headers = tokens.map((token) => ({ 'content-type': 'application/json', authorization: `Bearer ${token}` }));
  let runs = 0;
  return (path, agent) => {
    const prefix = `${process.pid}-${port}-${runs++}-${path}`;
    const expected = `"status":"${WORKLOAD[path].status}"`;
    return async (i) => {
      const input = { ...inputForPath(path, i), idempotencyKey: `${prefix}-${i}` };
      const body = JSON.stringify({ query: MUTATION, variables: { input } });
      const { status, text } = await post(agent, port, headers[i % headers.length]!, body);
      if (status !== 200 || !text.includes(expected)) throw new Error(`unexpected response ${status}: ${text.slice(0, 500)}`);
    };
  };
}

function post(agent: Agent, port: number, headers: Record<string, string>, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/graphql',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
