import { createClient, type Client } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateSigningKeyPem } from '../../src/audit/keys.js';
import { ADMIN_TOKEN, startTestServer, type GraphQLResponse, type TestServer } from '../support/app.js';
import { startChildServer, type ChildServer } from '../support/child-server.js';
import type { Actor } from '../support/fixtures.js';
import { createPrincipal } from '../support/load.js';
import { createPrivateCluster, type PrivateCluster } from '../support/private-cluster.js';

// Two instances on one PostgreSQL, one of them on a clock ten minutes fast (a test preload shifts
// its `Date`). Deadlines, escalation steps and reminders are set and applied in database time, and
// the log's order is the commits' order, whichever instance's clock is wrong.

const OFFSET_MS = 10 * 60_000; // ten minutes ahead
const CLOCK_OFFSET = new URL('../support/clock-offset.mjs', import.meta.url).href;
// Wide windows between the step, the reminder and the deadline, so a slow sweep on a busy machine
// cannot skip one (a sweep past the deadline ends the request instead).
const TIMEOUT_SECONDS = 8;
const STEP_SECONDS = 2;
const REMIND_AT = 0.5;

let cluster: PrivateCluster;
let normal: TestServer;
let offset: ChildServer | undefined;
let agent: Actor;
let auditor: Actor;
let reviewer: Actor;
const clients: Client[] = [];

type Gql = (token: string, query: string, variables?: Record<string, unknown>) => Promise<GraphQLResponse>;
let instances: { name: string; gql: Gql; wsUrl: string }[];

beforeAll(async () => {
  cluster = await createPrivateCluster();
  const signingKey = generateSigningKeyPem();
  // The normal instance never sweeps during the test: every deadline and step is the offset instance's work.
  normal = await startTestServer({
    database: { databaseUrl: cluster.url, dataDir: 'memory://', drop: async () => {} },
    sweepIntervalMs: 3_600_000,
    audit: { signingKey },
  });
  offset = await startChildServer({
    env: {
      DATABASE_URL: cluster.url,
      DATA_DIR: 'memory://',
      ADMIN_TOKEN,
      AUDIT_SIGNING_KEY: signingKey,
      AUDIT_SEAL_INTERVAL_MS: '50',
      SWEEP_INTERVAL_MS: '100',
      CLOCK_OFFSET_MS: String(OFFSET_MS),
    },
    preload: [CLOCK_OFFSET],
  });
  const gql: Gql = (token, query, variables) => normal.gql(token, query, variables);
  instances = [
    { name: 'offset', gql: (token, query, variables) => offset!.gql(token, query, variables), wsUrl: offset.wsUrl },
    { name: 'normal', gql, wsUrl: normal.wsUrl },
  ];
  agent = await createPrincipal(gql, ADMIN_TOKEN, { kind: 'AGENT', name: 'clock-bot', roles: ['AGENT'] });
  auditor = await createPrincipal(gql, ADMIN_TOKEN, { kind: 'HUMAN', name: 'clock-auditor', roles: ['AUDITOR'] });
  reviewer = await createPrincipal(gql, ADMIN_TOKEN, { kind: 'HUMAN', name: 'clock-sre', roles: ['REVIEWER'], groups: ['sre'] });
  const ladder = {
    groups: ['sre'],
    timeoutSeconds: TIMEOUT_SECONDS,
    remindAt: REMIND_AT,
    escalation: [{ afterSeconds: STEP_SECONDS, groups: ['security'] }],
  };
  const rules = [
    { id: 'ladder', effect: 'ESCALATE', actions: ['dns.update'], resources: ['**'], review: ladder },
    { id: 'reads', effect: 'ALLOW', actions: ['read.*'], resources: ['**'] },
  ];
  const published = await gql(ADMIN_TOKEN, 'mutation($i: PublishPolicyInput!) { publishPolicy(input: $i) { errors { __typename } } }', {
    i: { rules },
  });
  expect(published.data.publishPolicy.errors).toEqual([]);
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.dispose()));
  await offset?.kill();
  await normal?.stop();
  await cluster?.destroy();
});

/** The database's clock now, in milliseconds. */
async function databaseNow(): Promise<number> {
  const client = new pg.Client({ connectionString: cluster.url });
  await client.connect();
  try {
    return (await client.query<{ now: Date }>('SELECT clock_timestamp() AS now')).rows[0]!.now.getTime();
  } finally {
    await client.end();
  }
}

function subscribe<T>(wsUrl: string, token: string, query: string, variables: Record<string, unknown>) {
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  clients.push(client);
  return client.iterate<T>({ query, variables });
}

/** The first `count` events of a subscription. */
async function take<T>(stream: AsyncIterableIterator<{ data?: T | null; errors?: unknown }>, count: number): Promise<T[]> {
  const out: T[] = [];
  for await (const result of stream) {
    expect(result.errors).toBeUndefined();
    out.push(result.data!);
    if (out.length === count) break;
  }
  return out;
}

const REQUEST = `mutation($input: RequestActionInput!) { requestAction(input: $input) { request { id } errors { __typename message } } }`;
const REQUEST_TIMES = `query($id: ID!) { actionRequest(id: $id) {
  status decidedBy createdAt expiresAt nextEscalationAt decidedAt requiredGroups remindedAt } }`;
const EVENTS = `query($id: ID) { auditEvents(filter: { requestId: $id }, first: 50) { edges { node { type seq createdAt data } } } }`;

/** Asks on `instance`, between two readings of the database's clock. */
async function ask(instance: { gql: Gql }, input: Record<string, unknown>) {
  const before = await databaseNow();
  const result = await instance.gql(agent.token, REQUEST, { input });
  const after = await databaseNow();
  expect(result.data?.requestAction?.errors, JSON.stringify(result)).toEqual([]);
  return { id: result.data!.requestAction.request.id as string, before, after };
}

describe('an instance whose clock is ten minutes fast', () => {
  it('runs on a clock ten minutes ahead of the database', async () => {
    const logged = JSON.parse(offset!.readyLine) as { time: number };
    const skew = logged.time - (await databaseNow());
    // Its log's clock is ten minutes ahead, give or take the time since it started.
    expect(Math.abs(skew - OFFSET_MS)).toBeLessThan(OFFSET_MS / 2);
  });

  it(
    'sets deadlines and escalation steps in database time, and its sweeper applies them in database time',
    { timeout: 60_000 },
    async () => {
      const made = [];
      for (const instance of instances)
        made.push({ ...(await ask(instance, { action: 'dns.update', resource: `zone/${instance.name}` })), on: instance.name });
      const decided = made.map(({ id }) =>
        take(
          subscribe<{ actionDecided: { id: string; status: string } }>(
            offset!.wsUrl,
            agent.token,
            'subscription($id: ID) { actionDecided(requestId: $id) { id status } }',
            { id },
          ),
          1,
        ),
      );
      for (const { id, before, after, on } of made) {
        const request = (await normal.gql(ADMIN_TOKEN, REQUEST_TIMES, { id })).data.actionRequest;
        const created = Date.parse(request.createdAt);
        expect([on, created >= before && created <= after]).toEqual([on, true]);
        expect(Date.parse(request.expiresAt) - created).toBe(TIMEOUT_SECONDS * 1_000);
        expect(Date.parse(request.nextEscalationAt) - created).toBe(STEP_SECONDS * 1_000);
      }

      // Both end at their deadline, ended by the offset instance's sweeper (the other one does not sweep).
      expect((await Promise.all(decided)).map(([event]) => event!.actionDecided)).toEqual(
        made.map(({ id }) => ({ id, status: 'EXPIRED' })),
      );
      for (const { id, on } of made) {
        const request = (await normal.gql(ADMIN_TOKEN, REQUEST_TIMES, { id })).data.actionRequest;
        const [created, deadline, ended] = [request.createdAt, request.expiresAt, request.decidedAt].map((at: string) => Date.parse(at));
        expect({ on, status: request.status, decidedBy: request.decidedBy, requiredGroups: request.requiredGroups }).toEqual({
          on,
          status: 'EXPIRED',
          decidedBy: 'TIMEOUT',
          requiredGroups: ['security', 'sre'],
        });
        // Not before the deadline (the fast clock would end it at once), and not ten minutes late.
        expect(ended).toBeGreaterThanOrEqual(deadline!);
        expect(ended! - deadline!).toBeLessThan(OFFSET_MS);

        const events = await vi.waitFor(
          async () => {
            const edges = (await normal.gql(auditor.token, EVENTS, { id })).data.auditEvents.edges as { node: any }[];
            expect(edges.map((edge) => edge.node.type)).toContain('ACTION_EXPIRED');
            return edges.map((edge) => edge.node).sort((a, b) => a.seq - b.seq);
          },
          { timeout: 10_000, interval: 50 },
        );
        expect(events.map((event) => event.type)).toEqual([
          'ACTION_REQUESTED',
          'ACTION_ESCALATED',
          'ACTION_ESCALATED',
          'ACTION_EXPIRING',
          'ACTION_EXPIRED',
        ]);
        const at = (index: number) => Date.parse(events[index].createdAt);
        // The step, the reminder and the end each came at their time by the database's clock.
        expect(events[2].data.step).toMatchObject({ addedGroups: ['security'] });
        expect(at(2)).toBeGreaterThanOrEqual(created! + STEP_SECONDS * 1_000);
        expect(at(3)).toBeGreaterThanOrEqual(created! + TIMEOUT_SECONDS * REMIND_AT * 1_000);
        expect(at(3)).toBeLessThan(deadline!);
        expect(at(4)).toBeGreaterThanOrEqual(deadline!);
      }
    },
  );

  it('orders requests and events by commit, not by the clocks of the instances that wrote them', { timeout: 60_000 }, async () => {
    const cursor = (await normal.gql(reviewer.token, '{ pendingApprovals(first: 1) { streamCursor } }')).data.pendingApprovals.streamCursor;
    const TAIL = `subscription($after: String, $f: AuditEventFilter) { auditEvents(after: $after, filter: $f) { requestId createdAt } }`;
    const tails = instances.map((instance) =>
      take(
        subscribe<{ auditEvents: { requestId: string } }>(instance.wsUrl, auditor.token, TAIL, {
          after: cursor,
          f: { types: ['ACTION_REQUESTED'], agentId: agent.id },
        }),
        6,
      ),
    );
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await ask(instances[i % 2]!, { action: 'read.config', resource: `order/${i}` })).id);

    // Live, on either instance: commit order.
    for (const tail of await Promise.all(tails)) expect(tail.map((event) => event.auditEvents.requestId)).toEqual(ids);
    // Listed, on either instance: newest first, by commit.
    for (const instance of instances) {
      const listed = await instance.gql(
        ADMIN_TOKEN,
        `query($f: ActionRequestFilter) { actionRequests(first: 6, filter: $f) { edges { node { id createdAt } } } }`,
        {
          f: { agentId: agent.id, action: 'read.config' },
        },
      );
      const nodes = listed.data.actionRequests.edges.map((edge: { node: { id: string; createdAt: string } }) => edge.node);
      expect(nodes.map((node: { id: string }) => node.id)).toEqual([...ids].reverse());
      // Recorded in database time: later commits never carry earlier times.
      const times = nodes.map((node: { createdAt: string }) => Date.parse(node.createdAt)).reverse();
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
    // Chained in the same order.
    const sealed = await vi.waitFor(
      async () => {
        const page = await normal.gql(
          auditor.token,
          `query($f: AuditEventFilter) { auditEvents(filter: $f, first: 50) { edges { node { requestId seq } } } }`,
          {
            f: { types: ['ACTION_REQUESTED'], agentId: agent.id, action: 'read.*' },
          },
        );
        const nodes = page.data.auditEvents.edges.map((edge: { node: { requestId: string; seq: number } }) => edge.node);
        expect(nodes).toHaveLength(6);
        return nodes as { requestId: string; seq: number }[];
      },
      { timeout: 10_000, interval: 50 },
    );
    expect(sealed.sort((a, b) => a.seq - b.seq).map((node) => node.requestId)).toEqual(ids);
  });

  it('judges token expiry by the database clock: a token with five minutes left works there, and it can issue one', async () => {
    const inFiveMinutes = new Date((await databaseNow()) + 5 * 60_000).toISOString();
    const ISSUE = `mutation($i: IssueTokenInput!) { issueToken(input: $i) { secret errors { __typename message } } }`;
    const issued = await normal.gql(ADMIN_TOKEN, ISSUE, { i: { name: 'five-minutes', principalId: agent.id, expiresAt: inFiveMinutes } });
    expect(issued.data.issueToken.errors).toEqual([]);
    const viewer = await offset!.gql(issued.data.issueToken.secret, '{ viewer { id } }');
    expect.soft(viewer).toEqual({ data: { viewer: { id: agent.id } } });
    const there = await offset!.gql(ADMIN_TOKEN, ISSUE, {
      i: { name: 'five-minutes-there', principalId: agent.id, expiresAt: inFiveMinutes },
    });
    expect.soft(there.data?.issueToken?.errors).toEqual([]);
  });
});
