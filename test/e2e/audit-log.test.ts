import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { verifyCheckpoint } from '../../src/audit/keys.js';
import { auditCheckpoints } from '../../src/db/schema.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/app.js';
import { createActor, requestAction, type Actor } from '../support/fixtures.js';

// The sealed audit log over HTTP: the server's own sealer chains every event, checkpoints are
// signed with the key served at the well-known address, and verifyAuditLog checks it all.

let server: TestServer;
let agent: Actor;
let auditor: Actor;

const VERIFY = `query($from: Int, $to: Int) {
  verifyAuditLog(from: $from, to: $to) {
    ok fromSeq toSeq eventsChecked checkpointsChecked firstBrokenSeq reason message lastSeq lastCheckpointSeq unsealedEvents keyId
  }
}`;

beforeAll(async () => {
  // A checkpoint every 5 events, so the test sees some without waiting a minute.
  server = await startTestServer({ audit: { sealIntervalMs: 50, checkpointEvents: 5 } });
  agent = await createActor(server, { kind: 'AGENT', name: 'deploy-bot', roles: ['AGENT'] });
  auditor = await createActor(server, { kind: 'HUMAN', name: 'Margaret', roles: ['AUDITOR'] });
});

afterAll(async () => {
  await server?.stop();
});

describe('the sealed audit log', () => {
  it('serves the checkpoint key as a JWK at the well-known address', async () => {
    const response = await fetch(`${server.url}/.well-known/greenlight-audit-key.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/jwk+json');
    const jwk = await response.json();
    expect(jwk).toEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      x: expect.stringMatching(/^[\w-]{43}$/),
      kid: expect.any(String),
      alg: 'EdDSA',
      use: 'sig',
    });
    expect(jwk).not.toHaveProperty('d');
  });

  it('seals every event within moments, and verifies for auditors only', async () => {
    for (let i = 0; i < 5; i++) await requestAction(server, agent.token, { action: 'deploy.update', resource: `staging/s${i}` });
    const sealed = await vi.waitFor(
      async () => {
        const page = await server.gql(auditor.token, '{ auditEvents(first: 100) { edges { node { id seq prevHash hash } } } }');
        const nodes = page.data.auditEvents.edges.map((e: { node: { seq: number | null } }) => e.node);
        expect(nodes.every((n: { seq: number | null }) => n.seq !== null)).toBe(true);
        return nodes as { seq: number; prevHash: string; hash: string }[];
      },
      { timeout: 10_000, interval: 50 },
    );
    const bySeq = [...sealed].sort((a, b) => a.seq - b.seq);
    expect(bySeq.map((n) => n.seq)).toEqual(bySeq.map((_, i) => i + 1));
    bySeq.slice(1).forEach((n, i) => expect(n.prevHash).toBe(bySeq[i]!.hash));

    const jwk = await (await fetch(`${server.url}/.well-known/greenlight-audit-key.json`)).json();
    const result = await server.gql(auditor.token, VERIFY, {});
    expect(result.data.verifyAuditLog).toMatchObject({ ok: true, fromSeq: 1, firstBrokenSeq: null, reason: null, keyId: jwk.kid });
    expect(result.data.verifyAuditLog.eventsChecked).toBeGreaterThanOrEqual(bySeq.length);

    const denied = await server.gql(agent.token, VERIFY, {});
    expect(denied.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
  });

  it('signs checkpoints that anyone can check with the published key', async () => {
    const checkpoint = await vi.waitFor(
      async () => {
        const [first] = await server.app.deps.db.select().from(auditCheckpoints).limit(1);
        expect(first).toBeDefined();
        return first;
      },
      { timeout: 10_000, interval: 50 },
    );
    const jwk = await (await fetch(`${server.url}/.well-known/greenlight-audit-key.json`)).json();
    expect(verifyCheckpoint([jwk], checkpoint!)).toBe(true);
    expect(verifyCheckpoint([jwk], { ...checkpoint!, hash: '0'.repeat(64) })).toBe(false);
    const result = await server.gql(ADMIN_TOKEN, VERIFY, {});
    expect(result.data.verifyAuditLog.ok).toBe(true);
    expect(result.data.verifyAuditLog.lastCheckpointSeq).toBeGreaterThanOrEqual(checkpoint!.seq);
    expect(result.data.verifyAuditLog.checkpointsChecked).toBeGreaterThanOrEqual(1);
  });
});
