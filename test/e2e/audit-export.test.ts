import { CloudEvent } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportLine } from '../../src/audit/export.js';
import { verifyExport } from '../../src/audit/verify-export.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/app.js';
import { allSealed, createActor, requestAction, type Actor } from '../support/fixtures.js';

// GET /audit/export over real HTTP: NDJSON of the sealed chain with its checkpoints, resumable
// by seq, and verifiable offline with nothing but the published key.

let server: TestServer;
let agent: Actor;
let auditor: Actor;

async function exportLines(token: string | null, after?: number): Promise<ExportLine[]> {
  const response = await fetch(`${server.url}/audit/export${after === undefined ? '' : `?after=${after}`}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('application/x-ndjson');
  const text = await response.text();
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as ExportLine);
}

const from = (lines: ExportLine[]) =>
  async function* () {
    yield* lines;
  };

beforeAll(async () => {
  server = await startTestServer({ audit: { checkpointEvents: 4 } });
  agent = await createActor(server, { kind: 'AGENT', name: 'deploy-bot', roles: ['AGENT'] });
  auditor = await createActor(server, { kind: 'HUMAN', name: 'Margaret', roles: ['AUDITOR'] });
  for (let i = 0; i < 8; i++) await requestAction(server, agent.token, { action: 'deploy.update', resource: `staging/e${i}` });
  await allSealed(server);
});

afterAll(async () => {
  await server?.stop();
});

describe('GET /audit/export?format=cloudevents', () => {
  it('emits each sealed event (and checkpoint) as a CloudEvents 1.0 JSON line that the CloudEvents SDK accepts', async () => {
    const ndjson = (await exportLines(auditor.token)).filter((line) => line.kind === 'event');
    const response = await fetch(`${server.url}/audit/export?format=cloudevents`, {
      headers: { authorization: `Bearer ${auditor.token}` },
    });
    expect(response.status).toBe(200);
    const lines = (await response.text())
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, any>);
    const events = lines.filter((line) => line['type'] !== 'dev.greenlight.audit.checkpoint');
    expect(events.map((event) => event['chainseq'])).toEqual(ndjson.map((event) => event.seq));
    for (const [i, event] of events.entries()) {
      const sealed = ndjson[i] as Extract<ExportLine, { kind: 'event' }>;
      expect(() => new CloudEvent(event as never).validate()).not.toThrow();
      expect(event).toMatchObject({
        specversion: '1.0',
        id: String(sealed.id),
        source: '/audit/export',
        time: new Date(sealed.createdAt).toISOString(),
        chainhash: sealed.hash,
        chainprevhash: sealed.prevHash,
        datacontenttype: 'application/json',
      });
      expect(event['subject']).toBe(sealed.requestId ?? undefined);
    }
    expect(events.find((event) => event['data'].auditType === 'ACTION_REQUESTED')!['type']).toBe('dev.greenlight.action.requested');
    expect(events.find((event) => event['data'].auditType === 'PRINCIPAL_CREATED')!['type']).toBe('dev.greenlight.principal.created');
    const checkpoint = lines.find((line) => line['type'] === 'dev.greenlight.audit.checkpoint')!;
    expect(() => new CloudEvent(checkpoint as never).validate()).not.toThrow();
    expect(checkpoint['data']).toMatchObject({ seq: checkpoint['chainseq'], signature: expect.any(String) });
    const refused = await fetch(`${server.url}/audit/export?format=xml`, { headers: { authorization: `Bearer ${auditor.token}` } });
    expect(refused.status).toBe(400);
  });
});

describe('GET /audit/export', () => {
  it('refuses callers without a token, an unknown token, agents, and a bad cursor', async () => {
    const url = `${server.url}/audit/export`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: 'Bearer gl_nope' } })).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: `Bearer ${agent.token}` } })).status).toBe(403);
    const bad = await fetch(`${url}?after=-1`, { headers: { authorization: `Bearer ${auditor.token}` } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: '"after" must be a seq: a whole number, 0 for the start.' });
  });

  it('streams every sealed event in seq order with each checkpoint after its event, verifiable offline', async () => {
    const lines = await exportLines(auditor.token);
    const events = lines.filter((l) => l.kind === 'event');
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const checkpoints = lines.filter((l) => l.kind === 'checkpoint');
    expect(checkpoints.length).toBeGreaterThanOrEqual(1);
    for (const checkpoint of checkpoints) {
      const at = lines.indexOf(checkpoint);
      expect(lines[at - 1]).toMatchObject({ kind: 'event', seq: checkpoint.seq, hash: checkpoint.hash });
    }
    const jwk = await (await fetch(`${server.url}/.well-known/greenlight-audit-key.json`)).json();
    expect(await verifyExport(from(lines), [jwk])).toMatchObject({
      ok: true,
      eventsChecked: events.length,
      checkpointsChecked: checkpoints.length,
    });
  });

  it('resumes after a seq, and the pieces verify as one', async () => {
    const whole = await exportLines(ADMIN_TOKEN);
    const cut = 5;
    const head = (await exportLines(ADMIN_TOKEN)).filter((l) => l.seq <= cut);
    const rest = await exportLines(ADMIN_TOKEN, cut);
    expect(rest[0]).toMatchObject({ kind: 'event', seq: cut + 1 });
    expect([...head, ...rest]).toEqual(whole);
    // A piece alone verifies too, trusting its first event's link.
    const jwk = await (await fetch(`${server.url}/.well-known/greenlight-audit-key.json`)).json();
    expect(await verifyExport(from(rest), [jwk])).toMatchObject({ ok: true, eventsChecked: rest.filter((l) => l.kind === 'event').length });
  });

  it('shows an edited export line as MODIFIED at its seq, and a foreign key as BAD_SIGNATURE', async () => {
    const lines = await exportLines(auditor.token);
    const jwk = await (await fetch(`${server.url}/.well-known/greenlight-audit-key.json`)).json();
    const edited = lines.map((l) =>
      l.kind === 'event' && l.seq === 3 ? { ...l, data: { ...(l.data as object), resource: 'prod/secret' } } : l,
    );
    expect(await verifyExport(from(edited), [jwk])).toMatchObject({ ok: false, firstBrokenSeq: 3, reason: 'MODIFIED' });
    const firstCheckpoint = lines.find((l) => l.kind === 'checkpoint')!;
    expect(await verifyExport(from(lines), [{ ...jwk, kid: 'someone-else' }])).toMatchObject({
      ok: false,
      firstBrokenSeq: firstCheckpoint.seq,
      reason: 'BAD_SIGNATURE',
    });
  });
});
