import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startChildServer, type ChildServer } from '../support/child-server.js';
import { setUpLoad, startLoad, summary } from '../support/load.js';
import { createPrivateCluster, type PrivateCluster } from '../support/private-cluster.js';
import {
  decisionsWith,
  expectAcknowledgedStored,
  expectOnlySentKeys,
  requestsWith,
  retryInPlace,
  retryProblems,
  snapshotFromPostgres,
  verifiedWhenSealed,
} from '../support/survivors.js';

// `kill -9` of a Greenlight process under load, on a PostgreSQL cluster of the test's own: what
// the server acknowledged before it died is all there after a restart, with its audit events;
// nothing else is; the chain verifies; and retries with the same idempotency key return the
// original requests and write nothing.

const ADMIN = 'fault-kill-admin-token-0123456789';
// Two cold starts of a server process (tsx) and a burst of load on a busy two-core machine.
const TIMEOUT = 180_000; // 3 minutes
const WORKERS = 32;

let cluster: PrivateCluster;
let dataDir: string;
let server: ChildServer | undefined;

beforeAll(async () => {
  cluster = await createPrivateCluster();
  // The checkpoint signing key lives in DATA_DIR: the restarted process signs with the same one.
  dataDir = mkdtempSync(join(tmpdir(), 'greenlight-fault-kill-'));
});

afterAll(async () => {
  await server?.kill();
  await cluster?.destroy();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const env = () => ({
  DATABASE_URL: cluster.url,
  DATA_DIR: dataDir,
  ADMIN_TOKEN: ADMIN,
  RATE_LIMIT_PER_MINUTE: '0',
  AUDIT_SEAL_INTERVAL_MS: '50',
  AUDIT_CHECKPOINT_EVENTS: '100',
});

const gqlOf = (target: ChildServer) => (token: string, query: string, variables?: Record<string, unknown>) =>
  target.gql(token, query, variables);

describe('kill -9 of a Greenlight process under load', () => {
  it(
    'keeps every acknowledged request and decision with its audit events, and nothing unsent; the chain verifies; retries write nothing',
    { timeout: TIMEOUT },
    async () => {
      server = await startChildServer({ env: env() });
      const { agents, reviewers } = await setUpLoad(gqlOf(server), ADMIN, 'kill');
      const agentIds = agents.map((agent) => agent.id);
      const load = startLoad({ url: server.url, agents, reviewers, workers: WORKERS, prefix: 'kill' });
      try {
        await vi.waitFor(
          () => {
            expect(load.requests('acknowledged').length).toBeGreaterThanOrEqual(150);
            expect(load.decisions('acknowledged').length).toBeGreaterThanOrEqual(15);
          },
          { timeout: 60_000, interval: 20 },
        );
      } catch (error) {
        await load.stop();
        throw new Error(`the load did not get going: ${JSON.stringify(summary(load.calls))}\n${server.output()}`, { cause: error });
      }
      // SIGKILL with the workers' calls in flight: no handler, no graceful stop.
      load.halt();
      const inFlightAtKill = load.inFlight();
      await server.kill();
      await load.stop();
      expect(await server.exited).toBeNull(); // killed by the signal, not exited
      expect(inFlightAtKill).toBeGreaterThan(0);
      // Calls cut off by the kill got no answer; none of them may count as acknowledged.
      expect(load.calls.filter((call) => call.outcome === 'no-response').length).toBeGreaterThan(0);
      expect(load.inFlight()).toBe(0);

      server = await startChildServer({ env: env() });
      const gql = gqlOf(server);

      // The chain holds everything committed before the kill, sealed by the new process.
      const verification = await verifiedWhenSealed(gql, ADMIN);
      const before = await snapshotFromPostgres(cluster.url);
      expect(verification).toMatchObject({ ok: true, firstBrokenSeq: null, reason: null, lastSeq: before.events.length });

      // Every acknowledged write is there, whole; what exists beyond it was sent and not answered.
      expectAcknowledgedStored(load.calls, before, agentIds);
      expectOnlySentKeys(load.calls, before, agentIds);
      const acknowledged = requestsWith(load.calls, 'acknowledged');
      const unanswered = load.calls.filter((call) => call.kind === 'request' && call.outcome !== 'acknowledged');
      const ambiguous = before.requests.filter((row) => unanswered.some((call) => call.kind === 'request' && call.key === row.key));
      expect(before.requests.filter((row) => agentIds.includes(row.agentId))).toHaveLength(acknowledged.length + ambiguous.length);

      // A retry of an acknowledged request returns it as stored and writes nothing.
      expect(await retryProblems(server.url, acknowledged, before)).toEqual([]);
      const afterRetries = await snapshotFromPostgres(cluster.url);
      expect({ requests: afterRetries.requests.length, events: afterRetries.events.length }).toEqual({
        requests: before.requests.length,
        events: before.events.length,
      });

      // A client retries what got no answer: each key then exists exactly once (committed before the kill or now).
      const retried = requestsWith(load.calls, 'no-response').concat(requestsWith(load.calls, 'failed'));
      await retryInPlace(server.url, retried);
      expect(retried.filter((call) => call.outcome !== 'acknowledged').map((call) => `${call.key}: ${call.error}`)).toEqual([]);
      const after = await snapshotFromPostgres(cluster.url);
      const sentKeys = load.requests().map((call) => call.key);
      const storedKeys = after.requests.filter((row) => agentIds.includes(row.agentId)).map((row) => row.key);
      expect([...storedKeys].sort()).toEqual([...new Set(sentKeys)].sort());
      expect(after.requests.length - before.requests.length).toBe(retried.length - ambiguous.length);
      expectAcknowledgedStored(load.calls, after, agentIds);
      expect(decisionsWith(load.calls, 'acknowledged').length).toBeGreaterThanOrEqual(15);

      const final = await verifiedWhenSealed(gql, ADMIN);
      expect(final).toMatchObject({ ok: true, firstBrokenSeq: null, lastSeq: after.events.length });
      expect(final.checkpointsChecked).toBeGreaterThan(0);
    },
  );
});
