import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateSigningKeyPem } from '../../src/audit/keys.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/app.js';
import { onPostgres } from '../support/database.js';
import { createActor, publishPolicy, type Actor } from '../support/fixtures.js';
import { rawSocket } from '../support/raw-socket.js';

// Revocation reaches every instance. On PostgreSQL: two instances on one database, each with its
// own authentication cache; the change is made on A and must take effect on B. (On PGlite both
// names are one instance.)

let a: TestServer;
let b: TestServer;
let agent: Actor;

const ISSUE = `mutation($i: IssueTokenInput!) { issueToken(input: $i) { secret token { id } errors { message } } }`;
const REQUEST = `mutation { requestAction(input: { action: "deploy.update", resource: "prod/api" }) { request { id } errors { __typename } } }`;

beforeAll(async () => {
  const signingKey = generateSigningKeyPem();
  a = await startTestServer({ audit: { signingKey } });
  b = onPostgres ? await startTestServer({ database: a.database, audit: { signingKey } }) : a;
  agent = await createActor(a, { kind: 'AGENT', name: 'deploy-bot', roles: ['AGENT'] });
  await publishPolicy(a, [{ id: 'all', effect: 'ALLOW', actions: ['**'], resources: ['**'] }]);
});

afterAll(async () => {
  if (onPostgres) await b?.stop();
  await a?.stop();
});

const refusedOn = async (server: TestServer, token: string) =>
  (await server.gql(token, '{ actionRequests(first: 1) { edges { cursor } } }')).errors?.[0]?.extensions?.['code'] === 'UNAUTHENTICATED';

const requestsOfAgent = async () =>
  (
    await a.gql(ADMIN_TOKEN, `query($id: ID!) { actionRequests(filter: { agentId: $id }, first: 100) { edges { cursor } } }`, {
      id: agent.id,
    })
  ).data.actionRequests.edges.length;

/** A fresh token of the agent, warmed into B's cache, with two sockets open on B. */
async function tokenInUseOnB() {
  const issued = (await a.gql(agent.token, ISSUE, { i: { name: `t-${Math.random().toString(36).slice(2)}` } })).data.issueToken;
  expect(await refusedOn(b, issued.secret)).toBe(false);
  const watching = await rawSocket(b.wsUrl);
  await watching.init(issued.secret);
  const sending = await rawSocket(b.wsUrl);
  await sending.init(issued.secret);
  return { ...issued, watching, sending };
}

describe('a revocation on one instance', () => {
  it('is refused on the other over HTTP, closes its sockets there with 4403, and a mutation sent meanwhile writes nothing', async () => {
    const { secret, token, watching, sending } = await tokenInUseOnB();
    const before = await requestsOfAgent();

    const revoked = await a.gql(ADMIN_TOKEN, `mutation($i: RevokeTokenInput!) { revokeToken(input: $i) { errors { message } } }`, {
      i: { tokenId: token.id },
    });
    expect(revoked.data.revokeToken.errors).toEqual([]);
    // Sent at once, before B may have heard of the revocation: a mutation reads its token afresh.
    sending.send({ id: 'm', type: 'subscribe', payload: { query: REQUEST } });
    expect(await sending.closed).toBe(4403);
    expect(await watching.closed).toBe(4403);
    await vi.waitFor(async () => expect(await refusedOn(b, secret)).toBe(true), { timeout: 5_000, interval: 20 });
    expect(await requestsOfAgent()).toBe(before);
  });

  it('of a whole principal (disabled) does the same for all its tokens', async () => {
    const { secret, watching, sending } = await tokenInUseOnB();
    const disabled = await a.gql(
      ADMIN_TOKEN,
      `mutation($i: DisablePrincipalInput!) { disablePrincipal(input: $i) { errors { message } } }`,
      {
        i: { principalId: agent.id, reason: 'incident 42' },
      },
    );
    expect(disabled.data.disablePrincipal.errors).toEqual([]);
    sending.send({ id: 'm', type: 'subscribe', payload: { query: REQUEST } });
    expect(await sending.closed).toBe(4403);
    expect(await watching.closed).toBe(4403);
    await vi.waitFor(async () => expect(await refusedOn(b, agent.token)).toBe(true), { timeout: 5_000, interval: 20 });
    expect(await refusedOn(b, secret)).toBe(true);
  });
});
