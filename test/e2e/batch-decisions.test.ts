import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/app.js';
import { createActor, decideAction, publishPolicy, requestAction, type Actor } from '../support/fixtures.js';

let server: TestServer;
let agent: Actor;
let ada: Actor;
let grace: Actor;

beforeAll(async () => {
  server = await startTestServer();
  agent = await createActor(server, { kind: 'AGENT', name: 'batch-bot', roles: ['AGENT'] });
  ada = await createActor(server, { kind: 'HUMAN', name: 'Ada', roles: ['REVIEWER'], groups: ['sre'] });
  grace = await createActor(server, { kind: 'HUMAN', name: 'Grace', roles: ['REVIEWER'], groups: ['sre'] });
  await publishPolicy(server, [
    { id: 'review', effect: 'ESCALATE', actions: ['deploy.*'], resources: ['**'], review: { groups: ['sre'] } },
  ]);
});

afterAll(async () => {
  await server?.stop();
});

const DECIDE_ACTIONS = `mutation($input: DecideActionsInput!) {
  decideActions(input: $input) {
    results { requestId request { id status reviews { comment reviewer { name } } } errors { __typename message ... on ConflictError { currentStatus } } }
    errors { __typename message ... on InvalidInputError { problems { field message } } }
  }
}`;

describe('decideActions over GraphQL', () => {
  it('shows the result of each decision of a batch, one of which was decided elsewhere meanwhile', async () => {
    const ids: string[] = [];
    for (const name of ['a', 'b', 'c'])
      ids.push(
        (await requestAction(server, agent.token, { action: 'deploy.update', resource: `svc/${name}` })).data.requestAction.request.id,
      );
    await decideAction(server, grace.token, { requestId: ids[1], verdict: 'APPROVE' });
    const result = await server.gql(ada.token, DECIDE_ACTIONS, {
      input: { decisions: ids.map((requestId) => ({ requestId, verdict: 'REJECT', comment: 'Freeze.' })) },
    });
    expect(result.errors).toBeUndefined();
    expect(result.data.decideActions.errors).toEqual([]);
    expect(result.data.decideActions.results).toEqual([
      {
        requestId: ids[0],
        request: { id: ids[0], status: 'REJECTED', reviews: [{ comment: 'Freeze.', reviewer: { name: 'Ada' } }] },
        errors: [],
      },
      {
        requestId: ids[1],
        request: null,
        errors: [{ __typename: 'ConflictError', message: expect.any(String), currentStatus: 'APPROVED' }],
      },
      {
        requestId: ids[2],
        request: { id: ids[2], status: 'REJECTED', reviews: [{ comment: 'Freeze.', reviewer: { name: 'Ada' } }] },
        errors: [],
      },
    ]);
  });

  it('refuses a malformed batch whole, in the payload', async () => {
    const result = await server.gql(ada.token, DECIDE_ACTIONS, { input: { decisions: [] } });
    expect(result.data.decideActions.results).toEqual([]);
    expect(result.data.decideActions.errors).toEqual([
      {
        __typename: 'InvalidInputError',
        message: expect.any(String),
        problems: [{ field: 'decisions', message: 'must hold at least one decision' }],
      },
    ]);
  });
});
