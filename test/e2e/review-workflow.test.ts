import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/app.js';
import { allSealed, collect, createActor, decideAction, publishPolicy, requestAction, type Actor } from '../support/fixtures.js';

// The review workflow over real HTTP and graphql-ws: quorum progress, separation of duties,
// break-glass overrides, approve with changes, deadline extensions, and the timeout ladder run
// by the server's own sweeper in real (database) time.

let server: TestServer;
let owner: Actor;
let agent: Actor;
let sre: Actor;
let sre2: Actor;
let security: Actor;

const DECIDED = `subscription($requestId: ID) {
  actionDecided(requestId: $requestId) {
    id status decidedBy decisionReason overridden params amendedParams approvedParams revision decider { id }
  }
}`;

const QUEUE = `subscription($after: String) { pendingApprovals(after: $after) { kind request { id requiredGroups } } }`;

/** A reviewer's queue from now on: subscribing after the current stream position misses nothing. */
async function queueOf(actor: Actor) {
  const after = (await server.gql(actor.token, '{ pendingApprovals(first: 1) { streamCursor } }')).data.pendingApprovals.streamCursor;
  return collect(server.ws(actor.token).iterate<any>({ query: QUEUE, variables: { after } }));
}

const PROGRESS = `query($id: ID!) {
  actionRequest(id: $id) {
    status requiredApprovals approvalsReceived owner { id }
    reviewRequirements { ruleId groups approvals approvalsReceived approvers { id } met escalationStepsReached escalation { afterSeconds groups } }
  }
}`;

beforeAll(async () => {
  // A fast sweeper: the ladder test waits for real steps and a real deadline.
  server = await startTestServer({ sweepIntervalMs: 100 });
  owner = await createActor(server, { kind: 'HUMAN', name: 'Owen', roles: ['REVIEWER'], groups: ['sre'] });
  agent = await createActor(server, { kind: 'AGENT', name: 'deploy-bot', roles: ['AGENT'], owner: owner.id });
  sre = await createActor(server, { kind: 'HUMAN', name: 'Ada', roles: ['REVIEWER'], groups: ['sre'] });
  sre2 = await createActor(server, { kind: 'HUMAN', name: 'Alan', roles: ['REVIEWER'], groups: ['sre'] });
  security = await createActor(server, { kind: 'HUMAN', name: 'Grace', roles: ['REVIEWER'], groups: ['security'] });
  await publishPolicy(server, [
    { id: 'sre-two', effect: 'ESCALATE', actions: ['db.migrate'], resources: ['**'], review: { groups: ['sre'], approvals: 2 } },
    { id: 'security-one', effect: 'ESCALATE', actions: ['db.migrate'], resources: ['**'], review: { groups: ['security'] } },
    { id: 'scale', effect: 'ESCALATE', actions: ['deploy.scale'], resources: ['**'], allowAmend: true, review: { groups: ['sre'] } },
    {
      id: 'ladder',
      effect: 'ESCALATE',
      actions: ['dns.update'],
      resources: ['**'],
      review: { groups: ['sre'], timeoutSeconds: 3, escalation: [{ afterSeconds: 1, groups: ['security'] }] },
    },
  ]);
});

afterAll(async () => {
  await server?.stop();
});

async function ask(action: string, resource: string, params?: Record<string, unknown>): Promise<string> {
  const result = await requestAction(server, agent.token, { action, resource, params });
  expect(result.data.requestAction.errors).toEqual([]);
  return result.data.requestAction.request.id;
}

describe('quorum over GraphQL', () => {
  it('shows each requirement with its approvers, and names the owner a party', async () => {
    const id = await ask('db.migrate', 'prod/orders');
    expect((await decideAction(server, sre.token, { requestId: id, verdict: 'APPROVE' })).data.decideAction.errors).toEqual([]);
    const result = await server.gql(sre.token, PROGRESS, { id });
    expect(result.data.actionRequest).toEqual({
      status: 'PENDING',
      requiredApprovals: 3,
      approvalsReceived: 1,
      owner: { id: owner.id },
      reviewRequirements: [
        {
          ruleId: 'sre-two',
          groups: ['sre'],
          approvals: 2,
          approvalsReceived: 1,
          approvers: [{ id: sre.id }],
          met: false,
          escalationStepsReached: 0,
          escalation: [],
        },
        {
          ruleId: 'security-one',
          groups: ['security'],
          approvals: 1,
          approvalsReceived: 0,
          approvers: [],
          met: false,
          escalationStepsReached: 0,
          escalation: [],
        },
      ],
    });

    const asOwner = await decideAction(server, owner.token, { requestId: id, verdict: 'APPROVE' });
    expect(asOwner.data.decideAction).toMatchObject({ request: null, errors: [{ __typename: 'SeparationOfDutiesError', party: 'OWNER' }] });
    await allSealed(server);
    const audit = await server.gql(
      ADMIN_TOKEN,
      `query($f: AuditEventFilter) { auditEvents(filter: $f) { edges { node { type actor { id } } } } }`,
      {
        f: { requestId: id, types: ['REVIEW_REFUSED'] },
      },
    );
    expect(audit.data.auditEvents.edges).toEqual([{ node: { type: 'REVIEW_REFUSED', actor: { id: owner.id } } }]);
  });
});

describe('delivery to the agent', () => {
  it('pushes an approval with changes: comment, source, original and amended params', async () => {
    const id = await ask('deploy.scale', 'prod/api', { replicas: 8 });
    const decided = collect(server.ws(agent.token).iterate<any>({ query: DECIDED, variables: { requestId: id } }));
    const result = await decideAction(server, sre.token, {
      requestId: id,
      verdict: 'APPROVE',
      comment: '3 will do',
      params: { replicas: 3 },
    });
    expect(result.data.decideAction.errors).toEqual([]);
    expect((await decided.next()).data!.actionDecided).toEqual({
      id,
      status: 'APPROVED',
      decidedBy: 'REVIEWER',
      decisionReason: '3 will do',
      overridden: false,
      params: { replicas: 8 },
      amendedParams: { replicas: 3 },
      approvedParams: { replicas: 3 },
      revision: 1,
      decider: { id: sre.id },
    });
    expect(await decided.done()).toBe(true);
  });

  it('pushes a break-glass override, flagged, and refuses it to non-admins', async () => {
    const id = await ask('db.migrate', 'prod/hotfix');
    const decided = collect(server.ws(agent.token).iterate<any>({ query: DECIDED, variables: { requestId: id } }));
    const OVERRIDE = `mutation($input: OverrideDecisionInput!) { overrideDecision(input: $input) { request { status overridden } errors { __typename } } }`;
    const denied = await server.gql(sre.token, OVERRIDE, { input: { requestId: id, verdict: 'APPROVE', reason: 'me' } });
    expect(denied.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    const noReason = await server.gql(ADMIN_TOKEN, OVERRIDE, { input: { requestId: id, verdict: 'APPROVE', reason: '' } });
    expect(noReason.data.overrideDecision).toEqual({ request: null, errors: [{ __typename: 'InvalidInputError' }] });
    const done = await server.gql(ADMIN_TOKEN, OVERRIDE, { input: { requestId: id, verdict: 'REJECT', reason: 'Change freeze' } });
    expect(done.data.overrideDecision).toEqual({ request: { status: 'REJECTED', overridden: true }, errors: [] });
    expect((await decided.next()).data!.actionDecided).toMatchObject({
      status: 'REJECTED',
      decidedBy: 'ADMIN',
      decisionReason: 'Change freeze',
      overridden: true,
    });
  });

  it('extends a deadline for an eligible reviewer and reports bad input as typed errors', async () => {
    const id = await ask('deploy.scale', 'prod/slow', { replicas: 2 });
    const EXTEND = `mutation($input: ExtendActionRequestInput!) {
      extendActionRequest(input: $input) { request { expiresAt extensions } errors { __typename ... on InvalidInputError { problems { field } } } }
    }`;
    const before = (await server.gql(sre.token, 'query($id: ID!) { actionRequest(id: $id) { expiresAt } }', { id })).data.actionRequest
      .expiresAt;
    const extended = await server.gql(sre.token, EXTEND, { input: { requestId: id, bySeconds: 3_600, reason: 'vendor call tomorrow' } });
    expect(extended.data.extendActionRequest.errors).toEqual([]);
    expect(Date.parse(extended.data.extendActionRequest.request.expiresAt) - Date.parse(before)).toBe(3_600_000);
    expect(extended.data.extendActionRequest.request.extensions).toBe(1);
    const bad = await server.gql(sre.token, EXTEND, { input: { requestId: id, bySeconds: 0 } });
    expect(bad.data.extendActionRequest).toEqual({
      request: null,
      errors: [{ __typename: 'InvalidInputError', problems: [{ field: 'bySeconds' }] }],
    });
  });
});

describe('a reviewer looking at a request that changes', () => {
  const LIVE_QUEUE = `subscription($after: String) {
    pendingApprovals(after: $after) { kind request { id status revision approvalsReceived extensions } }
  }`;

  it('hears UPDATED for a review short of quorum, changed params and a longer deadline, then REMOVED', async () => {
    const after = (await server.gql(sre2.token, '{ pendingApprovals(first: 1) { streamCursor } }')).data.pendingApprovals.streamCursor;
    const queue = collect(server.ws(sre2.token).iterate<any>({ query: LIVE_QUEUE, variables: { after } }));
    const partial = await ask('db.migrate', 'prod/updates');
    expect((await queue.next()).data!.pendingApprovals).toMatchObject({ kind: 'ADDED', request: { id: partial, approvalsReceived: 0 } });
    await decideAction(server, sre.token, { requestId: partial, verdict: 'APPROVE' });
    expect((await queue.next()).data!.pendingApprovals).toEqual({
      kind: 'UPDATED',
      request: { id: partial, status: 'PENDING', revision: 0, approvalsReceived: 1, extensions: 0 },
    });
    const extend = 'mutation($input: ExtendActionRequestInput!) { extendActionRequest(input: $input) { errors { __typename } } }';
    await server.gql(security.token, extend, { input: { requestId: partial, bySeconds: 60 } });
    expect((await queue.next()).data!.pendingApprovals).toMatchObject({ kind: 'UPDATED', request: { id: partial, extensions: 1 } });

    const amendable = await ask('deploy.scale', 'prod/updates', { replicas: 3 });
    expect((await queue.next()).data!.pendingApprovals).toMatchObject({ kind: 'ADDED', request: { id: amendable } });
    await decideAction(server, sre.token, { requestId: amendable, verdict: 'APPROVE', params: { replicas: 2 } });
    // One sre approval meets the rule, so the request settles: its review is no news (no UPDATED), the REMOVED is.
    expect((await queue.next()).data!.pendingApprovals).toMatchObject({ kind: 'REMOVED', request: { id: amendable, status: 'APPROVED' } });
  });

  it('gives every event fresh data, the same for reviewers who share its execution and as HTTP shows it', async () => {
    const FRESH_QUEUE = `subscription($after: String) {
      pendingApprovals(after: $after) { kind request { id status approvalsReceived reviews { verdict reviewer { id } } } }
    }`;
    const sre3 = await createActor(server, { kind: 'HUMAN', name: 'Barbara', roles: ['REVIEWER'], groups: ['sre'] });
    const after = (await server.gql(sre2.token, '{ pendingApprovals(first: 1) { streamCursor } }')).data.pendingApprovals.streamCursor;
    // Two reviewers of one scope: each event's payload is executed once for both.
    const queues = [sre2, sre3].map((actor) => collect(server.ws(actor.token).iterate<any>({ query: FRESH_QUEUE, variables: { after } })));
    const nextOfBoth = async () => {
      const [a, b] = await Promise.all(queues.map(async (queue) => (await queue.next()).data!.pendingApprovals));
      expect(b).toEqual(a);
      return a;
    };
    const id = await ask('db.migrate', 'prod/fresh');
    expect(await nextOfBoth()).toEqual({ kind: 'ADDED', request: { id, status: 'PENDING', approvalsReceived: 0, reviews: [] } });
    await decideAction(server, sre.token, { requestId: id, verdict: 'APPROVE' });
    expect(await nextOfBoth()).toEqual({
      kind: 'UPDATED',
      request: { id, status: 'PENDING', approvalsReceived: 1, reviews: [{ verdict: 'APPROVE', reviewer: { id: sre.id } }] },
    });
    await decideAction(server, security.token, { requestId: id, verdict: 'APPROVE' });
    const second = await nextOfBoth();
    expect(second.request.approvalsReceived).toBe(2);
    expect(second.request.reviews).toHaveLength(2);
    await decideAction(server, sre3.token, { requestId: id, verdict: 'APPROVE' });
    const removed = await nextOfBoth();
    expect(removed).toMatchObject({ kind: 'REMOVED', request: { id, status: 'APPROVED', approvalsReceived: 3 } });
    const overHttp = await server.gql(
      sre2.token,
      'query($id: ID!) { actionRequest(id: $id) { id status approvalsReceived reviews { verdict reviewer { id } } } }',
      {
        id,
      },
    );
    expect(removed.request).toEqual(overHttp.data.actionRequest);
  });

  it('refuses a decision on a revision the reviewer did not read', async () => {
    const id = await ask('db.migrate', 'prod/revisions');
    const stale = await decideAction(server, sre.token, { requestId: id, verdict: 'APPROVE', revision: 1 });
    expect(stale.data.decideAction.errors).toMatchObject([{ __typename: 'ConflictError', currentStatus: 'PENDING' }]);
    expect(stale.data.decideAction.errors[0].message).toContain('revision 0 is current');
    const progress = await server.gql(sre.token, PROGRESS, { id });
    expect(progress.data.actionRequest.approvalsReceived).toBe(0);
    const current = await decideAction(server, sre.token, { requestId: id, verdict: 'APPROVE', revision: 0 });
    expect(current.data.decideAction.errors).toEqual([]);
    expect(current.data.decideAction.request.approvalsReceived).toBe(1);
  });
});

describe('the timeout ladder, run by the server', () => {
  it('adds the security group after a second (ADDED to its reviewers once), then expires at the deadline', async () => {
    const sreQueue = await queueOf(sre2);
    const securityQueue = await queueOf(security);
    const id = await ask('dns.update', 'example.com');
    const decided = collect(server.ws(agent.token).iterate<any>({ query: DECIDED, variables: { requestId: id } }));
    expect((await sreQueue.next()).data!.pendingApprovals).toEqual({ kind: 'ADDED', request: { id, requiredGroups: ['sre'] } });
    // The step: security reviewers now may decide, and hear of it.
    const added = (await securityQueue.next()).data!.pendingApprovals;
    expect(added).toMatchObject({ kind: 'ADDED', request: { id } });
    expect(added.request.requiredGroups).toEqual(['security', 'sre']);
    // Nobody decides: at 80 % of the timeout both queues hear the reminder (UPDATED), then the
    // deadline ends it, and each queue hears REMOVED once (sre got no second ADDED).
    expect((await decided.next()).data!.actionDecided).toMatchObject({ id, status: 'EXPIRED', decidedBy: 'TIMEOUT' });
    for (const queue of [sreQueue, securityQueue]) {
      expect((await queue.next()).data!.pendingApprovals).toMatchObject({ kind: 'UPDATED', request: { id } });
      expect((await queue.next()).data!.pendingApprovals).toMatchObject({ kind: 'REMOVED', request: { id } });
    }
  });
});
