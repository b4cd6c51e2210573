import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { actionRequests } from '../../src/db/schema.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/app.js';
import { allSealed, collect, createActor, decideAction, publishPolicy, requestAction, type Actor } from '../support/fixtures.js';

let server: TestServer;
let agent: Actor;
let otherAgent: Actor;
let sre: Actor;
let security: Actor;
let auditor: Actor;

beforeAll(async () => {
  server = await startTestServer();
  agent = await createActor(server, { kind: 'AGENT', name: 'deploy-bot', roles: ['AGENT'], labels: { team: 'payments' } });
  otherAgent = await createActor(server, { kind: 'AGENT', name: 'config-bot', roles: ['AGENT'] });
  sre = await createActor(server, { kind: 'HUMAN', name: 'Ada', roles: ['REVIEWER'], groups: ['sre'] });
  security = await createActor(server, { kind: 'HUMAN', name: 'Grace', roles: ['REVIEWER'], groups: ['security'] });
  auditor = await createActor(server, { kind: 'HUMAN', name: 'Margaret', roles: ['AUDITOR'] });
  await publishPolicy(server, [
    { id: 'allow-staging-deploys', effect: 'ALLOW', actions: ['deploy.*'], resources: ['staging/**'] },
    {
      id: 'block-prod-deletes',
      effect: 'BLOCK',
      actions: ['*.delete'],
      resources: ['prod/**'],
      reason: 'Deleting production data is never automatic.',
    },
    {
      id: 'escalate-prod-deploys',
      effect: 'ESCALATE',
      actions: ['deploy.*'],
      resources: ['prod/**'],
      review: { groups: ['sre'], approvals: 1, timeoutSeconds: 600 },
    },
    { id: 'escalate-secrets', effect: 'ESCALATE', actions: ['secret.*'], resources: ['**'], review: { groups: ['security'] } },
  ]);
});

afterAll(async () => {
  await server?.stop();
});

const PENDING_APPROVALS = `subscription($after: String) {
  pendingApprovals(after: $after) { kind cursor request { id status action resource } }
}`;

async function queueCursor(token: string): Promise<string> {
  const result = await server.gql(token, '{ pendingApprovals(first: 1) { streamCursor } }');
  return result.data.pendingApprovals.streamCursor;
}

async function auditTypes(requestId: string): Promise<{ type: string; actor: { id: string } | null }[]> {
  await allSealed(server);
  const result = await server.gql(
    auditor.token,
    `query($filter: AuditEventFilter) { auditEvents(filter: $filter, first: 100) { edges { node { type actor { id } } } } }`,
    { filter: { requestId } },
  );
  expect(result.errors).toBeUndefined();
  return result.data.auditEvents.edges.map((edge: { node: unknown }) => edge.node);
}

describe('the approval loop over HTTP and graphql-ws', () => {
  it('escalates, tells the reviewer live, delivers the approval to the agent, and audits every step', async () => {
    const sreQueue = collect(
      server.ws(sre.token).iterate({ query: PENDING_APPROVALS, variables: { after: await queueCursor(sre.token) } }),
    );
    const securityQueue = collect(
      server.ws(security.token).iterate({ query: PENDING_APPROVALS, variables: { after: await queueCursor(security.token) } }),
    );

    const requested = await requestAction(server, agent.token, {
      action: 'deploy.update',
      resource: 'prod/payments-api',
      params: { version: '2.4.1' },
      reason: 'Roll out the fix for INC-42',
    });
    expect(requested.errors).toBeUndefined();
    const request = requested.data.requestAction.request;
    expect(request).toMatchObject({
      status: 'PENDING',
      decidedBy: null,
      requiredGroups: ['sre'],
      requiredApprovals: 1,
      params: { version: '2.4.1' },
      evaluation: { effect: 'ESCALATE', matchedRules: ['escalate-prod-deploys'], policyVersion: 1 },
    });
    expect(Date.parse(request.expiresAt)).toBeGreaterThan(Date.now() + 500_000); // ~600 s from now

    const agentDecided = collect(
      server.ws(agent.token).iterate({
        query: `subscription($id: ID) { actionDecided(requestId: $id) { id status decidedBy decisionReason decider { id } } }`,
        variables: { id: request.id },
      }),
    );

    const added = await sreQueue.next();
    expect(added.data).toMatchObject({ pendingApprovals: { kind: 'ADDED', request: { id: request.id, status: 'PENDING' } } });

    const decided = await decideAction(server, sre.token, { requestId: request.id, verdict: 'APPROVE', comment: 'LGTM, ship it' });
    expect(decided.data.decideAction.errors).toEqual([]);
    expect(decided.data.decideAction.request).toMatchObject({ status: 'APPROVED', decidedBy: 'REVIEWER', approvalsReceived: 1 });

    expect((await agentDecided.next()).data).toEqual({
      actionDecided: {
        id: request.id,
        status: 'APPROVED',
        decidedBy: 'REVIEWER',
        decisionReason: 'LGTM, ship it',
        decider: { id: sre.id },
      },
    });
    expect(await agentDecided.done()).toBe(true);

    const removed = await sreQueue.next();
    expect(removed.data).toMatchObject({ pendingApprovals: { kind: 'REMOVED', request: { id: request.id, status: 'APPROVED' } } });

    // The security reviewer was never told about the SRE request: its first event is its own.
    const secret = await requestAction(server, agent.token, { action: 'secret.read', resource: 'vault/payments' });
    const securityAdded = await securityQueue.next();
    expect(securityAdded.data?.['pendingApprovals']).toMatchObject({
      kind: 'ADDED',
      request: { id: secret.data.requestAction.request.id },
    });

    expect(await auditTypes(request.id)).toEqual([
      { type: 'ACTION_REQUESTED', actor: { id: agent.id } },
      { type: 'ACTION_ESCALATED', actor: null },
      { type: 'REVIEW_SUBMITTED', actor: { id: sre.id } },
      { type: 'ACTION_APPROVED', actor: { id: sre.id } },
    ]);
  });

  it('approves at once what the policy allows', async () => {
    const result = await requestAction(server, agent.token, { action: 'deploy.update', resource: 'staging/payments-api' });
    const request = result.data.requestAction.request;
    expect(request).toMatchObject({
      status: 'APPROVED',
      decidedBy: 'POLICY',
      expiresAt: null,
      requiredApprovals: 0,
      evaluation: { effect: 'ALLOW', matchedRules: ['allow-staging-deploys'], decidingRules: ['allow-staging-deploys'] },
    });
    expect(request.decidedAt).not.toBeNull();
    expect((await auditTypes(request.id)).map((event) => event.type)).toEqual(['ACTION_REQUESTED', 'ACTION_APPROVED']);
  });

  it('lets the agent report the outcome of an allowed action within its window', async () => {
    const allowed = (await requestAction(server, agent.token, { action: 'deploy.update', resource: 'staging/outcome' })).data.requestAction
      .request;
    const report = `mutation($input: ReportActionOutcomeInput!) {
      reportActionOutcome(input: $input) { request { outcome outcomeDetail validUntil } errors { __typename message } }
    }`;
    const result = await server.gql(agent.token, report, {
      input: { requestId: allowed.id, outcome: 'FAILED', detail: 'health check failed' },
    });
    expect(result.data.reportActionOutcome).toMatchObject({
      request: { outcome: 'FAILED', outcomeDetail: 'health check failed' },
      errors: [],
    });
    expect(Date.parse(result.data.reportActionOutcome.request.validUntil)).toBeGreaterThan(Date.now());
    const again = await server.gql(agent.token, report, { input: { requestId: allowed.id, outcome: 'SUCCEEDED' } });
    expect(again.data.reportActionOutcome).toMatchObject({ request: null, errors: [{ __typename: 'ConflictError' }] });
  });

  it("blocks what the policy blocks, with the rule's reason", async () => {
    const result = await requestAction(server, agent.token, { action: 'db.delete', resource: 'prod/payments-db' });
    expect(result.data.requestAction.request).toMatchObject({
      status: 'BLOCKED',
      decidedBy: 'POLICY',
      decisionReason: 'Deleting production data is never automatic.',
      evaluation: { effect: 'BLOCK', matchedRules: ['block-prod-deletes'] },
    });
    expect(result.data.requestAction.request.evaluation.explanation).toContain('block-prod-deletes');
    expect((await auditTypes(result.data.requestAction.request.id)).map((event) => event.type)).toEqual([
      'ACTION_REQUESTED',
      'ACTION_BLOCKED',
    ]);
  });

  it('emits an already decided request at once on actionDecided and completes', async () => {
    const result = await requestAction(server, agent.token, { action: 'deploy.update', resource: 'staging/web' });
    const id = result.data.requestAction.request.id;
    const stream = collect(
      server.ws(agent.token).iterate({ query: `subscription($id: ID) { actionDecided(requestId: $id) { id status } }`, variables: { id } }),
    );
    expect((await stream.next()).data).toEqual({ actionDecided: { id, status: 'APPROVED' } });
    expect(await stream.done()).toBe(true);
  });

  it('delivers a rejection with the reviewer comment to the agent', async () => {
    const result = await requestAction(server, agent.token, { action: 'deploy.rollback', resource: 'prod/ledger' });
    const id = result.data.requestAction.request.id;
    const listeners = server.app.deps.hub.listenerCount();
    const stream = collect(
      server.ws(agent.token).iterate({ query: `subscription { actionDecided { id status decidedBy decisionReason } }` }),
    );
    // Without requestId the stream is live-only: wait until the server has registered it.
    const first = stream.next();
    await vi.waitFor(() => expect(server.app.deps.hub.listenerCount()).toBe(listeners + 1));
    await decideAction(server, sre.token, { requestId: id, verdict: 'REJECT', comment: 'Not during the freeze' });
    expect((await first).data).toEqual({
      actionDecided: { id, status: 'REJECTED', decidedBy: 'REVIEWER', decisionReason: 'Not during the freeze' },
    });
  });

  it('tells the agent and the reviewer live when a request expires or is cancelled', async () => {
    const queue = collect(server.ws(sre.token).iterate({ query: PENDING_APPROVALS, variables: { after: await queueCursor(sre.token) } }));
    const overdue = (await requestAction(server, agent.token, { action: 'deploy.update', resource: 'prod/slow' })).data.requestAction
      .request;
    const withdrawn = (await requestAction(server, agent.token, { action: 'deploy.update', resource: 'prod/oops' })).data.requestAction
      .request;
    expect((await queue.next()).data?.['pendingApprovals']).toMatchObject({ kind: 'ADDED', request: { id: overdue.id } });
    expect((await queue.next()).data?.['pendingApprovals']).toMatchObject({ kind: 'ADDED', request: { id: withdrawn.id } });

    const decided = `subscription($id: ID) { actionDecided(requestId: $id) { id status decidedBy decisionReason } }`;
    const overdueDecision = collect(server.ws(agent.token).iterate({ query: decided, variables: { id: overdue.id } }));
    // Move the deadline into the past as the database sees it; the server's own sweeper does the rest.
    await server.app.deps.db
      .update(actionRequests)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(eq(actionRequests.id, overdue.id));
    expect((await overdueDecision.next()).data).toEqual({
      actionDecided: {
        id: overdue.id,
        status: 'EXPIRED',
        decidedBy: 'TIMEOUT',
        decisionReason: 'No reviewer decided before the deadline.',
      },
    });
    expect((await queue.next()).data?.['pendingApprovals']).toMatchObject({
      kind: 'REMOVED',
      request: { id: overdue.id, status: 'EXPIRED' },
    });

    const cancel = await server.gql(
      agent.token,
      `mutation($input: CancelActionRequestInput!) { cancelActionRequest(input: $input) { request { status decidedBy } errors { __typename } } }`,
      { input: { requestId: withdrawn.id, reason: 'wrong service' } },
    );
    expect(cancel.data.cancelActionRequest).toEqual({ request: { status: 'CANCELLED', decidedBy: 'REQUESTER' }, errors: [] });
    expect((await queue.next()).data?.['pendingApprovals']).toMatchObject({
      kind: 'REMOVED',
      request: { id: withdrawn.id, status: 'CANCELLED' },
    });
  });

  it('streams the audit log live to auditors after a cursor', async () => {
    const head = await server.gql(auditor.token, '{ pendingApprovals(first: 0) { streamCursor } }');
    expect(head.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    await allSealed(server);
    const page = await server.gql(auditor.token, '{ auditEvents(first: 100) { edges { cursor } pageInfo { endCursor hasNextPage } } }');
    let cursor = page.data.auditEvents.pageInfo.endCursor;
    let more = page.data.auditEvents.pageInfo.hasNextPage;
    while (more) {
      const next = await server.gql(
        auditor.token,
        `query($after: String) { auditEvents(first: 100, after: $after) { pageInfo { endCursor hasNextPage } } }`,
        {
          after: cursor,
        },
      );
      cursor = next.data.auditEvents.pageInfo.endCursor;
      more = next.data.auditEvents.pageInfo.hasNextPage;
    }
    const stream = collect(
      server.ws(auditor.token).iterate({
        query: `subscription($after: String) { auditEvents(after: $after) { type requestId actor { id } } }`,
        variables: { after: cursor },
      }),
    );
    const result = await requestAction(server, otherAgent.token, { action: 'deploy.update', resource: 'staging/api' });
    const id = result.data.requestAction.request.id;
    expect((await stream.next()).data).toEqual({ auditEvents: { type: 'ACTION_REQUESTED', requestId: id, actor: { id: otherAgent.id } } });
    expect((await stream.next()).data).toEqual({ auditEvents: { type: 'ACTION_APPROVED', requestId: id, actor: null } });
  });
});

describe('who may do what', () => {
  it('refuses roles that do not fit the field', async () => {
    const asReviewer = await requestAction(server, sre.token, { action: 'deploy.update', resource: 'staging/x' });
    expect(asReviewer.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');

    // Agents reach decideAction (to be told, in a typed error, that only humans review).
    const asAgent = await decideAction(server, agent.token, { requestId: '00000000-0000-0000-0000-000000000000', verdict: 'APPROVE' });
    expect(asAgent.data.decideAction).toMatchObject({ request: null, errors: [{ __typename: 'SeparationOfDutiesError', party: 'AGENT' }] });

    const agentAudit = await server.gql(agent.token, '{ auditEvents { edges { cursor } } }');
    expect(agentAudit.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');

    const anonymous = await server.gql(null, '{ actionRequests { edges { cursor } } }');
    expect(anonymous.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    expect(anonymous.errors?.[0]?.message).toMatch(/send "Authorization: Bearer <token>"/);
    const wrongToken = await server.gql('gl_wrong', '{ actionRequests { edges { cursor } } }');
    expect(wrongToken.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/unknown or revoked/),
      extensions: { code: 'UNAUTHENTICATED' },
    });

    const notAdmin = await server.gql(
      sre.token,
      `mutation { createPrincipal(input: { kind: HUMAN, name: "Eve", roles: [ADMIN] }) { token } }`,
    );
    expect(notAdmin.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    expect(notAdmin.data).toBeNull();
  });

  it('shows an agent only its own requests', async () => {
    const mine = (await requestAction(server, agent.token, { action: 'deploy.update', resource: 'staging/mine' })).data.requestAction
      .request;
    const theirs = await server.gql(otherAgent.token, `query($id: ID!) { actionRequest(id: $id) { id } }`, { id: mine.id });
    expect(theirs).toEqual({ data: { actionRequest: null } });
    const list = await server.gql(otherAgent.token, `{ actionRequests(first: 100) { edges { node { agent { id } } } } }`);
    const agents = new Set(list.data.actionRequests.edges.map((edge: { node: { agent: { id: string } } }) => edge.node.agent.id));
    expect([...agents]).toEqual([otherAgent.id]);
  });

  it('lets a reviewer decide only where its groups are required, and writes nothing otherwise', async () => {
    const request = (await requestAction(server, agent.token, { action: 'deploy.update', resource: 'prod/checkout' })).data.requestAction
      .request;
    const before = await auditTypes(request.id);

    const wrongGroup = await decideAction(server, security.token, { requestId: request.id, verdict: 'APPROVE' });
    // A reviewer outside the required groups cannot even see the request.
    expect(wrongGroup.data.decideAction).toMatchObject({ request: null, errors: [{ __typename: 'NotFoundError' }] });

    const unknown = await decideAction(server, sre.token, { requestId: '9b2f4c1e-0000-4000-8000-000000000000', verdict: 'APPROVE' });
    expect(unknown.data.decideAction.errors).toMatchObject([{ __typename: 'NotFoundError' }]);

    expect(await auditTypes(request.id)).toEqual(before);

    await decideAction(server, sre.token, { requestId: request.id, verdict: 'REJECT', comment: 'no' });
    const again = await decideAction(server, sre.token, { requestId: request.id, verdict: 'APPROVE' });
    expect(again.data.decideAction).toMatchObject({
      request: null,
      errors: [{ __typename: 'ConflictError', currentStatus: 'REJECTED' }],
    });
  });

  it('answers actionDecided for an unknown or hidden request with NOT_FOUND', async () => {
    const secret = (await requestAction(server, agent.token, { action: 'deploy.update', resource: 'prod/hidden' })).data.requestAction
      .request;
    for (const id of [secret.id, '4b0c0b9e-1111-4111-8111-111111111111']) {
      const stream = server
        .ws(otherAgent.token)
        .iterate({ query: `subscription($id: ID) { actionDecided(requestId: $id) { id } }`, variables: { id } });
      // graphql-ws ends the operation with an error message; the client's iterator rejects with it.
      await expect(stream.next()).rejects.toEqual([{ message: `ActionRequest ${id} was not found.`, extensions: { code: 'NOT_FOUND' } }]);
    }
  });

  it('fails only the operation, not the socket, when a subscription does not parse', async () => {
    const client = server.ws(auditor.token);
    await expect(client.iterate({ query: 'subscription { auditEvents { type ' }).next()).rejects.toMatchObject([
      { message: expect.stringMatching(/Syntax Error/) },
    ]);
    const stream = collect(
      client.iterate({ query: `subscription($after: String) { auditEvents(after: $after) { id } }`, variables: { after: 'YXVkaXQ6MA' } }),
    );
    expect((await stream.next()).data).toEqual({ auditEvents: { id: '1' } });
  });

  it('releases the server-side listener when a subscriber goes away', async () => {
    const hub = server.app.deps.hub;
    const baseline = hub.listenerCount();
    const client = server.ws(sre.token);
    const stream = client.iterate({ query: PENDING_APPROVALS, variables: { after: await queueCursor(sre.token) } });
    void stream.next().catch(() => undefined);
    await vi.waitFor(() => expect(hub.listenerCount()).toBe(baseline + 1));
    await client.dispose();
    await vi.waitFor(() => expect(hub.listenerCount()).toBe(baseline));
  });

  it('closes a WebSocket with a bad token with 4403', async () => {
    const code = await new Promise<number>((resolve) => {
      server.ws('gl_not-a-real-token', { onClose: resolve });
    });
    expect(code).toBe(4403);
  });

  it('closes a WebSocket without a token with 4403', async () => {
    const code = await new Promise<number>((resolve) => {
      server.ws(null, { onClose: resolve });
    });
    expect(code).toBe(4403);
  });

  it('keeps the token of a new principal out of storage and shows it only once', async () => {
    const created = await createActor(server, { kind: 'AGENT', name: 'once-bot', roles: ['AGENT'] });
    expect(created.token).toMatch(/^gl_[A-Za-z0-9_-]{43}$/);
    const viewer = await server.gql(created.token, '{ viewer { id kind roles } }');
    expect(viewer.data.viewer).toEqual({ id: created.id, kind: 'AGENT', roles: ['AGENT'] });
    const stored = await server.app.database.db.execute(`SELECT token_hash FROM tokens` as never);
    const hashes = (stored as unknown as { rows: { token_hash: string }[] }).rows.map((row) => row.token_hash);
    expect(hashes).not.toContain(created.token);
    expect(hashes).toHaveLength(new Set(hashes).size);
  });
});

describe('bad input', () => {
  it('refuses a malformed request with typed errors and writes nothing', async () => {
    await allSealed(server);
    const before = await server.gql(ADMIN_TOKEN, '{ auditEvents(first: 100) { edges { cursor } } }');
    const empty = await requestAction(server, agent.token, { action: '', resource: ' ', params: [1, 2] });
    expect(empty.data.requestAction.request).toBeNull();
    expect(empty.data.requestAction.errors[0].__typename).toBe('InvalidInputError');
    expect(empty.data.requestAction.errors[0].problems.map((p: { field: string }) => p.field).sort()).toEqual([
      'action',
      'params',
      'resource',
    ]);
    const notJson = await requestAction(server, agent.token, { action: 'x.y', resource: 'r', params: 'not an object' });
    expect(notJson.data.requestAction.errors[0].problems).toEqual([{ field: 'params', message: 'must be a JSON object' }]);
    const longKey = await requestAction(server, agent.token, { action: 'x.y', resource: 'r', idempotencyKey: 'k'.repeat(256) });
    expect(longKey.data.requestAction.errors[0].problems[0].field).toBe('idempotencyKey');
    await allSealed(server);
    const after = await server.gql(ADMIN_TOKEN, '{ auditEvents(first: 100) { edges { cursor } } }');
    expect(after.data.auditEvents.edges).toEqual(before.data.auditEvents.edges);
  });

  it('refuses text PostgreSQL cannot store (NUL) as invalid input instead of failing in the database', async () => {
    const nul = await requestAction(server, agent.token, {
      action: 'deploy.update',
      resource: 'staging/x',
      reason: 'a\u0000b',
      params: { note: 'c\u0000d' },
      idempotencyKey: 'k\u0000',
    });
    expect(nul.errors).toBeUndefined();
    expect(nul.data.requestAction.errors[0].problems.map((p: { field: string }) => p.field).sort()).toEqual([
      'idempotencyKey',
      'params',
      'reason',
    ]);
    const pending = (await requestAction(server, agent.token, { action: 'deploy.update', resource: 'prod/nul' })).data.requestAction
      .request;
    const comment = await decideAction(server, sre.token, { requestId: pending.id, verdict: 'APPROVE', comment: 'ok\u0000' });
    expect(comment.data.decideAction.errors).toMatchObject([{ __typename: 'InvalidInputError' }]);
    const filtered = await server.gql(agent.token, `query($f: ActionRequestFilter) { actionRequests(filter: $f) { edges { cursor } } }`, {
      f: { action: 'deploy\u0000' },
    });
    expect(filtered).toEqual({ data: { actionRequests: { edges: [] } } });
  });

  it('rejects an unknown status in a filter as a GraphQL validation error', async () => {
    const result = await server.gql(agent.token, '{ actionRequests(filter: { statuses: [DONE] }) { edges { cursor } } }');
    expect(result.errors?.[0]?.message).toMatch(/DONE/);
  });

  it('refuses abusive queries before executing them', async () => {
    const aliased = await server.gql(agent.token, `{ ${Array.from({ length: 20 }, (_, i) => `v${i}: viewer { id }`).join(' ')} }`);
    expect(aliased.data).toBeUndefined();
    expect(aliased.errors?.[0]?.message).toMatch(/aliases/i);
    const deep = await server.gql(
      auditor.token,
      `{ auditEvents { edges { node { request { agent { id } reviews { reviewer { id } } evaluation { review { groups } } } } } } }`,
    );
    expect(deep.errors).toBeUndefined();
  });

  it('rejects an invalid cursor clearly', async () => {
    const result = await server.gql(agent.token, '{ actionRequests(after: "bm9wZQ") { edges { cursor } } }');
    expect(result.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    expect(result.errors?.[0]?.message).toMatch(/Invalid cursor/);
  });

  it('refuses a policy with an invalid glob, naming the rule and field, and keeps the active version', async () => {
    const result = await server.gql(
      ADMIN_TOKEN,
      `mutation { publishPolicy(input: { rules: [
        { id: "ok", effect: ALLOW, actions: ["a.*"], resources: ["**"] },
        { id: "bad", effect: BLOCK, actions: ["deploy.[prod"], resources: [] }
      ] }) { policy { version } errors { __typename message ... on InvalidPolicyError { issues { ruleId field message } } } } }`,
    );
    expect(result.data.publishPolicy.policy).toBeNull();
    expect(result.data.publishPolicy.errors[0].issues).toEqual([
      { ruleId: 'bad', field: 'actions[0]', message: `glob "deploy.[prod" has an unclosed '['` },
      { ruleId: 'bad', field: 'resources', message: 'must list at least one glob (use "*" or "**" to match everything)' },
    ]);
    const active = await server.gql(ADMIN_TOKEN, '{ activePolicy { version } }');
    expect(active.data.activePolicy.version).toBe(1);
  });

  it('returns the original request for a retry with the same idempotency key, and refuses a different payload', async () => {
    const input = { action: 'deploy.update', resource: 'prod/search', params: { v: 1 }, idempotencyKey: 'deploy-search-1' };
    const first = await requestAction(server, agent.token, input);
    const retry = await requestAction(server, agent.token, input);
    expect(retry.data.requestAction.request.id).toBe(first.data.requestAction.request.id);
    const changed = await requestAction(server, agent.token, { ...input, params: { v: 2 } });
    expect(changed.data.requestAction.errors).toEqual([
      {
        __typename: 'IdempotencyConflictError',
        message: expect.stringContaining('idempotency key'),
        existingRequestId: first.data.requestAction.request.id,
      },
    ]);
    expect(await auditTypes(first.data.requestAction.request.id)).toHaveLength(2);
  });
});
