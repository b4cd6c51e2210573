import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LISTENER_APPLICATION_NAME } from '../../src/events/pg-signal.js';
import { createLogger } from '../../src/observability/logger.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/app.js';
import type { Actor } from '../support/fixtures.js';
import { createPrincipal, LOAD_POLICY, sendRequest, type RequestCall } from '../support/load.js';
import { createPrivateCluster, type PrivateCluster } from '../support/private-cluster.js';
import { snapshotFromPostgres } from '../support/survivors.js';

// The PostgreSQL pool exhausted: a transaction from outside holds a lock that the server's writes
// wait for, so the connections those writes hold stay busy, while ten times the pool's size of
// requests arrive. The rest are answered at once with a typed UNAVAILABLE (bounded queueing, not a
// queue that grows with the wait), nothing deadlocks, and all is well once the lock goes.

const POOL = { size: 2, acquireTimeoutMs: 1_000 };
const IN_FLIGHT = 10 * POOL.size;

let cluster: PrivateCluster;
let server: TestServer;
let agents: Actor[];
let holder: pg.Client | undefined;

beforeAll(async () => {
  cluster = await createPrivateCluster();
  server = await startTestServer({
    database: { databaseUrl: cluster.url, dataDir: 'memory://', drop: async () => {} },
    databasePool: POOL,
    security: { requestsPerMinute: 0 },
    // Every refused request is logged: not this test's output.
    logger: createLogger({ level: false }),
  });
  const gql = (token: string, query: string, variables?: Record<string, unknown>) => server.gql(token, query, variables);
  const published = await gql(ADMIN_TOKEN, 'mutation($i: PublishPolicyInput!) { publishPolicy(input: $i) { errors { __typename } } }', {
    i: { rules: LOAD_POLICY },
  });
  expect(published.data.publishPolicy.errors).toEqual([]);
  // One agent per request in flight: Greenlight runs at most 4 calls of one agent at once, and queues the rest itself.
  agents = [];
  for (let i = 0; i < IN_FLIGHT; i++)
    agents.push(await createPrincipal(gql, ADMIN_TOKEN, { kind: 'AGENT', name: `pool-bot-${i}`, roles: ['AGENT'] }));
  // Each agent has been seen once: its token is known, and authentication needs no connection.
  for (const [i, agent] of agents.entries()) expect((await ask(agent, `warm-${i}`)).outcome).toBe('acknowledged');
});

afterAll(async () => {
  await holder?.end().catch(() => undefined);
  await server?.stop();
  await cluster?.destroy();
});

function ask(agent: Actor, key: string): Promise<RequestCall> {
  const call: RequestCall = {
    kind: 'request',
    key,
    agent,
    effect: 'ALLOW',
    input: { action: 'read.config', resource: `svc/${key}`, params: {}, idempotencyKey: key },
    outcome: 'in-flight',
    phase: 'pool',
  };
  return sendRequest(server.url, call).then(() => call);
}

/** The server's own connections to the database, as PostgreSQL sees them (not this test's, not the LISTEN one). */
async function serverConnections(observer: pg.Client): Promise<{ state: string | null; waiting: string | null; sealer: boolean }[]> {
  const result = await observer.query(
    `SELECT a.state, a.wait_event_type AS waiting,
       EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted) AS sealer
     FROM pg_stat_activity a
     WHERE a.datname = current_database() AND a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
       AND a.pid <> $1 AND a.application_name <> $2`,
    [(holder as unknown as { processID?: number } | undefined)?.processID ?? 0, LISTENER_APPLICATION_NAME],
  );
  return result.rows;
}

describe('an exhausted connection pool', () => {
  it(
    'answers what cannot get a connection with UNAVAILABLE at once, deadlocks nothing and recovers when the load falls',
    { timeout: 90_000 },
    async () => {
      const observer = new pg.Client({ connectionString: cluster.url });
      await observer.connect();
      try {
        // The slow transaction: it holds a lock every new request's insert waits for, with its connection.
        holder = new pg.Client({ connectionString: cluster.url });
        await holder.connect();
        await holder.query('BEGIN');
        await holder.query('LOCK TABLE action_requests IN EXCLUSIVE MODE');

        const inFlight = agents.map((agent, i) => ask(agent, `burst-${i}`));
        const settled: RequestCall[] = [];
        for (const call of inFlight) void call.then((done) => settled.push(done));

        // While the lock is held: every request but those holding a connection is answered, each
        // with a typed UNAVAILABLE; none is left waiting for a connection behind the lock.
        await vi.waitFor(() => expect(settled.length).toBeGreaterThanOrEqual(IN_FLIGHT - POOL.size), { timeout: 30_000, interval: 20 });
        const early = [...settled];
        expect(early.map((call) => [call.outcome, call.error])).toEqual(early.map(() => ['failed', 'UNAVAILABLE']));
        const blocked = (await serverConnections(observer)).filter((row) => row.waiting === 'Lock');
        expect(blocked.length).toBeGreaterThan(0);
        expect(blocked.length).toBeLessThanOrEqual(POOL.size);
        // The server is up and says it cannot serve.
        expect((await fetch(`${server.url}/health/live`)).status).toBe(200);

        // The slow transaction ends: what waited for it completes, nothing is stuck.
        await holder.query('COMMIT');
        const all = await Promise.all(inFlight);
        const late = all.filter((call) => !early.includes(call));
        expect(late.length).toBeGreaterThan(0);
        expect(late.map((call) => call.outcome)).toEqual(late.map(() => 'acknowledged'));

        // Success means stored; UNAVAILABLE means nothing was written.
        const snapshot = await snapshotFromPostgres(cluster.url);
        const keys = new Set(snapshot.requests.map((row) => row.key));
        expect(late.filter((call) => !snapshot.byId.has(call.requestId!))).toEqual([]);
        expect(early.filter((call) => keys.has(call.key)).map((call) => call.key)).toEqual([]);

        // The load falls: pool-sized batches (the refused requests retried with their keys) all succeed.
        for (let i = 0; i < early.length; i += POOL.size) {
          const batch = early.slice(i, i + POOL.size).map((call) => ask(call.agent, call.key));
          expect((await Promise.all(batch)).map((call) => call.outcome)).toEqual(batch.map(() => 'acknowledged'));
        }
        await vi.waitFor(async () => expect((await fetch(`${server.url}/health/ready`)).status).toBe(200), {
          timeout: 10_000,
          interval: 100,
        });

        // No connection leaked: the pool gets every one back (the server's periodic work only borrows
        // them for a moment), and PostgreSQL sees no more than the pool's size besides the sealer's session.
        const pool = (server.app.database.db as unknown as { $client: pg.Pool }).$client;
        await vi.waitFor(() => expect([pool.waitingCount, pool.totalCount - pool.idleCount]).toEqual([0, 0]), {
          timeout: 10_000,
          interval: 10,
        });
        expect(pool.totalCount).toBeLessThanOrEqual(POOL.size);
        expect((await serverConnections(observer)).filter((row) => !row.sealer).length).toBeLessThanOrEqual(POOL.size);
      } finally {
        await observer.end();
      }
    },
  );
});
