import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TOKEN_PATTERN } from '../../src/auth/tokens.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/app.js';
import { collect, createActor, publishPolicy, requestAction, type Actor } from '../support/fixtures.js';
import { rawSocket } from '../support/raw-socket.js';

// Principals and tokens an ADMIN can manage, over real HTTP and WebSocket.

let server: TestServer;
let agent: Actor;
let reviewer: Actor;
let auditor: Actor;

const PRINCIPALS = `query($f: PrincipalFilter, $first: Int, $after: String) {
  principals(filter: $f, first: $first, after: $after) { edges { cursor node { id name kind roles groups disabled } } pageInfo { hasNextPage endCursor } } }`;
const UPDATE = `mutation($i: UpdatePrincipalInput!) { updatePrincipal(input: $i) {
  principal { id name roles groups labels owner { id } } errors { __typename message ... on InvalidInputError { problems { field message } } } } }`;
const DISABLE = `mutation($i: DisablePrincipalInput!) { disablePrincipal(input: $i) { principal { id disabled disabledReason } errors { __typename message } } }`;
const ENABLE = `mutation($i: EnablePrincipalInput!) { enablePrincipal(input: $i) { principal { id disabled } errors { __typename message } } }`;
const ISSUE = `mutation($i: IssueTokenInput!) { issueToken(input: $i) { secret token { id name expiresAt lastUsedAt revokedAt } errors { __typename message } } }`;
const REVOKE = `mutation($i: RevokeTokenInput!) { revokeToken(input: $i) { token { id revokedAt } errors { __typename message } } }`;
const TOKENS = `query { viewer { tokens { id name lastUsedAt revokedAt } } }`;
const AUDIT = `query($f: AuditEventFilter) { auditEvents(filter: $f, first: 100) { edges { node { type actor { id } data } } } }`;

beforeAll(async () => {
  server = await startTestServer();
  agent = await createActor(server, { kind: 'AGENT', name: 'deploy-bot', roles: ['AGENT'], labels: { team: 'payments' } });
  reviewer = await createActor(server, { kind: 'HUMAN', name: 'Ada', roles: ['REVIEWER'], groups: ['sre'] });
  auditor = await createActor(server, { kind: 'HUMAN', name: 'Margaret', roles: ['AUDITOR'] });
  await publishPolicy(server, [
    { id: 'prod', effect: 'ESCALATE', actions: ['deploy.*'], resources: ['prod/**'], review: { groups: ['sre'] } },
    { id: 'ops', effect: 'ESCALATE', actions: ['ops.*'], resources: ['**'], review: { groups: ['ops'] } },
  ]);
});

afterAll(async () => {
  await server?.stop();
});

const viewerOf = async (token: string) =>
  (await server.gql(token, '{ viewer { id } }')) as {
    data?: { viewer: { id: string } | null };
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };

describe('principals', () => {
  it('lists principals by name for an ADMIN, filtered and paged with opaque cursors', async () => {
    const first = await server.gql(ADMIN_TOKEN, PRINCIPALS, { first: 2 });
    const names = first.data.principals.edges.map((e: { node: { name: string } }) => e.node.name);
    expect(names).toEqual(['Ada', 'Margaret']);
    expect(first.data.principals.pageInfo.hasNextPage).toBe(true);
    const rest = await server.gql(ADMIN_TOKEN, PRINCIPALS, { first: 10, after: first.data.principals.pageInfo.endCursor });
    expect(rest.data.principals.edges.map((e: { node: { name: string } }) => e.node.name)).toEqual(['bootstrap-admin', 'deploy-bot']);
    const agents = await server.gql(ADMIN_TOKEN, PRINCIPALS, { f: { kinds: ['AGENT'] } });
    expect(agents.data.principals.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([agent.id]);
    const byName = await server.gql(ADMIN_TOKEN, PRINCIPALS, { f: { nameContains: 'ARG', roles: ['AUDITOR'], disabled: false } });
    expect(byName.data.principals.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([auditor.id]);
    const bad = await server.gql(ADMIN_TOKEN, PRINCIPALS, { after: 'not-a-cursor' });
    expect(bad.errors?.[0]).toMatchObject({
      message: 'Invalid cursor: pass a cursor returned by this same field.',
      extensions: { code: 'BAD_USER_INPUT' },
    });
    for (const token of [agent.token, reviewer.token, auditor.token]) {
      expect((await server.gql(token, PRINCIPALS)).errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    }
  });

  it('shows an agent only the id, kind and name of other principals, never their groups or labels', async () => {
    const request = await requestAction(server, agent.token, { action: 'deploy.update', resource: 'prod/api' });
    const id = request.data.requestAction.request.id;
    await server.gql(reviewer.token, `mutation($i: DecideActionInput!) { decideAction(input: $i) { errors { message } } }`, {
      i: { requestId: id, verdict: 'REJECT', comment: 'no' },
    });
    const seen = await server.gql(
      agent.token,
      `query($id: ID!) { actionRequest(id: $id) { decider { id name kind roles groups labels tokens { id } } agent { labels } } }`,
      { id },
    );
    expect(seen.data.actionRequest).toEqual({
      decider: { id: reviewer.id, name: 'Ada', kind: 'HUMAN', roles: null, groups: null, labels: null, tokens: null },
      agent: { labels: { team: 'payments' } },
    });
    const asAuditor = await server.gql(auditor.token, `query($id: ID!) { actionRequest(id: $id) { decider { groups tokens { id } } } }`, {
      id,
    });
    expect(asAuditor.data.actionRequest.decider).toEqual({ groups: ['sre'], tokens: null });
  });

  it('updates roles, groups, labels and name, audited with each change; a reviewer who leaves a group stops receiving its requests', async () => {
    const human = await createActor(server, { kind: 'HUMAN', name: 'Grace', roles: ['REVIEWER'], groups: ['ops'] });
    const after = (await server.gql(human.token, '{ pendingApprovals { streamCursor } }')).data.pendingApprovals.streamCursor;
    const queue = collect(
      server.ws(human.token).iterate<{ pendingApprovals: { kind: string; request: { action: string } } }>({
        query: 'subscription($after: String) { pendingApprovals(after: $after) { kind request { action } } }',
        variables: { after },
      }),
    );
    await requestAction(server, agent.token, { action: 'ops.restart', resource: 'db/1' });
    expect((await queue.next()).data?.pendingApprovals).toEqual({ kind: 'ADDED', request: { action: 'ops.restart' } });

    const updated = await server.gql(ADMIN_TOKEN, UPDATE, {
      i: { principalId: human.id, name: 'Grace H', groups: ['sre'], labels: { site: 'eu' } },
    });
    expect(updated.data.updatePrincipal).toEqual({
      principal: { id: human.id, name: 'Grace H', roles: ['REVIEWER'], groups: ['sre'], labels: { site: 'eu' }, owner: null },
      errors: [],
    });
    // The open subscription follows the new groups: no more `ops` requests, `sre` ones instead.
    await requestAction(server, agent.token, { action: 'ops.restart', resource: 'db/2' });
    await requestAction(server, agent.token, { action: 'deploy.update', resource: 'prod/web' });
    expect((await queue.next()).data?.pendingApprovals).toEqual({ kind: 'ADDED', request: { action: 'deploy.update' } });
    await queue.return();

    await vi.waitFor(async () => {
      const events = (await server.gql(auditor.token, AUDIT, { f: { types: ['PRINCIPAL_UPDATED'] } })).data.auditEvents.edges;
      expect(events.map((e: { node: { data: unknown } }) => e.node.data)).toContainEqual({
        principalId: human.id,
        changes: {
          name: { from: 'Grace', to: 'Grace H' },
          groups: { from: ['ops'], to: ['sre'] },
          labels: { from: {}, to: { site: 'eu' } },
        },
      });
    });
  });

  it("ends a demoted auditor's live audit stream at its next event, which it does not see", async () => {
    const watcher = await createActor(server, { kind: 'HUMAN', name: 'Watcher', roles: ['AUDITOR'] });
    const latest = await server.gql(watcher.token, '{ auditEvents(first: 1, orderBy: SEQ_DESC) { edges { cursor } } }');
    const stream = server.ws(watcher.token).iterate({
      query: 'subscription($after: String) { auditEvents(after: $after) { type data } }',
      variables: { after: latest.data.auditEvents.edges[0].cursor },
    });
    await requestAction(server, agent.token, { action: 'read.logs', resource: 'dev/x' });
    expect((await stream.next()).value).toMatchObject({ data: { auditEvents: { type: expect.any(String) } } });

    await server.gql(ADMIN_TOKEN, UPDATE, { i: { principalId: watcher.id, roles: ['REVIEWER'] } });
    await requestAction(server, agent.token, { action: 'read.logs', resource: 'dev/y', params: { secret: 'not for a reviewer' } });
    const seen: unknown[] = [];
    let ended: unknown = null;
    while (!ended) {
      await stream.next().then(
        (result) => (result.done ? (ended = 'done') : seen.push(result.value)),
        (errors: unknown) => (ended = errors),
      );
    }
    expect(JSON.stringify(seen)).not.toContain('not for a reviewer');
    expect(ended).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'FORBIDDEN' }) })]);
  });

  it('refuses bad changes with typed errors, writing nothing', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ principalId: agent.id, roles: ['REVIEWER'] }, 'InvalidInputError'],
      [{ principalId: reviewer.id, ownerId: agent.id }, 'InvalidInputError'],
      [{ principalId: agent.id, ownerId: agent.id }, 'InvalidInputError'],
      [{ principalId: reviewer.id, groups: ['no spaces'] }, 'InvalidInputError'],
      [{ principalId: '00000000-0000-0000-0000-000000000000', name: 'x' }, 'NotFoundError'],
      [{ principalId: (await viewerOf(ADMIN_TOKEN)).data!.viewer!.id, roles: ['AUDITOR'] }, 'ConflictError'],
    ];
    for (const [input, type] of cases) {
      const result = await server.gql(ADMIN_TOKEN, UPDATE, { i: input });
      expect(result.data.updatePrincipal.errors[0]?.__typename, JSON.stringify(input)).toBe(type);
    }
    const admin = (await viewerOf(ADMIN_TOKEN)).data!.viewer!.id;
    expect((await server.gql(ADMIN_TOKEN, DISABLE, { i: { principalId: admin } })).data.disablePrincipal.errors[0].__typename).toBe(
      'ConflictError',
    );
    expect(
      (await server.gql(reviewer.token, UPDATE, { i: { principalId: reviewer.id, roles: ['ADMIN'] } })).errors?.[0]?.extensions?.['code'],
    ).toBe('FORBIDDEN');
  });

  it("disables a principal: its tokens stop at once, its sockets close with 4403, an agent's pending requests are cancelled", async () => {
    const bot = await createActor(server, { kind: 'AGENT', name: 'compromised-bot', roles: ['AGENT'] });
    const pending = (await requestAction(server, bot.token, { action: 'deploy.update', resource: 'prod/api' })).data.requestAction.request;
    expect(pending.status).toBe('PENDING');
    const socket = await rawSocket(server.wsUrl);
    await socket.init(bot.token);

    const disabled = await server.gql(ADMIN_TOKEN, DISABLE, { i: { principalId: bot.id, reason: 'leaked token' } });
    expect(disabled.data.disablePrincipal).toEqual({
      principal: { id: bot.id, disabled: true, disabledReason: 'leaked token' },
      errors: [],
    });
    expect(await socket.closed).toBe(4403);
    const refused = await viewerOf(bot.token);
    expect(refused.data?.viewer).toBeNull();
    expect((await server.gql(bot.token, '{ actionRequests { edges { cursor } } }')).errors?.[0]).toMatchObject({
      message: 'Not authenticated: this principal is disabled.',
      extensions: { code: 'UNAUTHENTICATED' },
    });
    const request = await server.gql(ADMIN_TOKEN, `query($id: ID!) { actionRequest(id: $id) { status decidedBy decisionReason } }`, {
      id: pending.id,
    });
    expect(request.data.actionRequest).toEqual({
      status: 'CANCELLED',
      decidedBy: 'ADMIN',
      decisionReason: 'The agent was disabled: leaked token',
    });

    expect((await server.gql(ADMIN_TOKEN, DISABLE, { i: { principalId: bot.id } })).data.disablePrincipal.errors[0].__typename).toBe(
      'ConflictError',
    );
    expect((await server.gql(ADMIN_TOKEN, ENABLE, { i: { principalId: bot.id } })).data.enablePrincipal).toEqual({
      principal: { id: bot.id, disabled: false },
      errors: [],
    });
    expect((await viewerOf(bot.token)).data?.viewer).toEqual({ id: bot.id });
  });
});

describe('tokens', () => {
  it('issues named tokens, shown once in the scanner-recognisable format, listed without secrets', async () => {
    const issued = await server.gql(reviewer.token, ISSUE, { i: { name: 'laptop' } });
    const { secret, token } = issued.data.issueToken;
    expect(secret).toMatch(new RegExp(`^${TOKEN_PATTERN.source}$`));
    expect(token).toMatchObject({ name: 'laptop', expiresAt: null, lastUsedAt: null, revokedAt: null });
    expect((await viewerOf(secret)).data?.viewer).toEqual({ id: reviewer.id });
    const listed = await server.gql(secret, TOKENS);
    expect(listed.data.viewer.tokens.map((t: { name: string }) => t.name)).toEqual(['default', 'laptop']);
    // Used just now (kept in memory, written in batches).
    expect(listed.data.viewer.tokens[1].lastUsedAt).not.toBeNull();
    expect(JSON.stringify(listed)).not.toContain(secret);

    const again = await server.gql(reviewer.token, ISSUE, { i: { name: 'laptop' } });
    expect(again.data.issueToken.errors[0]).toMatchObject({ __typename: 'InvalidInputError' });
    const othersToken = await server.gql(reviewer.token, ISSUE, { i: { principalId: agent.id, name: 'sneaky' } });
    expect(othersToken.data.issueToken).toMatchObject({ secret: null, errors: [{ __typename: 'NotFoundError' }] });
    const past = await server.gql(reviewer.token, ISSUE, { i: { name: 'old', expiresAt: '2020-01-01T00:00:00Z' } });
    expect(past.data.issueToken.errors[0]).toMatchObject({ __typename: 'InvalidInputError' });
  });

  it('rotates without downtime: a principal issues a new token, then revokes the old one, which stops at once', async () => {
    const bot = await createActor(server, { kind: 'AGENT', name: 'rotating-bot', roles: ['AGENT'] });
    const fresh = (await server.gql(bot.token, ISSUE, { i: { name: 'v2' } })).data.issueToken.secret;
    const old = (await server.gql(fresh, TOKENS)).data.viewer.tokens.find((t: { name: string }) => t.name === 'default');
    const revoked = await server.gql(fresh, REVOKE, { i: { tokenId: old.id } });
    expect(revoked.data.revokeToken.token.revokedAt).not.toBeNull();
    expect((await viewerOf(bot.token)).data?.viewer).toBeNull();
    expect((await viewerOf(fresh)).data?.viewer).toEqual({ id: bot.id });
    expect((await server.gql(fresh, REVOKE, { i: { tokenId: old.id } })).data.revokeToken.errors[0].__typename).toBe('ConflictError');
    // Someone else's token is not found, whatever it is.
    expect((await server.gql(agent.token, REVOKE, { i: { tokenId: old.id } })).data.revokeToken.errors[0].__typename).toBe('NotFoundError');
  });

  it("lets an ADMIN issue and revoke anyone's token, closing that token's sockets with 4403 and no other", async () => {
    const second = (await server.gql(ADMIN_TOKEN, ISSUE, { i: { principalId: agent.id, name: 'ci' } })).data.issueToken;
    const onSecond = await rawSocket(server.wsUrl);
    await onSecond.init(second.secret);
    const onFirst = await rawSocket(server.wsUrl);
    await onFirst.init(agent.token);
    expect((await server.gql(ADMIN_TOKEN, REVOKE, { i: { tokenId: second.token.id } })).data.revokeToken.errors).toEqual([]);
    expect(await onSecond.closed).toBe(4403);
    onFirst.send({ id: 'still', type: 'subscribe', payload: { query: '{ viewer { id } }' } });
    expect(await onFirst.nextMessage()).toEqual({ id: 'still', type: 'next', payload: { data: { viewer: { id: agent.id } } } });
    onFirst.socket.close();
  });

  it('never lets a token issue itself one that outlives it', async () => {
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const parent = (await server.gql(agent.token, ISSUE, { i: { name: 'hour', expiresAt } })).data.issueToken;
    const child = (await server.gql(parent.secret, ISSUE, { i: { name: 'child' } })).data.issueToken;
    expect(child.token.expiresAt).toBe(expiresAt);
    const longer = await server.gql(parent.secret, ISSUE, {
      i: { name: 'longer', expiresAt: new Date(Date.now() + 7_200_000).toISOString() },
    });
    expect(longer.data.issueToken.errors[0]).toMatchObject({ __typename: 'InvalidInputError' });
    // An ADMIN issuing for someone else is not bound by the expiry of its own token.
    const forAgent = await server.gql(ADMIN_TOKEN, ISSUE, { i: { principalId: agent.id, name: 'no-expiry' } });
    expect(forAgent.data.issueToken.token.expiresAt).toBeNull();
  });

  it('enforces expiry, on HTTP and on an open socket', async () => {
    const short = (await server.gql(agent.token, ISSUE, { i: { name: 'short', expiresAt: new Date(Date.now() + 1_500).toISOString() } }))
      .data.issueToken;
    expect((await viewerOf(short.secret)).data?.viewer).toEqual({ id: agent.id });
    const socket = await rawSocket(server.wsUrl);
    await socket.init(short.secret);
    expect(await socket.closed).toBe(4403);
    expect((await server.gql(short.secret, '{ actionRequests { edges { cursor } } }')).errors?.[0]).toMatchObject({
      message: 'Not authenticated: the bearer token has expired; issue a new one.',
      extensions: { code: 'UNAUTHENTICATED' },
    });
  });

  it('audits every token change, never with the secret', async () => {
    await vi.waitFor(async () => {
      const events = (await server.gql(auditor.token, AUDIT, { f: { types: ['TOKEN_ISSUED', 'TOKEN_REVOKED'] } })).data.auditEvents.edges;
      expect(events.length).toBeGreaterThanOrEqual(5);
      for (const { node } of events) expect(JSON.stringify(node.data)).not.toMatch(TOKEN_PATTERN);
    });
  });
});
