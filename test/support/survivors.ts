import pg from 'pg';
import { expect, vi } from 'vitest';
import type { GraphQLResponse } from './app.js';
import { sendRequest, type Call, type DecisionCall, type RequestCall } from './load.js';

// What survived a fault: the requests and audit events a database holds, read after the fact,
// and the checks the fault tests make of them against what the load was told.

export interface StoredRequest {
  id: string;
  key: string | null;
  agentId: string;
  status: string;
  effect: string;
}

export interface StoredEvent {
  id: string;
  type: string;
  requestId: string | null;
  actorId: string | null;
}

export interface Snapshot {
  requests: StoredRequest[];
  events: StoredEvent[];
  byId: Map<string, StoredRequest>;
  eventsOf(requestId: string): StoredEvent[];
}

function snapshotOf(requests: StoredRequest[], events: StoredEvent[]): Snapshot {
  const byRequest = new Map<string, StoredEvent[]>();
  for (const event of events) {
    if (event.requestId) byRequest.set(event.requestId, [...(byRequest.get(event.requestId) ?? []), event]);
  }
  return {
    requests,
    events,
    byId: new Map(requests.map((request) => [request.id, request])),
    eventsOf: (requestId) => byRequest.get(requestId) ?? [],
  };
}

/** Every request and audit event, read straight from PostgreSQL (committed ones, sealed or not). */
export async function snapshotFromPostgres(url: string): Promise<Snapshot> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const requests = await client.query<StoredRequest>(
      `SELECT id, idempotency_key AS key, agent_id AS "agentId", status::text AS status, effect::text AS effect FROM action_requests`,
    );
    const events = await client.query<StoredEvent>(
      `SELECT id::text AS id, type::text AS type, request_id AS "requestId", actor_id AS "actorId" FROM audit_events ORDER BY id`,
    );
    return snapshotOf(requests.rows, events.rows);
  } finally {
    await client.end();
  }
}

type Gql = (token: string, query: string, variables?: Record<string, unknown>) => Promise<GraphQLResponse>;

/** Pages through a connection until its end. */
async function everyNode<T>(gql: Gql, token: string, query: string, field: string): Promise<T[]> {
  const nodes: T[] = [];
  let after: string | null = null;
  for (;;) {
    const result = await gql(token, query, { after });
    const connection = result.data?.[field];
    if (!connection) throw new Error(`${field}: ${JSON.stringify(result.errors)}`);
    nodes.push(...connection.edges.map((edge: { node: T }) => edge.node));
    if (!connection.pageInfo.hasNextPage) return nodes;
    after = connection.pageInfo.endCursor;
  }
}

/**
 * Every request and every *sealed* audit event, read through the public API as an administrator
 * (for PGlite, which only its server can open). Call it once everything is sealed.
 */
export async function snapshotFromGraphQL(gql: Gql, adminToken: string): Promise<Snapshot> {
  const requests = await everyNode<{
    id: string;
    idempotencyKey: string | null;
    status: string;
    agent: { id: string };
    evaluation: { effect: string };
  }>(
    gql,
    adminToken,
    `query($after: String) { actionRequests(first: 50, after: $after) {
      edges { node { id idempotencyKey status agent { id } evaluation { effect } } } pageInfo { hasNextPage endCursor } } }`,
    'actionRequests',
  );
  const events = await everyNode<{ id: string; type: string; requestId: string | null; actor: { id: string } | null }>(
    gql,
    adminToken,
    `query($after: String) { auditEvents(first: 100, after: $after) {
      edges { node { id type requestId actor { id } } } pageInfo { hasNextPage endCursor } } }`,
    'auditEvents',
  );
  return snapshotOf(
    requests.map((r) => ({ id: r.id, key: r.idempotencyKey, agentId: r.agent.id, status: r.status, effect: r.evaluation.effect })),
    events.map((e) => ({ id: e.id, type: e.type, requestId: e.requestId, actorId: e.actor?.id ?? null })),
  );
}

const count = (events: StoredEvent[], type: string, actorId?: string) =>
  events.filter((event) => event.type === type && (actorId === undefined || event.actorId === actorId)).length;

/** What is wrong with one stored request's audit trail (empty when it has every event once). */
function trailProblems(snapshot: Snapshot, request: StoredRequest): string[] {
  const events = snapshot.eventsOf(request.id);
  const problems: string[] = [];
  const first = request.effect === 'ALLOW' ? 'ACTION_APPROVED' : 'ACTION_ESCALATED';
  if (count(events, 'ACTION_REQUESTED') !== 1)
    problems.push(`${request.key}: ${count(events, 'ACTION_REQUESTED')} ACTION_REQUESTED events`);
  if (request.effect === 'ALLOW' && count(events, first) !== 1) problems.push(`${request.key}: ${count(events, first)} ${first} events`);
  if (request.effect === 'ESCALATE') {
    if (count(events, 'ACTION_ESCALATED') !== 1)
      problems.push(`${request.key}: ${count(events, 'ACTION_ESCALATED')} ACTION_ESCALATED events`);
    const decisions = count(events, 'ACTION_APPROVED') + count(events, 'ACTION_REJECTED');
    const expected = request.status === 'PENDING' ? 0 : 1;
    if (decisions !== expected) problems.push(`${request.key}: ${request.status} with ${decisions} decision events`);
    if (count(events, 'REVIEW_SUBMITTED') !== expected)
      problems.push(`${request.key}: ${request.status} with ${count(events, 'REVIEW_SUBMITTED')} reviews`);
  }
  return problems;
}

/**
 * Every acknowledged request exists as it was acknowledged, every acknowledged decision stands,
 * and every request of the load's agents has its whole audit trail (its transaction committed
 * whole or not at all).
 */
export function expectAcknowledgedStored(calls: readonly Call[], snapshot: Snapshot, agentIds: readonly string[]): void {
  const problems: string[] = [];
  for (const call of calls) {
    if (call.outcome !== 'acknowledged') continue;
    const row = snapshot.byId.get(call.kind === 'request' ? call.requestId! : call.requestId);
    if (call.kind === 'request') {
      if (!row) problems.push(`acknowledged request ${call.key} (${call.requestId}, ${call.phase}) is missing`);
      else if (row.key !== call.key || row.effect !== call.effect) problems.push(`${call.key} is stored as ${JSON.stringify(row)}`);
      continue;
    }
    if (!row) problems.push(`the request of an acknowledged decision (${call.requestId}) is missing`);
    else if (row.status !== call.status) problems.push(`decision on ${row.key} acknowledged as ${call.status}, stored as ${row.status}`);
    else {
      const events = snapshot.eventsOf(row.id);
      const decided = call.status === 'APPROVED' ? 'ACTION_APPROVED' : 'ACTION_REJECTED';
      if (count(events, 'REVIEW_SUBMITTED', call.reviewer.id) !== 1 || count(events, decided, call.reviewer.id) !== 1)
        problems.push(`decision on ${row.key} (${call.phase}) lacks its audit events: ${events.map((e) => e.type).join(', ')}`);
    }
  }
  for (const request of snapshot.requests) if (agentIds.includes(request.agentId)) problems.push(...trailProblems(snapshot, request));
  expect(problems).toEqual([]);
}

/** Nothing exists that the load never asked for: every request of its agents carries a key it sent. */
export function expectOnlySentKeys(calls: readonly Call[], snapshot: Snapshot, agentIds: readonly string[]): void {
  const sent = new Set(calls.filter((call): call is RequestCall => call.kind === 'request').map((call) => call.key));
  const strangers = snapshot.requests.filter((request) => agentIds.includes(request.agentId) && !sent.has(request.key ?? ''));
  expect(strangers).toEqual([]);
}

/**
 * Sends each call again with the same idempotency key and payload, and returns what differs from
 * the stored request: the retry must return it (same id, its stored status) and write nothing.
 */
export async function retryProblems(url: string, calls: readonly RequestCall[], snapshot: Snapshot): Promise<string[]> {
  const problems: string[] = [];
  const queue = [...calls];
  const retry = async () => {
    for (let call = queue.shift(); call; call = queue.shift()) {
      const again: RequestCall = { ...call, outcome: 'in-flight', requestId: undefined, status: undefined, error: undefined };
      await sendRequest(url, again);
      const stored = snapshot.byId.get(call.requestId!);
      if (again.outcome !== 'acknowledged') problems.push(`retry of ${call.key}: ${again.outcome} ${again.error ?? ''}`);
      else if (again.requestId !== call.requestId || again.status !== stored?.status)
        problems.push(`retry of ${call.key} returned ${again.requestId} ${again.status}, not ${call.requestId} ${stored?.status}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, retry));
  return problems;
}

/** Sends each call again (a client retrying what got no answer) and records the retry's outcome in place. */
export async function retryInPlace(url: string, calls: readonly RequestCall[]): Promise<void> {
  const queue = [...calls];
  const retry = async () => {
    for (let call = queue.shift(); call; call = queue.shift()) await sendRequest(url, call);
  };
  await Promise.all(Array.from({ length: 8 }, retry));
}

export interface Verification {
  ok: boolean;
  eventsChecked: number;
  checkpointsChecked: number;
  firstBrokenSeq: number | null;
  reason: string | null;
  message: string | null;
  lastSeq: number | null;
  lastCheckpointSeq: number | null;
  unsealedEvents: number;
}

const VERIFY = `{ verifyAuditLog {
  ok eventsChecked checkpointsChecked firstBrokenSeq reason message lastSeq lastCheckpointSeq unsealedEvents } }`;

/**
 * `verifyAuditLog` once the sealer has placed every committed event in the chain (sealing has no
 * event to await: this polls until nothing is left unsealed, up to `timeoutMs`).
 */
export async function verifiedWhenSealed(gql: Gql, token: string, timeoutMs = 20_000): Promise<Verification> {
  return vi.waitFor(
    async () => {
      const result = await gql(token, VERIFY);
      const verification = result.data?.verifyAuditLog as Verification | undefined;
      expect(verification, JSON.stringify(result.errors)).toBeDefined();
      expect(verification!.unsealedEvents).toBe(0);
      return verification!;
    },
    { timeout: timeoutMs, interval: 100 },
  );
}

/** The request calls of `calls` with the given outcome. */
export const requestsWith = (calls: readonly Call[], outcome: Call['outcome']) =>
  calls.filter((call): call is RequestCall => call.kind === 'request' && call.outcome === outcome);

/** The decision calls of `calls` with the given outcome. */
export const decisionsWith = (calls: readonly Call[], outcome: Call['outcome']) =>
  calls.filter((call): call is DecisionCall => call.kind === 'decide' && call.outcome === outcome);
