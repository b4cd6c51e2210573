import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startChildServer, type ChildServer } from '../support/child-server.js';
import { setUpLoad, startLoad, summary } from '../support/load.js';
import {
  expectAcknowledgedStored,
  expectOnlySentKeys,
  requestsWith,
  retryInPlace,
  retryProblems,
  snapshotFromGraphQL,
  verifiedWhenSealed,
} from '../support/survivors.js';

// `kill -9` of a Greenlight process running on embedded PGlite with a data folder (no
// DATABASE_URL): the writes it acknowledged are in the folder when a new process opens it.

const ADMIN = 'fault-pglite-admin-token-0123456789';
// Two cold starts of a server process (tsx, PGlite on disk) on a busy two-core machine.
const TIMEOUT = 180_000; // 3 minutes

let dataDir: string;
let server: ChildServer | undefined;

beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'greenlight-fault-pglite-'));
});

afterAll(async () => {
  await server?.kill();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const env = () => ({
  DATA_DIR: dataDir,
  ADMIN_TOKEN: ADMIN,
  RATE_LIMIT_PER_MINUTE: '0',
  AUDIT_SEAL_INTERVAL_MS: '50',
  AUDIT_CHECKPOINT_EVENTS: '50',
});

const gqlOf = (target: ChildServer) => (token: string, query: string, variables?: Record<string, unknown>) =>
  target.gql(token, query, variables);

describe('kill -9 of a Greenlight process on PGlite with a data folder', () => {
  it(
    'finds every acknowledged write in the folder after reopening it; the chain verifies; retries write nothing',
    { timeout: TIMEOUT },
    async () => {
      server = await startChildServer({ env: env() });
      const { agents, reviewers } = await setUpLoad(gqlOf(server), ADMIN, 'pglite');
      const agentIds = agents.map((agent) => agent.id);
      const load = startLoad({ url: server.url, agents, reviewers, workers: 32, prefix: 'pglite' });
      try {
        await vi.waitFor(
          () => {
            expect(load.requests('acknowledged').length).toBeGreaterThanOrEqual(80);
            expect(load.decisions('acknowledged').length).toBeGreaterThanOrEqual(8);
          },
          { timeout: 60_000, interval: 20 },
        );
      } catch (error) {
        await load.stop();
        throw new Error(`the load did not get going: ${JSON.stringify(summary(load.calls))}\n${server.output()}`, { cause: error });
      }
      load.halt();
      const inFlightAtKill = load.inFlight();
      await server.kill();
      await load.stop();
      expect(await server.exited).toBeNull();
      expect(inFlightAtKill).toBeGreaterThan(0);

      // The claim on DATA_DIR left by the killed process is stale: a new process takes the folder over.
      server = await startChildServer({ env: env() });
      const gql = gqlOf(server);
      const verification = await verifiedWhenSealed(gql, ADMIN);
      const before = await snapshotFromGraphQL(gql, ADMIN);
      expect(verification).toMatchObject({ ok: true, firstBrokenSeq: null, reason: null, lastSeq: before.events.length });
      expectAcknowledgedStored(load.calls, before, agentIds);
      expectOnlySentKeys(load.calls, before, agentIds);

      const acknowledged = requestsWith(load.calls, 'acknowledged');
      expect(await retryProblems(server.url, acknowledged, before)).toEqual([]);
      const unanswered = requestsWith(load.calls, 'no-response').concat(requestsWith(load.calls, 'failed'));
      await retryInPlace(server.url, unanswered);
      expect(unanswered.filter((call) => call.outcome !== 'acknowledged').map((call) => `${call.key}: ${call.error}`)).toEqual([]);

      // Nothing more than the unanswered requests that had not committed before the kill.
      const final = await verifiedWhenSealed(gql, ADMIN);
      const after = await snapshotFromGraphQL(gql, ADMIN);
      const committedBefore = unanswered.filter((call) => before.byId.has(call.requestId!)).length;
      expect(after.requests.length - before.requests.length).toBe(unanswered.length - committedBefore);
      // Two events per new request (asked, then allowed or escalated); none for the retries of acknowledged ones.
      expect(after.events.length - before.events.length).toBe(2 * (unanswered.length - committedBefore));
      const storedKeys = after.requests.filter((row) => agentIds.includes(row.agentId)).map((row) => row.key);
      expect([...storedKeys].sort()).toEqual([...new Set(load.requests().map((call) => call.key))].sort());
      expectAcknowledgedStored(load.calls, after, agentIds);
      expect(final).toMatchObject({ ok: true, firstBrokenSeq: null, lastSeq: after.events.length });
    },
  );
});
