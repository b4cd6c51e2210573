/**
 * Greenlight live fan-out benchmark: `npm run bench:fanout`
 * (env: DATABASE_URL (required unless only the baseline runs), BENCH_SOCKETS=1000, BENCH_RATE=20, BENCH_SECONDS=30, BENCH_RUNS=2;
 * for diagnosis BENCH_SCENARIOS=baseline,one,two (any of them), BENCH_PROFILE=<folder>: heap and CPU profiles
 * of the server process, see `startProfiler`, and BENCH_DEBUG=1: the 12 slowest escalations of
 * each run with when they were sent and their commit, hub and first-socket times).
 *
 * Three scenarios, each run BENCH_RUNS times, interleaved (baseline, one, two, baseline, ...) so
 * that noise from the shared machine hits all alike; every run starts from nothing:
 *   baseline  the same clients and load against a bare broadcaster (bench/fanout-baseline.ts:
 *          no database, no GraphQL, no eligibility; the payload is encoded once and each socket
 *          gets one frame, written as Greenlight writes its own, in one loop). Its latency is what
 *          this machine and these clients cost (system calls, loopback TCP, the clients' parsing)
 *          before a server does any work of its own. The summary divides each Greenlight run's
 *          p50 and p99 by those of the baseline run of the same round and gives the median.
 *          Its "commit" is stamped when its event loop gets to the request, i.e. after a
 *          broadcast in progress, so waiting behind the previous escalation is not in its
 *          commit -> last socket figure; "send -> last socket" counts that wait for both;
 *   one       BENCH_SOCKETS reviewer sockets on ONE instance;
 *   two       the same sockets split evenly over TWO instances (socket i on instance i % 2).
 * Instances are `buildApp(...)` apps on a fresh PostgreSQL database `bench_fanout_<random>` created
 * on the DATABASE_URL server (dropped at the end of the run, even after a failure or Ctrl-C), each
 * `start()`ed on port 0 on 127.0.0.1, sharing the audit signing key. Every run happens in a FRESH
 * server process (this file forks itself, role "server"; the parent only creates and drops the
 * databases and prints the summary), so RSS readings do not inherit an earlier run's heap. Both
 * instances of "two" share that one process and event loop (as in test/e2e/multi-instance.test.ts);
 * they still talk to each other only through PostgreSQL (LISTEN/NOTIFY, each its own pool and
 * listener connection).
 *
 * Set-up per run: a policy with one rule, ESCALATE deploy.* on prod/** to group "sre"; one AGENT;
 * BENCH_SOCKETS distinct HUMAN principals with role REVIEWER in group "sre" (service
 * `createPrincipal`). The client side runs in a CHILD PROCESS (bench/fanout-clients.ts): every
 * reviewer takes `pendingApprovals { streamCursor }` over HTTP, then opens its own graphql-ws
 * client (`graphql-ws` + `ws`, one socket each) and subscribes to `pendingApprovals(after:)` from
 * that cursor. The agent, in the same child, calls `requestAction` over HTTP (fetch, keep-alive)
 * open-loop at BENCH_RATE per second for BENCH_SECONDS (in "two" alternately on each instance),
 * after 5 warm-up escalations that must reach every socket before measuring starts. Keeping the
 * clients out of the server process means the server figures below are the servers' alone;
 * keeping the agent and the sockets in one process means every latency is on one clock. (The
 * client process has work too, ~20,000 messages/s to parse at the default load: its own
 * event-loop lag is printed, since receipts are stamped when its loop gets to them.)
 *
 * What is measured:
 * - latency (commit-to-receipt, the issue's figure), per escalation: from the moment the
 *   instance that served the mutation has its transaction committed (the server process stamps
 *   each escalation when the service hands its events to the hub, right after COMMIT returned;
 *   converted to the client's clock as below) to the moment the LAST of the BENCH_SOCKETS
 *   sockets hands the event's ADDED message to its subscription sink (graphql-ws client `next`,
 *   in the client process). p50/p99/max over the measured escalations. Client-side queueing is
 *   included; the client process's own event-loop lag is printed so its share can be judged.
 *   Also shown, and stricter: from `performance.now()` just BEFORE the agent's fetch() of the
 *   mutation to the last socket, which adds the mutation itself (HTTP, auth, policy, the
 *   transaction): "send -> last socket".
 * - breakdown (diagnosis): the server process registers its own listener on each instance's event
 *   hub and stamps when the hub hands each ACTION_ESCALATED event to its listeners (the hub's
 *   read of the log done, before any subscriber runs). Converted to the client's clock (offset
 *   from IPC ping-pongs, the one with the smallest round trip; error ≤ half of it, printed), it
 *   splits the latency into commit -> hub delivery (NOTIFY, the hub's read) and hub
 *   delivery -> last socket of that instance (fan-out: per-subscriber streams, GraphQL
 *   execution, serialisation, socket writes, client parsing).
 * - missed / duplicates: each socket must receive exactly one ADDED per escalation, warm-up
 *   included. "late" = (socket, escalation) pairs not received 15 s after the last response;
 *   the benchmark then keeps waiting while messages still arrive (until none came for 10 s, at
 *   most 180 s): "missed" = pairs never received, duplicates = extra deliveries. Also counted as
 *   problems: sockets closed by the server (e.g. 4413 slow consumer: the clients here do not
 *   reconnect), subscription errors or completions, ADDED for requests the agent never sent,
 *   failed requestAction calls. Missed, duplicates or problems make the exit code 1.
 * - RSS per idle socket: RSS of the server process with every socket open, subscribed and idle
 *   for 6 s, minus its RSS before the first socket connected, divided by BENCH_SOCKETS (both
 *   readings after a forced GC). Also shown "marginal": the same from after the first 10 sockets
 *   (warm caches, compiled code) to all of them, per additional socket, and the V8 heap share.
 * - event-loop lag of the server process during the measured load (from the first measured send
 *   until everything arrived or the waiting stopped): monitorEventLoopDelay (10 ms sampling),
 *   delay beyond the sampling interval, p50/p99/max. Also the CPU of the server process and of
 *   the client process (cores), and of the whole machine (from /proc/stat), to show how much the
 *   machine was shared; and the server's CPU per ADDED delivered (all its CPU in that window
 *   divided by the deliveries), which stays comparable when the machine is busy.
 *
 * Targets (from the issue): commit-to-receipt p99 ≤ 50 ms on one instance, ≤ 100 ms across two;
 * ≤ 40 KB RSS per idle socket; 0 missed. The summary table gives the median over runs.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pg from 'pg';
import { buildApp, type App } from '../src/app.js';
import { generateSigningKeyPem } from '../src/audit/keys.js';
import { createPrincipal } from '../src/auth/principals.js';
import { defaultAuditConfig, defaultReceiptConfig, defaultSecurityConfig } from '../src/config.js';
import type { AuditEventRow } from '../src/db/schema.js';
import { publishPolicy } from '../src/policies/publish.js';
import type { PolicyDocument } from '../src/policy/index.js';
import type { EventRecord, FromClients, Instance, LoadResult, ToClients } from './fanout-clients.js';
import { startBaselineServer } from './fanout-baseline.js';

const num = (name: string, fallback: number) => {
  const value = Number(process.env[name] || fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};
const SOCKETS = Math.floor(num('BENCH_SOCKETS', 1_000));
const RATE = num('BENCH_RATE', 20);
const SECONDS = num('BENCH_SECONDS', 30);
const RUNS = Math.floor(num('BENCH_RUNS', 2));
/** Which scenarios to run (default all three), comma-separated: "baseline", "one", "two". */
const SCENARIOS = (process.env['BENCH_SCENARIOS'] || 'baseline,one,two').split(',').map((s) => s.trim()) as Scenario[];
if (SCENARIOS.some((s) => s !== 'baseline' && s !== 'one' && s !== 'two'))
  throw new Error('BENCH_SCENARIOS must name scenarios out of "baseline", "one" and "two", e.g. "baseline,one"');
/** For diagnosis: a folder where each run writes a heap profile (idle sockets) and a CPU profile (load) of the server process. */
const PROFILE_DIR = process.env['BENCH_PROFILE'] || undefined;
const SERVER_URL = process.env['DATABASE_URL'];
const WARMUP_EVENTS = 5;
const WARM_SOCKETS = Math.min(10, Math.floor(SOCKETS / 10));
const CONNECT_CONCURRENCY = 50;
const IDLE_SETTLE_MS = 6_000; // > undici's 4 s keep-alive: the snapshot queries' HTTP connections are gone
const DRAIN_MS = 15_000;
const STALL_MS = 10_000;
const MAX_DRAIN_MS = 180_000;
const LAG_RESOLUTION_MS = 10;

const TARGET_P99_ONE_MS = 50;
const TARGET_P99_TWO_MS = 100;
const TARGET_KB_PER_SOCKET = 40;

const SIGNING_KEY = generateSigningKeyPem();
const ADMIN_TOKEN = 'bench-admin-token-0123456789';
const POLICY: PolicyDocument = {
  defaultEffect: 'BLOCK',
  rules: [
    {
      id: 'escalate-deploys',
      effect: 'ESCALATE',
      actions: ['deploy.*'],
      resources: ['prod/**'],
      review: { groups: ['sre'], approvals: 1, timeoutSeconds: 3_600 },
    },
  ],
};

// A forced GC before each RSS reading, without asking for node flags on the command line.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

// Every database created is registered here and dropped after its run and in the final cleanup,
// even after a failure (also on Ctrl-C, see the end of the file).
const drops: (() => Promise<void>)[] = [];
let interrupted = false;

async function onServer<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: SERVER_URL });
  await client.connect();
  return run(client).finally(() => client.end());
}

/** A new empty database on the server; returns its URL and its drop (at most once, also registered). */
async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  if (interrupted) throw new Error('interrupted');
  const name = `bench_fanout_${randomBytes(6).toString('hex')}`;
  await onServer((c) => c.query(`CREATE DATABASE ${name}`));
  let dropped: Promise<void> | undefined;
  const drop = () => (dropped ??= onServer((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined));
  drops.push(drop);
  const url = new URL(SERVER_URL!);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop };
}

const build = (databaseUrl: string) =>
  buildApp(
    {
      port: 0,
      host: '127.0.0.1',
      databaseUrl,
      dataDir: 'memory://',
      adminToken: ADMIN_TOKEN,
      sweepIntervalMs: 1_000,
      audit: defaultAuditConfig({ signingKey: SIGNING_KEY }),
      receipts: defaultReceiptConfig(),
      // One reviewer principal holds all 1,000 sockets; the agent sends as fast as the load asks.
      security: defaultSecurityConfig({ socketsPerPrincipal: 100_000, requestsPerMinute: 0 }),
      databaseWaitMs: 0,
    },
    { logging: 'error' },
  );

// --- statistics and printing ------------------------------------------------------------------
const sortNum = (xs: number[]) => xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
const quantile = (sorted: number[], q: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
/** Of an even count, the mean of the two middle values (two runs: their mean). */
const median = (xs: number[]) => {
  const sorted = sortNum(xs);
  const mid = sorted.length / 2;
  return sorted.length % 2 === 1 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const fmt = (x: number, digits = 1) =>
  Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-';
const row = (widths: number[], cells: string[]) =>
  console.log(`  ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[0]!) : cell.padStart(widths[i]!))).join('')}`);
interface Dist {
  p50: number;
  p99: number;
  max: number;
}
const dist = (xs: number[]): Dist => {
  const sorted = sortNum(xs);
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.at(-1) ?? NaN };
};
const distText = (d: Dist) => `${fmt(d.p50)} / ${fmt(d.p99)} / ${fmt(d.max)}`;

/** Busy and total jiffies of the whole machine (Linux), to show how much else was running. */
function machineCpu(): { busy: number; total: number } | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = fields[3]! + fields[4]!;
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

function openFilesLimit(): string {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const [soft, hard] = line!.replace('Max open files', '').trim().split(/\s+/);
    return `${soft} soft / ${hard} hard`;
  } catch {
    return 'unknown';
  }
}

// --- the client process ---------------------------------------------------------------------
interface ClientProcess {
  send(message: ToClients): void;
  next<T extends FromClients['type']>(type: T, timeoutMs: number): Promise<Extract<FromClients, { type: T }>>;
  on(type: 'measure-start' | 'measure-end', handler: () => void): void;
  kill(): void;
}

function startClients(): ClientProcess {
  // 'advanced' serialisation keeps NaN (no receipt) as NaN; JSON would turn it into null, i.e. 0.
  const child: ChildProcess = fork(new URL('./fanout-clients.ts', import.meta.url), [], {
    // With BENCH_PROFILE, the client process writes its own CPU profile (its whole life) on exit.
    execArgv: ['--import', 'tsx', ...(PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, '--cpu-prof-interval=500'] : [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  const inbox: FromClients[] = [];
  const handlers: Partial<Record<string, () => void>> = {};
  let wake: (() => void) | null = null;
  let failure: Error | null = null;
  child.on('message', (message: FromClients) => {
    if (message.type === 'measure-start' || message.type === 'measure-end') return handlers[message.type]?.();
    if (message.type === 'error') failure = new Error(`client process: ${message.message}`);
    else inbox.push(message);
    wake?.();
  });
  child.on('exit', (code, signal) => {
    failure ??= new Error(`client process exited (code ${code}, signal ${signal})`);
    wake?.();
  });
  return {
    send: (message) => void child.send(message),
    async next(type, timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const index = inbox.findIndex((m) => m.type === type);
        if (index !== -1) return inbox.splice(index, 1)[0] as never;
        if (failure) throw failure;
        const left = deadline - performance.now();
        if (left <= 0) throw new Error(`client process: no '${type}' within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            wake = null;
            resolve();
          };
        });
      }
    },
    on(type, handler) {
      handlers[type] = handler;
    },
    kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // Disconnecting lets it exit by itself (process.exit), which writes its CPU profile.
      if (PROFILE_DIR && child.connected) child.disconnect();
      else child.kill();
    },
  };
}

/** Offset to add to a time of this process to get the client's clock; `error` is half the best round trip. */
async function clockOffset(clients: ClientProcess): Promise<{ offset: number; error: number }> {
  let best = { offset: 0, error: Infinity };
  for (let i = 0; i < 30; i++) {
    clients.send({ type: 'ping', t: performance.now() });
    const pong = await clients.next('pong', 5_000);
    const now = performance.now();
    const rtt = now - pong.t;
    if (rtt / 2 < best.error) best = { offset: pong.child - (pong.t + rtt / 2), error: rtt / 2 };
  }
  return best;
}

/**
 * For diagnosis (BENCH_PROFILE): a sampling heap profile of what the sockets keep alive (started
 * before the first socket, taken once all are idle: only live allocations remain in it) and a
 * CPU profile over the measured load. node:inspector, no command-line flags needed.
 */
async function startProfiler() {
  const { Session } = await import('node:inspector');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<any>((resolve, reject) => session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result))));
  const write = (file: string, what: string, data: unknown) => {
    mkdirSync(PROFILE_DIR!, { recursive: true });
    writeFileSync(file, JSON.stringify(data));
    console.log(`  ${what}: ${file}`);
  };
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 500 });
  await post('HeapProfiler.enable');
  return {
    heapStart: () => post('HeapProfiler.startSampling', { samplingInterval: 4_096 }),
    heapStop: async (file: string) =>
      write(file, 'heap profile of the server process, idle sockets', (await post('HeapProfiler.stopSampling')).profile),
    start: () => void post('Profiler.start'),
    stop: (file: string) =>
      void post('Profiler.stop').then(({ profile }) => {
        write(file, 'CPU profile of the server process over the load', profile);
        session.disconnect();
      }),
  };
}

// --- one run of one scenario ----------------------------------------------------------------
type Scenario = 'baseline' | 'one' | 'two';
interface RunFigures {
  scenario: Scenario;
  run: number;
  events: number;
  /** Commit -> last socket (the issue's figure). */
  latency: Dist;
  /** The agent's send -> last socket (the mutation included). */
  fromSend: Dist;
  first: Dist;
  commit: Dist;
  response: Dist;
  hubLocal: Dist;
  hubRemote: Dist | null;
  fanout: Dist;
  /** Hub delivery -> the hub has called every subscriber's listener (the server's share of the fan-out). */
  handed: Dist;
  missed: number;
  duplicates: number;
  /** (socket, escalation) pairs not delivered DRAIN_MS after the last response, over how many escalations. */
  late: number;
  lateEvents: number;
  /** Measured escalations some socket never got: their latency is a lower bound. */
  incomplete: number;
  /** How long the late ones were waited for beyond DRAIN_MS. */
  extraDrainSeconds: number;
  problems: string[];
  kbPerSocket: number;
  kbMarginal: number;
  heapKbPerSocket: number;
  serverLag: Dist;
  clientLag: Dist;
  serverCpu: number;
  clientCpu: number;
  machineBusy: number | null;
  executionsPerEvent: number | null;
  /** ADDED messages received for the measured escalations, and server CPU per one of them. */
  deliveries: number;
  cpuUsPerDelivery: number;
  drained: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const memory = async () => {
  gc();
  await sleep(200);
  gc();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
};
const fanoutExecutions = (apps: App[]): number | null => {
  const stats = apps.map((app) => (app as { fanout?: { executions: number } }).fanout);
  return stats.every((s) => s && typeof s.executions === 'number') ? stats.reduce((sum, s) => sum + s!.executions, 0) : null;
};

/**
 * What a run's clients talk to: the Greenlight instances, or the baseline's bare broadcaster. Each
 * stamps, in this process, when a request "committed", when it reached the fan-out (`hubAt`, per
 * instance) and when every local subscriber had been handed it (`handedAt`, per instance).
 */
interface Target {
  instances: Instance[];
  reviewerTokens: string[];
  agentToken: string;
  committedAt: Map<string, number>;
  hubAt: Map<string, number>[];
  handedAt: Map<string, number>[];
  /** Resolves once the first `count` sockets' subscriptions are live. */
  waitSubscribed(count: number): Promise<void>;
  /** Called once every socket is subscribed and before the load. */
  allSubscribed(): void;
  /** Subscription payload executions so far (null: not counted). */
  executions(): number | null;
  stop(): Promise<void>;
}

/** The GraphQL endpoints of a server started at `url` (e.g. http://127.0.0.1:41234). */
const instanceAt = (url: string): Instance => ({ http: `${url}/graphql`, ws: `${url.replace(/^http/, 'ws')}/graphql` });

async function waitFor(live: () => boolean, describe: () => string): Promise<void> {
  const deadline = performance.now() + 60_000;
  while (!live()) {
    if (performance.now() > deadline) throw new Error(`subscriptions not live after 60 s: ${describe()}`);
    await sleep(50);
  }
}

/** `instanceCount` Greenlight instances on the database, with the policy, the agent and one reviewer per socket. */
async function startGreenlight(instanceCount: number, databaseUrl: string): Promise<Target> {
  const apps: App[] = [];
  const stop = async () => {
    for (const app of apps.reverse()) await app.stop().catch((error) => console.error('stopping an instance failed:', error));
  };
  try {
    const first = await build(databaseUrl);
    apps.push(first);
    const admin = (await first.deps.auth.authenticate(ADMIN_TOKEN, undefined)).principal;
    await publishPolicy(first.deps, admin, POLICY);
    const agent = await createPrincipal(first.deps, admin, { kind: 'AGENT', name: 'bench-agent', roles: ['AGENT'] });
    const reviewerTokens: string[] = new Array(SOCKETS);
    let nextReviewer = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (nextReviewer < SOCKETS) {
          const i = nextReviewer++;
          const created = await createPrincipal(first.deps, admin, {
            kind: 'HUMAN',
            name: `reviewer-${i}`,
            roles: ['REVIEWER'],
            groups: ['sre'],
          });
          reviewerTokens[i] = created.token;
        }
      }),
    );
    // The second instance starts after the policy is published, so it loads it at start.
    if (instanceCount === 2) apps.push(await build(databaseUrl));
    const urls = await Promise.all(apps.map((app) => app.start()));
    const instances = urls.map(instanceAt);

    // When each instance's hub hands each escalation to its listeners (this one is registered first).
    const hubAt = apps.map(() => new Map<string, number>());
    const handedAt = apps.map(() => new Map<string, number>());
    apps.forEach((app, i) =>
      app.deps.hub.listen((event: AuditEventRow) => {
        if (event.type === 'ACTION_ESCALATED' && event.requestId && !hubAt[i]!.has(event.requestId))
          hubAt[i]!.set(event.requestId, performance.now());
      }),
    );
    // When each escalation's transaction committed: services publish to the hub right after COMMIT.
    const committedAt = new Map<string, number>();
    for (const app of apps) {
      const hub = app.deps.hub;
      const publish = hub.publish.bind(hub);
      hub.publish = (events) => {
        const now = performance.now();
        for (const event of events) if (event.type === 'ACTION_ESCALATED' && event.requestId) committedAt.set(event.requestId, now);
        publish(events);
      };
    }
    const listenersBefore = apps.map((app) => app.deps.hub.listenerCount());
    return {
      instances,
      reviewerTokens,
      agentToken: agent.token,
      committedAt,
      hubAt,
      handedAt,
      waitSubscribed(count) {
        const expected = apps.map((_, i) => listenersBefore[i]! + Math.ceil((count - i) / instanceCount));
        return waitFor(
          () => apps.every((app, i) => app.deps.hub.listenerCount() >= expected[i]!),
          () => `${apps.map((a) => a.deps.hub.listenerCount()).join(', ')} listeners, expected ${expected.join(', ')}`,
        );
      },
      allSubscribed() {
        // Registered after every subscriber, for the type they listen to (the hub calls listeners of
        // every type first, then those of the event's type, each in the order they came), so it is
        // called when the hub has handed an escalation to all of them (their writes are then at
        // most one turn of the event loop away).
        apps.forEach((app, i) =>
          app.deps.hub.listen(
            (event: AuditEventRow) => {
              if (event.requestId && !handedAt[i]!.has(event.requestId)) handedAt[i]!.set(event.requestId, performance.now());
            },
            { types: ['ACTION_ESCALATED'] },
          ),
        );
      },
      executions: () => fanoutExecutions(apps),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The baseline's broadcaster (bench/fanout-baseline.ts). It has no hub: its fan-out starts at its "commit". */
async function startBaseline(): Promise<Target> {
  const baseline = await startBaselineServer();
  return {
    instances: [instanceAt(baseline.url)],
    reviewerTokens: Array.from({ length: SOCKETS }, (_, i) => `baseline-reviewer-${i}`),
    agentToken: 'baseline-agent',
    committedAt: baseline.committedAt,
    hubAt: [baseline.committedAt],
    handedAt: [baseline.handedAt],
    waitSubscribed: (count) =>
      waitFor(
        () => baseline.subscriptions() >= count,
        () => `${baseline.subscriptions()} subscriptions, expected ${count}`,
      ),
    allSubscribed: () => undefined,
    executions: () => null,
    stop: () => baseline.stop(),
  };
}

async function runScenario(scenario: Scenario, run: number, databaseUrl: string | null): Promise<RunFigures> {
  const instanceCount = scenario === 'two' ? 2 : 1;
  const what =
    scenario === 'baseline' ? 'the bare broadcaster (no database, no GraphQL)' : `${instanceCount} instance${instanceCount > 1 ? 's' : ''}`;
  console.log(
    `\n[${scenario} #${run}] ${SOCKETS} sockets on ${what}, ${RATE}/s for ${SECONDS} s (load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')})`,
  );
  let target: Target | undefined;
  let clients: ClientProcess | undefined;
  try {
    const setupStart = performance.now();
    const current = (target = scenario === 'baseline' ? await startBaseline() : await startGreenlight(instanceCount, databaseUrl!));
    const { committedAt, hubAt, handedAt } = current;

    clients = startClients();
    const client = clients;
    await client.next('ready', 30_000);
    client.send({ type: 'setup', instances: current.instances, reviewerTokens: current.reviewerTokens, agentToken: current.agentToken });
    const clock = await clockOffset(client);
    const setupWhat = scenario === 'baseline' ? 'broadcaster' : `database, ${SOCKETS + 1} principals, ${instanceCount} instance(s)`;
    console.log(
      `  set-up ${fmt((performance.now() - setupStart) / 1_000)} s (${setupWhat}); clock offset error ≤ ${fmt(clock.error, 2)} ms`,
    );
    // RSS: before any socket, after the first few, after all of them (idle).
    const profiler = PROFILE_DIR ? await startProfiler() : undefined;
    await profiler?.heapStart();
    const before = await memory();
    const connectStart = performance.now();
    client.send({ type: 'connect', from: 0, to: WARM_SOCKETS, concurrency: CONNECT_CONCURRENCY });
    const warm = await client.next('connected', 120_000);
    if (warm.failures.length > 0) throw new Error(`sockets failed to connect: ${warm.failures.join('; ')}`);
    await current.waitSubscribed(WARM_SOCKETS);
    await sleep(IDLE_SETTLE_MS);
    const afterWarm = await memory();
    client.send({ type: 'connect', from: WARM_SOCKETS, to: SOCKETS, concurrency: CONNECT_CONCURRENCY });
    const all = await client.next('connected', 300_000);
    if (all.failures.length > 0) throw new Error(`${SOCKETS - all.open} sockets failed to connect, e.g.: ${all.failures.join('; ')}`);
    await current.waitSubscribed(SOCKETS);
    current.allSubscribed();
    const connectSeconds = (performance.now() - connectStart) / 1_000 - IDLE_SETTLE_MS / 1_000;
    await sleep(IDLE_SETTLE_MS);
    const idle = await memory();
    await profiler?.heapStop(`${PROFILE_DIR}/fanout-${scenario}-${run}-${process.pid}.heapprofile`);
    const kbPerSocket = (idle.rss - before.rss) / 1_024 / SOCKETS;
    const kbMarginal = (idle.rss - afterWarm.rss) / 1_024 / (SOCKETS - WARM_SOCKETS);
    const heapKbPerSocket = (idle.heapUsed - before.heapUsed) / 1_024 / SOCKETS;
    console.log(
      `  ${all.open} sockets subscribed in ${fmt(connectSeconds)} s; server RSS ${fmt(before.rss / 2 ** 20)} -> ${fmt(idle.rss / 2 ** 20)} MiB ` +
        `(${fmt(kbPerSocket)} KB/socket; marginal after ${WARM_SOCKETS}: ${fmt(kbMarginal)} KB; V8 heap ${fmt(heapKbPerSocket)} KB/socket)`,
    );

    // The load: server-side lag, CPU and executions over the client's measured window.
    const lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
    let cpu0 = process.cpuUsage();
    let machine0 = machineCpu();
    let executions0 = current.executions();
    let window0 = performance.now();
    let serverCpu = NaN;
    let machineBusy: number | null = null;
    let executions: number | null = null;
    let serverCpuSeconds = NaN;
    client.on('measure-start', () => {
      profiler?.start();
      window0 = performance.now();
      cpu0 = process.cpuUsage();
      machine0 = machineCpu();
      executions0 = current.executions();
      lag.enable();
    });
    client.on('measure-end', () => {
      lag.disable();
      const elapsed = performance.now() - window0;
      const cpu = process.cpuUsage(cpu0);
      serverCpuSeconds = (cpu.user + cpu.system) / 1e6;
      serverCpu = (serverCpuSeconds * 1_000) / elapsed;
      const machine1 = machineCpu();
      if (machine0 && machine1) machineBusy = ((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * cpus().length;
      const executions1 = current.executions();
      if (executions0 !== null && executions1 !== null) executions = executions1 - executions0;
      profiler?.stop(`${PROFILE_DIR}/fanout-${scenario}-${run}-${process.pid}.cpuprofile`);
    });
    client.send({
      type: 'load',
      rate: RATE,
      seconds: SECONDS,
      warmup: WARMUP_EVENTS,
      drainMs: DRAIN_MS,
      stallMs: STALL_MS,
      maxDrainMs: MAX_DRAIN_MS,
    });
    const { result } = await client.next('result', SECONDS * 1_000 + 3 * DRAIN_MS + MAX_DRAIN_MS + 60_000);
    const figures = analyse(scenario, run, result, committedAt, hubAt, handedAt, clock.offset, instanceCount);
    const ms = (ns: number) => Math.max(0, ns / 1e6 - LAG_RESOLUTION_MS);
    figures.kbPerSocket = kbPerSocket;
    figures.kbMarginal = kbMarginal;
    figures.heapKbPerSocket = heapKbPerSocket;
    figures.serverLag = { p50: ms(lag.percentile(50)), p99: ms(lag.percentile(99)), max: ms(lag.max) };
    figures.serverCpu = serverCpu;
    figures.machineBusy = machineBusy;
    figures.executionsPerEvent = executions === null ? null : executions / figures.events;
    figures.cpuUsPerDelivery = (serverCpuSeconds * 1e6) / figures.deliveries;
    printRun(figures);

    client.send({ type: 'close' });
    await client.next('closed', 30_000);
    return figures;
  } finally {
    clients?.kill();
    await target?.stop();
  }
}

function analyse(
  scenario: Scenario,
  run: number,
  result: LoadResult,
  committedAt: Map<string, number>,
  hubAt: Map<string, number>[],
  handedAt: Map<string, number>[],
  offset: number,
  instanceCount: number,
): RunFigures {
  const measured = result.events.filter((e) => !e.warmup);
  const problems: string[] = [];
  const failed = result.events.filter((e) => e.failure !== null);
  if (failed.length > 0) problems.push(`${failed.length} requestAction calls failed, e.g. ${failed[0]!.failure}`);
  if (result.unexpected > 0) problems.push(`${result.unexpected} ADDED for requests the agent never sent`);
  const closes = Object.entries(result.closes);
  if (closes.length > 0) problems.push(`sockets closed by the server: ${closes.map(([code, n]) => `${n} x ${code}`).join(', ')}`);
  if (result.errors.length > 0)
    problems.push(
      `subscription errors: ${result.errors.slice(0, 3).join(' | ')}${result.errors.length > 3 ? ` (${result.errors.length} lines)` : ''}`,
    );
  const missed = result.events.reduce((sum, e) => sum + (e.requestId ? e.missing : 0), 0);
  const late = result.events.reduce((sum, e) => sum + e.late, 0);
  const duplicates = result.events.reduce((sum, e) => sum + e.duplicates, 0);

  const stamp = (stamps: Map<string, number>[]) => (e: EventRecord, i: number) => {
    const at = e.requestId ? stamps[i]!.get(e.requestId) : undefined;
    return at === undefined ? NaN : at + offset;
  };
  const hub = stamp(hubAt);
  const handed = stamp(handedAt);
  const committed = (e: EventRecord) => {
    const at = e.requestId ? committedAt.get(e.requestId) : undefined;
    return at === undefined ? NaN : at + offset;
  };
  if (process.env['BENCH_DEBUG']) {
    const t0 = measured[0]!.sentAt;
    const worst = measured
      .map((e, i) => ({
        i,
        at: e.sentAt - t0,
        lat: e.lastAt - committed(e),
        commit: committed(e) - e.sentAt,
        response: e.respondedAt - e.sentAt,
        hub: hub(e, e.instance) - e.sentAt,
        first: e.firstAt - e.sentAt,
        handed: handed(e, e.instance) - e.sentAt,
        last: e.lastAt - e.sentAt,
      }))
      .sort((a, b) => b.lat - a.lat)
      .slice(0, 12);
    for (const w of worst)
      console.log(
        '  worst',
        JSON.stringify(w, (_, v) => (typeof v === 'number' ? Math.round(v) : v)),
      );
  }
  const local = (e: EventRecord) => e.instance;
  const remote = (e: EventRecord) => (e.instance + 1) % instanceCount;
  return {
    scenario,
    run,
    events: measured.length,
    latency: dist(measured.map((e) => e.lastAt - committed(e))),
    fromSend: dist(measured.map((e) => e.lastAt - e.sentAt)),
    first: dist(measured.map((e) => e.firstAt - committed(e))),
    commit: dist(measured.map((e) => committed(e) - e.sentAt)),
    response: dist(measured.map((e) => e.respondedAt - e.sentAt)),
    hubLocal: dist(measured.map((e) => hub(e, local(e)) - committed(e))),
    hubRemote: instanceCount > 1 ? dist(measured.map((e) => hub(e, remote(e)) - committed(e))) : null,
    fanout: dist(measured.flatMap((e) => e.lastByInstance.map((last, i) => last - hub(e, i)))),
    handed: dist(measured.flatMap((e) => e.lastByInstance.map((_, i) => handed(e, i) - hub(e, i)))),
    missed,
    duplicates,
    late,
    lateEvents: result.events.filter((e) => e.late > 0).length,
    incomplete: measured.filter((e) => e.requestId && e.missing > 0).length,
    extraDrainSeconds: result.extraDrainMs / 1_000,
    problems,
    kbPerSocket: NaN,
    kbMarginal: NaN,
    heapKbPerSocket: NaN,
    serverLag: { p50: NaN, p99: NaN, max: NaN },
    clientLag: result.clientLag,
    serverCpu: NaN,
    clientCpu: result.clientCpu,
    machineBusy: null,
    executionsPerEvent: null,
    deliveries: measured.reduce((sum, e) => sum + (e.requestId ? SOCKETS - e.missing : 0), 0),
    cpuUsPerDelivery: NaN,
    drained: result.drained,
  };
}

function printRun(f: RunFigures): void {
  const widths = [44, 26];
  console.log(`  ${f.events} measured escalations (+${WARMUP_EVENTS} warm-up); ms as p50 / p99 / max:`);
  row(widths, ['latency: commit -> last socket received', distText(f.latency)]);
  row(widths, ['  commit -> first socket received', distText(f.first)]);
  if (f.scenario === 'baseline') {
    // No hub: its broadcast starts at its "commit" (the latency above is commit -> last socket).
    row(widths, ['  of which: the broadcast loop (server)', distText(f.handed)]);
  } else {
    row(widths, [f.hubRemote ? '  commit -> hub delivery, same instance' : '  commit -> hub delivery', distText(f.hubLocal)]);
    if (f.hubRemote) row(widths, ['  commit -> hub delivery, other instance', distText(f.hubRemote)]);
    row(widths, ['  hub delivery -> last socket of instance', distText(f.fanout)]);
    row(widths, ['    of which: every listener called (server)', distText(f.handed)]);
  }
  row(widths, ['the agent: send -> commit', distText(f.commit)]);
  row(widths, ['  send -> HTTP response', distText(f.response)]);
  row(widths, ['  send -> last socket received', distText(f.fromSend)]);
  row(widths, ['server event-loop lag', distText(f.serverLag)]);
  row(widths, ['client event-loop lag', distText(f.clientLag)]);
  console.log(
    `  CPU (cores) server ${fmt(f.serverCpu, 2)}, clients ${fmt(f.clientCpu, 2)}, whole machine ${f.machineBusy === null ? '-' : fmt(f.machineBusy, 2)} of ${cpus().length}` +
      (f.executionsPerEvent === null ? '' : `; subscription payload executions per escalation: ${fmt(f.executionsPerEvent, 1)}`),
  );
  console.log(
    `  server CPU per ADDED delivered: ${fmt(f.cpuUsPerDelivery, 0)} µs (all of the server's work in the window / ${f.deliveries} deliveries; ` +
      `one core would then deliver at most ${fmt(1e6 / f.cpuUsPerDelivery / SOCKETS, 1)} escalations/s to ${SOCKETS} sockets)`,
  );
  if (f.late > 0) {
    console.log(
      `  LATE: ${f.late} deliveries (of ${f.lateEvents} escalations) had not arrived ${DRAIN_MS / 1_000} s after the last response; ` +
        `waited ${fmt(f.extraDrainSeconds)} s more (until all arrived, nothing arrived for ${STALL_MS / 1_000} s, or ${MAX_DRAIN_MS / 1_000} s)` +
        (f.incomplete > 0
          ? `; ${f.incomplete} measured escalations never reached every socket (their latency above is a lower bound)`
          : ''),
    );
  }
  console.log(`  missed ${f.missed}, duplicates ${f.duplicates}${f.problems.length > 0 ? `; PROBLEMS: ${f.problems.join('; ')}` : ''}`);
}

// --- main ---------------------------------------------------------------------------------------
const results: RunFigures[] = [];

function printSummary(): void {
  if (results.length === 0) return;
  console.log(
    `\nAll runs (latency and lag in ms as p50 / p99 / max; late = deliveries not there ${DRAIN_MS / 1_000} s after the load; CPU in cores)`,
  );
  const widths = [8, 28, 9, 10, 8, 11, 13, 24, 12, 13, 14];
  row(widths, [
    'run',
    'latency',
    'late',
    'missed',
    'dup',
    'KB/socket',
    'marginal KB',
    'server lag',
    'server CPU',
    'µs/delivery',
    'machine busy',
  ]);
  for (const f of results) {
    row(widths, [
      `${f.scenario} #${f.run}`,
      distText(f.latency),
      String(f.late),
      String(f.missed),
      String(f.duplicates),
      fmt(f.kbPerSocket),
      fmt(f.kbMarginal),
      distText(f.serverLag),
      fmt(f.serverCpu, 2),
      fmt(f.cpuUsPerDelivery, 0),
      f.machineBusy === null ? '-' : `${fmt(f.machineBusy, 2)} / ${cpus().length}`,
    ]);
  }
  console.log(`\nSummary (median over runs; missed, duplicates and problems are totals over all runs)`);
  const sw = [48, 34, 12, 9];
  row(sw, ['figure', 'value', 'target', 'met']);
  // Each run's ratio to the baseline run of the same round (run number), then their median.
  const baselineOf = (f: RunFigures) =>
    results.find((b) => b.scenario === 'baseline' && b.run === f.run && b.problems.length === 0 && b.missed === 0);
  const ratios = (runs: RunFigures[], pick: (f: RunFigures) => Dist) => {
    const pairs = runs.flatMap((f) => {
      const b = baselineOf(f);
      return b ? [{ p50: pick(f).p50 / pick(b).p50, p99: pick(f).p99 / pick(b).p99 }] : [];
    });
    return pairs.length === 0
      ? null
      : `${fmt(median(pairs.map((r) => r.p50)), 2)}× / ${fmt(median(pairs.map((r) => r.p99)), 2)}× (${pairs.length} pair${pairs.length > 1 ? 's' : ''})`;
  };
  for (const scenario of SCENARIOS) {
    const runs = results.filter((f) => f.scenario === scenario);
    if (runs.length === 0) continue;
    const label = { baseline: 'baseline', one: 'one instance', two: 'two instances' }[scenario];
    const p50 = median(runs.map((f) => f.latency.p50));
    const p99 = median(runs.map((f) => f.latency.p99));
    const target = { baseline: NaN, one: TARGET_P99_ONE_MS, two: TARGET_P99_TWO_MS }[scenario];
    const met = Number.isNaN(target) ? '' : p99 <= target ? 'met' : 'NOT MET';
    row(sw, [`${label}: commit -> last socket p50 ms`, fmt(p50), '', '']);
    row(sw, [
      `${label}: commit -> last socket p99 ms`,
      `${fmt(p99)} (runs: ${runs.map((f) => fmt(f.latency.p99)).join(', ')})`,
      Number.isNaN(target) ? '' : `≤ ${target}`,
      met,
    ]);
    const fromCommit = scenario === 'baseline' ? null : ratios(runs, (f) => f.latency);
    const fromSend = scenario === 'baseline' ? null : ratios(runs, (f) => f.fromSend);
    if (fromCommit) row(sw, [`${label}: p50/p99 ÷ baseline, commit->last`, fromCommit, '', '']);
    if (fromSend) row(sw, [`${label}: p50/p99 ÷ baseline, send->last`, fromSend, '', '']);
    row(sw, [`${label}: commit -> last socket max ms`, fmt(median(runs.map((f) => f.latency.max))), '', '']);
    row(sw, [
      `${label}: agent's send -> last socket p50/p99`,
      `${fmt(median(runs.map((f) => f.fromSend.p50)))} / ${fmt(median(runs.map((f) => f.fromSend.p99)))}`,
      '',
      '',
    ]);
    const missed = runs.reduce((sum, f) => sum + f.missed, 0);
    const duplicates = runs.reduce((sum, f) => sum + f.duplicates, 0);
    const problems = runs.reduce((sum, f) => sum + f.problems.length, 0);
    const late = runs.reduce((sum, f) => sum + f.late, 0);
    row(sw, [`${label}: deliveries late (> ${DRAIN_MS / 1_000} s after load)`, String(late), '', '']);
    row(sw, [
      `${label}: missed / duplicates / problems`,
      `${missed} / ${duplicates} / ${problems}`,
      '0 / 0 / 0',
      missed + duplicates + problems === 0 ? 'met' : 'NOT MET',
    ]);
    const kb = median(runs.map((f) => f.kbPerSocket));
    // The baseline keeps almost nothing per socket: no target, and its figure is mostly noise.
    row(sw, [
      `${label}: RSS per idle socket KB`,
      `${fmt(kb)} (runs: ${runs.map((f) => fmt(f.kbPerSocket)).join(', ')})`,
      ...(scenario === 'baseline'
        ? ['', '']
        : [`≤ ${TARGET_KB_PER_SOCKET}`, kb < 0 ? 'noise' : kb <= TARGET_KB_PER_SOCKET ? 'met' : 'NOT MET']),
    ]);
    row(sw, [
      `${label}: server event-loop lag p50/p99/max`,
      `${fmt(median(runs.map((f) => f.serverLag.p50)))} / ${fmt(median(runs.map((f) => f.serverLag.p99)))} / ${fmt(median(runs.map((f) => f.serverLag.max)))}`,
      '',
      '',
    ]);
  }
}

/** One run in a fresh process (this file, role "server"), so its RSS readings start clean. */
async function runInFreshProcess(scenario: Scenario, run: number): Promise<RunFigures> {
  const database = scenario === 'baseline' ? null : await freshDatabase();
  try {
    const child = fork(fileURLToPath(import.meta.url), [], {
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        BENCH_FANOUT_ROLE: 'server',
        BENCH_FANOUT_SCENARIO: scenario,
        BENCH_FANOUT_RUN: String(run),
        BENCH_FANOUT_DATABASE: database?.url ?? '',
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    return await new Promise<RunFigures>((resolve, reject) => {
      let figures: RunFigures | undefined;
      child.on('message', (message: { figures: RunFigures }) => (figures = message.figures));
      child.on('exit', (code, signal) =>
        figures && code === 0
          ? resolve(figures)
          : reject(new Error(`run ${scenario} #${run} failed (exit code ${code}, signal ${signal})`)),
      );
    });
  } finally {
    await database?.drop();
  }
}

async function main(): Promise<void> {
  let database = 'no database (baseline only)';
  if (SCENARIOS.some((scenario) => scenario !== 'baseline')) {
    if (!SERVER_URL) throw new Error('DATABASE_URL is required: a PostgreSQL server URL, e.g. postgres://postgres@127.0.0.1:5432/postgres');
    const version = await onServer((c) => c.query<{ server_version: string }>('SHOW server_version'));
    database = `PostgreSQL ${version.rows[0]!.server_version} at ${SERVER_URL.replace(/\/\/[^@/]*@/, '//')}`;
  }
  console.log(`Greenlight fan-out benchmark: node ${process.version}, ${cpus().length} CPUs, ${database}`);
  console.log(
    `BENCH_SOCKETS=${SOCKETS} BENCH_RATE=${RATE}/s BENCH_SECONDS=${SECONDS} BENCH_RUNS=${RUNS}; open files ${openFilesLimit()} ` +
      `(each process needs about ${SOCKETS + 100}: the server process one per socket, the client process one per socket)`,
  );
  console.log(
    'Each run: a fresh server process (the instances) and a client process (sockets + agent); see the header of bench/fanout.ts.',
  );
  for (let run = 1; run <= RUNS; run++) {
    for (const scenario of SCENARIOS) {
      try {
        results.push(await runInFreshProcess(scenario, run));
      } catch (error) {
        console.error(error instanceof Error ? error.message : error);
        failedRuns.push(`${scenario} #${run}`);
      }
    }
  }
}

const failedRuns: string[] = [];
if (process.env['BENCH_FANOUT_ROLE'] === 'server') {
  // The servers log every failed subscription (e.g. 1,000 SLOW_CONSUMER errors at once): show the
  // first 3 of each kind, then count them.
  const seen = new Map<string, number>();
  const consoleError = console.error.bind(console);
  console.error = (...args: unknown[]) => {
    const kind = args
      .map((a) => (a instanceof Error ? `${a.name}: ${a.message}` : String(a)))
      .join(' ')
      .split('\n')[0]!
      .slice(0, 160);
    const count = (seen.get(kind) ?? 0) + 1;
    seen.set(kind, count);
    if (count <= 3) consoleError(...args);
    else if (count === 4) consoleError(`  (more of: ${kind} -- counted, not shown)`);
  };
  process.on('exit', () => {
    for (const [kind, count] of seen) if (count > 3) consoleError(`  server logged ${count} x ${kind}`);
  });
  // One run, in this fresh process; the orchestrator (the parent) owns the database.
  const scenario = process.env['BENCH_FANOUT_SCENARIO'] as Scenario;
  runScenario(scenario, Number(process.env['BENCH_FANOUT_RUN']), process.env['BENCH_FANOUT_DATABASE'] || null)
    .then((figures) => {
      process.send!({ figures }, () => process.exit(0));
    })
    .catch((error) => {
      console.error(error);
      process.exit(1);
    });
  // Ctrl-C reaches the whole process group: the orchestrator drops the database.
  process.once('SIGINT', () => process.exit(130));
} else {
  main()
    .catch((error) => {
      console.error(error);
      failedRuns.push('set-up');
    })
    .finally(async () => {
      printSummary();
      for (const drop of drops) await drop().catch((error) => console.error('cleanup failed:', error));
      const missed = results.some((f) => f.missed + f.duplicates + f.problems.length > 0);
      if (missed) console.log('\nFAILED: events were missed or duplicated, or sockets/subscriptions failed (see above).');
      if (failedRuns.length > 0) console.log(`\nFAILED runs: ${failedRuns.join(', ')}`);
      process.exit(failedRuns.length > 0 || missed ? 1 : 0);
    });

  // Interrupted: drop the benchmark databases (FORCE ends the connections still open on them) and leave.
  process.once('SIGINT', () => {
    interrupted = true;
    console.error('\ninterrupted: dropping the benchmark databases');
    void Promise.allSettled(drops.map((drop) => drop())).finally(() => process.exit(130));
  });
}
