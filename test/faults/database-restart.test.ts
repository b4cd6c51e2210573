import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LISTENER_APPLICATION_NAME } from '../../src/events/pg-signal.js';
import { createLogger } from '../../src/observability/logger.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/app.js';
import { tailAuditLog, type AuditTail } from '../support/audit-tail.js';
import type { Actor } from '../support/fixtures.js';
import { createPrincipal, sendRequest, setUpLoad, startLoad, summary, type Load, type RequestCall } from '../support/load.js';
import { createPrivateCluster, type PrivateCluster } from '../support/private-cluster.js';
import {
  expectAcknowledgedStored,
  expectOnlySentKeys,
  requestsWith,
  retryInPlace,
  snapshotFromPostgres,
  verifiedWhenSealed,
} from '../support/survivors.js';

// PostgreSQL restarted under a running Greenlight and its load (`pg_ctl restart -m fast`, then
// `-m immediate`, then stopped for a while): no success is sent for a write that did not commit,
// the server stays up, says it is not ready while the database is away and recovers by itself,
// its subscribers miss nothing, and the sealer goes on with the chain.

const TIMEOUT = 150_000; // 2.5 minutes: three outages under load on a busy two-core machine
const ACKS_PER_PHASE = 40;

let cluster: PrivateCluster;
let server: TestServer;
let agents: Actor[];
let reviewers: Actor[];
let auditor: Actor;
let load: Load | undefined;
let tail: AuditTail | undefined;

beforeAll(async () => {
  cluster = await createPrivateCluster();
  server = await startTestServer({
    database: { databaseUrl: cluster.url, dataDir: 'memory://', drop: async () => {} },
    security: { requestsPerMinute: 0 },
    audit: { checkpointEvents: 100 },
    // The outages make every part of the server log its failures: not this test's output.
    logger: createLogger({ level: false }),
  });
  const gql = (token: string, query: string, variables?: Record<string, unknown>) => server.gql(token, query, variables);
  ({ agents, reviewers } = await setUpLoad(gql, ADMIN_TOKEN, 'restart'));
  auditor = await createPrincipal(gql, ADMIN_TOKEN, { kind: 'HUMAN', name: 'restart-auditor', roles: ['AUDITOR'] });
});

afterAll(async () => {
  await load?.stop();
  await tail?.stop();
  await server?.stop();
  await cluster?.destroy();
});

async function query<T extends pg.QueryResultRow>(text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: cluster.url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

const readiness = async () => {
  const response = await fetch(`${server.url}/health/ready`);
  return { status: response.status, body: (await response.json()) as Record<string, string> };
};
const READY = { status: 200, body: { status: 'ok', database: 'ok', events: 'ok' } };

/** Waits until the load has `count` more acknowledged requests sent in `phase`. */
async function acknowledgedIn(phase: string, count: number): Promise<void> {
  try {
    await vi.waitFor(
      () => expect(load!.requests('acknowledged').filter((call) => call.phase === phase).length).toBeGreaterThanOrEqual(count),
      {
        timeout: 30_000,
        interval: 20,
      },
    );
  } catch (error) {
    throw new Error(`no recovery in phase ${phase}: ${JSON.stringify(summary(load!.calls))}`, { cause: error });
  }
}

function ask(agent: Actor, key: string): Promise<RequestCall> {
  const call: RequestCall = {
    kind: 'request',
    key,
    agent,
    effect: 'ALLOW',
    input: { action: 'read.config', resource: `svc/${key}`, params: {}, idempotencyKey: key },
    outcome: 'in-flight',
    phase: 'outage',
  };
  return sendRequest(server.url, call).then(() => call);
}

describe('PostgreSQL restarted under load', () => {
  it(
    'sends no success for an uncommitted write, stays up, is unready while the database is away, recovers by itself, and its subscriber misses nothing',
    { timeout: TIMEOUT },
    async () => {
      expect(await readiness()).toEqual(READY);
      // Where the subscriber starts: nothing is being written, so every event after this one is its to get.
      const [{ last }] = (await query<{ last: string }>('SELECT coalesce(max(id), 0)::text AS last FROM audit_events')) as [
        { last: string },
      ];
      const cursor = (await server.gql(reviewers[0]!.token, '{ pendingApprovals(first: 1) { streamCursor } }')).data.pendingApprovals
        .streamCursor as string;
      tail = tailAuditLog(server.wsUrl, auditor.token, cursor);

      load = startLoad({ url: server.url, agents, reviewers, workers: 32, prefix: 'restart' });
      await acknowledgedIn('load', ACKS_PER_PHASE);
      for (const mode of ['fast', 'immediate'] as const) {
        load.phase(`restart -m ${mode}`);
        await cluster.restart(mode);
        load.phase(`after -m ${mode}`);
        // The same server, not restarted, serves writes again.
        await acknowledgedIn(`after -m ${mode}`, ACKS_PER_PHASE);
      }
      await load.stop();
      const during = load.calls.filter((call) => call.phase.startsWith('restart') || call.phase.startsWith('after'));
      // The restarts hit calls in flight; each got an answer (the server stayed up), a typed one.
      expect(load.calls.filter((call) => call.outcome === 'no-response')).toEqual([]);
      const failures = during.filter((call) => call.outcome === 'failed');
      expect(failures.length).toBeGreaterThan(0);
      expect([...new Set(failures.map((call) => call.error))]).toEqual(['UNAVAILABLE']);

      // A longer outage: not ready (but alive) while the database is away, writes refused as UNAVAILABLE.
      await cluster.stop('fast');
      await vi.waitFor(async () => expect((await readiness()).status).toBe(503), { timeout: 10_000, interval: 100 });
      expect((await readiness()).body).toMatchObject({ status: 'unavailable', database: expect.stringContaining('unreachable') });
      expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
      const refused = await Promise.all(agents.slice(0, 4).map((agent, i) => ask(agent, `outage-${i}`)));
      expect(refused.map((call) => [call.outcome, call.error])).toEqual(refused.map(() => ['failed', 'UNAVAILABLE']));
      // Long enough for the server to give its subscribers up (1013, try again later): the subscriber
      // will have to come back with its cursor.
      await vi.waitFor(() => expect(tail!.interruptions).toContain('closed 1013'), { timeout: 15_000, interval: 50 });
      await cluster.start();
      await vi.waitFor(async () => expect(await readiness()).toEqual(READY), { timeout: 30_000, interval: 200 });
      // Its LISTEN connection is back (one, a new one: the old one died with the server).
      const listening = await query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = '${LISTENER_APPLICATION_NAME}'`,
      );
      expect(listening).toEqual([{ n: 1 }]);

      // Every success stands; what failed is retried with its key and then exists once.
      const snapshot = await snapshotFromPostgres(cluster.url);
      const agentIds = agents.map((agent) => agent.id);
      const calls = [...load.calls, ...refused];
      expectAcknowledgedStored(calls, snapshot, agentIds);
      expectOnlySentKeys(calls, snapshot, agentIds);
      // Nothing written while the database was stopped.
      expect(snapshot.requests.filter((row) => row.key?.startsWith('outage-'))).toEqual([]);
      const retried = requestsWith(calls, 'failed');
      await retryInPlace(server.url, retried);
      expect(retried.filter((call) => call.outcome !== 'acknowledged').map((call) => `${call.key}: ${call.error}`)).toEqual([]);
      const after = await snapshotFromPostgres(cluster.url);
      const stored = after.requests.filter((row) => agentIds.includes(row.agentId)).map((row) => row.key);
      expect([...stored].sort()).toEqual([...new Set(calls.filter((call) => call.kind === 'request').map((call) => call.key))].sort());
      expectAcknowledgedStored(calls, after, agentIds);

      // The subscriber got every event committed since it subscribed, in the log's order, once.
      const expected = await query<{ id: string }>(`SELECT id::text AS id FROM audit_events WHERE id > ${last} ORDER BY tx_id, id`);
      await vi.waitFor(() => expect(tail!.events.length).toBeGreaterThanOrEqual(expected.length), { timeout: 20_000, interval: 50 });
      expect(tail.events.map((event) => event.id)).toEqual(expected.map((row) => row.id));
      // …across a resubscription from its cursor after the server let it go.
      expect(tail.subscriptions()).toBeGreaterThan(1);

      // The sealer took up its work again: everything is chained and the chain verifies.
      const verification = await verifiedWhenSealed((token, text, variables) => server.gql(token, text, variables), ADMIN_TOKEN);
      expect(verification).toMatchObject({ ok: true, firstBrokenSeq: null, reason: null, lastSeq: after.events.length });
      expect(verification.checkpointsChecked).toBeGreaterThan(0);
    },
  );
});
