import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/app.js';
import { allSealed, createActor, publishPolicy, requestAction, type Actor } from '../support/fixtures.js';

// `onBehalfOf` is accepted only from the human's own agent (its owner) or an agent the human
// delegated the action to: each way it is refused, and each way it is accepted.

let server: TestServer;
let owner: Actor;
let boss: Actor;
let other: Actor;
let agent: Actor;
let auditor: Actor;

const GRANT = `mutation($i: GrantDelegationInput!) { grantDelegation(input: $i) {
  delegation { id human { id } agent { id } actions expiresAt revokedAt grantedBy { id } } errors { __typename message } } }`;
const REVOKE = `mutation($i: RevokeDelegationInput!) { revokeDelegation(input: $i) { delegation { id revokedAt } errors { __typename message } } }`;
const COUNT = `query($f: AuditEventFilter) { auditEvents(filter: $f, first: 100) { edges { node { type data } } } }`;

beforeAll(async () => {
  server = await startTestServer();
  owner = await createActor(server, { kind: 'HUMAN', name: 'Owner', roles: ['REVIEWER'] });
  boss = await createActor(server, { kind: 'HUMAN', name: 'Boss', roles: ['REVIEWER'], groups: ['sre'] });
  other = await createActor(server, { kind: 'HUMAN', name: 'Other', roles: ['REVIEWER'] });
  agent = await createActor(server, { kind: 'AGENT', name: 'assistant', roles: ['AGENT'], owner: owner.id });
  auditor = await createActor(server, { kind: 'HUMAN', name: 'Auditor', roles: ['AUDITOR'] });
  await publishPolicy(server, [{ id: 'all', effect: 'ALLOW', actions: ['**'], resources: ['**'] }]);
});

afterAll(async () => {
  await server?.stop();
});

const ask = async (action: string, onBehalfOf: string) =>
  (await requestAction(server, agent.token, { action, resource: 'prod/api', onBehalfOf })).data.requestAction;
const requestCount = async () =>
  (
    await server.gql(ADMIN_TOKEN, `query($id: ID!) { actionRequests(filter: { agentId: $id }, first: 100) { edges { cursor } } }`, {
      id: agent.id,
    })
  ).data.actionRequests.edges.length;

describe('onBehalfOf', () => {
  it("is accepted for the agent's owner without a delegation", async () => {
    const result = await ask('deploy.update', owner.id);
    expect(result.errors).toEqual([]);
    expect(result.request.status).toBe('APPROVED');
  });

  it('is refused without a delegation, with a typed error; only the refusal is written', async () => {
    const before = await requestCount();
    const result = await ask('deploy.update', boss.id);
    expect(result).toEqual({
      request: null,
      errors: [
        expect.objectContaining({
          __typename: 'DelegationRequiredError',
          message: expect.stringContaining('may not act on behalf of that human'),
        }),
      ],
    });
    expect(await requestCount()).toBe(before);
    await allSealed(server);
    const refusals = await server.gql(ADMIN_TOKEN, COUNT, { f: { types: ['DELEGATION_REFUSED'] } });
    expect(refusals.data.auditEvents.edges.map((edge: { node: unknown }) => edge.node)).toEqual([
      { type: 'DELEGATION_REFUSED', data: { agentId: agent.id, onBehalfOfId: boss.id, action: 'deploy.update', resource: 'prod/api' } },
    ]);
  });

  it('is accepted within a delegation, and refused outside its actions, once revoked, expired, or for another human', async () => {
    const granted = await server.gql(boss.token, GRANT, { i: { agentId: agent.id, actions: ['deploy.*', 'db.{read,list}'] } });
    const delegation = granted.data.grantDelegation.delegation;
    expect(delegation).toMatchObject({
      human: { id: boss.id },
      agent: { id: agent.id },
      actions: ['deploy.*', 'db.{read,list}'],
      revokedAt: null,
      grantedBy: { id: boss.id },
    });

    expect((await ask('deploy.update', boss.id)).request.status).toBe('APPROVED');
    expect((await ask('db.list', boss.id)).request.status).toBe('APPROVED');
    expect((await ask('db.drop', boss.id)).errors[0].__typename).toBe('DelegationRequiredError');
    // A delegation from the boss says nothing about another human.
    expect((await ask('deploy.update', other.id)).errors[0].__typename).toBe('DelegationRequiredError');

    expect(
      (await server.gql(boss.token, REVOKE, { i: { delegationId: delegation.id } })).data.revokeDelegation.delegation.revokedAt,
    ).not.toBeNull();
    expect((await ask('deploy.update', boss.id)).errors[0].__typename).toBe('DelegationRequiredError');
  });

  it('is refused once the delegation expired', async () => {
    const expiresAt = new Date(Date.now() + 1_000).toISOString();
    const granted = await server.gql(other.token, GRANT, { i: { agentId: agent.id, actions: ['report.*'], expiresAt } });
    expect(granted.data.grantDelegation.errors).toEqual([]);
    expect((await ask('report.send', other.id)).request.status).toBe('APPROVED');
    // Expiry is judged in database time: once it passes, the same request is refused.
    await vi.waitFor(async () => expect((await ask('report.send', other.id)).errors[0]?.__typename).toBe('DelegationRequiredError'), {
      timeout: 10_000,
    });
  });

  it('is refused while the human is disabled, and accepted again once enabled', async () => {
    await server.gql(owner.token, GRANT, { i: { agentId: agent.id, actions: ['*'] } });
    await server.gql(ADMIN_TOKEN, `mutation($i: DisablePrincipalInput!) { disablePrincipal(input: $i) { errors { message } } }`, {
      i: { principalId: owner.id },
    });
    expect((await ask('deploy.update', owner.id)).errors[0].__typename).toBe('DelegationRequiredError');
    await server.gql(ADMIN_TOKEN, `mutation($i: EnablePrincipalInput!) { enablePrincipal(input: $i) { errors { message } } }`, {
      i: { principalId: owner.id },
    });
    expect((await ask('deploy.update', owner.id)).errors).toEqual([]);
  });

  it('names no human that is not one: an agent or an unknown id is invalid input', async () => {
    expect((await ask('deploy.update', agent.id)).errors[0].__typename).toBe('InvalidInputError');
    expect((await ask('deploy.update', '00000000-0000-0000-0000-000000000000')).errors[0].__typename).toBe('InvalidInputError');
  });
});

describe('granting', () => {
  it('is for a human, for themselves, or an ADMIN for any human', async () => {
    expect(
      (await server.gql(agent.token, GRANT, { i: { agentId: agent.id, actions: ['*'] } })).data.grantDelegation.errors[0].__typename,
    ).toBe('NotAllowedError');
    expect(
      (await server.gql(other.token, GRANT, { i: { agentId: agent.id, actions: ['*'], humanId: boss.id } })).data.grantDelegation.errors[0]
        .__typename,
    ).toBe('NotAllowedError');
    const byAdmin = await server.gql(ADMIN_TOKEN, GRANT, { i: { agentId: agent.id, actions: ['ops.*'], humanId: boss.id } });
    expect(byAdmin.data.grantDelegation.delegation).toMatchObject({ human: { id: boss.id } });
    expect((await ask('ops.restart', boss.id)).errors).toEqual([]);
    const mine = await server.gql(boss.token, '{ viewer { delegations { actions revokedAt } } }');
    expect(mine.data.viewer.delegations).toContainEqual({ actions: ['ops.*'], revokedAt: null });
    // Nobody else sees or revokes it.
    const id = byAdmin.data.grantDelegation.delegation.id;
    expect((await server.gql(other.token, REVOKE, { i: { delegationId: id } })).data.revokeDelegation.errors[0].__typename).toBe(
      'NotFoundError',
    );
  });

  it('refuses bad input with typed errors', async () => {
    const cases: Record<string, unknown>[] = [
      { agentId: boss.id, actions: ['*'] },
      { agentId: agent.id, actions: [] },
      { agentId: agent.id, actions: ['!deploy'] },
      { agentId: agent.id, actions: ['*'], expiresAt: '2001-01-01T00:00:00Z' },
    ];
    for (const input of cases) {
      expect((await server.gql(boss.token, GRANT, { i: input })).data.grantDelegation.errors[0].__typename, JSON.stringify(input)).toBe(
        'InvalidInputError',
      );
    }
  });

  it('audits grants, revocations and refusals', async () => {
    await allSealed(server);
    const { data } = await server.gql(auditor.token, COUNT, {
      f: { types: ['DELEGATION_GRANTED', 'DELEGATION_REVOKED', 'DELEGATION_REFUSED'] },
    });
    const count = (type: string) => data.auditEvents.edges.filter((edge: { node: { type: string } }) => edge.node.type === type).length;
    expect([count('DELEGATION_GRANTED'), count('DELEGATION_REVOKED')]).toEqual([4, 1]);
    expect(count('DELEGATION_REFUSED')).toBeGreaterThanOrEqual(6);
  });
});
