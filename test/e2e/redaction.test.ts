import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportLine } from '../../src/audit/export.js';
import { verifyExport } from '../../src/audit/verify-export.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/app.js';
import { allSealed, collect, createActor, type Actor } from '../support/fixtures.js';

// A policy's `redact` paths over real HTTP and WebSockets: the values are masked with a keyed
// hash for everyone but ADMIN (the agent that sent them included), in requests, reviews, audit
// events, their subscriptions and exports; the audit table never holds them; ADMIN sees them.

let server: TestServer;
let agent: Actor;
let reviewer: Actor;
let auditor: Actor;

const MARKER = /^\[redacted:hmac-sha256:[\w-]{43}\]$/;
const REDACT = ['params.password', 'params.db.*', 'context.customer_email'];
const PARAMS = { password: 'hunter2', db: { user: 'app', pass: 's3cret' }, replicas: 3 };
const CONTEXT = { customer_email: 'ada@example.com', ticket: 'INC-42' };

const REQUEST = 'id status params amendedParams approvedParams context redactPaths reviews { amendedParams }';

async function publish(input: Record<string, unknown>) {
  const result = await server.gql(
    ADMIN_TOKEN,
    `mutation($input: PublishPolicyInput!) {
      publishPolicy(input: $input) { policy { version redact contentHash } errors { __typename message ... on InvalidPolicyError { issues { ruleId field message } } } }
    }`,
    { input },
  );
  return result.data.publishPolicy;
}

const POLICY = {
  rules: [
    { id: 'deploys-need-sre', effect: 'ESCALATE', actions: ['deploy.*'], resources: ['**'], allowAmend: true, review: { groups: ['sre'] } },
  ],
  defaultEffect: 'BLOCK',
};

async function ask(params: Record<string, unknown>, context: Record<string, string> = {}) {
  const result = await server.gql(
    agent.token,
    `mutation($input: RequestActionInput!) { requestAction(input: $input) { request { ${REQUEST} } errors { message } } }`,
    { input: { action: 'deploy.update', resource: 'prod/payments', params, context } },
  );
  expect(result.data.requestAction.errors).toEqual([]);
  return result.data.requestAction.request;
}

const readRequest = async (token: string, id: string) =>
  (await server.gql(token, `query($id: ID!) { actionRequest(id: $id) { ${REQUEST} } }`, { id })).data.actionRequest;

async function requestEvents(token: string, requestId: string) {
  await allSealed(server);
  const result = await server.gql(
    token,
    `query($f: AuditEventFilter) { auditEvents(filter: $f, first: 50) { edges { node { type data } } } }`,
    {
      f: { requestId },
    },
  );
  expect(result.errors).toBeUndefined();
  return result.data.auditEvents.edges.map((e: { node: { type: string; data: Record<string, any> } }) => e.node);
}

async function exportLines(token: string): Promise<ExportLine[]> {
  const response = await fetch(`${server.url}/audit/export`, { headers: { authorization: `Bearer ${token}` } });
  expect(response.status).toBe(200);
  return (await response.text())
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as ExportLine);
}

async function streamCursor(): Promise<string> {
  return (await server.gql(reviewer.token, '{ pendingApprovals(first: 1) { streamCursor } }')).data.pendingApprovals.streamCursor;
}

beforeAll(async () => {
  server = await startTestServer({ audit: { checkpointEvents: 3 } });
  agent = await createActor(server, { kind: 'AGENT', name: 'deploy-bot', roles: ['AGENT'] });
  reviewer = await createActor(server, { kind: 'HUMAN', name: 'Grace', roles: ['REVIEWER'], groups: ['sre'] });
  auditor = await createActor(server, { kind: 'HUMAN', name: 'Margaret', roles: ['AUDITOR'] });
});

afterAll(async () => {
  await server?.stop();
});

describe('redaction', () => {
  it('refuses bad paths by index and publishes nothing', async () => {
    const payload = await publish({ ...POLICY, redact: ['params.password', 'password', 'context.a.b', 'params.password'] });
    expect(payload.policy).toBeNull();
    expect(payload.errors).toEqual([
      expect.objectContaining({
        __typename: 'InvalidPolicyError',
        issues: [
          { ruleId: null, field: 'redact[1]', message: 'must start with "params." or "context." (got "password")' },
          { ruleId: null, field: 'redact[2]', message: 'context values are strings: name one label, e.g. "context.ticket"' },
          { ruleId: null, field: 'redact[3]', message: 'duplicate path "params.password"' },
        ],
      }),
    ]);
    expect((await server.gql(ADMIN_TOKEN, '{ activePolicy { version } }')).data.activePolicy).toBeNull();
  });

  it('keeps the content hash of a policy without redaction, and hashes the list when there is one', async () => {
    const plain = await publish(POLICY);
    const empty = await publish({ ...POLICY, redact: [] });
    expect(empty.policy).toMatchObject({ redact: [], contentHash: plain.policy.contentHash });
    const redacting = await publish({ ...POLICY, redact: REDACT });
    expect(redacting.policy.redact).toEqual(REDACT);
    expect(redacting.policy.contentHash).not.toBe(plain.policy.contentHash);
  });

  it('masks the values for the agent, reviewers (live too) and auditors, and shows them to ADMIN', async () => {
    const after = await streamCursor();
    const queue = collect(
      server.ws(reviewer.token).iterate<{ pendingApprovals: { kind: string; request: Record<string, any> } }>({
        query: `subscription($after: String) { pendingApprovals(after: $after) { kind request { id params context } } }`,
        variables: { after },
      }),
    );
    const request = await ask(PARAMS, CONTEXT);

    // The agent's own answer already holds markers, one per redacted value; the rest is as sent.
    expect(request.redactPaths).toEqual(REDACT);
    expect(request.params).toEqual({
      password: expect.stringMatching(MARKER),
      db: { user: expect.stringMatching(MARKER), pass: expect.stringMatching(MARKER) },
      replicas: 3,
    });
    expect(request.context).toEqual({ customer_email: expect.stringMatching(MARKER), ticket: 'INC-42' });
    expect(new Set([request.params.password, request.params.db.user, request.params.db.pass]).size).toBe(3);

    const added = await queue.next();
    expect(added.data!.pendingApprovals).toEqual({
      kind: 'ADDED',
      request: { id: request.id, params: request.params, context: request.context },
    });
    await queue.return();

    expect(await readRequest(reviewer.token, request.id)).toMatchObject({ params: request.params, context: request.context });
    expect(await readRequest(auditor.token, request.id)).toMatchObject({ params: request.params, context: request.context });
    expect(await readRequest(ADMIN_TOKEN, request.id)).toMatchObject({ params: PARAMS, context: CONTEXT });

    // A second request with the same password gets the same marker; another password another.
    const again = await ask({ password: 'hunter2' });
    const other = await ask({ password: 'hunter3' });
    expect(again.params.password).toBe(request.params.password);
    expect(other.params.password).not.toBe(request.params.password);
  });

  it('logs markers only: the audit table never holds the values, auditors see markers, ADMIN the values', async () => {
    const request = await ask(PARAMS, CONTEXT);
    const [logged] = await requestEvents(auditor.token, request.id);
    expect(logged.type).toBe('ACTION_REQUESTED');
    expect(logged.data.params).toEqual(request.params);
    expect(logged.data.context).toEqual(request.context);
    const [revealed] = await requestEvents(ADMIN_TOKEN, request.id);
    expect(revealed.data).toMatchObject({ params: PARAMS, context: CONTEXT });

    const leaks = await server.app.deps.db.execute(
      sql`SELECT count(*)::int AS n FROM audit_events WHERE data::text LIKE '%hunter2%' OR data::text LIKE '%s3cret%' OR data::text LIKE '%ada@example.com%'`,
    );
    expect((leaks as unknown as { rows: { n: number }[] }).rows[0]!.n).toBe(0);
  });

  it('masks a reviewer’s amendment in the review, the approved params and the log, and pushes it masked to the agent', async () => {
    const request = await ask(PARAMS);
    const decided = collect(
      server.ws(agent.token).iterate<{ actionDecided: Record<string, any> }>({
        query: `subscription($id: ID) { actionDecided(requestId: $id) { id status approvedParams amendedParams } }`,
        variables: { id: request.id },
      }),
    );
    const amended = { password: 'correct-horse', db: { user: 'app', pass: 's3cret' }, replicas: 4 };
    const result = await server.gql(
      reviewer.token,
      `mutation($input: DecideActionInput!) { decideAction(input: $input) { request { ${REQUEST} } errors { message } } }`,
      { input: { requestId: request.id, verdict: 'APPROVE', params: amended } },
    );
    const approved = result.data.decideAction.request;
    expect(approved.status).toBe('APPROVED');
    const masked = { password: expect.stringMatching(MARKER), db: request.params.db, replicas: 4 };
    expect(approved.amendedParams).toEqual(masked);
    expect(approved.approvedParams).toEqual(approved.amendedParams);
    expect(approved.reviews).toEqual([{ amendedParams: approved.amendedParams }]);

    const pushed = await decided.next();
    expect(pushed.data!.actionDecided).toEqual({
      id: request.id,
      status: 'APPROVED',
      approvedParams: approved.amendedParams,
      amendedParams: approved.amendedParams,
    });

    const admin = await readRequest(ADMIN_TOKEN, request.id);
    expect(admin).toMatchObject({ amendedParams: amended, approvedParams: amended, reviews: [{ amendedParams: amended }] });

    const review = (await requestEvents(auditor.token, request.id)).find((e: { type: string }) => e.type === 'REVIEW_SUBMITTED');
    expect(review.data.amendedParams).toEqual(approved.amendedParams);
    const adminReview = (await requestEvents(ADMIN_TOKEN, request.id)).find((e: { type: string }) => e.type === 'REVIEW_SUBMITTED');
    expect(adminReview.data.amendedParams).toEqual(amended);
  });

  it('streams audit events masked to auditors and revealed to ADMIN', async () => {
    const after = await streamCursor();
    const subscribe = (token: string) =>
      collect(
        server.ws(token).iterate<{ auditEvents: { type: string; data: Record<string, any> } }>({
          query: `subscription($after: String, $f: AuditEventFilter) { auditEvents(after: $after, filter: $f) { type data } }`,
          variables: { after, f: { types: ['ACTION_REQUESTED'], agentId: agent.id } },
        }),
      );
    const auditorStream = subscribe(auditor.token);
    const adminStream = subscribe(ADMIN_TOKEN);
    const request = await ask(PARAMS, CONTEXT);
    expect((await auditorStream.next()).data!.auditEvents.data).toMatchObject({ params: request.params, context: request.context });
    expect((await adminStream.next()).data!.auditEvents.data).toMatchObject({ params: PARAMS, context: CONTEXT });
  });

  it('exports markers to auditors; ADMIN’s export carries the values beside them; both verify offline', async () => {
    await allSealed(server);
    const jwk = await (await fetch(`${server.url}/.well-known/greenlight-audit-key.json`)).json();
    const from = (lines: ExportLine[]) =>
      async function* () {
        yield* lines;
      };

    const audited = await exportLines(auditor.token);
    expect(JSON.stringify(audited)).not.toMatch(/hunter2|s3cret|ada@example\.com|correct-horse/);
    expect(audited.some((line) => 'redacted' in line)).toBe(false);
    expect(await verifyExport(from(audited), [jwk])).toMatchObject({ ok: true });

    const administered = await exportLines(ADMIN_TOKEN);
    const withValues = administered.filter((line) => line.kind === 'event' && line.redacted);
    expect(withValues.length).toBeGreaterThan(0);
    const first = withValues.find((line) => line.kind === 'event' && line.type === 'ACTION_REQUESTED')!;
    expect(first).toMatchObject({
      data: { params: { password: expect.stringMatching(MARKER) } },
      redacted: expect.arrayContaining([
        { path: ['params', 'password'], value: 'hunter2' },
        { path: ['context', 'customer_email'], value: 'ada@example.com' },
      ]),
    });
    expect(await verifyExport(from(administered), [jwk])).toMatchObject({
      ok: true,
      eventsChecked: audited.filter((l) => l.kind === 'event').length,
    });

    const verified = await server.gql(auditor.token, '{ verifyAuditLog { ok firstBrokenSeq } }');
    expect(verified.data.verifyAuditLog).toEqual({ ok: true, firstBrokenSeq: null });
  });

  it('never shows ADMIN a value changed beside the chain: the logged marker stays', async () => {
    const request = await ask({ password: 'hunter2' });
    await server.app.deps.db.execute(
      sql`UPDATE audit_redacted_values SET redacted = '[{"path":["params","password"],"value":"forged"}]'::jsonb
          WHERE event_id = (SELECT id FROM audit_events WHERE request_id = ${request.id} AND type = 'ACTION_REQUESTED')`,
    );
    const [logged] = await requestEvents(ADMIN_TOKEN, request.id);
    expect(logged.data.params).toEqual({ password: expect.stringMatching(MARKER) });
  });
});
