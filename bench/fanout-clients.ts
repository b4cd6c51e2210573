/**
 * The client side of `npm run bench:fanout` (bench/fanout.ts forks it, one process per scenario
 * run; it is not meant to be run by hand). It holds the reviewers' WebSockets and the agent, so
 * the server process measures only the servers (RSS, event-loop lag, CPU), and every latency is
 * taken with this process's `performance.now()`: the agent's send, its HTTP response and each
 * socket's receipt of the ADDED message are stamped on one clock.
 *
 * Each reviewer: `{ pendingApprovals(first: 1) { streamCursor } }` over HTTP with its own token,
 * then its own graphql-ws client (package `graphql-ws`, `ws` sockets, one socket per client) on
 * the instance `index % instances`, subscribed to `pendingApprovals(after: streamCursor)`, as the
 * README shows. The agent sends `requestAction` over HTTP (fetch, keep-alive), open-loop at a
 * fixed rate, alternating between the instances.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

// --- the protocol with bench/fanout.ts (IPC messages) ---------------------------------------

export interface Instance {
  http: string; // e.g. http://127.0.0.1:41234/graphql
  ws: string; // e.g. ws://127.0.0.1:41234/graphql
}

export type ToClients =
  | { type: 'setup'; instances: Instance[]; reviewerTokens: string[]; agentToken: string }
  | { type: 'ping'; t: number }
  /** Opens sockets [from, to) (snapshot query, connection_init, subscription). */
  | { type: 'connect'; from: number; to: number; concurrency: number }
  /**
   * After the last response: `drainMs` for every socket to have every escalation (what is still
   * missing then is "late"), then waiting goes on while messages keep coming, until nothing
   * arrived for `stallMs` or `maxDrainMs` passed (what is missing then is "missed").
   */
  | { type: 'load'; rate: number; seconds: number; warmup: number; drainMs: number; stallMs: number; maxDrainMs: number }
  | { type: 'close' };

export interface EventRecord {
  /** Index in the run (warm-up events first). */
  k: number;
  warmup: boolean;
  /** Index of the instance the agent sent it to. */
  instance: number;
  requestId: string | null;
  /** Why the request did not produce an escalation (HTTP or GraphQL error, wrong status). */
  failure: string | null;
  /** performance.now() of this process: just before fetch(), at the HTTP response (the commit is before it). */
  sentAt: number;
  respondedAt: number;
  /** First and last receipt of its ADDED over all sockets; the last per instance; NaN if none. */
  firstAt: number;
  lastAt: number;
  lastByInstance: number[];
  /** Sockets without its ADDED `drainMs` after the last response (late or never). */
  late: number;
  /** Sockets that never received its ADDED, and extra ADDED deliveries (beyond one per socket). */
  missing: number;
  duplicates: number;
}

export interface LoadResult {
  events: EventRecord[];
  /** ADDED messages for request ids the agent never sent (should be 0). */
  unexpected: number;
  /** Subscription `next` results carrying GraphQL errors, and subscription error/complete calls. */
  errors: string[];
  /** Sockets closed by anything but the final dispose: code -> count. */
  closes: Record<string, number>;
  /** This process's event-loop delay during the measured load (ms, beyond the 10 ms sampling interval). */
  clientLag: { p50: number; p99: number; max: number };
  /** CPU time of this process during the measured load, as a share of one core. */
  clientCpu: number;
  /** The measured window in this process's clock. */
  window: { start: number; end: number };
  /** Every socket had every escalation `drainMs` after the last response. */
  drained: boolean;
  /** How long waiting went on after `drainMs` (0 when drained). */
  extraDrainMs: number;
}

export type FromClients =
  | { type: 'ready' }
  | { type: 'pong'; t: number; child: number }
  | { type: 'connected'; open: number; failures: string[] }
  | { type: 'measure-start' }
  | { type: 'measure-end' }
  | { type: 'result'; result: LoadResult }
  | { type: 'closed' }
  | { type: 'error'; message: string };

// --- the client process ----------------------------------------------------------------------

const MUTATION = `mutation($input: RequestActionInput!) {
  requestAction(input: $input) { request { id status } errors { __typename message } } }`;
const SNAPSHOT = '{ pendingApprovals(first: 1) { streamCursor } }';
const SUBSCRIPTION = `subscription($after: String) {
  pendingApprovals(after: $after) { kind cursor request { id status action resource } } }`;
const LAG_RESOLUTION_MS = 10;

type QueueChange = { pendingApprovals: { kind: string; cursor: string; request: { id: string } } };

const send = (message: FromClients) => process.send!(message);

let instances: Instance[] = [];
let reviewerTokens: string[] = [];
let agentToken = '';
const clients: (Client | undefined)[] = [];
const instanceOf = (socket: number) => socket % instances.length;
let disposing = false;
const closes: Record<string, number> = {};
const errors: string[] = [];
let unexpected = 0;

/** Receipts of one request's ADDED, per socket. */
interface Receipts {
  counts: Uint8Array;
  /** Sockets that have it at least once (so completeness is checked without a scan). */
  sockets: number;
  first: number;
  last: number;
  lastByInstance: number[];
}
const receipts = new Map<string, Receipts>();
/** Request ids the agent got back (also to tell stray ADDEDs). */
const sentIds = new Set<string>();
let lastReceiptAt = 0;
/** Waiter for a request id to become complete (every socket has it once). */
let onReceipt: (() => void) | null = null;

function receiptsOf(id: string): Receipts {
  let r = receipts.get(id);
  if (!r) {
    r = { counts: new Uint8Array(reviewerTokens.length), sockets: 0, first: NaN, last: NaN, lastByInstance: instances.map(() => NaN) };
    receipts.set(id, r);
  }
  return r;
}

function received(socket: number, id: string, at: number): void {
  lastReceiptAt = at;
  const r = receiptsOf(id);
  const first = r.counts[socket] === 0;
  if (first) r.sockets++;
  r.counts[socket] = Math.min(255, r.counts[socket]! + 1);
  if (!(r.first <= at)) r.first = at;
  if (!(r.last >= at)) r.last = at;
  const i = instanceOf(socket);
  if (!(r.lastByInstance[i]! >= at)) r.lastByInstance[i] = at;
  // Waking the waiter on every one of ~20,000 messages a second would cost this process more than
  // the receipts themselves: it wakes when an escalation has reached every socket.
  if (first && r.sockets === reviewerTokens.length) onReceipt?.();
}

async function post<T>(
  url: string,
  token: string,
  query: string,
  variables?: Record<string, unknown>,
): Promise<{ data?: T; errors?: { message: string }[] }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  if (!response.ok && response.headers.get('content-type')?.includes('json') !== true) throw new Error(`HTTP ${response.status}`);
  return (await response.json()) as { data?: T; errors?: { message: string }[] };
}

/** One reviewer: snapshot over HTTP, then its socket and subscription; resolves once connected. */
async function openSocket(socket: number): Promise<void> {
  const token = reviewerTokens[socket]!;
  const instance = instances[instanceOf(socket)]!;
  const snapshot = await post<{ pendingApprovals: { streamCursor: string } }>(instance.http, token, SNAPSHOT);
  if (snapshot.errors || !snapshot.data) throw new Error(`snapshot: ${JSON.stringify(snapshot.errors)}`);
  const after = snapshot.data.pendingApprovals.streamCursor;
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const client = createClient({
      url: instance.ws,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: () => {},
      on: {
        connected: () => {
          if (!settled) ((settled = true), resolve());
        },
        closed: (event) => {
          if (disposing) return;
          const code = String((event as { code?: number }).code ?? 'unknown');
          closes[code] = (closes[code] ?? 0) + 1;
          if (!settled) ((settled = true), reject(new Error(`socket ${socket} closed with ${code} before connecting`)));
        },
      },
    });
    clients[socket] = client;
    client.subscribe<QueueChange>(
      { query: SUBSCRIPTION, variables: { after } },
      {
        next: (result) => {
          const at = performance.now();
          if (result.errors) {
            errors.push(`socket ${socket}: ${result.errors.map((e) => e.message).join('; ')}`);
            return;
          }
          const change = result.data?.pendingApprovals;
          // REMOVED never comes here (nothing is decided); an ADDED may beat its HTTP response.
          if (change?.kind === 'ADDED') received(socket, change.request.id, at);
        },
        error: (error) => {
          if (disposing) return;
          // graphql-ws passes a GraphQL error list, an Error, or the socket's CloseEvent.
          const close = error as { code?: number; reason?: string };
          const text =
            error instanceof Error
              ? error.message
              : typeof close.code === 'number'
                ? `socket closed ${close.code} ${close.reason ?? ''}`
                : JSON.stringify(error);
          errors.push(`socket ${socket}: subscription error: ${text}`);
        },
        complete: () => {
          if (!disposing) errors.push(`socket ${socket}: subscription completed`);
        },
      },
    );
  });
}

async function connect(from: number, to: number, concurrency: number): Promise<void> {
  const failures: string[] = [];
  let next = from;
  const worker = async () => {
    while (next < to) {
      const socket = next++;
      await openSocket(socket).catch((error: unknown) => failures.push(error instanceof Error ? error.message : String(error)));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, to - from) }, worker));
  send({ type: 'connected', open: clients.filter(Boolean).length - failures.length, failures: failures.slice(0, 10) });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

async function load(rate: number, seconds: number, warmup: number, drainMs: number, stallMs: number, maxDrainMs: number): Promise<void> {
  const intervalMs = 1_000 / rate;
  const measured = Math.round(rate * seconds);
  const events: EventRecord[] = [];
  const sockets = reviewerTokens.length;

  const complete = (id: string | null) => {
    if (!id) return true;
    // O(1): this runs after every burst of receipts, and a scan of every socket of every event
    // here once stalled this process for a second at the end of the load (stamping receipts late).
    return receipts.get(id)?.sockets === sockets;
  };
  /** Resolves true once every given event is answered and complete; false after `timeoutMs`, or once nothing arrived for `stall` ms. */
  const settle = async (batch: EventRecord[], answers: Promise<void>[], timeoutMs: number, stall = Infinity): Promise<boolean> => {
    await Promise.all(answers);
    const deadline = performance.now() + timeoutMs;
    let done = 0; // batch[0..done) are complete
    for (;;) {
      while (done < batch.length && complete(batch[done]!.requestId)) done++;
      if (done === batch.length) return true;
      const left = deadline - performance.now();
      if (left <= 0 || performance.now() - lastReceiptAt > stall) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        onReceipt = () => {
          clearTimeout(timer);
          onReceipt = null;
          resolve();
        };
      });
    }
  };

  const fire = (k: number, isWarmup: boolean): Promise<void> => {
    const instance = k % instances.length;
    const record: EventRecord = {
      k,
      warmup: isWarmup,
      instance,
      requestId: null,
      failure: null,
      sentAt: performance.now(),
      respondedAt: NaN,
      firstAt: NaN,
      lastAt: NaN,
      lastByInstance: [],
      late: 0,
      missing: 0,
      duplicates: 0,
    };
    events.push(record);
    const input = { action: 'deploy.update', resource: `prod/service-${k % 20}`, params: { k }, reason: 'fanout benchmark' };
    return post<{ requestAction: { request: { id: string; status: string } | null; errors: { message: string }[] } }>(
      instances[instance]!.http,
      agentToken,
      MUTATION,
      { input },
    )
      .then((result) => {
        record.respondedAt = performance.now();
        const request = result.data?.requestAction.request;
        if (result.errors || !request) record.failure = JSON.stringify(result.errors ?? result.data?.requestAction.errors);
        else if (request.status !== 'PENDING') record.failure = `status ${request.status}`;
        else {
          record.requestId = request.id;
          sentIds.add(request.id);
        }
      })
      .catch((error: unknown) => {
        record.respondedAt = performance.now();
        record.failure = error instanceof Error ? error.message : String(error);
      });
  };

  // Warm-up: a few escalations at the same rate, all delivered everywhere before measuring.
  const warmAnswers: Promise<void>[] = [];
  for (let k = 0; k < warmup; k++) {
    warmAnswers.push(fire(k, true));
    await sleep(intervalMs);
  }
  await settle(events.slice(), warmAnswers, drainMs);

  // Measured: open loop, one request every `intervalMs` from the start, whatever the answers.
  const lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  send({ type: 'measure-start' });
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  lag.enable();
  const answers: Promise<void>[] = [];
  for (let j = 0; j < measured; j++) {
    await sleep(start + j * intervalMs - performance.now());
    answers.push(fire(warmup + j, false));
  }
  const measuredEvents = events.filter((e) => !e.warmup);
  const drained = await settle(measuredEvents, answers, drainMs);
  const missingNow = (e: EventRecord) => {
    const r = e.requestId ? receipts.get(e.requestId) : undefined;
    if (!e.requestId) return 0;
    if (!r) return sockets;
    let n = 0;
    for (let s = 0; s < sockets; s++) if (r.counts[s] === 0) n++;
    return n;
  };
  for (const e of events) e.late = missingNow(e);
  const extraStart = performance.now();
  if (!drained) await settle(events, [], maxDrainMs, stallMs);
  const extraDrainMs = drained ? 0 : performance.now() - extraStart;
  const end = performance.now();
  lag.disable();
  const cpu = process.cpuUsage(cpu0);
  send({ type: 'measure-end' });

  for (const e of events) {
    const r = e.requestId ? receipts.get(e.requestId) : undefined;
    e.lastByInstance = instances.map((_, i) => r?.lastByInstance[i] ?? NaN);
    if (!e.requestId) continue;
    if (!r) {
      e.missing = sockets;
      continue;
    }
    e.firstAt = r.first;
    e.lastAt = r.last;
    for (let s = 0; s < sockets; s++) {
      const count = r.counts[s]!;
      if (count === 0) e.missing++;
      else e.duplicates += count - 1;
    }
  }
  for (const id of receipts.keys()) if (!sentIds.has(id)) unexpected++;
  const ms = (ns: number) => Math.max(0, ns / 1e6 - LAG_RESOLUTION_MS);
  send({
    type: 'result',
    result: {
      events,
      unexpected,
      errors: errors.slice(0, 20).concat(errors.length > 20 ? [`... and ${errors.length - 20} more`] : []),
      closes,
      clientLag: { p50: ms(lag.percentile(50)), p99: ms(lag.percentile(99)), max: ms(lag.max) },
      clientCpu: (cpu.user + cpu.system) / 1_000 / (end - start),
      window: { start, end },
      drained,
      extraDrainMs,
    },
  });
}

async function closeAll(): Promise<void> {
  disposing = true;
  await Promise.all(clients.map((client) => client?.dispose()));
  send({ type: 'closed' });
}

process.on('message', (message: ToClients) => {
  const run = async () => {
    switch (message.type) {
      case 'setup':
        ({ instances, reviewerTokens, agentToken } = message);
        return;
      case 'ping':
        return send({ type: 'pong', t: message.t, child: performance.now() });
      case 'connect':
        return connect(message.from, message.to, message.concurrency);
      case 'load':
        return load(message.rate, message.seconds, message.warmup, message.drainMs, message.stallMs, message.maxDrainMs);
      case 'close':
        return closeAll();
    }
  };
  run().catch((error: unknown) =>
    send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
});
// The parent going away takes this process with it.
process.on('disconnect', () => process.exit(0));
if (process.send) send({ type: 'ready' });
