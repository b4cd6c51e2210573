import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/app.js';
import { createActor, publishPolicy, requestAction, type Actor } from '../support/fixtures.js';

let server: TestServer;
let agent: Actor;
let ada: Actor;

beforeAll(async () => {
  server = await startTestServer();
  agent = await createActor(server, { kind: 'AGENT', name: 'deploy-bot', roles: ['AGENT'] });
  ada = await createActor(server, { kind: 'HUMAN', name: 'Ada', roles: ['REVIEWER'], groups: ['sre'] });
  await publishPolicy(server, [
    { id: 'review', effect: 'ESCALATE', actions: ['deploy.*'], resources: ['**'], review: { groups: ['sre'] } },
  ]);
});

afterAll(async () => {
  await server?.stop();
});

const REQUEST = `query($id: ID!) { actionRequest(id: $id) { status evaluation { standingAllowed } reviews { standingApprovalId reviewer { name } } } }`;

describe('standing approvals over GraphQL', () => {
  it('grants one with an approval, lists it, applies it to the next request, and revokes it', async () => {
    const first = (await requestAction(server, agent.token, { action: 'deploy.update', resource: 'prod/api' })).data.requestAction.request
      .id;
    expect((await server.gql(ada.token, REQUEST, { id: first })).data.actionRequest.evaluation.standingAllowed).toBe(true);
    const decided = await server.gql(
      ada.token,
      `mutation($input: DecideActionInput!) { decideAction(input: $input) { request { status } errors { __typename message } } }`,
      { input: { requestId: first, verdict: 'APPROVE', standing: { resources: 'prod/*', forSeconds: 900 } } },
    );
    expect(decided.data.decideAction).toEqual({ request: { status: 'APPROVED' }, errors: [] });

    const listed = await server.gql(
      ada.token,
      '{ standingApprovals { id action resource resourceGlob sameParams sourceRequestId agent { name } } }',
    );
    expect(listed.data.standingApprovals).toEqual([
      {
        id: expect.any(String),
        action: 'deploy.update',
        resource: null,
        resourceGlob: 'prod/*',
        sameParams: false,
        sourceRequestId: first,
        agent: { name: 'deploy-bot' },
      },
    ]);
    const standingId = listed.data.standingApprovals[0].id;

    const next = (await requestAction(server, agent.token, { action: 'deploy.update', resource: 'prod/web' })).data.requestAction.request;
    expect(next.status).toBe('APPROVED');
    expect((await server.gql(ada.token, REQUEST, { id: next.id })).data.actionRequest.reviews).toEqual([
      { standingApprovalId: standingId, reviewer: { name: 'Ada' } },
    ]);

    const revoked = await server.gql(
      ada.token,
      'mutation($id: ID!) { revokeStandingApproval(input: { standingApprovalId: $id, reason: "done" }) { standingApproval { revokedAt revokedBy { name } } errors { __typename } } }',
      { id: standingId },
    );
    expect(revoked.data.revokeStandingApproval).toEqual({
      standingApproval: { revokedAt: expect.any(String), revokedBy: { name: 'Ada' } },
      errors: [],
    });
    expect(
      (await requestAction(server, agent.token, { action: 'deploy.update', resource: 'prod/db' })).data.requestAction.request.status,
    ).toBe('PENDING');
    expect((await server.gql(ada.token, '{ standingApprovals { id } }')).data.standingApprovals).toEqual([]);
  });
});
