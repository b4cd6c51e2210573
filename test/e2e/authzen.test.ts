import { count, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyReceipt } from '../../src/client/receipts.js';
import { actionRequests } from '../../src/db/schema.js';
import { startTestServer, type TestServer } from '../support/app.js';
import { createActor, publishPolicy, type Actor } from '../support/fixtures.js';

let server: TestServer;
let agent: Actor;
let reviewer: Actor;

beforeAll(async () => {
  server = await startTestServer();
  agent = await createActor(server, { kind: 'AGENT', name: 'gateway-agent', roles: ['AGENT'] });
  reviewer = await createActor(server, { kind: 'HUMAN', name: 'Ada', roles: ['REVIEWER'], groups: ['sre'] });
  await publishPolicy(server, [
    { id: 'allow-reads', effect: 'ALLOW', actions: ['http.get'], resources: ['api/**'] },
    { id: 'no-deletes', effect: 'BLOCK', actions: ['http.delete'], resources: ['**'], reason: 'Deletes go through change management.' },
    { id: 'review-writes', effect: 'ESCALATE', actions: ['http.post'], resources: ['**'], review: { groups: ['sre'] } },
  ]);
});

afterAll(async () => {
  await server?.stop();
});

async function evaluate(body: unknown, token: string | null = agent.token, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.url}/access/v1/evaluation`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

const requestCount = async () => (await server.app.deps.db.select({ n: count() }).from(actionRequests))[0]!.n;

async function stored(requestId: string) {
  const result = await server.gql(
    agent.token,
    'query($id: ID!) { actionRequest(id: $id) { id action resource status params reason agent { id } } }',
    {
      id: requestId,
    },
  );
  return result.data.actionRequest;
}

describe('AuthZEN access evaluation (POST /access/v1/evaluation)', () => {
  it('ALLOW: decision true, with the recorded request and its receipt', async () => {
    const { status, body, headers } = await evaluate(
      {
        subject: { type: 'agent', id: agent.id },
        action: { name: 'http.get' },
        resource: { type: 'endpoint', id: 'api/orders' },
        context: { params: { query: 'open' }, reason: 'Listing open orders' },
      },
      agent.token,
      { 'x-request-id': 'pep-42' },
    );
    expect(status).toBe(200);
    expect(headers.get('x-request-id')).toBe('pep-42');
    expect(body).toMatchObject({
      decision: true,
      context: { status: 'APPROVED', requestId: expect.any(String), receipt: expect.any(String) },
    });
    expect(await stored(body.context.requestId)).toEqual({
      id: body.context.requestId,
      action: 'http.get',
      resource: 'api/orders',
      status: 'APPROVED',
      params: { query: 'open' },
      reason: 'Listing open orders',
      agent: { id: agent.id },
    });
    const claims = await verifyReceipt(body.context.receipt, {
      action: 'http.get',
      resource: 'api/orders',
      params: { query: 'open' },
      jwksUrl: `${server.url}/.well-known/jwks.json`,
    });
    expect(claims.request_id).toBe(body.context.requestId);
  });

  it('BLOCK: decision false with the reason', async () => {
    const { status, body } = await evaluate({ action: { name: 'http.delete' }, resource: { type: 'endpoint', id: 'api/orders/1' } });
    expect(status).toBe(200);
    expect(body).toEqual({
      decision: false,
      context: { requestId: expect.any(String), status: 'BLOCKED', reason: 'Deletes go through change management.' },
    });
    expect((await stored(body.context.requestId)).status).toBe('BLOCKED');
  });

  it('ESCALATE: decision false with the pending request, which the same idempotency key finds again once approved', async () => {
    const ask = () =>
      evaluate({
        action: { name: 'http.post' },
        resource: { type: 'endpoint', id: 'api/refunds' },
        context: { idempotencyKey: 'refund-7' },
      });
    const first = await ask();
    expect(first.body).toMatchObject({ decision: false, context: { status: 'PENDING', reason: expect.stringContaining('human review') } });
    const requestId = first.body.context.requestId;
    const decided = await server.gql(
      reviewer.token,
      'mutation($id: ID!) { decideAction(input: { requestId: $id, verdict: APPROVE }) { errors { __typename } } }',
      { id: requestId },
    );
    expect(decided.data.decideAction.errors).toEqual([]);
    const again = await ask();
    expect(again.body).toMatchObject({ decision: true, context: { requestId, status: 'APPROVED', receipt: expect.any(String) } });
  });

  it('answers false once an approval is used up or its window closed, when a gateway replays the evaluation', async () => {
    const ask = (key: string) =>
      evaluate({ action: { name: 'http.get' }, resource: { type: 'endpoint', id: `api/${key}` }, context: { idempotencyKey: key } });
    const reported = await ask('replay-outcome');
    expect(reported.body.decision).toBe(true);
    await server.gql(
      agent.token,
      'mutation($id: ID!) { reportActionOutcome(input: { requestId: $id, outcome: SUCCEEDED }) { errors { __typename } } }',
      {
        id: reported.body.context.requestId,
      },
    );
    expect((await ask('replay-outcome')).body).toMatchObject({
      decision: false,
      context: { status: 'APPROVED', reason: expect.stringContaining('already used') },
    });

    const redeemed = await ask('replay-redeemed');
    await server.gql(reviewer.token, 'mutation($r: String!) { redeemReceipt(input: { receipt: $r }) { errors { __typename } } }', {
      r: redeemed.body.context.receipt,
    });
    expect((await ask('replay-redeemed')).body).toMatchObject({
      decision: false,
      context: { reason: expect.stringContaining('redeemed') },
    });

    const late = await ask('replay-late');
    await server.app.deps.db
      .update(actionRequests)
      .set({ validUntil: sql`now() - interval '1 second'` })
      .where(eq(actionRequests.id, late.body.context.requestId));
    expect((await ask('replay-late')).body).toMatchObject({
      decision: false,
      context: { reason: expect.stringContaining('window closed') },
    });
  });

  it('answers a body over 1 MiB with 413, echoing X-Request-ID', async () => {
    const response = await fetch(`${server.url}/access/v1/evaluation`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${agent.token}`, 'x-request-id': 'big-1' },
      body: JSON.stringify({
        action: { name: 'http.get' },
        resource: { type: 'x', id: 'api/a' },
        context: { reason: 'x'.repeat(1_100_000) },
      }),
    });
    expect(response.status).toBe(413);
    expect(response.headers.get('x-request-id')).toBe('big-1');
  });

  it('refuses a subject other than the authenticated agent, bad bodies, other roles and anonymous callers, writing nothing', async () => {
    const before = await requestCount();
    const other = await evaluate({
      subject: { type: 'agent', id: reviewer.id },
      action: { name: 'http.get' },
      resource: { type: 'x', id: 'api/a' },
    });
    expect(other.status).toBe(403);
    expect(other.body.error).toContain('subject.id must be the authenticated agent');

    const shapeless = await evaluate({ action: 'http.get', resource: { id: 'api/a' } });
    expect(shapeless.status).toBe(400);
    expect(shapeless.body.problems.map((problem: { field: string }) => problem.field)).toEqual(
      expect.arrayContaining(['action', 'resource.type']),
    );

    const invalid = await evaluate({ action: { name: 'not an action' }, resource: { type: 'x', id: 'api/a' } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.problems).toEqual([expect.objectContaining({ field: 'action.name' })]);

    expect((await evaluate({ action: { name: 'http.get' }, resource: { type: 'x', id: 'api/a' } }, reviewer.token)).status).toBe(403);
    const anonymous = await evaluate({ action: { name: 'http.get' }, resource: { type: 'x', id: 'api/a' } }, null);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    expect(await requestCount()).toBe(before);
  });
});
