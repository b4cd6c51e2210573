import canonicalize from 'canonicalize';
import { count, eq, sql } from 'drizzle-orm';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionRequests, receiptRedemptions } from '../../src/db/schema.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/app.js';
import { allSealed, createActor, decideAction, publishPolicy, requestAction, type Actor } from '../support/fixtures.js';

let server: TestServer;
let agent: Actor;
let executor: Actor;
let reviewer: Actor;
let auditor: Actor;

beforeAll(async () => {
  server = await startTestServer({ receipts: { issuer: 'https://greenlight.test' } });
  agent = await createActor(server, { kind: 'AGENT', name: 'deploy-bot', roles: ['AGENT'] });
  executor = await createActor(server, { kind: 'AGENT', name: 'executor', roles: ['AGENT'] });
  reviewer = await createActor(server, { kind: 'HUMAN', name: 'Ada', roles: ['REVIEWER'], groups: ['sre'] });
  auditor = await createActor(server, { kind: 'HUMAN', name: 'Margaret', roles: ['AUDITOR'] });
  await publishPolicy(server, [
    { id: 'allow-staging', effect: 'ALLOW', actions: ['deploy.*'], resources: ['staging/**'], validForSeconds: 600 },
    { id: 'block-deletes', effect: 'BLOCK', actions: ['*.delete'], resources: ['**'], reason: 'Never.' },
    { id: 'review-prod', effect: 'ESCALATE', actions: ['deploy.*'], resources: ['prod/**'], review: { groups: ['sre'] } },
  ]);
});

afterAll(async () => {
  await server?.stop();
});

const RECEIPT_OF = `query($id: ID!) { actionRequest(id: $id) { id status receipt } }`;

const REDEEM = `mutation($input: RedeemReceiptInput!) {
  redeemReceipt(input: $input) {
    redemption { requestId redeemedAt redeemedBy { id name } claims }
    errors { __typename message ... on InvalidReceiptError { problem } ... on ConflictError { currentStatus } }
  }
}`;

async function allowedRequest(params: Record<string, unknown> = { version: '1.2.3' }) {
  const result = await requestAction(server, agent.token, { action: 'deploy.update', resource: 'staging/api', params });
  const id: string = result.data.requestAction.request.id;
  const read = await server.gql(agent.token, RECEIPT_OF, { id });
  return { id, receipt: read.data.actionRequest.receipt as string };
}

async function jwks(): Promise<JSONWebKeySet> {
  const response = await fetch(`${server.url}/.well-known/jwks.json`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('application/jwk-set+json');
  return (await response.json()) as JSONWebKeySet;
}

const sha256 = (params: unknown) =>
  createHash('sha256')
    .update(canonicalize(params) ?? '')
    .digest('base64url');

async function redeem(token: string, receipt: string) {
  const result = await server.gql(token, REDEEM, { input: { receipt } });
  expect(result.errors).toBeUndefined();
  return result.data.redeemReceipt;
}

const redemptions = async () => (await server.app.deps.db.select({ n: count() }).from(receiptRedemptions))[0]!.n;

describe('signed approval receipts', () => {
  it('signs an allowed request with claims bound to its exact params, verifiable offline with the published JWK Set', async () => {
    const params = { version: '1.2.3', replicas: 3, flags: { canary: true } };
    const { id, receipt } = await allowedRequest(params);
    const keys = await jwks();
    expect(keys.keys).toHaveLength(1);
    expect(keys.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(keys.keys[0]).not.toHaveProperty('d');

    const header = decodeProtectedHeader(receipt);
    expect(header).toEqual({ alg: 'EdDSA', kid: keys.keys[0]!.kid, typ: 'greenlight-receipt+jwt' });
    const { payload } = await jwtVerify(receipt, createLocalJWKSet(keys), { algorithms: ['EdDSA'] });
    const [row] = await server.app.deps.db.select().from(actionRequests).where(eq(actionRequests.id, id));
    expect(payload).toEqual({
      iss: 'https://greenlight.test',
      sub: agent.id,
      request_id: id,
      action: 'deploy.update',
      resource: 'staging/api',
      // Key order does not matter: the hash is over the RFC 8785 canonical form.
      params_sha256: sha256({ flags: { canary: true }, replicas: 3, version: '1.2.3' }),
      approvers: [],
      policy_version: row!.evaluation.policyVersion,
      iat: Math.floor(row!.decidedAt!.getTime() / 1000),
      nbf: Math.floor(row!.decidedAt!.getTime() / 1000),
      exp: Math.floor(row!.validUntil!.getTime() / 1000),
      jti: id,
    });
    // Reading again signs the same claims with the same key: the receipt is stable.
    expect((await server.gql(agent.token, RECEIPT_OF, { id })).data.actionRequest.receipt).toBe(receipt);
  });

  it('names the approving reviewer, and only the requesting agent sees the receipt', async () => {
    const requested = await requestAction(server, agent.token, { action: 'deploy.update', resource: 'prod/api', params: { v: 2 } });
    const id: string = requested.data.requestAction.request.id;
    expect((await server.gql(agent.token, RECEIPT_OF, { id })).data.actionRequest).toMatchObject({ status: 'PENDING', receipt: null });

    const decided = await decideAction(server, reviewer.token, { requestId: id, verdict: 'APPROVE', comment: 'ok' });
    expect(decided.data.decideAction.errors).toEqual([]);
    const receipt: string = (await server.gql(agent.token, RECEIPT_OF, { id })).data.actionRequest.receipt;
    const { payload } = await jwtVerify(receipt, createLocalJWKSet(await jwks()));
    expect(payload).toMatchObject({ request_id: id, approvers: [reviewer.id], params_sha256: sha256({ v: 2 }) });

    for (const other of [reviewer, auditor]) {
      expect((await server.gql(other.token, RECEIPT_OF, { id })).data.actionRequest).toMatchObject({ status: 'APPROVED', receipt: null });
    }
  });

  it('gives a blocked request no receipt', async () => {
    const blocked = await requestAction(server, agent.token, { action: 'db.delete', resource: 'prod/db' });
    const id: string = blocked.data.requestAction.request.id;
    expect((await server.gql(agent.token, RECEIPT_OF, { id })).data.actionRequest).toEqual({ id, status: 'BLOCKED', receipt: null });
  });

  it('redeems a receipt once, audits who redeemed it, and names the first redemption on the second', async () => {
    const { id, receipt } = await allowedRequest();
    const first = await redeem(executor.token, receipt);
    expect(first.errors).toEqual([]);
    expect(first.redemption).toMatchObject({ requestId: id, redeemedBy: { id: executor.id, name: 'executor' } });
    expect(first.redemption.claims).toMatchObject({ request_id: id, sub: agent.id, jti: id });

    const second = await redeem(agent.token, receipt);
    expect(second.redemption).toBeNull();
    expect(second.errors).toHaveLength(1);
    expect(second.errors[0]).toMatchObject({ __typename: 'ConflictError', currentStatus: 'APPROVED' });
    expect(second.errors[0].message).toContain(`by executor (${executor.id}) at ${first.redemption.redeemedAt}`);

    await allSealed(server);
    const audit = await server.gql(
      auditor.token,
      `query($filter: AuditEventFilter) { auditEvents(filter: $filter, first: 20) { edges { node { type actor { id } data } } } }`,
      { filter: { requestId: id, types: ['RECEIPT_REDEEMED'] } },
    );
    const events = audit.data.auditEvents.edges.map((edge: { node: unknown }) => edge.node);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'RECEIPT_REDEEMED', actor: { id: executor.id }, data: { redeemedById: executor.id, jti: id } });
  });

  it('lets one of two concurrent redemptions win', async () => {
    const { receipt } = await allowedRequest();
    const results = await Promise.all([redeem(executor.token, receipt), redeem(agent.token, receipt)]);
    expect(results.filter((result) => result.redemption !== null)).toHaveLength(1);
    expect(results.flatMap((result) => result.errors).map((error: { __typename: string }) => error.__typename)).toEqual(['ConflictError']);
  });

  it('refuses altered, foreign, malformed and expired receipts, writing nothing', async () => {
    const { id, receipt } = await allowedRequest({ amount: 10 });
    const [header, payload, signature] = receipt.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, params_sha256: sha256({ amount: 10_000 }) })).toString('base64url');
    const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BA' : 'AA'}`;
    const stranger = generateKeyPairSync('ed25519').privateKey;
    const foreign = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', kid: 'someone-else', typ: 'greenlight-receipt+jwt' })
      .sign(stranger);
    const sameKid = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', kid: decodeProtectedHeader(receipt).kid!, typ: 'greenlight-receipt+jwt' })
      .sign(stranger);
    const before = await redemptions();

    const cases: [string, string][] = [
      [`${header}.${forged}.${signature}`, 'BAD_SIGNATURE'],
      [`${header}.${payload}.${flipped}`, 'BAD_SIGNATURE'],
      [sameKid, 'BAD_SIGNATURE'],
      [foreign, 'UNKNOWN_KEY'],
      ['not-a-receipt', 'MALFORMED'],
      [`${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`, 'MALFORMED'],
    ];
    for (const [candidate, problem] of cases) {
      const result = await redeem(executor.token, candidate);
      expect(result.errors, candidate).toEqual([expect.objectContaining({ __typename: 'InvalidReceiptError', problem })]);
    }

    // The approval window closes (database time), though the receipt's own exp is still ahead.
    await server.app.deps.db
      .update(actionRequests)
      .set({ validUntil: sql`now() - interval '1 second'` })
      .where(eq(actionRequests.id, id));
    const late = await redeem(executor.token, receipt);
    expect(late.errors).toEqual([expect.objectContaining({ __typename: 'InvalidReceiptError', problem: 'EXPIRED' })]);
    expect(await redemptions()).toBe(before);
  });

  it('refuses an oversized receipt as invalid input, and anonymous callers', async () => {
    const oversized = await redeem(executor.token, 'x'.repeat(9_000));
    expect(oversized.errors).toEqual([expect.objectContaining({ __typename: 'InvalidInputError' })]);
    const { receipt } = await allowedRequest();
    const anonymous = await server.gql(null, REDEEM, { input: { receipt } });
    expect(anonymous.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });
});

describe('redeeming against what the executor is about to do', () => {
  it('refuses a receipt for another action, resource or params, and redeems the exact one', async () => {
    const { id, receipt } = await allowedRequest({ version: '7.0.0' });
    const expected = { action: 'deploy.update', resource: 'staging/api', params: { version: '7.0.0' } };
    const attempt = async (input: Record<string, unknown>) =>
      (await server.gql(executor.token, REDEEM, { input: { receipt, ...input } })).data.redeemReceipt;
    expect((await attempt({ ...expected, action: 'deploy.rollback' })).errors).toEqual([
      expect.objectContaining({ problem: 'ACTION_MISMATCH' }),
    ]);
    expect((await attempt({ ...expected, resource: 'prod/api' })).errors).toEqual([
      expect.objectContaining({ problem: 'RESOURCE_MISMATCH' }),
    ]);
    expect((await attempt({ ...expected, params: { version: '7.0.1' } })).errors).toEqual([
      expect.objectContaining({ problem: 'PARAMS_MISMATCH' }),
    ]);
    const redeemed = await attempt(expected);
    expect(redeemed.errors).toEqual([]);
    expect(redeemed.redemption.requestId).toBe(id);
  });
});

describe('a disabled agent', () => {
  it('has its approvals refused at redemption', async () => {
    const doomed = await createActor(server, { kind: 'AGENT', name: 'doomed-bot', roles: ['AGENT'] });
    const requested = await requestAction(server, doomed.token, { action: 'deploy.update', resource: 'staging/api' });
    const id: string = requested.data.requestAction.request.id;
    const receipt: string = (await server.gql(doomed.token, RECEIPT_OF, { id })).data.actionRequest.receipt;
    const disabled = await server.gql(
      ADMIN_TOKEN,
      'mutation($id: ID!) { disablePrincipal(input: { principalId: $id, reason: "compromised" }) { errors { __typename } } }',
      { id: doomed.id },
    );
    expect(disabled.data.disablePrincipal.errors).toEqual([]);
    const refused = await redeem(executor.token, receipt);
    expect(refused.errors).toEqual([
      expect.objectContaining({ __typename: 'ConflictError', message: expect.stringContaining('disabled') }),
    ]);
  });
});
