import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/app.js';
import { createActor, requestAction, type Actor } from '../support/fixtures.js';

let server: TestServer;
let agent: Actor;
let auditor: Actor;

const RULE_FIELDS = `id effect actions resources when requireReason reason
  agents { ids groups labels } limit { count windowSeconds per }
  review { groups approvals timeoutSeconds onTimeout escalation { afterSeconds groups } }`;

beforeAll(async () => {
  server = await startTestServer();
  agent = await createActor(server, { kind: 'AGENT', name: 'deploy-bot', roles: ['AGENT'], labels: { team: 'payments' } });
  auditor = await createActor(server, { kind: 'HUMAN', name: 'Margaret', roles: ['AUDITOR'] });
});

afterAll(async () => {
  await server?.stop();
});

const PUBLISH = `mutation($input: PublishPolicyInput!) {
  publishPolicy(input: $input) {
    policy { version message rules { ${RULE_FIELDS} } }
    errors { __typename message ... on InvalidPolicyError { issues { ruleId field message } } }
  }
}`;

const RULES = [
  {
    id: 'payments-deploys',
    effect: 'ALLOW',
    agents: { labels: { team: 'payments' } },
    actions: ['deploy.*'],
    resources: ['staging/**'],
    limit: { count: 10, windowSeconds: 3600, per: 'AGENT_RESOURCE' },
  },
  {
    id: 'prod',
    effect: 'ESCALATE',
    actions: ['deploy.*'],
    resources: ['prod/**'],
    when: 'context.ticket != ""',
    requireReason: true,
    review: {
      groups: ['sre'],
      approvals: 2,
      timeoutSeconds: 900,
      onTimeout: 'REJECT',
      escalation: [{ afterSeconds: 300, groups: ['sre-leads'] }],
    },
  },
  { id: 'db', effect: 'ESCALATE', actions: ['db.*'], resources: ['**'], review: { approvals: 2 } },
];

describe('policy management over GraphQL', () => {
  it('publishes the full rule language and reads it back', async () => {
    const result = await server.gql(ADMIN_TOKEN, PUBLISH, { input: { rules: RULES, message: 'first cut', expectedVersion: 0 } });
    expect(result.data.publishPolicy.errors).toEqual([]);
    expect(result.data.publishPolicy.policy).toMatchObject({ version: 1, message: 'first cut' });
    expect(result.data.publishPolicy.policy.rules).toEqual([
      {
        id: 'payments-deploys',
        effect: 'ALLOW',
        actions: ['deploy.*'],
        resources: ['staging/**'],
        when: null,
        requireReason: false,
        reason: null,
        agents: { ids: null, groups: null, labels: { team: 'payments' } },
        limit: { count: 10, windowSeconds: 3600, per: 'AGENT_RESOURCE' },
        review: null,
      },
      {
        id: 'prod',
        effect: 'ESCALATE',
        actions: ['deploy.*'],
        resources: ['prod/**'],
        when: 'context.ticket != ""',
        requireReason: true,
        reason: null,
        agents: null,
        limit: null,
        review: {
          groups: ['sre'],
          approvals: 2,
          timeoutSeconds: 900,
          onTimeout: 'REJECT',
          escalation: [{ afterSeconds: 300, groups: ['sre-leads'] }],
        },
      },
      {
        id: 'db',
        effect: 'ESCALATE',
        actions: ['db.*'],
        resources: ['**'],
        when: null,
        requireReason: false,
        reason: null,
        agents: null,
        limit: null,
        review: { groups: [], approvals: 2, timeoutSeconds: null, onTimeout: null, escalation: [] },
      },
    ]);
  });

  it('accepts its own rules back: what activePolicy returns can be published again unchanged', async () => {
    const active = await server.gql(ADMIN_TOKEN, `{ activePolicy { version contentHash defaultEffect rules { ${RULE_FIELDS} } } }`);
    const { rules, defaultEffect, contentHash } = active.data.activePolicy;
    const republished = await server.gql(
      ADMIN_TOKEN,
      `mutation($input: PublishPolicyInput!) { publishPolicy(input: $input) { policy { version contentHash } errors { message } } }`,
      {
        input: { rules, defaultEffect, expectedVersion: 1 },
      },
    );
    expect(republished.data.publishPolicy).toEqual({ policy: { version: 2, contentHash }, errors: [] });
    const rollback = await server.gql(ADMIN_TOKEN, `mutation { activatePolicyVersion(input: { version: 1 }) { errors { message } } }`);
    expect(rollback.data.activatePolicyVersion.errors).toEqual([]);
  });

  it('reports a stale expectedVersion and an invalid CEL condition as typed errors', async () => {
    const stale = await server.gql(ADMIN_TOKEN, PUBLISH, { input: { rules: RULES, expectedVersion: 0 } });
    expect(stale.data.publishPolicy.errors).toMatchObject([{ __typename: 'ConflictError' }]);
    const badCel = await server.gql(ADMIN_TOKEN, PUBLISH, {
      input: { rules: [{ id: 'x', effect: 'BLOCK', actions: ['*'], resources: ['**'], when: 'action + 1' }] },
    });
    expect(badCel.data.publishPolicy.errors).toMatchObject([
      { __typename: 'InvalidPolicyError', issues: [{ ruleId: 'x', field: 'when' }] },
    ]);
  });

  it('passes context to the policy and refuses a missing reason in the payload', async () => {
    const noReason = await requestAction(server, agent.token, {
      action: 'deploy.update',
      resource: 'prod/api',
      context: { ticket: 'INC-1' },
    });
    expect(noReason.data.requestAction.errors).toMatchObject([{ __typename: 'InvalidInputError', problems: [{ field: 'reason' }] }]);
    const ok = await requestAction(server, agent.token, {
      action: 'deploy.update',
      resource: 'prod/api',
      context: { ticket: 'INC-1' },
      reason: 'hotfix',
    });
    expect(ok.data.requestAction.request).toMatchObject({
      status: 'PENDING',
      requiredApprovals: 2,
      evaluation: { matchedRules: ['prod'] },
    });
    const badContext = await requestAction(server, agent.token, { action: 'deploy.update', resource: 'prod/api', context: { n: 1 } });
    expect(badContext.data.requestAction.errors[0].problems[0].field).toBe('context.n');
  });

  it('simulates without writing, explaining why rules did not apply', async () => {
    const result = await server.gql(
      agent.token,
      `query($input: SimulateActionInput!) { simulateAction(input: $input) { effect matchedRules policyVersion explanation trace { ruleId failed } } }`,
      { input: { action: 'deploy.update', resource: 'prod/api', context: { ticket: '' } } },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data.simulateAction).toMatchObject({ effect: 'ESCALATE', matchedRules: [], policyVersion: 1 });
    expect(result.data.simulateAction.trace).toContainEqual({ ruleId: 'prod', failed: 'WHEN' });
    expect(result.data.simulateAction.explanation).toContain('"prod" did not apply');

    // Without a ticket the condition cannot be evaluated: an ESCALATE rule then counts as matched.
    const noTicket = await server.gql(
      agent.token,
      `query($input: SimulateActionInput!) { simulateAction(input: $input) { effect matchedRules errors { ruleId } } }`,
      { input: { action: 'deploy.update', resource: 'prod/api' } },
    );
    expect(noTicket.data.simulateAction).toEqual({ effect: 'ESCALATE', matchedRules: ['prod'], errors: [{ ruleId: 'prod' }] });

    const draft = { action: 'a', resource: 'b', rules: [{ id: 'y', effect: 'ALLOW', actions: ['['], resources: ['**'] }] };
    const simulate = `query($input: SimulateActionInput!) { simulateAction(input: $input) { effect } }`;
    const asAgent = await server.gql(agent.token, simulate, { input: draft });
    expect(asAgent.errors?.[0]).toMatchObject({
      message: 'Only an ADMIN can simulate a draft policy or a request as another agent.',
      extensions: { code: 'FORBIDDEN' },
    });
    const invalid = await server.gql(ADMIN_TOKEN, simulate, { input: { ...draft, agentId: agent.id } });
    expect(invalid.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', issues: [{ ruleId: 'y', field: 'actions[0]' }] } });
  });

  it('lists versions, rolls back, and replays a draft for auditors', async () => {
    await server.gql(ADMIN_TOKEN, PUBLISH, { input: { rules: [], defaultEffect: 'BLOCK', message: 'lockdown' } });
    const versions = await server.gql(
      auditor.token,
      `{ policyVersions(first: 1) { edges { node { version message active } } pageInfo { hasNextPage endCursor } } }`,
    );
    expect(versions.data.policyVersions.edges).toEqual([{ node: { version: 3, message: 'lockdown', active: true } }]);
    const older = await server.gql(
      auditor.token,
      `query($after: String) { policyVersions(after: $after) { edges { node { version active } } } }`,
      {
        after: versions.data.policyVersions.pageInfo.endCursor,
      },
    );
    expect(older.data.policyVersions.edges).toEqual([{ node: { version: 2, active: false } }, { node: { version: 1, active: false } }]);

    const rollback = await server.gql(
      ADMIN_TOKEN,
      `mutation { activatePolicyVersion(input: { version: 1, reason: "lockdown over" }) { policy { version active } errors { __typename message } } }`,
    );
    expect(rollback.data.activatePolicyVersion).toEqual({ policy: { version: 1, active: true }, errors: [] });

    const replay = await server.gql(
      auditor.token,
      `query($input: ReplayPolicyInput!) { replayPolicy(input: $input) { evaluated changed reviewerLoadChange changes { from to count } samples { request { id } from to } } }`,
      { input: { rules: [{ id: 'allow-all', effect: 'ALLOW', actions: ['*'], resources: ['**'] }] } },
    );
    expect(replay.errors).toBeUndefined();
    expect(replay.data.replayPolicy).toMatchObject({
      evaluated: 1,
      changed: 1,
      reviewerLoadChange: -1,
      changes: [{ from: 'ESCALATE', to: 'ALLOW', count: 1 }],
    });

    const agentReplay = await server.gql(agent.token, `query { replayPolicy(input: { rules: [] }) { evaluated } }`);
    expect(agentReplay.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
  });
});
