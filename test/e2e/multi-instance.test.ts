import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateSigningKeyPem } from '../../src/audit/keys.js';
import { ensureAdministrator } from '../../src/auth/bootstrap.js';
import { LISTENER_APPLICATION_NAME } from '../../src/events/pg-signal.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/app.js';
import { onPostgres } from '../support/database.js';
import { collect, createActor, decideAction, requestAction, type Actor } from '../support/fixtures.js';

// Live delivery across instances. On PostgreSQL: three instances built from app.ts on one
// database, each with its own pool and LISTEN connection; clients talk to different instances.
// PGlite is one in-process database, so there the three names point to one instance and the
// same scenarios check replay and resume.

let a: TestServer;
let b: TestServer;
let c: TestServer;
let agent: Actor;
let reviewer: Actor;
let auditor: Actor;
let signingKey: string;

type Streamed = { auditEvents: { id: string; type: string; cursor: string; requestId: string | null } };
const AUDIT_STREAM = `subscription($after: String, $f: AuditEventFilter) { auditEvents(after: $after, filter: $f) { id type cursor requestId } }`;

beforeAll(async () => {
  signingKey = generateSigningKeyPem();
  a = await startTestServer({ audit: { signingKey } });
  [b, c] = onPostgres
    ? await Promise.all([
        startTestServer({ database: a.database, audit: { signingKey } }),
        startTestServer({ database: a.database, audit: { signingKey } }),
      ])
    : [a, a];
  agent = await createActor(a, { kind: 'AGENT', name: 'deploy-bot', roles: ['AGENT'] });
  reviewer = await createActor(b, { kind: 'HUMAN', name: 'Grace', roles: ['REVIEWER'], groups: ['sre'] });
  auditor = await createActor(c, { kind: 'HUMAN', name: 'Margaret', roles: ['AUDITOR'] });
});

afterAll(async () => {
  if (onPostgres) await Promise.all([b?.stop(), c?.stop()]);
  await a?.stop();
});

async function streamCursor(server: TestServer): Promise<string> {
  return (await server.gql(reviewer.token, '{ pendingApprovals(first: 1) { streamCursor } }')).data.pendingApprovals.streamCursor;
}

async function ask(server: TestServer, resource: string): Promise<string> {
  const result = await requestAction(server, agent.token, { action: 'deploy.update', resource });
  expect(result.data.requestAction.errors).toEqual([]);
  return result.data.requestAction.request.id;
}

/** The next `count` events of a stream. */
async function take<T>(stream: { next(): Promise<{ data?: T | null }> }, count: number): Promise<T[]> {
  const out: T[] = [];
  while (out.length < count) out.push((await stream.next()).data!);
  return out;
}

describe('delivery across instances', () => {
  it(`runs ${onPostgres ? 'three instances on PostgreSQL' : 'one instance on PGlite'}`, () => {
    expect(new Set([a, b, c]).size).toBe(onPostgres ? 3 : 1);
  });

  it('brings a request made on A to a reviewer on B, and the decision made on C to the agent on A', async () => {
    const queue = collect(
      b.ws(reviewer.token).iterate<{ pendingApprovals: { kind: string; request: { id: string; status: string } } }>({
        query: `subscription($after: String) { pendingApprovals(after: $after) { kind request { id status } } }`,
        variables: { after: await streamCursor(b) },
      }),
    );
    const id = await ask(a, 'prod/payments');
    expect((await queue.next()).data!.pendingApprovals).toEqual({ kind: 'ADDED', request: { id, status: 'PENDING' } });

    const decided = collect(
      a.ws(agent.token).iterate<{ actionDecided: { id: string; status: string } }>({
        query: `subscription($id: ID) { actionDecided(requestId: $id) { id status } }`,
        variables: { id },
      }),
    );
    const decision = await decideAction(c, reviewer.token, { requestId: id, verdict: 'APPROVE', comment: 'ok' });
    expect(decision.data.decideAction.errors).toEqual([]);
    expect((await decided.next()).data!.actionDecided).toEqual({ id, status: 'APPROVED' });
    expect((await queue.next()).data!.pendingApprovals).toEqual({ kind: 'REMOVED', request: { id, status: 'APPROVED' } });
    await queue.return();
  });

  it('delivers an event whose transaction commits after later ones, once, in the same order everywhere', async () => {
    // Every subscription starts from a cursor taken before the events: live or replayed, it must
    // get each of them once.
    const after = await streamCursor(a);
    const subscribe = (server: TestServer) =>
      collect(
        server
          .ws(auditor.token)
          .iterate<Streamed>({ query: AUDIT_STREAM, variables: { after, f: { types: ['TOKEN_ROTATED', 'ACTION_REQUESTED'] } } }),
      );
    const live = [subscribe(a), subscribe(b), subscribe(c)];

    let held: pg.Client | null = null;
    if (onPostgres) {
      // A transaction writes an event and stays open while a later one commits.
      held = new pg.Client({ connectionString: a.database.databaseUrl });
      await held.connect();
      await held.query('BEGIN');
      await held.query(`INSERT INTO audit_events (type, data) VALUES ('TOKEN_ROTATED', '{"principalId": "held", "revokedTokens": 0}')`);
    } else {
      await a.app.deps.db.execute(
        sql`INSERT INTO audit_events (type, data) VALUES ('TOKEN_ROTATED', '{"principalId": "held", "revokedTokens": 0}')`,
      );
    }
    const requestId = await ask(b, 'prod/late');
    if (held) {
      await held.query('COMMIT');
      await held.end();
      // Nothing published it: the hubs find it by their periodic read, or with the later events.
    }
    const orders = await Promise.all(live.map(async (stream) => (await take(stream, 2)).map((e) => e.auditEvents.type)));
    expect(orders).toEqual([0, 1, 2].map(() => ['TOKEN_ROTATED', 'ACTION_REQUESTED']));

    // A replay from before them gives the same order.
    const replay = collect(
      c
        .ws(auditor.token)
        .iterate<Streamed>({ query: AUDIT_STREAM, variables: { after, f: { types: ['TOKEN_ROTATED', 'ACTION_REQUESTED'] } } }),
    );
    const replayed = await take(replay, 2);
    expect(replayed.map((e) => [e.auditEvents.type, e.auditEvents.requestId])).toEqual([
      ['TOKEN_ROTATED', null],
      ['ACTION_REQUESTED', requestId],
    ]);
    await Promise.all([...live, replay].map((stream) => stream.return()));
  });

  it('gives every subscriber every event exactly once when a listening connection is killed mid-stream', async () => {
    const after = await streamCursor(a);
    const streams = [a, b, c].map((server) =>
      collect(
        server
          .ws(auditor.token)
          .iterate<Streamed>({ query: AUDIT_STREAM, variables: { after, f: { types: ['ACTION_REQUESTED'], agentId: agent.id } } }),
      ),
    );
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) {
      if (i === 50 && onPostgres) {
        const killed = await a.app.deps.db.execute(sql`
          SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity
          WHERE application_name = ${LISTENER_APPLICATION_NAME} AND datname = current_database()`);
        expect((killed as unknown as { rows: unknown[] }).rows).toHaveLength(3);
      }
      ids.push(await ask([a, b, c][i % 3]!, `staging/burst-${i}`));
    }
    for (const stream of streams) {
      const received = await take(stream, 200);
      expect(received.map((e) => e.auditEvents.requestId)).toEqual(ids);
    }
    await Promise.all(streams.map((stream) => stream.return()));
  });

  it('resumes a subscriber from its cursor with exactly the events it missed', async () => {
    const filter = { types: ['ACTION_REQUESTED'], agentId: agent.id };
    const first = collect(
      b.ws(auditor.token).iterate<Streamed>({ query: AUDIT_STREAM, variables: { after: await streamCursor(b), f: filter } }),
    );
    const seen = await ask(a, 'staging/seen');
    const [got] = await take(first, 1);
    expect(got!.auditEvents.requestId).toBe(seen);
    await first.return();

    const missed = [await ask(a, 'staging/missed-1'), await ask(c, 'staging/missed-2'), await ask(b, 'staging/missed-3')];
    const resumed = collect(
      c.ws(auditor.token).iterate<Streamed>({ query: AUDIT_STREAM, variables: { after: got!.auditEvents.cursor, f: filter } }),
    );
    const replayed = await take(resumed, 3);
    expect(replayed.map((e) => e.auditEvents.requestId)).toEqual(missed);
    const next = await ask(a, 'staging/after-resume');
    expect((await resumed.next()).data!.auditEvents.requestId).toBe(next);
    await resumed.return();
  });

  it('lets the clients of a stopped instance reconnect to another and catch up', async () => {
    if (!onPostgres) return expect(a).toBe(c); // one instance: nothing to fail over to
    const filter = { types: ['ACTION_REQUESTED'], agentId: agent.id };
    const extra = await startTestServer({ database: a.database, audit: { signingKey } });
    const stream = collect(
      extra.ws(auditor.token).iterate<Streamed>({ query: AUDIT_STREAM, variables: { after: await streamCursor(extra), f: filter } }),
    );
    const before = await ask(a, 'staging/before-stop');
    const [last] = await take(stream, 1);
    expect(last!.auditEvents.requestId).toBe(before);
    await extra.stop();
    // The socket closes (1001, going away): the stream ends, with or without an error.
    expect(await stream.done().catch(() => true)).toBe(true);

    const during = [await ask(b, 'staging/during-1'), await ask(a, 'staging/during-2')];
    const again = collect(
      c.ws(auditor.token).iterate<Streamed>({ query: AUDIT_STREAM, variables: { after: last!.auditEvents.cursor, f: filter } }),
    );
    expect((await take(again, 2)).map((e) => e.auditEvents.requestId)).toEqual(during);
    await again.return();
  });

  it('resumes an agent’s decisions from the decisionCursor of the last one it got, on another instance', async () => {
    type Decided = { actionDecided: { id: string; status: string; decisionCursor: string } };
    const DECISIONS = `subscription($after: String) { actionDecided(after: $after) { id status decisionCursor } }`;
    const decide = async (server: TestServer, id: string, verdict: string) =>
      expect((await decideAction(server, reviewer.token, { requestId: id, verdict })).data.decideAction.errors).toEqual([]);
    const ids = [await ask(a, 'prod/d1'), await ask(a, 'prod/d2'), await ask(a, 'prod/d3')];

    const first = collect(a.ws(agent.token).iterate<Decided>({ query: DECISIONS, variables: { after: await streamCursor(a) } }));
    await decide(c, ids[0]!, 'APPROVE');
    const got = (await first.next()).data!.actionDecided;
    expect(got).toMatchObject({ id: ids[0], status: 'APPROVED', decisionCursor: expect.any(String) });
    await first.return();

    await decide(b, ids[1]!, 'REJECT');
    await decide(c, ids[2]!, 'APPROVE');
    const resumed = collect(b.ws(agent.token).iterate<Decided>({ query: DECISIONS, variables: { after: got.decisionCursor } }));
    expect((await take(resumed, 2)).map((e) => [e.actionDecided.id, e.actionDecided.status])).toEqual([
      [ids[1], 'REJECTED'],
      [ids[2], 'APPROVED'],
    ]);
    await resumed.return();
  });

  it('installs a policy published on one instance on the others', async () => {
    const result = await a.gql(
      ADMIN_TOKEN,
      `mutation($input: PublishPolicyInput!) { publishPolicy(input: $input) { policy { version } errors { message } } }`,
      {
        input: {
          rules: [{ id: 'deploys-need-review', effect: 'ESCALATE', actions: ['deploy.*'], resources: ['**'] }],
          defaultEffect: 'ESCALATE',
        },
      },
    );
    const version = result.data.publishPolicy.policy.version;
    for (const server of [b, c]) await vi.waitFor(() => expect(server.app.deps.policies.current().version).toBe(version));
  });

  // Last: it revokes the administrator token the other tests use.
  it('closes, on every instance, the sockets of a token rotated on one of them (4403)', async () => {
    const baseline = new Map([a, b, c].map((server) => [server, server.app.deps.hub.listenerCount()]));
    const closes = [a, b, c].map((server) => {
      let closed: (code: number) => void = () => undefined;
      const code = new Promise<number>((resolve) => (closed = resolve));
      const stream = collect(
        server
          .ws(ADMIN_TOKEN, { onClose: closed })
          .iterate({ query: AUDIT_STREAM, variables: { after: null, f: { types: ['OUTCOME_REPORTED'] } } }),
      );
      return { code, stream };
    });
    // Each socket is in once its subscription listens.
    for (const [server, before] of baseline) {
      const sockets = [a, b, c].filter((s) => s === server).length;
      await vi.waitFor(() => expect(server.app.deps.hub.listenerCount()).toBe(before + sockets));
    }
    // What an instance starting with a new ADMIN_TOKEN does: the old token is revoked, and told.
    const rotated = await ensureAdministrator(a.app.deps.db, 'a-brand-new-admin-token-0123');
    expect(rotated.events.map((event) => event.type)).toEqual(['TOKEN_ROTATED']);
    a.app.deps.hub.publish(rotated.events);
    expect(await Promise.all(closes.map((close) => close.code))).toEqual([4403, 4403, 4403]);
  });
});
