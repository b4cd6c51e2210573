import type { GraphQLResponse } from './app.js';
import type { Actor } from './fixtures.js';

// Load for the fault tests: workers that keep calls in flight against a server (requestAction
// with a unique idempotency key, ALLOW and ESCALATE alike, and decideAction on the escalated
// requests already acknowledged) and record what each call got back. The test then compares that
// record with what the database holds.

/** A policy for the load: `read.*` is allowed, `deploy.*` waits an hour for an `sre` reviewer. */
export const LOAD_POLICY = [
  { id: 'reads', effect: 'ALLOW', actions: ['read.*'], resources: ['**'] },
  { id: 'deploys', effect: 'ESCALATE', actions: ['deploy.*'], resources: ['**'], review: { groups: ['sre'], timeoutSeconds: 3_600 } },
];

/**
 * What a call got: `acknowledged` (a success response), `failed` (a response that is not a
 * success: an error, a typed payload error, a 5xx), `no-response` (the connection failed or broke
 * before a complete response), or `in-flight` (not answered yet).
 */
export type Outcome = 'in-flight' | 'acknowledged' | 'failed' | 'no-response';

export interface RequestCall {
  kind: 'request';
  key: string;
  agent: Actor;
  effect: 'ALLOW' | 'ESCALATE';
  input: { action: string; resource: string; params: Record<string, unknown>; idempotencyKey: string };
  outcome: Outcome;
  /** What the test was doing when the call was sent (set with `load.phase`). */
  phase: string;
  requestId?: string;
  status?: string;
  /** The error code (`extensions.code`, or the payload error's type) or the network error. */
  error?: string;
}

export interface DecisionCall {
  kind: 'decide';
  requestId: string;
  reviewer: Actor;
  verdict: 'APPROVE' | 'REJECT';
  outcome: Outcome;
  phase: string;
  status?: string;
  error?: string;
}

export type Call = RequestCall | DecisionCall;

export const REQUEST_ACTION = `mutation($input: RequestActionInput!) {
  requestAction(input: $input) { request { id status evaluation { effect } } errors { __typename message } }
}`;

const DECIDE_ACTION = `mutation($input: DecideActionInput!) {
  decideAction(input: $input) { request { id status } errors { __typename message } }
}`;

type Sent = { answered: true; body: GraphQLResponse } | { answered: false; error: string };

/** One POST; `answered: false` when no complete response came back. */
export async function send(url: string, token: string, query: string, variables: Record<string, unknown>): Promise<Sent> {
  let response: Response;
  try {
    response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
  } catch (error) {
    return { answered: false, error: String((error as { cause?: unknown }).cause ?? error) };
  }
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    return { answered: false, error: `body cut off: ${String(error)}` };
  }
  try {
    return { answered: true, body: JSON.parse(text) as GraphQLResponse };
  } catch {
    return { answered: true, body: { errors: [{ message: `HTTP ${response.status}: ${text.slice(0, 200)}` }] } };
  }
}

/** The code of a response that is not a success: `extensions.code`, or the payload error's type. */
export function errorCode(body: GraphQLResponse, field: string): string {
  const payloadError = (body.data as Record<string, { errors?: { __typename: string }[] } | null> | undefined)?.[field]?.errors?.[0];
  return String(body.errors?.[0]?.extensions?.['code'] ?? payloadError?.__typename ?? body.errors?.[0]?.message ?? 'no data');
}

/** Sends one requestAction and records what came back in `call`. */
export async function sendRequest(url: string, call: RequestCall): Promise<void> {
  const sent = await send(url, call.agent.token, REQUEST_ACTION, { input: call.input });
  if (!sent.answered) {
    call.outcome = 'no-response';
    call.error = sent.error;
    return;
  }
  const payload = sent.body.data?.requestAction;
  if (payload?.request && payload.errors.length === 0) {
    call.outcome = 'acknowledged';
    call.requestId = payload.request.id;
    call.status = payload.request.status;
  } else {
    call.outcome = 'failed';
    call.error = errorCode(sent.body, 'requestAction');
  }
}

export interface LoadOptions {
  url: string;
  /** Agents, each used by `workers / agents.length` workers (Greenlight runs 4 calls of one agent at once). */
  agents: Actor[];
  /** Reviewers in the `sre` group. */
  reviewers: Actor[];
  workers: number;
  /** Prefix of the idempotency keys (unique per test). */
  prefix: string;
}

export interface Load {
  calls: Call[];
  /** Labels the calls sent from now on. */
  phase(name: string): void;
  inFlight(): number;
  requests(outcome?: Outcome): RequestCall[];
  decisions(outcome?: Outcome): DecisionCall[];
  /** Stops sending new calls at once; the calls in flight go on. */
  halt(): void;
  /** Halts, then waits for the calls in flight to end. */
  stop(): Promise<void>;
}

/** Pause after a call that failed, so a worker does not spin while the server is out of reach. */
const AFTER_FAILURE_MS = 50;

/** Starts `workers` workers, each sending one call after the other until halted. */
export function startLoad(options: LoadOptions): Load {
  const calls: Call[] = [];
  const undecided: string[] = [];
  let halted = false;
  let phase = 'load';
  let verdicts = 0;

  const decide = async (requestId: string, worker: number): Promise<DecisionCall> => {
    const reviewer = options.reviewers[worker % options.reviewers.length]!;
    const verdict = verdicts++ % 2 === 0 ? 'APPROVE' : 'REJECT';
    const call: DecisionCall = { kind: 'decide', requestId, reviewer, verdict, outcome: 'in-flight', phase };
    calls.push(call);
    const sent = await send(options.url, reviewer.token, DECIDE_ACTION, { input: { requestId, verdict, comment: `fault test ${phase}` } });
    if (!sent.answered) {
      call.outcome = 'no-response';
      call.error = sent.error;
      return call;
    }
    const payload = sent.body.data?.decideAction;
    if (payload?.request && payload.errors.length === 0) {
      call.outcome = 'acknowledged';
      call.status = payload.request.status;
    } else {
      call.outcome = 'failed';
      call.error = errorCode(sent.body, 'decideAction');
    }
    return call;
  };

  const request = async (worker: number, n: number): Promise<RequestCall> => {
    const key = `${options.prefix}-w${worker}-${n}`;
    const effect = (worker + n) % 2 === 0 ? 'ALLOW' : 'ESCALATE';
    const call: RequestCall = {
      kind: 'request',
      key,
      agent: options.agents[worker % options.agents.length]!,
      effect,
      input: {
        action: effect === 'ALLOW' ? 'read.config' : 'deploy.update',
        resource: `${effect === 'ALLOW' ? 'svc' : 'prod'}/${key}`,
        params: { worker, n },
        idempotencyKey: key,
      },
      outcome: 'in-flight',
      phase,
    };
    calls.push(call);
    await sendRequest(options.url, call);
    if (call.outcome === 'acknowledged' && call.status === 'PENDING') undecided.push(call.requestId!);
    return call;
  };

  const work = async (worker: number) => {
    for (let n = 0; !halted; n++) {
      const pending = n % 3 === 2 ? undecided.shift() : undefined;
      const call = pending ? await decide(pending, worker) : await request(worker, n);
      if (call.outcome !== 'acknowledged' && !halted) await new Promise((resolve) => setTimeout(resolve, AFTER_FAILURE_MS));
    }
  };
  const running = Promise.all(Array.from({ length: options.workers }, (_, worker) => work(worker)));

  return {
    calls,
    phase: (name) => {
      phase = name;
    },
    inFlight: () => calls.filter((call) => call.outcome === 'in-flight').length,
    requests: (outcome) => calls.filter((call): call is RequestCall => call.kind === 'request' && (!outcome || call.outcome === outcome)),
    decisions: (outcome) => calls.filter((call): call is DecisionCall => call.kind === 'decide' && (!outcome || call.outcome === outcome)),
    halt: () => {
      halted = true;
    },
    async stop() {
      halted = true;
      await running;
    },
  };
}

/** A count of the calls by kind and outcome, for failure messages. */
export function summary(calls: readonly Call[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const call of calls) counts[`${call.kind} ${call.outcome}`] = (counts[`${call.kind} ${call.outcome}`] ?? 0) + 1;
  return counts;
}

type Gql = (token: string, query: string, variables?: Record<string, unknown>) => Promise<GraphQLResponse>;

/** Creates a principal through the public API as an administrator; returns its id and token. */
export async function createPrincipal(
  gql: Gql,
  adminToken: string,
  input: { kind: 'AGENT' | 'HUMAN'; name: string; roles: string[]; groups?: string[] },
): Promise<Actor> {
  const result = await gql(
    adminToken,
    `mutation($input: CreatePrincipalInput!) { createPrincipal(input: $input) { principal { id } token errors { __typename message } } }`,
    { input },
  );
  const payload = result.data?.createPrincipal;
  if (!payload?.principal) throw new Error(`createPrincipal failed: ${JSON.stringify(result)}`);
  return { id: payload.principal.id, token: payload.token };
}

/** Publishes `LOAD_POLICY` and creates the load's agents and `sre` reviewers. */
export async function setUpLoad(
  gql: Gql,
  adminToken: string,
  prefix: string,
  sizes: { agents: number; reviewers: number } = { agents: 8, reviewers: 2 },
): Promise<{ agents: Actor[]; reviewers: Actor[] }> {
  const published = await gql(
    adminToken,
    `mutation($input: PublishPolicyInput!) { publishPolicy(input: $input) { policy { version } errors { __typename message } } }`,
    { input: { rules: LOAD_POLICY, defaultEffect: 'ESCALATE' } },
  );
  if (!published.data?.publishPolicy?.policy) throw new Error(`publishPolicy failed: ${JSON.stringify(published)}`);
  const agents: Actor[] = [];
  for (let i = 0; i < sizes.agents; i++)
    agents.push(await createPrincipal(gql, adminToken, { kind: 'AGENT', name: `${prefix}-bot-${i}`, roles: ['AGENT'] }));
  const reviewers: Actor[] = [];
  for (let i = 0; i < sizes.reviewers; i++)
    reviewers.push(
      await createPrincipal(gql, adminToken, { kind: 'HUMAN', name: `${prefix}-sre-${i}`, roles: ['REVIEWER'], groups: ['sre'] }),
    );
  return { agents, reviewers };
}
